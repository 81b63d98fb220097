//! Why a job run failed, and whether trying again could help. Hero, not
//! apalis, decides: transient failures are retried with backoff (honouring
//! a forge's `Retry-After`), permanent ones end the job at once.

use std::time::Duration;

use hero_common::jobs::JobFailure;
use hero_common::redact::Redactor;
use hero_common::store::StoreError;
use hero_common::tool_call::{ToolError, ToolErrorCode};
use rand::Rng;

use crate::forge::submit::SubmitError;
use crate::forge::{ForgeError, ForgeErrorKind};
use crate::git::GitError;
use crate::lease::{LeaseError, PoolError};
use crate::sandbox::{SandboxError, SandboxErrorKind};
use crate::tools::manifest::ManifestError;

/// A failed run: what clients see, and when a retry may come.
#[derive(Debug, Clone, PartialEq)]
pub struct RunError {
    pub failure: JobFailure,
    /// At least this long before retrying (a forge's `Retry-After`).
    pub retry_after: Option<Duration>,
}

impl RunError {
    pub fn permanent(code: &str, message: impl Into<String>) -> Self {
        Self::new(code, message, false)
    }

    pub fn transient(code: &str, message: impl Into<String>) -> Self {
        Self::new(code, message, true)
    }

    fn new(code: &str, message: impl Into<String>, transient: bool) -> Self {
        Self {
            failure: JobFailure {
                code: code.to_owned(),
                message: message.into(),
                transient,
            },
            retry_after: None,
        }
    }

    pub fn is_transient(&self) -> bool {
        self.failure.transient
    }

    /// The same failure with every known secret masked.
    pub fn redacted(mut self, redactor: &Redactor) -> Self {
        self.failure.message = redactor.redact_str(&self.failure.message);
        self
    }
}

/// How long to wait before attempt `attempt + 1`: exponential from one
/// second, capped at five minutes, with jitter so that jobs failing
/// together do not come back together; never sooner than the forge asked.
pub fn backoff(attempt: i32, retry_after: Option<Duration>) -> Duration {
    let exponent = u32::try_from(attempt.clamp(1, 9) - 1).unwrap_or(0);
    let base = Duration::from_secs(1u64 << exponent).min(Duration::from_secs(300));
    let jitter = rand::thread_rng().gen_range(0.0..0.5);
    let delay = base.mul_f64(1.0 + jitter);
    retry_after.map_or(delay, |asked| delay.max(asked))
}

impl From<SandboxError> for RunError {
    fn from(error: SandboxError) -> Self {
        let transient = matches!(
            error.kind,
            SandboxErrorKind::Transient | SandboxErrorKind::Gone | SandboxErrorKind::TimedOut
        );
        Self::new("sandbox", error.to_string(), transient)
    }
}

/// Words in git's own errors that mean the network or the server, not
/// the request, failed.
const TRANSIENT_GIT: &[&str] = &[
    "Could not resolve host",
    "Connection refused",
    "Failed to connect",
    "Couldn't connect to server",
    "Connection reset",
    "Connection timed out",
    "Operation timed out",
    "early EOF",
    "RPC failed",
    "The requested URL returned error: 5",
    "The requested URL returned error: 429",
    "remote end hung up unexpectedly",
    "Empty reply from server",
    "Recv failure",
    "transfer closed with outstanding read data remaining",
];

impl From<GitError> for RunError {
    fn from(error: GitError) -> Self {
        match error {
            GitError::Sandbox(error) => error.into(),
            GitError::Refused(message) => Self::permanent("git_refused", message),
            GitError::Failed { ref stderr, .. } => {
                let transient = TRANSIENT_GIT.iter().any(|needle| stderr.contains(needle));
                Self::new("git", error.to_string(), transient)
            }
        }
    }
}

impl From<ForgeError> for RunError {
    fn from(error: ForgeError) -> Self {
        let code = match error.kind {
            ForgeErrorKind::NotFound => "forge_not_found",
            ForgeErrorKind::Unauthorized => "forge_unauthorized",
            ForgeErrorKind::Invalid => "forge_invalid",
            ForgeErrorKind::Transient => "forge_unavailable",
        };
        let mut run = Self::new(
            code,
            error.message.clone(),
            error.kind == ForgeErrorKind::Transient,
        );
        run.retry_after = error.retry_after;
        run
    }
}

impl From<StoreError> for RunError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Database(_) => Self::transient("database", error.to_string()),
            other => Self::permanent("store", other.to_string()),
        }
    }
}

impl From<LeaseError> for RunError {
    fn from(error: LeaseError) -> Self {
        // Waiting too long for capacity is not the job's fault.
        Self::transient("lease", error.to_string())
    }
}

impl From<PoolError> for RunError {
    fn from(error: PoolError) -> Self {
        match error {
            PoolError::Lease(error) => error.into(),
            PoolError::Provider(error) => error.into(),
        }
    }
}

impl From<ToolError> for RunError {
    fn from(error: ToolError) -> Self {
        let transient = matches!(
            error.code,
            ToolErrorCode::SandboxUnavailable | ToolErrorCode::Timeout
        );
        let code = serde_json::to_value(error.code)
            .ok()
            .and_then(|v| v.as_str().map(|s| format!("tool_{s}")))
            .unwrap_or_else(|| "tool".to_owned());
        Self::new(&code, error.message, transient)
    }
}

impl From<ManifestError> for RunError {
    fn from(error: ManifestError) -> Self {
        match error {
            ManifestError::Sandbox(error) => error.into(),
            other => Self::permanent("manifest", other.to_string()),
        }
    }
}

impl From<SubmitError> for RunError {
    fn from(error: SubmitError) -> Self {
        match error {
            SubmitError::Git(error) => error.into(),
            SubmitError::Forge(error) => error.into(),
            SubmitError::Store(error) => error.into(),
            SubmitError::Invalid(message) => Self::permanent("invalid_params", message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_honours_retry_after() {
        for attempt in 1..=9 {
            let floor = Duration::from_secs(1 << (attempt - 1)).min(Duration::from_secs(300));
            let delay = backoff(attempt, None);
            assert!(
                delay >= floor && delay <= floor.mul_f64(1.5),
                "{attempt}: {delay:?}"
            );
        }
        assert!(backoff(30, None) <= Duration::from_secs(450));
        assert!(backoff(1, Some(Duration::from_secs(42))) >= Duration::from_secs(42));
    }

    #[test]
    fn network_failures_of_git_are_transient_and_refusals_are_not() {
        let failed = |stderr: &str| GitError::Failed {
            command: "git push".to_owned(),
            exit: "128".to_owned(),
            stderr: stderr.to_owned(),
        };
        for stderr in [
            "fatal: unable to access: Could not resolve host: x",
            "fatal: unable to access 'http://h/r.git/': Empty reply from server",
        ] {
            assert!(RunError::from(failed(stderr)).is_transient(), "{stderr}");
        }
        assert!(
            !RunError::from(failed("error: src refspec nope does not match any")).is_transient()
        );
        assert!(!RunError::from(GitError::Refused("no".to_owned())).is_transient());
    }

    #[test]
    fn a_rate_limited_forge_is_retried_no_sooner_than_it_asked() {
        let mut error = ForgeError::new(ForgeErrorKind::Transient, "429");
        error.retry_after = Some(Duration::from_secs(7));
        let run = RunError::from(error);
        assert!(run.is_transient());
        assert_eq!(run.retry_after, Some(Duration::from_secs(7)));
        assert!(!RunError::from(ForgeError::new(ForgeErrorKind::Invalid, "422")).is_transient());
    }
}
