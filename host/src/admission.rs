//! Admission control: at most `max_concurrent` guest instances at once, a bounded queue of
//! requests waiting for one, and a bound on how long a request may wait.
//!
//! Instantiating a guest past the pool's size fails, and an unbounded queue turns overload
//! into ever-growing latency and memory. So a request that finds every slot busy and the
//! queue full is refused at once (the server answers 503 with `Retry-After`), and one that
//! waited longer than the queue timeout is refused too.
//!
//! Jobs (timers) take a slot through [`Admission::admit_job`]: they wait outside the request
//! queue's bound and without its timeout, in the same first-come order as requests (tokio's
//! semaphore is fair). So a job is never starved: it gets the next slot after the requests
//! that were already waiting. And it never starves requests: each job kind runs one call at
//! a time, so jobs hold at most one slot per kind.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Why a request was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    #[error("every instance slot is busy and the wait queue is full")]
    QueueFull,
    #[error("no instance slot became free within the queue timeout")]
    TimedOut,
    #[error("the runtime is shutting down")]
    Closed,
}

/// The limits, from the settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Guest instances alive at once (requests and jobs).
    pub max_concurrent: usize,
    /// Requests that may wait for a slot; 0 refuses at once when every slot is busy.
    pub max_queued: usize,
    /// How long a queued request waits before it is refused.
    pub queue_timeout: Duration,
}

/// Holds one instance slot until dropped.
#[derive(Debug)]
pub struct Ticket {
    _permit: OwnedSemaphorePermit,
}

pub struct Admission {
    slots: Arc<Semaphore>,
    queued: AtomicUsize,
    limits: Limits,
}

impl Admission {
    pub fn new(limits: Limits) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(limits.max_concurrent)),
            queued: AtomicUsize::new(0),
            limits,
        }
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Requests waiting for a slot now.
    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }

    /// Slots free now.
    pub fn available(&self) -> usize {
        self.slots.available_permits()
    }

    /// Resolves once no instance holds a slot (shutdown: the last guests have finished
    /// their work after their responses, such as storing usage records).
    pub async fn idle(&self) {
        while self.available() < self.limits.max_concurrent {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// A slot for a request: at once if one is free, else after waiting in the queue.
    pub async fn admit(&self) -> Result<Ticket, Rejected> {
        match self.slots.clone().try_acquire_owned() {
            Ok(permit) => return Ok(Ticket { _permit: permit }),
            Err(tokio::sync::TryAcquireError::Closed) => return Err(Rejected::Closed),
            Err(tokio::sync::TryAcquireError::NoPermits) => {}
        }
        let _place = self.enter_queue().ok_or(Rejected::QueueFull)?;
        match tokio::time::timeout(
            self.limits.queue_timeout,
            self.slots.clone().acquire_owned(),
        )
        .await
        {
            Ok(Ok(permit)) => Ok(Ticket { _permit: permit }),
            Ok(Err(_closed)) => Err(Rejected::Closed),
            Err(_elapsed) => Err(Rejected::TimedOut),
        }
    }

    /// A slot for a job: waits as long as it takes (see the module doc).
    pub async fn admit_job(&self) -> Result<Ticket, Rejected> {
        self.slots
            .clone()
            .acquire_owned()
            .await
            .map(|permit| Ticket { _permit: permit })
            .map_err(|_closed| Rejected::Closed)
    }

    /// Takes a place in the queue if one is free; the place is given back on drop.
    fn enter_queue(&self) -> Option<QueuePlace<'_>> {
        self.queued
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |queued| {
                (queued < self.limits.max_queued).then_some(queued + 1)
            })
            .ok()
            .map(|_| QueuePlace {
                queued: &self.queued,
            })
    }
}

/// One request's place in the queue, held while it waits (also when its future is dropped
/// because the client went away).
struct QueuePlace<'a> {
    queued: &'a AtomicUsize,
}

impl Drop for QueuePlace<'_> {
    fn drop(&mut self) {
        self.queued.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    fn admission(max_concurrent: usize, max_queued: usize, timeout_ms: u64) -> Admission {
        Admission::new(Limits {
            max_concurrent,
            max_queued,
            queue_timeout: Duration::from_millis(timeout_ms),
        })
    }

    /// Polls once without a runtime driving it: `Pending` means it is waiting.
    fn poll_once<F: Future>(future: std::pin::Pin<&mut F>) -> Poll<F::Output> {
        future.poll(&mut Context::from_waker(Waker::noop()))
    }

    #[tokio::test]
    async fn free_slots_admit_at_once_then_the_queue_fills_then_refuses() {
        let admission = admission(2, 1, 1_000);
        let first = admission.admit().await.expect("slot 1");
        let _second = admission.admit().await.expect("slot 2");
        assert_eq!(admission.available(), 0);

        let mut waiting = pin!(admission.admit());
        assert!(poll_once(waiting.as_mut()).is_pending(), "queued");
        assert_eq!(admission.queued(), 1);

        assert_eq!(
            admission.admit().await.expect_err("queue full"),
            Rejected::QueueFull
        );

        drop(first);
        let _third = waiting
            .await
            .expect("the queued request gets the freed slot");
        assert_eq!(admission.queued(), 0);
    }

    #[tokio::test]
    async fn a_queued_request_is_refused_after_the_timeout() {
        // The only slot is never given back, so the wait can only end by timing out.
        let admission = admission(1, 4, 20);
        let _busy = admission.admit().await.expect("slot");
        assert_eq!(
            admission.admit().await.expect_err("waited too long"),
            Rejected::TimedOut
        );
        assert_eq!(admission.queued(), 0, "the place is given back");
    }

    #[tokio::test]
    async fn no_queue_means_refusal_as_soon_as_every_slot_is_busy() {
        let admission = admission(1, 0, 30_000);
        let busy = admission.admit().await.expect("slot");
        assert_eq!(
            admission.admit().await.expect_err("no queue"),
            Rejected::QueueFull
        );
        drop(busy);
        admission.admit().await.expect("free again");
    }

    #[tokio::test]
    async fn a_client_that_leaves_the_queue_gives_its_place_back() {
        let admission = admission(1, 1, 30_000);
        let _busy = admission.admit().await.expect("slot");
        {
            let mut waiting = pin!(admission.admit());
            assert!(poll_once(waiting.as_mut()).is_pending());
            assert_eq!(admission.queued(), 1);
        }
        assert_eq!(admission.queued(), 0);
        let mut next = pin!(admission.admit());
        assert!(poll_once(next.as_mut()).is_pending(), "queued, not refused");
    }

    #[tokio::test]
    async fn idle_means_every_ticket_was_given_back() {
        let admission = admission(2, 0, 30_000);
        admission.idle().await;
        let ticket = admission.admit().await.expect("slot");
        let mut idle = pin!(admission.idle());
        assert!(poll_once(idle.as_mut()).is_pending(), "a slot is held");
        drop(ticket);
        idle.await;
    }

    #[tokio::test]
    async fn jobs_wait_beyond_the_queue_and_are_served_in_arrival_order() {
        let admission = admission(1, 1, 30_000);
        let busy = admission.admit().await.expect("slot");
        let mut request = pin!(admission.admit());
        assert!(poll_once(request.as_mut()).is_pending());
        // The request queue is full, yet the job still gets in line behind the request.
        let mut job = pin!(admission.admit_job());
        assert!(poll_once(job.as_mut()).is_pending());

        drop(busy);
        assert!(
            poll_once(job.as_mut()).is_pending(),
            "the request came first"
        );
        let request_ticket = request.await.expect("request admitted");
        drop(request_ticket);
        job.await.expect("then the job");
    }
}
