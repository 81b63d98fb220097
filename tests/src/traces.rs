//! What a run of Hero leaves behind where no token may ever be: each
//! sandbox's `.git/config`, every job's params, result and error, every
//! job's event stream in Redis, and the captured logs. Tests read them back
//! after a run and look for the tokens the forge handed out.

use std::path::{Path, PathBuf};

use hero_common::jobs::events::events_key;
use uuid::Uuid;

use crate::hero_env::HeroEnv;
use crate::logs;

/// The texts a run left, each named by where it was read.
pub struct Traces {
    places: Vec<(String, String)>,
}

impl Traces {
    /// Reads back everything `env` has written so far.
    pub async fn of(env: &HeroEnv) -> Self {
        let mut places: Vec<(String, String)> = git_configs(&env.data_dir)
            .into_iter()
            .map(|path| {
                let text = std::fs::read_to_string(&path).expect("read a git config");
                (path.display().to_string(), text)
            })
            .collect();
        assert!(
            !places.is_empty(),
            "no sandbox holds a repository: nothing to scan"
        );

        let jobs: Vec<(Uuid, String)> = sqlx::query_as(
            "SELECT id, concat_ws(' ', params::text, result::text, error::text) FROM jobs",
        )
        .fetch_all(&env.app.db.pool)
        .await
        .expect("read the jobs");
        assert!(!jobs.is_empty(), "no jobs: nothing to scan");

        let prefix = env.settings().queue.prefix;
        let mut redis = env.redis().await;
        for (id, record) in jobs {
            places.push((format!("job {id}"), record));
            let key = events_key(&prefix, id);
            let events: redis::Value = redis::cmd("XRANGE")
                .arg(&key)
                .arg("-")
                .arg("+")
                .query_async(&mut redis)
                .await
                .expect("read a job's events");
            places.push((format!("events of job {id}"), format!("{events:?}")));
        }

        places.push(("the logs".to_owned(), logs::capture().text()));
        Self { places }
    }

    /// Where `token` turns up.
    pub fn places_holding(&self, token: &str) -> Vec<&str> {
        self.places
            .iter()
            .filter(|(_, text)| text.contains(token))
            .map(|(place, _)| place.as_str())
            .collect()
    }

    /// Fails naming the first place that holds any of `tokens`.
    #[track_caller]
    pub fn assert_free_of(&self, tokens: &[String]) {
        assert!(!tokens.is_empty(), "the check needs tokens to look for");
        for (index, token) in tokens.iter().enumerate() {
            let places = self.places_holding(token);
            assert!(
                places.is_empty(),
                "token #{index} of {} leaked into {places:?}",
                tokens.len()
            );
        }
    }
}

/// Every `.git/config` under `dir` (a HeroEnv's data directory holds the
/// local sandboxes), the bare repositories' own configs aside.
pub fn git_configs(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            found.extend(git_configs(&path));
        } else if kind.is_file()
            && path.file_name().is_some_and(|name| name == "config")
            && dir.file_name().is_some_and(|name| name == ".git")
        {
            found.push(path);
        }
    }
    found
}
