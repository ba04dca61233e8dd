//! Duo's published per-minute limits as token buckets, on tokio's clock (so paused time works),
//! with a time-compression scale for benchmarks.

use std::time::Duration;

use tokio::time::Instant;

/// Which published limit a request counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitClass {
    /// Create, modify, delete, associate: 300 per minute.
    Write,
    /// Get one object: 300 per minute.
    ReadOne,
    /// Get a page of objects: 200 per minute.
    ReadPage,
}

impl LimitClass {
    fn per_minute(self) -> f64 {
        match self {
            LimitClass::Write | LimitClass::ReadOne => 300.0,
            LimitClass::ReadPage => 200.0,
        }
    }
}

struct Bucket {
    tokens: f64,
    last: Instant,
}

/// One bucket per class; capacity = the per-minute figure, refilled continuously.
pub(crate) struct RateLimiter {
    scale: f64,
    buckets: [Bucket; 3],
}

impl RateLimiter {
    pub(crate) fn new(scale: f64) -> Self {
        let now = Instant::now();
        let b = |c: LimitClass| Bucket {
            tokens: c.per_minute(),
            last: now,
        };
        RateLimiter {
            scale: if scale > 0.0 { scale } else { 1.0 },
            buckets: [
                b(LimitClass::Write),
                b(LimitClass::ReadOne),
                b(LimitClass::ReadPage),
            ],
        }
    }

    /// Takes a token, or says how long until one is available.
    pub(crate) fn check(&mut self, class: LimitClass) -> Result<(), Duration> {
        let idx = class as usize;
        let cap = class.per_minute();
        let rate_per_sec = cap / 60.0 * self.scale;
        let now = Instant::now();
        let b = &mut self.buckets[idx];
        let elapsed = now.saturating_duration_since(b.last).as_secs_f64();
        b.tokens = (b.tokens + elapsed * rate_per_sec).min(cap);
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - b.tokens) / rate_per_sec))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn page_reads_allow_200_then_refill_scaled() {
        let mut rl = RateLimiter::new(60.0); // one "minute" lasts one second
        for _ in 0..200 {
            rl.check(LimitClass::ReadPage).unwrap();
        }
        let wait = rl.check(LimitClass::ReadPage).unwrap_err();
        assert!(wait <= Duration::from_millis(6), "{wait:?}");
        // Writes have their own bucket.
        rl.check(LimitClass::Write).unwrap();
        tokio::time::advance(Duration::from_secs(1)).await;
        for _ in 0..200 {
            rl.check(LimitClass::ReadPage).unwrap();
        }
        assert!(rl.check(LimitClass::ReadPage).is_err());
    }
}
