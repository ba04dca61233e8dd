//! The request-rate limiter of `--rate-limit RPS`: one token bucket on tokio's clock (so
//! paused-time tests can drive it).

use tokio::time::Instant;

/// A token bucket of `rps` tokens refilled at `rps` per second.
pub(crate) struct RateLimiter {
    rps: f64,
    tokens: f64,
    last: Instant,
}

impl RateLimiter {
    pub fn new(rps: u32) -> Self {
        let rps = f64::from(rps.max(1));
        Self {
            rps,
            tokens: rps,
            last: Instant::now(),
        }
    }

    /// `Ok` when the request may pass, else the whole seconds to wait.
    pub fn check(&mut self) -> Result<(), u64> {
        let now = Instant::now();
        self.tokens =
            (self.tokens + now.duration_since(self.last).as_secs_f64() * self.rps).min(self.rps);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err((((1.0 - self.tokens) / self.rps).ceil() as u64).max(1))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn limiter_refills_with_time() {
        let mut l = RateLimiter::new(2);
        assert!(l.check().is_ok());
        assert!(l.check().is_ok());
        assert_eq!(l.check(), Err(1));
        tokio::time::advance(Duration::from_millis(500)).await;
        assert!(l.check().is_ok());
        assert!(l.check().is_err());
    }
}
