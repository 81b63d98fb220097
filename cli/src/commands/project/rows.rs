//! The rows of an import file: CSV with a header (`repo`, `branch`,
//! `installation`), or JSON lines with the same fields. A row that cannot
//! be read becomes a row with its reason, so one bad line never hides the
//! others; only a file that cannot be read at all is an error.

use serde::{Deserialize, Serialize};

const COLUMNS: [&str; 3] = ["repo", "branch", "installation"];

/// One row: where it is in the file, the repository as written, and the
/// project to link or why there is none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub line: u64,
    pub repo: String,
    pub project: Result<LinkProject, String>,
}

/// The body of `POST /v1/projects` for one row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LinkProject {
    pub repo_owner: String,
    pub repo_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_branch: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub github_installation_id: Option<i64>,
}

/// Reads every row of `text`; JSON lines when its first line that is not
/// blank starts with `{`, CSV otherwise.
/// A repository named twice keeps its first row; the later ones fail
/// rather than race it to the API.
pub fn parse(text: &str) -> Result<Vec<Row>, String> {
    let first = text.lines().map(str::trim).find(|line| !line.is_empty());
    let mut rows = match first {
        None => Vec::new(),
        Some(line) if line.starts_with('{') => json_lines(text),
        Some(_) => csv_rows(text)?,
    };
    refuse_repeats(&mut rows);
    Ok(rows)
}

fn refuse_repeats(rows: &mut [Row]) {
    // GitHub's names are case-insensitive.
    let mut first_seen = std::collections::HashMap::new();
    for row in rows {
        let Ok(project) = &row.project else { continue };
        let key = format!("{}/{}", project.repo_owner, project.repo_name).to_lowercase();
        if let Some(line) = first_seen.get(&key) {
            row.project = Err(format!("repo: already on line {line} of this file"));
        } else {
            first_seen.insert(key, row.line);
        }
    }
}

fn csv_rows(text: &str) -> Result<Vec<Row>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|error| format!("line 1: {error}"))?
        .clone();
    let mut index = [None; COLUMNS.len()];
    for (position, name) in header.iter().enumerate() {
        let name = name.to_ascii_lowercase();
        let Some(column) = COLUMNS.iter().position(|known| *known == name) else {
            return Err(format!(
                "line 1: unknown column {name:?}; the header names repo, branch and installation"
            ));
        };
        if index[column].replace(position).is_some() {
            return Err(format!("line 1: column {name:?} appears twice"));
        }
    }
    let Some(repo_column) = index[0] else {
        return Err("line 1: the header must name a repo column (owner/name)".to_owned());
    };

    let mut rows = Vec::new();
    for record in reader.records() {
        let record = match record {
            Ok(record) => record,
            Err(error) => {
                let line = error.position().map_or(0, |at| line_at(text, at));
                let reason = match error.kind() {
                    csv::ErrorKind::UnequalLengths {
                        expected_len, len, ..
                    } => format!("expected {expected_len} fields, found {len}"),
                    _ => error.to_string(),
                };
                rows.push(Row {
                    line,
                    repo: String::new(),
                    project: Err(reason),
                });
                continue;
            }
        };
        let line = record.position().map_or(0, |at| line_at(text, at));
        let field = |column: Option<usize>| column.and_then(|i| record.get(i)).unwrap_or("");
        let repo = field(Some(repo_column)).to_owned();
        let project = link(&repo, field(index[1]), field(index[2]));
        rows.push(Row {
            line,
            repo,
            project,
        });
    }
    Ok(rows)
}

/// The line a record starts on. csv's own line count leaves out blank
/// lines, and people look rows up in an editor, which counts them. A
/// record's position is where csv began reading it, before the blank
/// lines it skipped.
fn line_at(text: &str, position: &csv::Position) -> u64 {
    let bytes = text.as_bytes();
    let start = usize::try_from(position.byte()).map_or(bytes.len(), |at| at.min(bytes.len()));
    let blank = bytes[start..]
        .iter()
        .take_while(|byte| matches!(byte, b'\n' | b'\r'))
        .count();
    let breaks = bytes[..start + blank]
        .iter()
        .filter(|byte| **byte == b'\n')
        .count();
    u64::try_from(breaks).map_or(u64::MAX, |breaks| breaks + 1)
}

/// A JSON line's fields. The installation may be written as a number or
/// as a string of digits, as exports from other tools do.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonRow {
    repo: String,
    #[serde(default)]
    branch: Option<String>,
    #[serde(default)]
    installation: Option<serde_json::Value>,
}

fn json_lines(text: &str) -> Vec<Row> {
    let mut rows = Vec::new();
    for (line, content) in (1u64..).zip(text.lines()) {
        if content.trim().is_empty() {
            continue;
        }
        let row = match serde_json::from_str::<JsonRow>(content) {
            Ok(row) => {
                let installation = match row.installation {
                    None | Some(serde_json::Value::Null) => String::new(),
                    Some(serde_json::Value::String(text)) => text,
                    Some(other) => other.to_string(),
                };
                let branch = row.branch.unwrap_or_default();
                Row {
                    line,
                    project: link(&row.repo, &branch, &installation),
                    repo: row.repo,
                }
            }
            Err(error) => Row {
                line,
                repo: repo_of_unreadable(content),
                project: Err(json_reason(&error)),
            },
        };
        rows.push(row);
    }
    rows
}

/// The repository of a line that did not fit, when it names one, so the
/// report can still say which row it was.
fn repo_of_unreadable(content: &str) -> String {
    serde_json::from_str::<serde_json::Value>(content)
        .ok()
        .and_then(|value| value.get("repo")?.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// serde_json's message without its "at line 1 column 9" (each line is
/// its own document, so that position says nothing).
fn json_reason(error: &serde_json::Error) -> String {
    let message = error.to_string();
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message,
    }
}

/// Checks the fields' shapes; the API checks the names themselves.
fn link(repo: &str, branch: &str, installation: &str) -> Result<LinkProject, String> {
    let repo = repo.trim();
    let (owner, name) = repo
        .split_once('/')
        .filter(|(owner, name)| !owner.is_empty() && !name.is_empty() && !name.contains('/'))
        .ok_or_else(|| format!("repo: expected owner/name, got {repo:?}"))?;
    let branch = branch.trim();
    let installation = installation.trim();
    let github_installation_id = if installation.is_empty() {
        None
    } else {
        match installation.parse::<i64>() {
            Ok(id) if id > 0 => Some(id),
            _ => {
                return Err(format!(
                    "installation: expected a positive number, got {installation:?}"
                ));
            }
        }
    };
    Ok(LinkProject {
        repo_owner: owner.to_owned(),
        repo_name: name.to_owned(),
        default_branch: (!branch.is_empty()).then(|| branch.to_owned()),
        github_installation_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reasons(rows: &[Row]) -> Vec<(u64, String)> {
        rows.iter()
            .filter_map(|row| row.project.clone().err().map(|why| (row.line, why)))
            .collect()
    }

    #[test]
    fn csv_rows_keep_their_line_numbers_and_optional_fields() {
        let text = "repo,branch,installation\n\
                    octo/app,main,42\n\
                    \n\
                    octo/lib,,\n";

        let rows = parse(text).unwrap();

        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].line, 2);
        assert_eq!(
            rows[0].project,
            Ok(LinkProject {
                repo_owner: "octo".to_owned(),
                repo_name: "app".to_owned(),
                default_branch: Some("main".to_owned()),
                github_installation_id: Some(42),
            })
        );
        assert_eq!(rows[1].line, 4);
        let lib = rows[1].project.clone().unwrap();
        assert_eq!(
            (lib.default_branch, lib.github_installation_id),
            (None, None)
        );
    }

    #[test]
    fn columns_may_come_in_any_order_and_only_repo_is_required() {
        let rows = parse("Installation,Repo\n7,octo/app\n").unwrap();

        let project = rows[0].project.clone().unwrap();
        assert_eq!(project.repo_name, "app");
        assert_eq!(project.github_installation_id, Some(7));
    }

    #[test]
    fn bad_csv_rows_say_why_without_stopping_the_rest() {
        let text = "repo,branch,installation\n\
                    no-slash,main,1\n\
                    octo/app,main,abc\n\
                    octo/app,main\n\
                    \n\
                    octo/a/b,,\n\
                    octo/good,,\n";

        let rows = parse(text).unwrap();

        let reasons = reasons(&rows);
        assert_eq!(reasons.len(), 4);
        assert_eq!(reasons[0].0, 2);
        assert!(reasons[0].1.starts_with("repo: expected owner/name"));
        assert_eq!(reasons[1].0, 3);
        assert!(reasons[1].1.starts_with("installation:"));
        assert_eq!(reasons[2], (4, "expected 3 fields, found 2".to_owned()));
        assert_eq!(reasons[3].0, 6);
        assert!(rows[4].project.is_ok());
    }

    #[test]
    fn a_header_without_repo_or_with_an_unknown_column_is_refused() {
        assert!(parse("branch\nmain\n").unwrap_err().contains("repo column"));
        assert!(
            parse("repo,owner\nx/y,z\n")
                .unwrap_err()
                .contains("\"owner\"")
        );
        assert!(parse("repo,repo\nx/y,x/z\n").unwrap_err().contains("twice"));
    }

    #[test]
    fn json_lines_are_read_with_their_line_numbers() {
        let text = "{\"repo\": \"octo/app\", \"installation\": 9}\n\
                    \n\
                    {\"repo\": \"octo/lib\", \"installation\": \"10\", \"branch\": \"dev\"}\n\
                    {\"repo\": \"octo/x\", \"owner\": \"me\"}\n\
                    {not json\n";

        let rows = parse(text).unwrap();

        assert_eq!(rows.len(), 4);
        assert_eq!(
            rows[0].project.clone().unwrap().github_installation_id,
            Some(9)
        );
        assert_eq!(rows[1].line, 3);
        assert_eq!(
            rows[1].project.clone().unwrap().default_branch.as_deref(),
            Some("dev")
        );
        assert_eq!(rows[2].line, 4);
        assert_eq!(rows[2].repo, "octo/x");
        let unknown = rows[2].project.clone().unwrap_err();
        assert!(unknown.contains("unknown field `owner`"), "{unknown}");
        assert!(!unknown.contains("column"), "{unknown}");
        assert_eq!(rows[3].line, 5);
        assert!(rows[3].project.is_err());
    }

    #[test]
    fn a_repository_named_again_fails_on_its_later_lines() {
        let rows = parse("repo\nocto/app\nocto/lib\nOcto/App\n").unwrap();

        assert!(rows[0].project.is_ok() && rows[1].project.is_ok());
        assert_eq!(
            rows[2].project,
            Err("repo: already on line 2 of this file".to_owned())
        );
    }

    #[test]
    fn an_empty_file_has_no_rows() {
        assert_eq!(parse("\n  \n").unwrap(), Vec::new());
    }
}
