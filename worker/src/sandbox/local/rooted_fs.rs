//! File operations confined to one directory tree, however its symlinks
//! point.
//!
//! Every path is resolved by the kernel with `openat2(RESOLVE_IN_ROOT)`:
//! the tree's top is `/` for the lookup, so `..` and symlinks (absolute or
//! relative, made by any command at any time) can never lead outside it.
//! This is what makes it safe for the worker to touch a sandbox's files
//! from outside the sandbox.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

use chrono::{DateTime, Utc};
use rustix::fs::{AtFlags, Dir, FileType, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

use crate::sandbox::{Beneath, EntryInfo, EntryKind, ReadBeneath, SandboxError};

const RESOLVE: ResolveFlags = ResolveFlags::IN_ROOT.union(ResolveFlags::NO_MAGICLINKS);

/// For paths that must stay under a directory inside the tree: `..` past
/// it, an absolute symlink, or a relative one that climbs out all fail
/// with `EXDEV` instead of being clamped.
const BENEATH: ResolveFlags = ResolveFlags::BENEATH.union(ResolveFlags::NO_MAGICLINKS);

/// A directory tree treated as a root file system.
#[derive(Debug, Clone)]
pub struct RootedFs {
    root: PathBuf,
}

/// A path split into its parent (relative to the root) and final name.
struct Split<'a> {
    parent: PathBuf,
    name: &'a str,
}

impl RootedFs {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn read(&self, path: &str) -> Result<Vec<u8>, SandboxError> {
        let fd = self.open(&relative(path)?, OFlags::RDONLY)?;
        let mut file = File::from(fd);
        let mut contents = Vec::new();
        file.read_to_end(&mut contents)
            .map_err(|e| io_error(path, e.raw_os_error().map(Errno::from_raw_os_error)))?;
        Ok(contents)
    }

    /// Writes through a temporary file renamed into place: readers see the
    /// old contents or the new, never half, and a symlink at `path` is
    /// replaced rather than written through.
    pub fn write(&self, path: &str, contents: &[u8]) -> Result<(), SandboxError> {
        let split = split(path)?;
        let parent = self.ensure_dir(&split.parent)?;
        let temporary = format!(".{}.hero-{}", split.name, uuid::Uuid::new_v4().simple());

        let fd = rustix::fs::openat(
            &parent,
            temporary.as_str(),
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o644),
        )
        .map_err(|e| errno(path, e))?;
        let mut file = File::from(fd);
        let written = file.write_all(contents).and_then(|()| file.flush());
        if let Err(e) = written {
            rustix::fs::unlinkat(&parent, temporary.as_str(), AtFlags::empty()).ok();
            return Err(io_error(
                path,
                e.raw_os_error().map(Errno::from_raw_os_error),
            ));
        }
        rustix::fs::renameat(&parent, temporary.as_str(), &parent, split.name)
            .map_err(|e| errno(path, e))
    }

    pub fn list(&self, path: &str) -> Result<Vec<EntryInfo>, SandboxError> {
        let dir = self.open(&relative(path)?, OFlags::RDONLY | OFlags::DIRECTORY)?;
        let mut entries = Vec::new();
        for entry in Dir::read_from(&dir).map_err(|e| errno(path, e))? {
            let entry = entry.map_err(|e| errno(path, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name == "." || name == ".." {
                continue;
            }
            let child = format!("{}/{name}", path.trim_end_matches('/'));
            match entry_info(&dir, &name, child) {
                Ok(info) => entries.push(info),
                // Removed between listing and stat: not there any more.
                Err(e) if e.kind == crate::sandbox::SandboxErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(entries)
    }

    pub fn stat(&self, path: &str) -> Result<EntryInfo, SandboxError> {
        let split = split(path)?;
        let parent = self.open(&split.parent, OFlags::PATH | OFlags::DIRECTORY)?;
        entry_info(&parent, split.name, normalize(path))
    }

    /// Creates the directory and its parents; false when it already was one.
    pub fn make_dir(&self, path: &str) -> Result<bool, SandboxError> {
        let relative = relative(path)?;
        match self.open(&relative, OFlags::PATH | OFlags::DIRECTORY) {
            Ok(_) => Ok(false),
            Err(e) if e.kind == crate::sandbox::SandboxErrorKind::NotFound => {
                self.ensure_dir(&relative)?;
                Ok(true)
            }
            Err(e) => Err(e),
        }
    }

    /// Removes a file, a symlink (not its target) or a whole directory.
    pub fn remove(&self, path: &str) -> Result<(), SandboxError> {
        let split = split(path)?;
        if split.name.is_empty() {
            return Err(SandboxError::refused("refusing to remove the root"));
        }
        let parent = self.open(&split.parent, OFlags::RDONLY | OFlags::DIRECTORY)?;
        remove_entry(&parent, split.name).map_err(|e| errno(path, e))
    }

    /// Where `relative` leads beneath the directory `root` (both as paths in
    /// this tree), following symlinks; see [`Beneath`].
    pub fn resolve_beneath(&self, root: &str, relative: &str) -> Result<Beneath, SandboxError> {
        let root_fd = self.open(&self::relative(root)?, OFlags::PATH | OFlags::DIRECTORY)?;
        self.beneath(&root_fd, relative)
    }

    /// Reads up to `limit` bytes of the file `relative` leads to beneath
    /// `root`, resolving and opening in one step so that nothing can swap a
    /// symlink in between.
    pub fn read_beneath(
        &self,
        root: &str,
        relative: &str,
        limit: usize,
    ) -> Result<ReadBeneath, SandboxError> {
        let root_fd = self.open(&self::relative(root)?, OFlags::PATH | OFlags::DIRECTORY)?;
        check_relative(relative)?;
        let target = if relative.is_empty() { "." } else { relative };
        let fd = match rustix::fs::openat2(
            &root_fd,
            target,
            OFlags::RDONLY | OFlags::CLOEXEC,
            Mode::empty(),
            BENEATH,
        ) {
            Ok(fd) => fd,
            Err(Errno::XDEV) => {
                return Err(SandboxError::refused(format!(
                    "{relative:?} leads outside {root}"
                )));
            }
            Err(e) => return Err(errno(relative, e)),
        };
        let path = self.tree_path(&fd)?;
        let size = u64::try_from(
            rustix::fs::fstat(&fd)
                .map_err(|e| errno(relative, e))?
                .st_size,
        )
        .unwrap_or(0);

        let mut contents = Vec::new();
        File::from(fd)
            .take(u64::try_from(limit).unwrap_or(u64::MAX))
            .read_to_end(&mut contents)
            .map_err(|e| io_error(relative, e.raw_os_error().map(Errno::from_raw_os_error)))?;
        Ok(ReadBeneath {
            path,
            contents,
            size,
        })
    }

    fn beneath(&self, root_fd: &OwnedFd, relative: &str) -> Result<Beneath, SandboxError> {
        check_relative(relative)?;
        let target = if relative.is_empty() { "." } else { relative };
        match rustix::fs::openat2(
            root_fd,
            target,
            OFlags::PATH | OFlags::CLOEXEC,
            Mode::empty(),
            BENEATH,
        ) {
            Ok(fd) => Ok(Beneath::Inside(self.tree_path(&fd)?)),
            Err(Errno::XDEV) => Ok(Beneath::Outside),
            // Not there (yet): resolve the parent and name the entry in it.
            Err(Errno::NOENT) => {
                let trimmed = relative.trim_end_matches('/');
                let (parent, name) = trimmed.rsplit_once('/').unwrap_or(("", trimmed));
                if name.is_empty() || name == "." || name == ".." {
                    return Err(SandboxError::not_found(format!(
                        "{relative}: no such file or directory"
                    )));
                }
                Ok(match self.beneath(root_fd, parent)? {
                    Beneath::Inside(dir) => {
                        Beneath::Inside(format!("{}/{name}", dir.trim_end_matches('/')))
                    }
                    Beneath::Outside => Beneath::Outside,
                })
            }
            Err(e) => Err(errno(relative, e)),
        }
    }

    /// The path of an open descriptor as a path in this tree.
    fn tree_path(&self, fd: &OwnedFd) -> Result<String, SandboxError> {
        use std::os::fd::AsRawFd;

        let host = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()))
            .map_err(|e| SandboxError::transient(format!("resolving a path: {e}")))?;
        let inside = host
            .strip_prefix(&self.root)
            .map_err(|_| SandboxError::refused("a path resolved outside the sandbox"))?;
        Ok(format!("/{}", inside.display()))
    }

    fn open(&self, relative: &Path, flags: OFlags) -> Result<OwnedFd, SandboxError> {
        let root = self.root_fd()?;
        let relative = if relative.as_os_str().is_empty() {
            Path::new(".")
        } else {
            relative
        };
        let relative = relative.strip_prefix("/").unwrap_or(relative);
        rustix::fs::openat2(
            &root,
            relative,
            flags | OFlags::CLOEXEC,
            Mode::empty(),
            RESOLVE,
        )
        .map_err(|e| errno(&format!("/{}", relative.display()), e))
    }

    fn root_fd(&self) -> Result<OwnedFd, SandboxError> {
        rustix::fs::open(
            &self.root,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|_| SandboxError::gone("the sandbox's files are gone"))
    }

    /// Opens `relative` as a directory, creating it and missing parents one
    /// component at a time, each created inside an already-resolved parent.
    fn ensure_dir(&self, relative: &Path) -> Result<OwnedFd, SandboxError> {
        let mut current = self.root_fd()?;
        let mut walked = PathBuf::from("/");
        for component in relative.components() {
            let Component::Normal(name) = component else {
                continue;
            };
            walked.push(name);
            let shown = walked.display().to_string();
            let open = |dir: &OwnedFd| {
                rustix::fs::openat2(
                    dir,
                    name,
                    OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
                    Mode::empty(),
                    RESOLVE,
                )
            };
            current = match open(&current) {
                Ok(fd) => fd,
                Err(Errno::NOENT) => {
                    match rustix::fs::mkdirat(&current, name, Mode::from_raw_mode(0o755)) {
                        Ok(()) | Err(Errno::EXIST) => {}
                        Err(e) => return Err(errno(&shown, e)),
                    }
                    open(&current).map_err(|e| errno(&shown, e))?
                }
                Err(e) => return Err(errno(&shown, e)),
            };
        }
        // `O_PATH` descriptors cannot be used to create entries in; reopen.
        rustix::fs::openat(
            &current,
            ".",
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| errno(&walked.display().to_string(), e))
    }
}

fn entry_info(parent: impl AsFd, name: &str, path: String) -> Result<EntryInfo, SandboxError> {
    let stat = rustix::fs::statat(&parent, name, AtFlags::SYMLINK_NOFOLLOW)
        .map_err(|e| errno(&path, e))?;
    let kind = match FileType::from_raw_mode(stat.st_mode) {
        FileType::Directory => EntryKind::Directory,
        FileType::Symlink => EntryKind::Symlink,
        _ => EntryKind::File,
    };
    let symlink_target = if kind == EntryKind::Symlink {
        rustix::fs::readlinkat(&parent, name, Vec::new())
            .ok()
            .map(|target| target.to_string_lossy().into_owned())
    } else {
        None
    };
    Ok(EntryInfo {
        name: name.to_owned(),
        path,
        kind,
        size: u64::try_from(stat.st_size).unwrap_or(0),
        mode: stat.st_mode & 0o7777,
        modified: DateTime::<Utc>::from_timestamp(stat.st_mtime, 0),
        symlink_target,
    })
}

/// Removes `name` inside `parent` without following symlinks: a symlinked
/// directory loses its link, never the target's contents.
fn remove_entry(parent: &OwnedFd, name: &str) -> Result<(), Errno> {
    let stat = rustix::fs::statat(parent, name, AtFlags::SYMLINK_NOFOLLOW)?;
    if FileType::from_raw_mode(stat.st_mode) != FileType::Directory {
        return rustix::fs::unlinkat(parent, name, AtFlags::empty());
    }

    let dir = rustix::fs::openat(
        parent,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let mut children = Vec::new();
    for entry in Dir::read_from(&dir)? {
        let entry = entry?;
        let child = entry.file_name().to_string_lossy().into_owned();
        if child != "." && child != ".." {
            children.push(child);
        }
    }
    for child in children {
        remove_entry(&dir, &child)?;
    }
    rustix::fs::unlinkat(parent, name, AtFlags::REMOVEDIR)
}

/// A path meant relative to some directory: not absolute, no NUL.
fn check_relative(path: &str) -> Result<(), SandboxError> {
    if path.contains('\0') {
        return Err(SandboxError::refused("path contains a NUL byte"));
    }
    if path.starts_with('/') {
        return Err(SandboxError::refused(format!(
            "path {path:?} must be relative"
        )));
    }
    Ok(())
}

/// The path relative to the root, refusing what is not an absolute path.
fn relative(path: &str) -> Result<PathBuf, SandboxError> {
    if path.contains('\0') {
        return Err(SandboxError::refused("path contains a NUL byte"));
    }
    if !path.starts_with('/') {
        return Err(SandboxError::refused(format!(
            "path {path:?} must be absolute"
        )));
    }
    Ok(PathBuf::from(path.trim_start_matches('/')))
}

fn split(path: &str) -> Result<Split<'_>, SandboxError> {
    relative(path)?;
    let trimmed = path.trim_end_matches('/');
    let (parent, name) = trimmed.rsplit_once('/').unwrap_or(("", trimmed));
    if name == "." || name == ".." {
        return Err(SandboxError::refused(format!(
            "path {path:?} must name an entry, not {name:?}"
        )));
    }
    Ok(Split {
        parent: PathBuf::from(parent.trim_start_matches('/')),
        name,
    })
}

fn normalize(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        "/".to_owned()
    } else {
        trimmed.to_owned()
    }
}

fn errno(path: &str, error: Errno) -> SandboxError {
    io_error(path, Some(error))
}

fn io_error(path: &str, error: Option<Errno>) -> SandboxError {
    match error {
        Some(Errno::NOENT) => SandboxError::not_found(format!("{path}: no such file or directory")),
        Some(Errno::NOTDIR) => SandboxError::refused(format!("{path}: not a directory")),
        Some(Errno::ISDIR) => SandboxError::refused(format!("{path}: is a directory")),
        Some(Errno::EXIST) => SandboxError::refused(format!("{path}: already exists")),
        Some(Errno::LOOP) => SandboxError::refused(format!("{path}: too many levels of symlinks")),
        Some(Errno::XDEV) => SandboxError::refused(format!("{path}: leads outside the sandbox")),
        Some(Errno::ACCESS | Errno::PERM) => {
            SandboxError::refused(format!("{path}: permission denied"))
        }
        Some(other) => SandboxError::refused(format!("{path}: {other}")),
        None => SandboxError::refused(format!("{path}: I/O error")),
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;
    use crate::sandbox::SandboxErrorKind;

    struct Tree {
        outside: PathBuf,
        root: PathBuf,
        fs: RootedFs,
    }

    fn tree() -> Tree {
        let base = std::env::temp_dir().join(format!("hero-rooted-{}", uuid::Uuid::new_v4()));
        let root = base.join("root");
        let outside = base.join("outside");
        std::fs::create_dir_all(root.join("home/user")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("secret.txt"), "host secret").unwrap();
        Tree {
            fs: RootedFs::new(&root),
            outside,
            root,
        }
    }

    impl Drop for Tree {
        fn drop(&mut self) {
            if let Some(base) = self.root.parent() {
                std::fs::remove_dir_all(base).ok();
            }
        }
    }

    #[test]
    fn files_round_trip_and_parents_are_created() {
        let t = tree();

        t.fs.write("/home/user/a/b/c.txt", b"hello").unwrap();

        assert_eq!(t.fs.read("/home/user/a/b/c.txt").unwrap(), b"hello");
        assert_eq!(
            t.fs.stat("/home/user/a/b").unwrap().kind,
            EntryKind::Directory
        );
        let listed = t.fs.list("/home/user/a/b").unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].path, "/home/user/a/b/c.txt");
        assert_eq!(listed[0].size, 5);
    }

    #[test]
    fn dot_dot_cannot_climb_out_of_the_root() {
        let t = tree();

        let error =
            t.fs.read("/home/user/../../../outside/secret.txt")
                .unwrap_err();

        assert_eq!(error.kind, SandboxErrorKind::NotFound);
    }

    #[test]
    fn an_absolute_symlink_to_the_host_resolves_inside_the_root() {
        let t = tree();
        symlink(t.outside.join("secret.txt"), t.root.join("home/user/link")).unwrap();

        let read = t.fs.read("/home/user/link");
        let write = t.fs.write("/home/user/link/x", b"no");

        assert_eq!(read.unwrap_err().kind, SandboxErrorKind::NotFound);
        assert!(write.is_err());
        assert_eq!(
            std::fs::read_to_string(t.outside.join("secret.txt")).unwrap(),
            "host secret"
        );
    }

    #[test]
    fn a_symlinked_parent_directory_does_not_lead_out() {
        let t = tree();
        symlink(&t.outside, t.root.join("home/user/out")).unwrap();
        symlink("../../../../outside", t.root.join("home/user/rel")).unwrap();

        assert!(t.fs.read("/home/user/out/secret.txt").is_err());
        assert!(t.fs.read("/home/user/rel/secret.txt").is_err());
        t.fs.write("/home/user/out/planted.txt", b"x").ok();
        t.fs.make_dir("/home/user/rel/newdir").ok();
        assert!(!t.outside.join("planted.txt").exists());
        assert!(!t.outside.join("newdir").exists());
    }

    #[test]
    fn writing_over_a_symlink_replaces_the_link_not_its_target() {
        let t = tree();
        t.fs.write("/home/user/target.txt", b"original").unwrap();
        symlink("target.txt", t.root.join("home/user/link.txt")).unwrap();

        t.fs.write("/home/user/link.txt", b"new").unwrap();

        assert_eq!(t.fs.read("/home/user/target.txt").unwrap(), b"original");
        assert_eq!(
            t.fs.stat("/home/user/link.txt").unwrap().kind,
            EntryKind::File
        );
    }

    #[test]
    fn removing_a_symlinked_directory_keeps_its_target() {
        let t = tree();
        std::fs::write(t.outside.join("keep.txt"), "keep").unwrap();
        symlink(&t.outside, t.root.join("home/user/dirlink")).unwrap();
        t.fs.write("/home/user/tree/a/b.txt", b"x").unwrap();

        t.fs.remove("/home/user/dirlink").unwrap();
        t.fs.remove("/home/user/tree").unwrap();

        assert!(t.outside.join("keep.txt").exists());
        assert_eq!(
            t.fs.stat("/home/user/tree").unwrap_err().kind,
            SandboxErrorKind::NotFound
        );
    }

    #[test]
    fn stat_reports_a_symlink_and_its_target() {
        let t = tree();
        symlink("/etc/passwd", t.root.join("home/user/pw")).unwrap();

        let info = t.fs.stat("/home/user/pw").unwrap();

        assert_eq!(info.kind, EntryKind::Symlink);
        assert_eq!(info.symlink_target.as_deref(), Some("/etc/passwd"));
    }

    #[test]
    fn make_dir_says_whether_it_created_the_directory() {
        let t = tree();

        assert!(t.fs.make_dir("/home/user/x/y").unwrap());
        assert!(!t.fs.make_dir("/home/user/x/y").unwrap());
    }

    #[test]
    fn relative_paths_and_nul_bytes_are_refused() {
        let t = tree();

        assert_eq!(
            t.fs.read("home/user/a").unwrap_err().kind,
            SandboxErrorKind::Refused
        );
        assert_eq!(
            t.fs.read("/home/user/a\0b").unwrap_err().kind,
            SandboxErrorKind::Refused
        );
    }
}
