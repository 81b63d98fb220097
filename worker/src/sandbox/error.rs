//! Sandbox errors, sorted by what a caller should do about them.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SandboxErrorKind {
    /// The sandbox, file or directory does not exist.
    NotFound,
    /// The sandbox existed but is dead; replace it.
    Gone,
    /// The operation took too long.
    TimedOut,
    /// The provider refused: bad input, authentication, a path outside what
    /// the sandbox allows. Retrying will not help.
    Refused,
    /// Worth retrying: rate limits, 5xx, dropped connections.
    Transient,
    /// The caller cancelled it (its job was cancelled); it was stopped.
    Cancelled,
}

/// A sandbox error: its kind and the provider's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxError {
    pub kind: SandboxErrorKind,
    pub message: String,
}

impl SandboxError {
    pub fn new(kind: SandboxErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(SandboxErrorKind::NotFound, message)
    }

    pub fn gone(message: impl Into<String>) -> Self {
        Self::new(SandboxErrorKind::Gone, message)
    }

    pub fn timed_out(message: impl Into<String>) -> Self {
        Self::new(SandboxErrorKind::TimedOut, message)
    }

    pub fn refused(message: impl Into<String>) -> Self {
        Self::new(SandboxErrorKind::Refused, message)
    }

    pub fn transient(message: impl Into<String>) -> Self {
        Self::new(SandboxErrorKind::Transient, message)
    }

    pub fn cancelled(message: impl Into<String>) -> Self {
        Self::new(SandboxErrorKind::Cancelled, message)
    }

    pub fn is_transient(&self) -> bool {
        matches!(
            self.kind,
            SandboxErrorKind::Transient | SandboxErrorKind::TimedOut
        )
    }
}

impl fmt::Display for SandboxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            SandboxErrorKind::NotFound => "not found",
            SandboxErrorKind::Gone => "sandbox gone",
            SandboxErrorKind::TimedOut => "timed out",
            SandboxErrorKind::Refused => "refused",
            SandboxErrorKind::Transient => "temporary failure",
            SandboxErrorKind::Cancelled => "cancelled",
        };
        write!(f, "{kind}: {}", self.message)
    }
}

impl std::error::Error for SandboxError {}
