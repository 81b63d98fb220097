//! How local commands are isolated: bubblewrap when it is installed and
//! works here, otherwise nothing (and a loud warning).

use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::process::Command;

/// Where commands see their files. Under bubblewrap the sandbox's `home`
/// directory is mounted at `/home`, so the workdir is `/home/user` as on
/// E2B; without it, commands see the host's real paths.
pub const ISOLATED_WORKDIR: &str = "/home/user";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Isolation {
    Bubblewrap { bwrap: PathBuf },
    None,
}

/// What the operator asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IsolationMode {
    /// Bubblewrap if it works here, otherwise none with a warning.
    #[default]
    Auto,
    /// Refuse to start without bubblewrap.
    Required,
    /// Never isolate (tests of the unisolated path).
    Disabled,
}

/// Host paths mounted read-only: the system, not the host's homes, `/root`,
/// `/work`, `/var` or anything else with data in it.
const SYSTEM_DIRS: &[&str] = &["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/etc"];

/// Files under `/etc` that would be readable inside a user namespace
/// (the host's root maps to the sandbox user) and must not be.
const MASKED_FILES: &[&str] = &[
    "/etc/shadow",
    "/etc/gshadow",
    "/etc/shadow-",
    "/etc/gshadow-",
];

impl Isolation {
    /// Finds a bubblewrap that can actually start a sandbox here; some
    /// containers forbid the namespaces it needs.
    pub async fn detect(mode: IsolationMode) -> Result<Self, String> {
        if mode == IsolationMode::Disabled {
            return Ok(Self::None);
        }
        let found = find_bwrap();
        if let Some(bwrap) = found.clone() {
            let probe = Command::new(&bwrap)
                .args([
                    "--ro-bind",
                    "/",
                    "/",
                    "--unshare-user",
                    "--unshare-pid",
                    "true",
                ])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .await;
            if matches!(probe, Ok(status) if status.success()) {
                return Ok(Self::Bubblewrap { bwrap });
            }
        }
        let why = match found {
            Some(path) => format!("{} cannot create namespaces here", path.display()),
            None => "bubblewrap (bwrap) is not installed".to_owned(),
        };
        if mode == IsolationMode::Required {
            return Err(format!("local sandboxes require isolation, but {why}"));
        }
        tracing::warn!(
            "LOCAL SANDBOXES ARE NOT ISOLATED: {why}. Commands run as this user with \
             full access to this machine. Install bubblewrap (apt-get install bubblewrap)."
        );
        Ok(Self::None)
    }

    pub fn is_isolated(&self) -> bool {
        matches!(self, Self::Bubblewrap { .. })
    }

    /// The command that runs `script` with bash for a sandbox whose `home`
    /// directory is `home_dir`, starting in `cwd` (as the sandbox sees it).
    pub fn command(&self, home_dir: &Path, cwd: &str, network: bool, script: &str) -> Command {
        match self {
            Self::None => {
                let mut command = Command::new("/bin/bash");
                command.arg("-c").arg(script).current_dir(cwd);
                command
            }
            Self::Bubblewrap { bwrap } => {
                let mut command = Command::new(bwrap);
                for dir in SYSTEM_DIRS {
                    command.args(["--ro-bind-try", dir, dir]);
                }
                for file in MASKED_FILES {
                    if Path::new(file).exists() {
                        command.args(["--ro-bind", "/dev/null", file]);
                    }
                }
                command
                    .args(["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"])
                    .arg("--bind")
                    .arg(home_dir)
                    .arg("/home")
                    // A user namespace: the sandbox user has no power over
                    // the host even though Hero may run as root.
                    .args(["--unshare-user", "--uid", "1000", "--gid", "1000"])
                    .args(["--unshare-pid", "--unshare-ipc", "--unshare-uts"])
                    .args(["--hostname", "sandbox"])
                    .args(["--die-with-parent", "--new-session"]);
                if !network {
                    command.arg("--unshare-net");
                }
                command
                    .arg("--chdir")
                    .arg(cwd)
                    .args(["/bin/bash", "-c", script]);
                command
            }
        }
    }
}

fn find_bwrap() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("bwrap"))
        .find(|candidate| candidate.is_file())
}
