//! `hero-api` brings an empty database up to date when it starts.

use hero_tests::TestApp;

#[tokio::test]
async fn the_api_migrates_an_empty_database_at_start_and_then_serves_from_it() {
    let app = TestApp::spawn_on_empty_database().await;

    app.db.assert_fully_migrated().await;
    app.create_project("created-after-migrating").await;
}
