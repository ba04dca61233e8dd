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
    /// Bulk calls, when `BulkRateClass::Own` gives them a bucket of their own.
    Bulk,
}

impl LimitClass {
    fn per_minute(self, bulk: f64) -> f64 {
        match self {
            LimitClass::Write | LimitClass::ReadOne => 300.0,
            LimitClass::ReadPage => 200.0,
            LimitClass::Bulk => bulk,
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
    /// Calls per minute of the bulk bucket (used only with `BulkRateClass::Own`).
    bulk_per_minute: f64,
    buckets: [Bucket; 4],
}

impl RateLimiter {
    #[cfg(test)]
    pub(crate) fn new(scale: f64) -> Self {
        Self::with_bulk(scale, 50)
    }

    /// With a bulk bucket of `bulk_per_minute` calls.
    pub(crate) fn with_bulk(scale: f64, bulk_per_minute: u32) -> Self {
        let now = Instant::now();
        let bulk = f64::from(bulk_per_minute.max(1));
        let b = |c: LimitClass| Bucket {
            tokens: c.per_minute(bulk),
            last: now,
        };
        RateLimiter {
            scale: if scale > 0.0 { scale } else { 1.0 },
            bulk_per_minute: bulk,
            buckets: [
                b(LimitClass::Write),
                b(LimitClass::ReadOne),
                b(LimitClass::ReadPage),
                b(LimitClass::Bulk),
            ],
        }
    }

    /// Takes a token, or says how long until one is available.
    #[cfg(test)]
    pub(crate) fn check(&mut self, class: LimitClass) -> Result<(), Duration> {
        self.check_n(class, 1)
    }

    /// Takes `n` tokens at once (a bulk call counted per object), or none.
    pub(crate) fn check_n(&mut self, class: LimitClass, n: usize) -> Result<(), Duration> {
        let idx = class as usize;
        let cap = class.per_minute(self.bulk_per_minute);
        let rate_per_sec = cap / 60.0 * self.scale;
        let now = Instant::now();
        let b = &mut self.buckets[idx];
        let elapsed = now.saturating_duration_since(b.last).as_secs_f64();
        b.tokens = (b.tokens + elapsed * rate_per_sec).min(cap);
        b.last = now;
        // A call bigger than the bucket can never pass whole: it takes what a full bucket holds.
        let want = (n.max(1) as f64).min(cap);
        if b.tokens >= want {
            b.tokens -= want;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((want - b.tokens) / rate_per_sec))
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
