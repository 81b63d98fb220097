//! Repositories of the local forge made for a test: a bare repository
//! under a data directory, holding `files` on `main`.

use std::path::Path;

use hero_common::local_forge::ForgeLayout;
use hero_worker::forge::local::BareRepository;

/// Makes `owner/name` in the local forge under `data_dir` with `files`
/// (path, contents) as its first commit on `main`.
pub async fn seed(data_dir: &Path, owner: &str, name: &str, files: &[(&str, &str)]) {
    let seed = data_dir.join(format!("seed-{owner}-{name}"));
    std::fs::create_dir_all(&seed).expect("seed dir");
    for (path, contents) in files {
        let file = seed.join(path);
        std::fs::create_dir_all(file.parent().expect("a parent")).expect("parent dir");
        std::fs::write(file, contents).expect("seed file");
    }
    let layout = ForgeLayout::in_data_dir(data_dir);
    let path = layout.repository(owner, name).expect("repository name");
    let bare = BareRepository::create(&path, "main")
        .await
        .expect("bare repository");
    bare.commit_directory(&seed, "main", "Initial commit")
        .await
        .expect("initial commit");
    std::fs::remove_dir_all(&seed).ok();
}
