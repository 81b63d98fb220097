//! Hero's own retries of GitHub calls, in place of octocrab's.
//!
//! octocrab's default retry re-sends any request, a POST included, at once
//! and without reading `Retry-After` (NOTES §2, "Retries"), so it is turned
//! off and each forge operation is retried here as a whole: a retried pull
//! request creation starts again from its lookup, never from a blind POST.

use std::future::Future;
use std::time::Duration;

use rand::Rng;

use super::config::RetryPolicy;
use crate::forge::{ForgeError, ForgeErrorKind};

impl RetryPolicy {
    /// Runs `attempt` until it succeeds, fails for good, or has been tried
    /// `max_attempts` times. Only transient failures are retried, after the
    /// wait the server asked for or a backoff.
    pub(super) async fn run<T, F, Fut>(&self, what: &str, mut attempt: F) -> Result<T, ForgeError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ForgeError>>,
    {
        let mut tries = 0;
        loop {
            tries += 1;
            let error = match attempt().await {
                Ok(value) => return Ok(value),
                Err(error) => error,
            };
            if error.kind != ForgeErrorKind::Transient || tries >= self.max_attempts {
                return Err(error);
            }

            let wait = match error.retry_after {
                // Too long to hold a worker: the job is rescheduled with
                // the wait instead.
                Some(wait) if wait > self.max_wait => return Err(error),
                Some(wait) => wait,
                None => self.backoff(tries - 1),
            };
            tracing::warn!(
                what,
                attempt = tries,
                wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                error = %error,
                "GitHub call failed; retrying"
            );
            tokio::time::sleep(wait).await;
        }
    }

    /// The exponential backoff before retry number `retry` (0 for the
    /// first), capped, with jitter between half and all of it so that
    /// workers limited together do not come back in step.
    pub(super) fn backoff(&self, retry: u32) -> Duration {
        let exponential = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(retry))
            .min(self.max_backoff);
        exponential.mul_f64(rand::thread_rng().gen_range(0.5..=1.0))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(1),
            max_backoff: Duration::from_millis(4),
            max_wait: Duration::from_secs(1),
        }
    }

    fn transient(retry_after: Option<Duration>) -> ForgeError {
        ForgeError {
            kind: ForgeErrorKind::Transient,
            message: "busy".to_owned(),
            retry_after,
        }
    }

    #[tokio::test]
    async fn transient_failures_are_retried_up_to_the_limit() {
        let tries = AtomicU32::new(0);

        let result: Result<(), _> = policy()
            .run("test", || async {
                tries.fetch_add(1, Ordering::SeqCst);
                Err(transient(None))
            })
            .await;

        assert_eq!(result.unwrap_err().kind, ForgeErrorKind::Transient);
        assert_eq!(tries.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn permanent_failures_are_not_retried() {
        let tries = AtomicU32::new(0);

        let result: Result<(), _> = policy()
            .run("test", || async {
                tries.fetch_add(1, Ordering::SeqCst);
                Err(ForgeError::new(ForgeErrorKind::Invalid, "no"))
            })
            .await;

        assert_eq!(result.unwrap_err().kind, ForgeErrorKind::Invalid);
        assert_eq!(tries.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_wait_longer_than_the_cap_fails_at_once_carrying_the_wait() {
        let tries = AtomicU32::new(0);

        let result: Result<(), _> = policy()
            .run("test", || async {
                tries.fetch_add(1, Ordering::SeqCst);
                Err(transient(Some(Duration::from_secs(3600))))
            })
            .await;

        assert_eq!(
            result.unwrap_err().retry_after,
            Some(Duration::from_secs(3600))
        );
        assert_eq!(tries.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn backoff_doubles_up_to_its_cap_with_jitter() {
        let policy = RetryPolicy {
            base_delay: Duration::from_millis(100),
            max_backoff: Duration::from_millis(400),
            ..policy()
        };

        for _ in 0..50 {
            let first = policy.backoff(0);
            let third = policy.backoff(2);
            let tenth = policy.backoff(9);

            assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
            assert!(third >= Duration::from_millis(200) && third <= Duration::from_millis(400));
            assert!(tenth <= Duration::from_millis(400));
        }
    }
}
