//! When an idle apalis worker asks Redis for messages again.
//!
//! apalis-redis only polls, so this tick is the latency floor of every tool
//! call. apalis-core 1.0's `IntervalStrategy` replaces a fired timer with a
//! new one without polling it, so no wake-up is registered for the next
//! tick; when the fetch that tick started comes back empty, the worker
//! sleeps until its heartbeat (seconds). The benchmark saw tool calls wait
//! up to two seconds for that. This strategy arms every next tick at once.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use apalis::prelude::{PollSnapshot, PollStrategy};
use tokio::time::Sleep;

/// Wakes the worker every `interval`, whatever its fetches return.
#[derive(Debug)]
pub struct SteadyPoll {
    interval: Duration,
    next: Option<Pin<Box<Sleep>>>,
}

impl SteadyPoll {
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            next: None,
        }
    }
}

impl Clone for SteadyPoll {
    fn clone(&self) -> Self {
        Self::new(self.interval)
    }
}

impl PollStrategy for SteadyPoll {
    fn poll_drive(&mut self, cx: &mut Context<'_>, _snapshot: &PollSnapshot) -> Poll<Option<()>> {
        let interval = self.interval;
        let next = self
            .next
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(interval)));
        if next.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        let mut following = Box::pin(tokio::time::sleep(interval));
        // Polled now, so that it wakes this worker when it fires.
        let _ = following.as_mut().poll(cx);
        self.next = Some(following);
        Poll::Ready(Some(()))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::{Wake, Waker};

    use super::*;

    struct Counter(AtomicUsize);

    impl Wake for Counter {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn every_tick_wakes_the_worker_even_when_nothing_polls_in_between() {
        let counter = Arc::new(Counter(AtomicUsize::new(0)));
        let waker = Waker::from(counter.clone());
        let mut cx = Context::from_waker(&waker);
        let mut poll = SteadyPoll::new(Duration::from_millis(10));
        let snapshot = PollSnapshot::default();

        assert!(poll.poll_drive(&mut cx, &snapshot).is_pending());
        tokio::time::sleep(Duration::from_millis(11)).await;
        assert_eq!(counter.0.load(Ordering::SeqCst), 1);
        assert_eq!(poll.poll_drive(&mut cx, &snapshot), Poll::Ready(Some(())));
        // The fetch this tick started comes back empty; nobody polls the
        // strategy again, yet the next tick must still wake the worker.
        tokio::time::sleep(Duration::from_millis(11)).await;

        assert_eq!(counter.0.load(Ordering::SeqCst), 2);
    }
}
