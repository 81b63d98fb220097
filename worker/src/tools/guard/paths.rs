//! Paths as the rules see them: resolved against the working directory as
//! text (`.`, `..` and repeated slashes removed, symlinks not followed),
//! and the places whose loss would wreck the sandbox.

use super::expand::Arg;

/// First-level directories of a Linux system; removing one breaks it.
const SYSTEM_DIRS: [&str; 17] = [
    "bin", "boot", "dev", "etc", "lib", "lib32", "lib64", "libx32", "opt", "proc", "root", "run",
    "sbin", "srv", "sys", "usr", "var",
];

/// Device names, under `/dev/`, of disks and their partitions: a prefix
/// followed by letters and digits (`sda1`, `nvme0n1p2`, `md0`).
const DISK_PREFIXES: [&str; 8] = ["sd", "hd", "vd", "xvd", "nvme", "mmcblk", "dm-", "md"];
/// Directories of `/dev/` whose every entry is a disk.
const DISK_DIRS: [&str; 3] = ["disk", "disk/", "mapper/"];

/// Devices that are safe to write to.
const HARMLESS_DEVICES: [&str; 9] = [
    "null", "zero", "full", "random", "urandom", "stdin", "stdout", "stderr", "tty",
];
const HARMLESS_DEVICE_DIRS: [&str; 3] = ["fd/", "pts/", "shm/"];

/// The sandbox's landmarks, normalized.
#[derive(Debug, Clone)]
pub(super) struct Places {
    pub repo_root: String,
    pub home: String,
    pub cwd: String,
}

impl Places {
    pub(super) fn new(repo_root: &str, home: &str, cwd: &str) -> Self {
        let repo_root = normalize("/", repo_root);
        let home = normalize("/", home);
        let cwd = normalize(&repo_root, cwd);
        Self {
            repo_root,
            home,
            cwd,
        }
    }
}

/// A directory the rules protect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Place {
    Root,
    System(String),
    Home(String),
    HomeParent(String),
    Repo(String),
    RepoParent(String),
}

impl Place {
    pub(super) fn describe(&self) -> String {
        match self {
            Place::Root => "the filesystem root /".to_owned(),
            Place::System(path) => format!("the system directory {path}"),
            Place::Home(path) => format!("the home directory {path}"),
            Place::HomeParent(path) => format!("{path}, which holds the home directory"),
            Place::Repo(path) => format!("the repository root {path}"),
            Place::RepoParent(path) => format!("{path}, which holds the repository"),
        }
    }

    /// The filesystem root or a system directory, as opposed to the
    /// user's own places.
    pub(super) fn is_system(&self) -> bool {
        matches!(self, Place::Root | Place::System(_))
    }
}

/// What an argument names, when it names a protected place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Target {
    /// The place itself.
    Dir(Place),
    /// A glob such as `*` matching everything in the place.
    Everything(Place),
}

impl Target {
    pub(super) fn describe(&self) -> String {
        match self {
            Target::Dir(place) => place.describe(),
            Target::Everything(place) => format!("everything in {}", place.describe()),
        }
    }

    pub(super) fn place(&self) -> &Place {
        match self {
            Target::Dir(place) | Target::Everything(place) => place,
        }
    }
}

/// The protected place `arg` names, resolved against the working directory.
pub(super) fn target(arg: &Arg, places: &Places) -> Option<Target> {
    if arg.text.is_empty() {
        return None;
    }

    let mut components: Vec<(String, bool)> = Vec::new();
    if !arg.text.starts_with('/') {
        components.extend(
            places
                .cwd
                .split('/')
                .filter(|c| !c.is_empty())
                .map(|c| (c.to_owned(), false)),
        );
    }
    let mut offset = 0;
    let mut first_glob = None;
    for segment in arg.text.split('/') {
        let globs: Vec<usize> = arg
            .globs
            .iter()
            .filter(|&&at| at >= offset && at < offset + segment.len())
            .map(|&at| at - offset)
            .collect();
        offset += segment.len() + 1;

        match segment {
            "" | "." if globs.is_empty() => {}
            ".." if globs.is_empty() => {
                components.pop();
            }
            _ => {
                if !globs.is_empty() && first_glob.is_none() {
                    first_glob = Some(components.len());
                }
                components.push((segment.to_owned(), matches_everything(segment, &globs)));
            }
        }
    }

    match first_glob {
        // `..` may have popped the glob; then it names a plain directory.
        Some(at) if at < components.len() => {
            if !components[at].1 {
                return None;
            }
            let parent = join(&components[..at]);
            place(&parent, places).map(Target::Everything)
        }
        _ => place(&join(&components), places).map(Target::Dir),
    }
}

/// A glob segment made only of unquoted `*` and `?`, such as `*`, matches
/// every entry of its directory (but dot files).
fn matches_everything(segment: &str, globs: &[usize]) -> bool {
    segment.contains('*')
        && segment
            .char_indices()
            .all(|(at, c)| matches!(c, '*' | '?') && globs.contains(&at))
}

fn join(components: &[(String, bool)]) -> String {
    let mut path = String::new();
    for (name, _) in components {
        path.push('/');
        path.push_str(name);
    }
    if path.is_empty() {
        path.push('/');
    }
    path
}

/// The protected place at an absolute, normalized `path`.
pub(super) fn place(path: &str, places: &Places) -> Option<Place> {
    let holds = |inner: &str| path == "/" || inner.starts_with(&format!("{path}/"));

    if path == "/" {
        Some(Place::Root)
    } else if path == places.repo_root {
        Some(Place::Repo(path.to_owned()))
    } else if path == places.home {
        Some(Place::Home(path.to_owned()))
    } else if holds(&places.repo_root) {
        Some(Place::RepoParent(path.to_owned()))
    } else if holds(&places.home) {
        Some(Place::HomeParent(path.to_owned()))
    } else if SYSTEM_DIRS
        .iter()
        .any(|dir| path.strip_prefix('/') == Some(dir))
    {
        Some(Place::System(path.to_owned()))
    } else {
        None
    }
}

/// `path` made absolute against `base`, with `.`, `..` and empty
/// components removed.
/// `text` as a path relative to the repository root, when it is one inside
/// the repository (resolved against the working directory as text).
pub(super) fn in_repo(text: &str, places: &Places) -> Option<String> {
    if text.is_empty() {
        return None;
    }
    let absolute = normalize(&places.cwd, text);
    absolute
        .strip_prefix(&places.repo_root)
        .and_then(|rest| rest.strip_prefix('/'))
        .filter(|relative| !relative.is_empty())
        .map(str::to_owned)
}

pub(super) fn normalize(base: &str, path: &str) -> String {
    let mut components: Vec<&str> = Vec::new();
    let joined = if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("{base}/{path}")
    };
    for component in joined.split('/') {
        match component {
            "" | "." => {}
            ".." => {
                components.pop();
            }
            name => components.push(name),
        }
    }
    format!("/{}", components.join("/"))
}

/// The device `text` names, if it is one worth protecting: any device
/// under `/dev/` but the harmless ones (`/dev/null`, `/dev/stdout`, ...).
pub(super) fn device(text: &str, cwd: &str) -> Option<String> {
    if text.is_empty() {
        return None;
    }
    let path = normalize(cwd, text);
    let name = path.strip_prefix("/dev/")?;
    let harmless = HARMLESS_DEVICES.contains(&name)
        || HARMLESS_DEVICE_DIRS.iter().any(|dir| name.starts_with(dir));
    (!harmless).then_some(path)
}

/// The disk or partition `text` names, if it names one.
pub(super) fn disk(text: &str, cwd: &str) -> Option<String> {
    let path = device(text, cwd)?;
    let name = path.strip_prefix("/dev/")?;
    let is_disk = DISK_DIRS
        .iter()
        .any(|dir| name == dir.trim_end_matches('/') || name.starts_with(dir))
        || DISK_PREFIXES.iter().any(|prefix| {
            name.strip_prefix(prefix).is_some_and(|rest| {
                !rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric())
            })
        });
    is_disk.then_some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn places() -> Places {
        Places::new("/home/user/repo", "/home/user", "/home/user/repo/src")
    }

    fn arg(text: &str) -> Arg {
        Arg {
            text: text.into(),
            globs: text
                .char_indices()
                .filter(|(_, c)| *c == '*')
                .map(|(at, _)| at)
                .collect(),
            ..Arg::default()
        }
    }

    #[test]
    fn relative_paths_resolve_against_the_working_directory() {
        let places = places();

        assert_eq!(
            target(&arg(".."), &places),
            Some(Target::Dir(Place::Repo("/home/user/repo".into())))
        );
        assert_eq!(
            target(&arg("../.."), &places),
            Some(Target::Dir(Place::Home("/home/user".into())))
        );
        assert_eq!(
            target(&arg("../../../.."), &places),
            Some(Target::Dir(Place::Root))
        );
        assert_eq!(target(&arg("../dist"), &places), None);
        assert_eq!(target(&arg("./build"), &places), None);
    }

    #[test]
    fn a_star_matches_everything_only_on_its_own() {
        let places = places();

        assert_eq!(
            target(&arg("/*"), &places),
            Some(Target::Everything(Place::Root))
        );
        assert_eq!(
            target(&arg("../*"), &places),
            Some(Target::Everything(Place::Repo("/home/user/repo".into())))
        );
        assert_eq!(target(&arg("../*.log"), &places), None);
        assert_eq!(target(&arg("*"), &places), None);
    }

    #[test]
    fn disks_are_told_from_harmless_devices() {
        assert_eq!(disk("/dev/sda1", "/"), Some("/dev/sda1".into()));
        assert_eq!(
            disk("../../dev/nvme0n1", "/home/user"),
            Some("/dev/nvme0n1".into())
        );
        assert_eq!(
            disk("/dev/disk/by-id/x", "/"),
            Some("/dev/disk/by-id/x".into())
        );
        assert_eq!(disk("/dev/null", "/"), None);
        assert_eq!(disk("/dev/sda1.txt", "/"), None);
        assert_eq!(
            disk("/dev/mapper/root", "/"),
            Some("/dev/mapper/root".into())
        );
        assert_eq!(device("/dev/stderr", "/"), None);
        assert_eq!(device("/dev/fd/3", "/"), None);
        assert_eq!(device("/dev/loop0", "/"), Some("/dev/loop0".into()));
    }
}
