//! Client-side pacing under Duo's rate limits: one `governor` quota per
//! endpoint class (single-object writes, single-object reads, page reads).
//!
//! `governor`'s own `until_ready` sleeps on its own clock, so the limiter
//! here reads tokio's clock and waits with `tokio::time::sleep`: tests run
//! it under paused time.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};

/// Told of every attempt the client sends and every wait it makes, for the
/// caller's metrics (the client keeps no registry of its own).
pub trait CallObserver: Send + Sync + std::fmt::Debug {
    /// An attempt of `class` goes out now, after `paced` spent waiting under
    /// the client's own rate limit (zero: no wait). Retries count too.
    fn sending(&self, class: EndpointClass, paced: Duration);
    /// Duo answered 429; `retry_in` is the wait before the next attempt
    /// (`None`: no attempt is left and the call fails).
    fn throttled(&self, retry_in: Option<Duration>);
}

/// Which Duo rate limit a call counts against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EndpointClass {
    /// Create, modify, delete, associate (Duo: 300 per minute).
    Write,
    /// Get one object (Duo: 300 per minute).
    Read,
    /// Get one page of a listing (Duo: 200 per minute).
    Page,
    /// A bulk call (`users/bulk_create`, `/admin/v1/bulk`): its own limit when one is set,
    /// and one write as well unless `bulk_is_write` is off (Duo publishes neither).
    Bulk,
}

/// Requests per minute per class; `None` turns that class's pacing off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimits {
    /// Single-object writes per minute.
    pub writes_per_minute: Option<NonZeroU32>,
    /// Single-object reads per minute.
    pub reads_per_minute: Option<NonZeroU32>,
    /// Page reads per minute.
    pub pages_per_minute: Option<NonZeroU32>,
    /// Bulk calls per minute, a limit of their own (`None`: none besides the write limit).
    pub bulk_per_minute: Option<NonZeroU32>,
    /// A bulk call also takes one write of `writes_per_minute` (duo-sim's default).
    pub bulk_is_write: bool,
    /// Calls a class may make at once before pacing starts.
    pub burst: NonZeroU32,
}

const fn nz(n: u32) -> NonZeroU32 {
    match NonZeroU32::new(n) {
        Some(v) => v,
        None => panic!("zero"),
    }
}

impl RateLimits {
    /// Duo's published figures: 300 writes, 300 reads, 200 pages per minute,
    /// bursts of 10.
    pub const fn duo_published() -> Self {
        Self {
            writes_per_minute: Some(nz(300)),
            reads_per_minute: Some(nz(300)),
            pages_per_minute: Some(nz(200)),
            bulk_per_minute: None,
            bulk_is_write: true,
            burst: nz(10),
        }
    }

    /// No client-side pacing (tests, benchmarks against the simulator).
    pub const fn off() -> Self {
        Self {
            writes_per_minute: None,
            reads_per_minute: None,
            pages_per_minute: None,
            bulk_per_minute: None,
            bulk_is_write: true,
            burst: nz(10),
        }
    }
}

impl Default for RateLimits {
    fn default() -> Self {
        Self::duo_published()
    }
}

/// A `governor` clock on tokio's time, so paused-time tests control it.
#[derive(Clone, Copy, Debug, Default)]
pub struct TokioClock;

impl Clock for TokioClock {
    type Instant = std::time::Instant;

    fn now(&self) -> Self::Instant {
        tokio::time::Instant::now().into_std()
    }
}

type Gcra = RateLimiter<NotKeyed, InMemoryState, TokioClock, NoOpMiddleware<std::time::Instant>>;

/// One class's quota, and a FIFO queue in front of it: only the caller at the head sleeps
/// until the next slot, so hundreds of waiters (a batching cycle) cost no wakeups and take
/// their turns in order (a bulk call is never starved by single writes).
#[derive(Debug)]
struct Limiter {
    gcra: Gcra,
    queue: tokio::sync::Mutex<()>,
}

/// The limiters, one per class.
#[derive(Debug)]
pub(crate) struct Pacer {
    writes: Option<Limiter>,
    reads: Option<Limiter>,
    pages: Option<Limiter>,
    bulk: Option<Limiter>,
    bulk_is_write: bool,
}

fn limiter(per_minute: Option<NonZeroU32>, burst: NonZeroU32) -> Option<Limiter> {
    let per_minute = per_minute?;
    let period = Duration::from_secs(60) / per_minute.get();
    let quota = Quota::with_period(period)?.allow_burst(burst);
    Some(Limiter {
        gcra: RateLimiter::direct_with_clock(quota, TokioClock),
        queue: tokio::sync::Mutex::new(()),
    })
}

impl Pacer {
    pub(crate) fn new(limits: &RateLimits) -> Self {
        Self {
            writes: limiter(limits.writes_per_minute, limits.burst),
            reads: limiter(limits.reads_per_minute, limits.burst),
            pages: limiter(limits.pages_per_minute, limits.burst),
            bulk: limiter(limits.bulk_per_minute, limits.burst),
            bulk_is_write: limits.bulk_is_write,
        }
    }

    /// Waits (on tokio's clock) until `class` may make one call. Returns how
    /// long it waited.
    pub(crate) async fn acquire(&self, class: EndpointClass) -> Duration {
        match class {
            EndpointClass::Write => Self::wait(&self.writes).await,
            EndpointClass::Read => Self::wait(&self.reads).await,
            EndpointClass::Page => Self::wait(&self.pages).await,
            EndpointClass::Bulk => {
                let own = Self::wait(&self.bulk).await;
                if self.bulk_is_write {
                    own + Self::wait(&self.writes).await
                } else {
                    own
                }
            }
        }
    }

    async fn wait(limiter: &Option<Limiter>) -> Duration {
        let Some(limiter) = limiter else {
            return Duration::ZERO;
        };
        let start = tokio::time::Instant::now();
        let _turn = limiter.queue.lock().await;
        loop {
            match limiter.gcra.check() {
                Ok(()) => return start.elapsed(),
                Err(not_until) => {
                    let wait = not_until
                        .earliest_possible()
                        .duration_since(TokioClock.now());
                    tokio::time::sleep(wait.max(Duration::from_millis(1))).await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn writes_are_paced_at_the_configured_rate_after_the_burst() {
        let limits = RateLimits {
            writes_per_minute: Some(nz(60)),
            burst: nz(2),
            ..RateLimits::off()
        };
        let pacer = Pacer::new(&limits);
        let start = tokio::time::Instant::now();
        for _ in 0..2 {
            assert_eq!(pacer.acquire(EndpointClass::Write).await, Duration::ZERO);
        }
        // 60/min means one per second once the burst of 2 is spent.
        for _ in 0..3 {
            pacer.acquire(EndpointClass::Write).await;
        }
        let elapsed = start.elapsed();
        assert!(
            elapsed >= Duration::from_secs(3) && elapsed < Duration::from_millis(3100),
            "{elapsed:?}"
        );
        // Reads are off in this config: never wait.
        assert_eq!(pacer.acquire(EndpointClass::Read).await, Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn bulk_calls_have_their_own_limit_and_take_a_write() {
        let limits = RateLimits {
            writes_per_minute: Some(nz(60)),
            bulk_per_minute: Some(nz(30)),
            burst: nz(1),
            ..RateLimits::off()
        };
        let pacer = Pacer::new(&limits);
        let start = tokio::time::Instant::now();
        for _ in 0..3 {
            pacer.acquire(EndpointClass::Bulk).await;
        }
        // 30/min: one bulk call every 2 s after the first.
        assert_eq!(start.elapsed(), Duration::from_secs(4));
        // Each took a write too: a single write right after waits for the write quota.
        let waited = pacer.acquire(EndpointClass::Write).await;
        assert_eq!(waited, Duration::from_secs(1));
        // Without `bulk_is_write` the writes are untouched.
        let pacer = Pacer::new(&RateLimits {
            bulk_is_write: false,
            ..limits
        });
        pacer.acquire(EndpointClass::Bulk).await;
        assert!(pacer.acquire(EndpointClass::Write).await.is_zero());
    }

    #[tokio::test(start_paused = true)]
    async fn published_defaults_allow_200_pages_per_minute() {
        let pacer = Pacer::new(&RateLimits::duo_published());
        let start = tokio::time::Instant::now();
        for _ in 0..210 {
            pacer.acquire(EndpointClass::Page).await;
        }
        // burst 10, then 200 more at 0.3 s each = 60 s.
        let elapsed = start.elapsed();
        assert!(
            elapsed >= Duration::from_secs(59) && elapsed <= Duration::from_secs(61),
            "{elapsed:?}"
        );
    }
}
