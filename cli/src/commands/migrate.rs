use hero_common::settings::Settings;

pub async fn run(settings: &Settings) -> anyhow::Result<()> {
    super::migrated_pool(settings).await?;
    println!("database is up to date");
    Ok(())
}
