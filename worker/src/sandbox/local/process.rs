//! Running one command: streamed output, a deadline, and nothing left
//! behind when it ends.

use std::process::Stdio;
use std::time::Duration;

use rustix::process::{Pid, Signal};
use tokio::io::AsyncReadExt;
use tokio::process::Command;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::sandbox::{ExecExit, OutputSink, OutputStream, SandboxError};

/// How long output may keep arriving after the command's own process has
/// exited (from children still writing) before the rest is killed.
const DRAIN_GRACE: Duration = Duration::from_millis(200);

/// Runs `command` in its own process group, feeding output to `sink`
/// until it exits or `timeout` passes. Either way the whole group is
/// killed at the end, so no background process outlives its command.
/// Cancelling `sandbox_gone` kills it too and reports the sandbox gone;
/// cancelling `cancel` kills it and reports it cancelled.
pub async fn run(
    mut command: Command,
    timeout: Duration,
    sandbox_gone: CancellationToken,
    cancel: CancellationToken,
    sink: OutputSink<'_>,
) -> Result<ExecExit, SandboxError> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = command
        .spawn()
        .map_err(|e| SandboxError::refused(format!("cannot start the command: {e}")))?;
    let group = child
        .id()
        .and_then(|id| i32::try_from(id).ok())
        .and_then(Pid::from_raw);
    let _guard = GroupGuard(group);

    let (Some(mut stdout), Some(mut stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(SandboxError::refused(
            "the command's output pipes are missing",
        ));
    };
    let deadline = Instant::now() + timeout;
    let mut out_buf = vec![0u8; 32 * 1024];
    let mut err_buf = vec![0u8; 32 * 1024];
    let (mut out_open, mut err_open) = (true, true);
    let mut status = None;
    let mut timed_out = false;
    let mut drain_until: Option<Instant> = None;

    while out_open || err_open || status.is_none() {
        let stop_at = drain_until.unwrap_or(deadline);
        tokio::select! {
            read = stdout.read(&mut out_buf), if out_open => match read {
                Ok(0) | Err(_) => out_open = false,
                Ok(n) => sink(OutputStream::Stdout, &out_buf[..n]),
            },
            read = stderr.read(&mut err_buf), if err_open => match read {
                Ok(0) | Err(_) => err_open = false,
                Ok(n) => sink(OutputStream::Stderr, &err_buf[..n]),
            },
            exited = child.wait(), if status.is_none() => {
                status = Some(exited.map_err(|e| SandboxError::refused(format!("waiting for the command: {e}")))?);
                drain_until = Some(Instant::now() + DRAIN_GRACE);
            },
            () = cancel.cancelled() => {
                kill_group(group);
                child.wait().await.ok();
                return Err(SandboxError::cancelled("the command was cancelled"));
            }
            () = sandbox_gone.cancelled() => {
                kill_group(group);
                child.wait().await.ok();
                return Err(SandboxError::gone("the sandbox was killed while the command ran"));
            }
            () = tokio::time::sleep_until(stop_at) => {
                if drain_until.is_none() {
                    timed_out = true;
                }
                kill_group(group);
                if status.is_none() {
                    status = child.wait().await.ok();
                }
                break;
            }
        }
    }

    let exit_code = if timed_out {
        None
    } else {
        status.and_then(|s| s.code())
    };
    Ok(ExecExit {
        exit_code,
        timed_out,
    })
}

fn kill_group(group: Option<Pid>) {
    if let Some(group) = group {
        // ESRCH: everything already exited.
        rustix::process::kill_process_group(group, Signal::KILL).ok();
    }
}

/// Kills the process group when the run ends for any reason, including the
/// caller dropping the future (a cancelled job).
struct GroupGuard(Option<Pid>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        kill_group(self.0);
    }
}

/// Builds the child's environment from scratch: nothing of the worker's own
/// environment (its database URL, its keys) reaches a command.
pub fn set_environment<'a>(
    command: &mut Command,
    home: &str,
    vars: impl IntoIterator<Item = (&'a str, &'a str)>,
) {
    command
        .env_clear()
        .env(
            "PATH",
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        )
        .env("HOME", home)
        .env("USER", "user")
        .env("LOGNAME", "user")
        .env("LANG", "C.UTF-8")
        .env("TERM", "dumb");
    for (key, value) in vars {
        command.env(key, value);
    }
}
