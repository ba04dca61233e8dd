//! The retry schedule: Duo's clients' exponential back-off (1 s doubling to
//! 32 s, plus up to 1 s of jitter), `Retry-After` when the server sends it,
//! and a bound on attempts.

use std::time::{Duration, SystemTime};

use rand::Rng as _;

/// Retry and back-off settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Total attempts per call, including the first (1 disables retries).
    pub max_attempts: u32,
    /// First back-off.
    pub initial_backoff: Duration,
    /// Longest back-off (the doubling stops here).
    pub max_backoff: Duration,
    /// Random extra wait, uniform in `[0, jitter)`.
    pub jitter: Duration,
    /// Longest `Retry-After` honoured; longer values are cut to this.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    /// 7 attempts, sleeps of 1, 2, 4, 8, 16, 32 s each plus up to 1 s, as
    /// Duo's official clients.
    fn default() -> Self {
        Self {
            max_attempts: 7,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(32),
            jitter: Duration::from_secs(1),
            max_retry_after: Duration::from_secs(300),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The back-off after failed attempt `attempt` (1-based), without jitter.
    pub fn base_backoff(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(31);
        self.initial_backoff
            .saturating_mul(1u32 << doublings)
            .min(self.max_backoff)
    }

    /// The wait after failed attempt `attempt`: `Retry-After` when given,
    /// else the back-off plus jitter.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(ra) = retry_after {
            return ra.min(self.max_retry_after);
        }
        let jitter = if self.jitter.is_zero() {
            Duration::ZERO
        } else {
            self.jitter.mul_f64(rand::rng().random_range(0.0..1.0))
        };
        self.base_backoff(attempt) + jitter
    }
}

/// The largest `Retry-After` parsed, in seconds (about 31 years).
const MAX_RETRY_AFTER_SECS: f64 = 1e9;

/// Parses a `Retry-After` value: delta seconds or an HTTP date. Duo sends none
/// (observed; none of Duo's clients reads one): this is for proxies in front
/// of it. Huge values are capped, never a panic.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs.min(MAX_RETRY_AFTER_SECS as u64)));
    }
    if let Ok(secs) = v.parse::<f64>()
        && secs.is_finite()
        && secs >= 0.0
    {
        // `Duration::from_secs_f64` panics past u64::MAX seconds (`1e20`); cap
        // like pingone-client (the policy caps what it waits much lower).
        return Some(Duration::from_secs_f64(secs.min(MAX_RETRY_AFTER_SECS)));
    }
    let at = httpdate::parse_http_date(v).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_one_to_thirty_two_seconds() {
        let p = RetryPolicy::default();
        let got: Vec<u64> = (1..=8).map(|a| p.base_backoff(a).as_secs()).collect();
        assert_eq!(got, vec![1, 2, 4, 8, 16, 32, 32, 32]);
    }

    #[test]
    fn jitter_stays_below_one_second() {
        let p = RetryPolicy::default();
        for attempt in 1..=6 {
            let d = p.delay(attempt, None);
            assert!(
                d >= p.base_backoff(attempt)
                    && d < p.base_backoff(attempt) + Duration::from_secs(1)
            );
        }
    }

    #[test]
    fn retry_after_wins_and_is_capped() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(7))),
            Duration::from_secs(7)
        );
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(3600))),
            Duration::from_secs(300)
        );
    }

    #[test]
    fn retry_after_parses_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_354_900_680);
        assert_eq!(parse_retry_after("5", now), Some(Duration::from_secs(5)));
        assert_eq!(
            parse_retry_after("Fri, 07 Dec 2012 17:18:10 GMT", now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            parse_retry_after("Fri, 07 Dec 2012 17:17:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
