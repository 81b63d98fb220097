//! The file tools: read, write, edit, list and delete.

use std::collections::BTreeSet;

use hero_common::tool_call::{Edit, ListedEntry, ListedKind, ToolError, ToolErrorCode, ToolResult};

use super::{Toolbox, paths, sandbox_error};
use crate::sandbox::{
    Beneath, EntryKind, ExecRequest, SandboxError, SandboxErrorKind, exec_collect, shell_quote,
};

/// How much of a file is looked at to tell text from binary.
const SNIFF_BYTES: usize = 8192;

impl Toolbox {
    pub(super) async fn read_file(
        &self,
        path: &str,
        start_line: Option<u32>,
        end_line: Option<u32>,
    ) -> Result<ToolResult, ToolError> {
        if let (Some(start), Some(end)) = (start_line, end_line)
            && (start == 0 || end < start)
        {
            return Err(invalid(format!(
                "lines {start}..{end}: give 1-based start_line <= end_line"
            )));
        }
        let normalized = paths::normalize(path)?;
        self.check_forbidden(path, &normalized)?;

        // Resolve and read in one step: the sandbox follows symlinks where
        // they are, refuses ones that leave the repository, and nothing can
        // swap a link between a check and the read.
        let read = match self
            .sandbox
            .read_beneath(&self.root, &normalized, self.limits.max_read_bytes)
            .await
        {
            Ok(read) => read,
            Err(error) => return Err(self.explain_unreadable(path, &normalized, error).await),
        };
        let relative = paths::relative_to(&self.root, &read.path).unwrap_or(normalized);
        self.check_forbidden(path, &relative)?;

        let truncated = read.size > u64::try_from(read.contents.len()).unwrap_or(u64::MAX);
        let sniff = &read.contents[..read.contents.len().min(SNIFF_BYTES)];
        let text = if sniff.contains(&0) {
            None
        } else {
            match String::from_utf8(read.contents) {
                Ok(text) => Some(text),
                // A cut in the middle of a character is not binary.
                Err(e) if truncated && e.utf8_error().error_len().is_none() => {
                    let valid = e.utf8_error().valid_up_to();
                    let mut bytes = e.into_bytes();
                    bytes.truncate(valid);
                    String::from_utf8(bytes).ok()
                }
                Err(_) => None,
            }
        };
        let Some(text) = text else {
            return Ok(ToolResult::ReadFile {
                path: relative,
                content: None,
                binary: true,
                size: read.size,
                truncated,
                total_lines: 0,
            });
        };

        let total_lines = u64::try_from(text.lines().count()).unwrap_or(u64::MAX);
        let content = match (start_line, end_line) {
            (None, None) => text,
            (start, end) => {
                let start = usize::try_from(start.unwrap_or(1).max(1)).unwrap_or(usize::MAX);
                let end = end.map_or(usize::MAX, |e| usize::try_from(e).unwrap_or(usize::MAX));
                text.split_inclusive('\n')
                    .skip(start - 1)
                    .take(end.saturating_sub(start - 1))
                    .collect()
            }
        };
        Ok(ToolResult::ReadFile {
            path: relative,
            content: Some(content),
            binary: false,
            size: read.size,
            truncated,
            total_lines,
        })
    }

    /// Says why a read failed in the agent's terms. Only on this error path
    /// is the path resolved a second time, to tell a link out of the
    /// repository or a directory from other refusals.
    async fn explain_unreadable(
        &self,
        given: &str,
        normalized: &str,
        error: SandboxError,
    ) -> ToolError {
        if error.kind != SandboxErrorKind::Refused {
            return sandbox_error(error);
        }
        match self.sandbox.resolve_beneath(&self.root, normalized).await {
            Ok(Beneath::Outside) => ToolError::new(
                ToolErrorCode::PathOutsideRepo,
                format!("{given:?} leads outside the repository through a symlink"),
            ),
            Ok(Beneath::Inside(absolute)) => match self.sandbox.stat(&absolute).await {
                Ok(entry) if entry.kind == EntryKind::Directory => ToolError::new(
                    ToolErrorCode::IsDirectory,
                    format!("{given:?} is a directory; use list_files"),
                ),
                _ => sandbox_error(error),
            },
            Err(_) => sandbox_error(error),
        }
    }

    pub(super) async fn write_file(
        &self,
        path: &str,
        content: &str,
    ) -> Result<ToolResult, ToolError> {
        let (absolute, relative) = self.resolve(path).await?;
        Self::check_writable(path, &relative)?;

        self.sandbox
            .write(&absolute, content.as_bytes())
            .await
            .map_err(|e| not_a_directory(path, e))?;

        tracing::debug!(path = %relative, bytes = content.len(), "file written");
        Ok(ToolResult::WriteFile {
            path: relative,
            bytes_written: u64::try_from(content.len()).unwrap_or(u64::MAX),
        })
    }

    /// Applies every edit to the text in memory first; the file is written
    /// only when all of them matched exactly once.
    pub(super) async fn edit_file(
        &self,
        path: &str,
        edits: &[Edit],
    ) -> Result<ToolResult, ToolError> {
        if edits.is_empty() {
            return Err(invalid("edits is empty; give at least one {find, replace}"));
        }
        let (absolute, relative) = self.resolve(path).await?;
        Self::check_writable(path, &relative)?;
        let bytes = self.sandbox.read(&absolute).await.map_err(sandbox_error)?;
        let mut text = String::from_utf8(bytes).map_err(|_| {
            invalid(format!(
                "{path:?} is not UTF-8 text; edit_file only edits text"
            ))
        })?;

        for (i, edit) in edits.iter().enumerate() {
            if edit.find.is_empty() {
                return Err(invalid(format!("edit {}: find is empty", i + 1)));
            }
            let matches = text.matches(edit.find.as_str()).count();
            match matches {
                1 => text = text.replacen(edit.find.as_str(), &edit.replace, 1),
                0 => {
                    return Err(ToolError::new(
                        ToolErrorCode::EditNoMatch,
                        format!(
                            "edit {} of {}: `find` matched 0 times in {path:?}; nothing was written",
                            i + 1,
                            edits.len()
                        ),
                    ));
                }
                n => {
                    return Err(ToolError::new(
                        ToolErrorCode::EditNotUnique,
                        format!(
                            "edit {} of {}: `find` matched {n} times in {path:?}; it must match exactly once \
                             (add surrounding lines); nothing was written",
                            i + 1,
                            edits.len()
                        ),
                    ));
                }
            }
        }

        self.sandbox
            .write(&absolute, text.as_bytes())
            .await
            .map_err(sandbox_error)?;
        Ok(ToolResult::EditFile {
            path: relative,
            edits_applied: u32::try_from(edits.len()).unwrap_or(u32::MAX),
        })
    }

    pub(super) async fn delete_file(&self, path: &str) -> Result<ToolResult, ToolError> {
        let (absolute, relative) = self.resolve(path).await?;
        Self::check_writable(path, &relative)?;
        let entry = self.sandbox.stat(&absolute).await.map_err(sandbox_error)?;
        if entry.kind == EntryKind::Directory {
            return Err(ToolError::new(
                ToolErrorCode::IsDirectory,
                format!("{path:?} is a directory; delete_file deletes files"),
            ));
        }

        self.sandbox
            .remove(&absolute)
            .await
            .map_err(sandbox_error)?;
        Ok(ToolResult::DeleteFile { path: relative })
    }

    pub(super) async fn list_files(
        &self,
        path: &str,
        recursive: bool,
        limit: Option<u32>,
        include_ignored: bool,
    ) -> Result<ToolResult, ToolError> {
        let limit = limit.unwrap_or(self.limits.default_list_limit);
        if limit == 0 || limit > self.limits.max_list_limit {
            return Err(invalid(format!(
                "limit must be between 1 and {}",
                self.limits.max_list_limit
            )));
        }
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let (absolute, relative) = self.resolve(path).await?;
        let entry = self.sandbox.stat(&absolute).await.map_err(sandbox_error)?;
        if entry.kind != EntryKind::Directory {
            return Err(ToolError::new(
                ToolErrorCode::NotADirectory,
                format!("{path:?} is not a directory"),
            ));
        }

        // Asking git what it ignores costs a command; only when it matters.
        let tracked = if include_ignored {
            None
        } else {
            self.git_listing(&relative).await?
        };
        let mut entries = match tracked {
            Some(files) => listing_from_files(&relative, &files, recursive),
            None => self.walk(&absolute, recursive, limit + 1).await?,
        };
        entries
            .retain(|e| !paths::in_git_dir(&e.path) && !self.manifest.forbidden.matches(&e.path));
        let truncated = entries.len() > limit;
        entries.truncate(limit);
        Ok(ToolResult::ListFiles {
            path: relative,
            entries,
            truncated,
        })
    }

    /// Files under `relative` that git tracks or would track (ignored ones
    /// left out), or `None` outside a git repository.
    async fn git_listing(&self, relative: &str) -> Result<Option<Vec<String>>, ToolError> {
        let dir = if relative.is_empty() {
            ".".to_owned()
        } else {
            relative.to_owned()
        };
        let mut request = ExecRequest::new(format!(
            "git ls-files --cached --others --exclude-standard -z -- {}",
            shell_quote(&dir)
        ));
        request.cwd = Some(self.root.clone());
        let (exit, output) = exec_collect(&*self.sandbox, request)
            .await
            .map_err(sandbox_error)?;
        if exit.exit_code != Some(0) {
            return Ok(None);
        }
        let files = output
            .stdout
            .split(|b| *b == 0)
            .filter(|name| !name.is_empty())
            .map(|name| String::from_utf8_lossy(name).into_owned())
            .collect();
        Ok(Some(files))
    }

    /// Walks the directory through the sandbox, breadth first, up to
    /// `limit` entries, never into `.git/`.
    async fn walk(
        &self,
        absolute: &str,
        recursive: bool,
        limit: usize,
    ) -> Result<Vec<ListedEntry>, ToolError> {
        let mut found = Vec::new();
        let mut pending = vec![absolute.to_owned()];
        while let Some(dir) = pending.pop() {
            for entry in self.sandbox.list(&dir).await.map_err(sandbox_error)? {
                let Some(relative) = paths::relative_to(&self.root, &entry.path) else {
                    continue;
                };
                if paths::in_git_dir(&relative) {
                    continue;
                }
                let kind = match entry.kind {
                    EntryKind::File => ListedKind::File,
                    EntryKind::Directory => ListedKind::Directory,
                    EntryKind::Symlink => ListedKind::Symlink,
                };
                if recursive && kind == ListedKind::Directory {
                    pending.push(entry.path.clone());
                }
                found.push(ListedEntry {
                    path: relative,
                    kind,
                });
                if found.len() >= limit {
                    return Ok(found);
                }
            }
        }
        found.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(found)
    }
}

/// Turns git's file list into entries under `dir`: every file when
/// recursive, otherwise the files and directories directly inside.
fn listing_from_files(dir: &str, files: &[String], recursive: bool) -> Vec<ListedEntry> {
    let prefix = if dir.is_empty() {
        String::new()
    } else {
        format!("{dir}/")
    };
    let mut listed = BTreeSet::new();
    for file in files {
        let Some(rest) = file.strip_prefix(&prefix) else {
            continue;
        };
        if recursive {
            let mut at = 0;
            while let Some(slash) = rest[at..].find('/') {
                at += slash;
                listed.insert((format!("{prefix}{}", &rest[..at]), ListedKind::Directory));
                at += 1;
            }
            listed.insert((file.clone(), ListedKind::File));
        } else {
            match rest.split_once('/') {
                Some((first, _)) => {
                    listed.insert((format!("{prefix}{first}"), ListedKind::Directory))
                }
                None => listed.insert((file.clone(), ListedKind::File)),
            };
        }
    }
    listed
        .into_iter()
        .map(|(path, kind)| ListedEntry { path, kind })
        .collect()
}

fn invalid(message: impl Into<String>) -> ToolError {
    ToolError::new(ToolErrorCode::InvalidArgument, message)
}

fn not_a_directory(path: &str, error: crate::sandbox::SandboxError) -> ToolError {
    if error.message.contains("not a directory") {
        return ToolError::new(
            ToolErrorCode::NotADirectory,
            format!("a parent of {path:?} is a file"),
        );
    }
    sandbox_error(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flat_listing_shows_direct_children_once() {
        let files = ["a.txt", "src/lib.rs", "src/bin/x.rs", "docs/readme.md"].map(String::from);

        let root = listing_from_files("", &files, false);
        let src = listing_from_files("src", &files, true);

        let names: Vec<_> = root.iter().map(|e| (e.path.as_str(), e.kind)).collect();
        assert_eq!(
            names,
            [
                ("a.txt", ListedKind::File),
                ("docs", ListedKind::Directory),
                ("src", ListedKind::Directory)
            ]
        );
        let names: Vec<_> = src.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(names, ["src/bin", "src/bin/x.rs", "src/lib.rs"]);
    }
}
