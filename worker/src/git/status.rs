//! `git status --porcelain=v2 --branch -z`, as structured data.

use serde::Serialize;

/// The working tree's state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GitStatus {
    /// `None` on a detached HEAD.
    pub branch: Option<String>,
    pub head: Option<String>,
    pub upstream: Option<String>,
    pub ahead: u32,
    pub behind: u32,
    /// Changes in the index.
    pub staged: Vec<String>,
    /// Changes in the working tree not yet staged.
    pub unstaged: Vec<String>,
    pub untracked: Vec<String>,
    /// Paths with merge conflicts.
    pub conflicted: Vec<String>,
}

impl GitStatus {
    pub fn is_clean(&self) -> bool {
        self.staged.is_empty()
            && self.unstaged.is_empty()
            && self.untracked.is_empty()
            && self.conflicted.is_empty()
    }

    /// Every path with a change of any kind, once.
    pub fn changed_paths(&self) -> Vec<String> {
        let mut paths: Vec<String> = self
            .staged
            .iter()
            .chain(&self.unstaged)
            .chain(&self.untracked)
            .chain(&self.conflicted)
            .cloned()
            .collect();
        paths.sort();
        paths.dedup();
        paths
    }
}

/// Parses NUL-separated porcelain v2 output. Renames carry their original
/// path as an extra NUL-separated field, which is skipped.
pub fn parse(output: &[u8]) -> Result<GitStatus, String> {
    let mut status = GitStatus::default();
    let mut fields = output
        .split(|b| *b == 0)
        .map(|f| String::from_utf8_lossy(f).into_owned());

    while let Some(record) = fields.next() {
        if record.is_empty() {
            continue;
        }
        if let Some(header) = record.strip_prefix("# ") {
            parse_header(header, &mut status)?;
            continue;
        }
        let mut parts = record.splitn(2, ' ');
        let kind = parts.next().unwrap_or_default();
        let rest = parts.next().unwrap_or_default();
        match kind {
            // 1 XY sub mH mI mW hH hI path
            "1" => {
                let (xy, path) = entry(rest, 7)?;
                classify(&xy, path, &mut status);
            }
            // 2 XY sub mH mI mW hH hI Xscore path, then the original path
            "2" => {
                let (xy, path) = entry(rest, 8)?;
                classify(&xy, path, &mut status);
                fields.next();
            }
            // u XY sub m1 m2 m3 mW h1 h2 h3 path
            "u" => {
                let (_, path) = entry(rest, 9)?;
                status.conflicted.push(path);
            }
            "?" => status.untracked.push(rest.to_owned()),
            "!" => {}
            other => return Err(format!("unexpected porcelain v2 record {other:?}")),
        }
    }
    Ok(status)
}

fn parse_header(header: &str, status: &mut GitStatus) -> Result<(), String> {
    let (key, value) = header.split_once(' ').unwrap_or((header, ""));
    match key {
        "branch.oid" if value != "(initial)" => status.head = Some(value.to_owned()),
        "branch.head" if value != "(detached)" => status.branch = Some(value.to_owned()),
        "branch.upstream" => status.upstream = Some(value.to_owned()),
        "branch.ab" => {
            let mut counts = value.split(' ');
            let number = |text: Option<&str>| {
                text.and_then(|t| t.get(1..))
                    .and_then(|n| n.parse::<u32>().ok())
                    .ok_or_else(|| format!("unreadable branch.ab {value:?}"))
            };
            status.ahead = number(counts.next())?;
            status.behind = number(counts.next())?;
        }
        _ => {}
    }
    Ok(())
}

/// The XY code and the path of a changed-entry record with `skip` fields
/// between them.
fn entry(rest: &str, skip: usize) -> Result<(String, String), String> {
    let mut parts = rest.splitn(skip + 1, ' ');
    let xy = parts.next().unwrap_or_default().to_owned();
    let path = parts
        .nth(skip - 1)
        .ok_or_else(|| format!("short porcelain v2 record {rest:?}"))?
        .to_owned();
    Ok((xy, path))
}

fn classify(xy: &str, path: String, status: &mut GitStatus) {
    let mut codes = xy.chars();
    let (index, worktree) = (codes.next().unwrap_or('.'), codes.next().unwrap_or('.'));
    if index != '.' {
        status.staged.push(path.clone());
    }
    if worktree != '.' {
        status.unstaged.push(path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branch_headers_and_every_kind_of_change_are_read() {
        let output =
            b"# branch.oid 1234abcd\0# branch.head hero/fix\0# branch.upstream origin/hero/fix\0\
# branch.ab +2 -1\0\
1 M. N... 100644 100644 100644 aaaa bbbb src/staged.rs\0\
1 .M N... 100644 100644 100644 aaaa aaaa src/unstaged.rs\0\
1 MM N... 100644 100644 100644 aaaa bbbb both.rs\0\
2 R. N... 100644 100644 100644 aaaa aaaa R100 new name.rs\0old name.rs\0\
u UU N... 100644 100644 100644 100644 aaaa bbbb cccc conflict.rs\0\
? untracked file.txt\0! ignored.log\0";

        let status = parse(output).unwrap();

        assert_eq!(status.branch.as_deref(), Some("hero/fix"));
        assert_eq!(status.head.as_deref(), Some("1234abcd"));
        assert_eq!(status.upstream.as_deref(), Some("origin/hero/fix"));
        assert_eq!((status.ahead, status.behind), (2, 1));
        assert_eq!(status.staged, ["src/staged.rs", "both.rs", "new name.rs"]);
        assert_eq!(status.unstaged, ["src/unstaged.rs", "both.rs"]);
        assert_eq!(status.untracked, ["untracked file.txt"]);
        assert_eq!(status.conflicted, ["conflict.rs"]);
        assert!(!status.is_clean());
    }

    #[test]
    fn a_fresh_repository_on_a_detached_head_is_clean() {
        let status = parse(b"# branch.oid (initial)\0# branch.head (detached)\0").unwrap();

        assert_eq!(status.branch, None);
        assert_eq!(status.head, None);
        assert!(status.is_clean());
    }
}
