//! Running the `hero` binary against a TestApp in this process. The
//! binary runs asynchronously: a blocking wait would stall the runtime
//! that serves the API it talks to.

// Each test binary uses its own part of this.
#![allow(dead_code)]

use std::process::{Output, Stdio};
use std::time::Duration;

use hero_tests::TestApp;
use tokio::io::{AsyncBufRead, Lines};
use tokio::process::{Child, Command};

/// A guard against a hanging binary, not a measurement.
const PATIENCE: Duration = Duration::from_secs(60);

/// `hero ARGS` with the app's address and the test user's token.
pub fn hero(app: &TestApp, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hero"));
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HERO_API_URL", &app.url)
        .env("HERO_TOKEN", &app.token)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

/// Runs the command to its end.
pub async fn run(mut command: Command) -> Output {
    let output = command.output();
    tokio::time::timeout(PATIENCE, output)
        .await
        .expect("hero finished")
        .expect("hero ran")
}

/// Waits for a spawned command to end, with what it has not been read of
/// its output.
pub async fn run_to_end(child: Child) -> Output {
    tokio::time::timeout(PATIENCE, child.wait_with_output())
        .await
        .expect("hero finished")
        .expect("hero ran")
}

/// The next line a running hero prints, `None` once it closes the stream.
pub async fn next_line<R: AsyncBufRead + Unpin>(lines: &mut Lines<R>) -> Option<String> {
    tokio::time::timeout(PATIENCE, lines.next_line())
        .await
        .expect("hero printed a line")
        .expect("hero's output is readable")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("utf-8 output")
}

/// Each line of `--json` output, parsed.
#[track_caller]
pub fn json_lines(stdout: &[u8]) -> Vec<serde_json::Value> {
    text(stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{line:?}: {e}")))
        .collect()
}

/// A file of `contents` that lives as long as the test.
pub struct TempFile(pub std::path::PathBuf);

impl TempFile {
    pub fn new(extension: &str, contents: &str) -> Self {
        let path = std::env::temp_dir().join(format!(
            "hero-cli-{}.{extension}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::write(&path, contents).expect("write temp file");
        Self(path)
    }

    pub fn path(&self) -> &str {
        self.0.to_str().expect("utf-8 path")
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        std::fs::remove_file(&self.0).ok();
    }
}
