//! `hero project import`: links every row of a file as a project, a few
//! requests at a time, and reports each row's outcome in file order.

use std::io::Read as _;
use std::path::Path;

use anyhow::{Context as _, anyhow, bail};
use futures_util::{StreamExt as _, stream};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::ImportArgs;
use super::rows::{self, Row};
use crate::api_client::ApiClient;
use crate::json_line::json_line;

/// How one row ended.
#[derive(Debug, Serialize)]
struct Outcome {
    line: u64,
    repo: String,
    #[serde(flatten)]
    result: Linked,
}

#[derive(Debug, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
enum Linked {
    Linked { project_id: Uuid },
    Failed { error: String },
}

/// The part of the created project the report needs.
#[derive(Deserialize)]
struct Created {
    id: Uuid,
}

pub async fn run(args: ImportArgs) -> anyhow::Result<()> {
    let text = read(&args.file)?;
    let rows =
        rows::parse(&text).map_err(|problem| anyhow!("{}: {problem}", args.file.display()))?;
    if rows.is_empty() {
        bail!("{}: no rows to import", args.file.display());
    }
    let client = ApiClient::new(&args.api)?;
    // A wrong address or token is one clear error, not one per row.
    client
        .get::<serde_json::Value>("/v1/projects?limit=1")
        .await?;

    let mut report = Report::new(args.json, rows.len());
    // `buffered` keeps file order while several requests are in flight.
    let mut outcomes = stream::iter(rows)
        .map(|row| link(&client, row))
        .buffered(usize::from(args.concurrency));
    while let Some(outcome) = outcomes.next().await {
        report.row(&outcome);
    }
    report.finish()
}

fn read(file: &Path) -> anyhow::Result<String> {
    if file == Path::new("-") {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("reading standard input")?;
        return Ok(text);
    }
    std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))
}

async fn link(client: &ApiClient, row: Row) -> Outcome {
    let result = match row.project {
        Err(reason) => Linked::Failed { error: reason },
        Ok(project) => match client.post::<_, Created>("/v1/projects", &project).await {
            Ok(created) => Linked::Linked {
                project_id: created.id,
            },
            Err(error) => Linked::Failed {
                error: error.to_string(),
            },
        },
    };
    Outcome {
        line: row.line,
        repo: row.repo,
        result,
    }
}

/// Prints outcomes as they come: a progress bar and the failures on
/// stderr for people, one JSON object per row on stdout for scripts.
struct Report {
    json: bool,
    bar: ProgressBar,
    rows: usize,
    linked: usize,
    failed: Vec<u64>,
}

impl Report {
    fn new(json: bool, rows: usize) -> Self {
        let target = if json {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        };
        let bar =
            ProgressBar::with_draw_target(Some(u64::try_from(rows).unwrap_or(u64::MAX)), target);
        if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} rows {msg}") {
            bar.set_style(style);
        }
        Self {
            json,
            bar,
            rows,
            linked: 0,
            failed: Vec::new(),
        }
    }

    fn row(&mut self, outcome: &Outcome) {
        match &outcome.result {
            Linked::Linked { .. } => self.linked += 1,
            Linked::Failed { error } => {
                self.failed.push(outcome.line);
                if !self.json {
                    let line = outcome.line;
                    self.bar.suspend(|| match outcome.repo.as_str() {
                        "" => eprintln!("line {line}: {error}"),
                        repo => eprintln!("line {line}: {repo}: {error}"),
                    });
                }
            }
        }
        if self.json {
            println!("{}", json_line("row", outcome));
        }
        self.bar.inc(1);
        if !self.failed.is_empty() {
            self.bar
                .set_message(format!("({} failed)", self.failed.len()));
        }
    }

    fn finish(self) -> anyhow::Result<()> {
        self.bar.finish_and_clear();
        let failed = self.failed.len();
        if self.json {
            let summary = serde_json::json!({
                "rows": self.rows,
                "linked": self.linked,
                "failed": failed,
            });
            println!("{}", json_line("summary", &summary));
        } else {
            println!("linked {} of {} rows", self.linked, self.rows);
        }
        if failed > 0 {
            bail!(
                "{failed} of {} rows failed (reported above by line)",
                self.rows
            );
        }
        Ok(())
    }
}
