//! The retry schedule: which responses are retried, `Retry-After` parsing and capping,
//! and exponential backoff with jitter.

use std::time::{Duration, SystemTime};

/// How often and how long to wait between attempts of one request.
///
/// Defaults follow PingOne's own SDKs: 10 attempts, backoff from 1 s doubling to a 30 s
/// cap, `Retry-After` honoured up to 30 s.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in total, the first included (1 disables retries).
    pub max_attempts: u32,
    /// Backoff before the second attempt; doubled for each further one.
    pub base_delay: Duration,
    /// Upper bound of the exponential backoff.
    pub max_delay: Duration,
    /// Upper bound of a server-requested `Retry-After` wait.
    pub retry_after_cap: Duration,
    /// Random extra wait, as a fraction (0.0..=1.0) of the backoff, so clients spread out.
    pub jitter: f64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 10,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
            retry_after_cap: Duration::from_secs(30),
            jitter: 0.2,
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

    /// The wait before attempt `next_attempt` (2 for the first retry) when the server gave no
    /// `Retry-After`: `base * 2^(n-2)`, capped, plus up to `jitter` of it at random.
    pub fn backoff(&self, next_attempt: u32) -> Duration {
        let exp = next_attempt.saturating_sub(2).min(30);
        let raw = self
            .base_delay
            .checked_mul(1u32 << exp)
            .unwrap_or(self.max_delay)
            .min(self.max_delay);
        let jitter = self.jitter.clamp(0.0, 1.0);
        if jitter == 0.0 || raw.is_zero() {
            return raw;
        }
        let extra = raw.mul_f64(rand::random::<f64>() * jitter);
        (raw + extra).min(self.max_delay.max(raw))
    }

    /// The wait before attempt `next_attempt`, preferring the server's `Retry-After` (capped).
    pub fn delay(&self, next_attempt: u32, retry_after: Option<Duration>) -> Duration {
        match retry_after {
            Some(d) => d.min(self.retry_after_cap),
            None => self.backoff(next_attempt),
        }
    }
}

/// Whether a status is worth another attempt: 408, 429 and 5xx (PingOne's SDKs retry
/// 500–504; other 5xx are rare and as likely to pass).
pub fn is_retryable_status(status: u16) -> bool {
    status == 408 || status == 429 || (500..=599).contains(&status)
}

/// Parses `Retry-After`: whole seconds or an HTTP date (a date in the past means now).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(secs) = v.parse::<f64>()
        && secs.is_finite()
        && secs >= 0.0
    {
        return Some(Duration::from_secs_f64(secs.min(1e9)));
    }
    let at = httpdate::parse_http_date(v).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Parses the RFC 3339 `innerError.retryAfter` of a 429 body into a wait from `now`.
pub(crate) fn parse_retry_after_timestamp(value: &str, now: SystemTime) -> Option<Duration> {
    let at =
        time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc3339).ok()?;
    let at: SystemTime = at.into();
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_base_and_stops_at_the_cap() {
        let p = RetryPolicy {
            jitter: 0.0,
            ..RetryPolicy::default()
        };
        let got: Vec<u64> = (2..=9).map(|n| p.backoff(n).as_secs()).collect();
        assert_eq!(got, vec![1, 2, 4, 8, 16, 30, 30, 30]);
    }

    #[test]
    fn jitter_adds_at_most_its_fraction_and_never_passes_the_cap() {
        let p = RetryPolicy::default();
        for _ in 0..200 {
            let d = p.backoff(3);
            assert!(
                d >= Duration::from_secs(2) && d <= Duration::from_millis(2400),
                "{d:?}"
            );
            assert!(p.backoff(12) <= Duration::from_secs(30));
        }
    }

    #[test]
    fn retry_after_is_read_as_seconds_or_http_date_and_capped() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        let date = httpdate::fmt_http_date(now + Duration::from_secs(12));
        assert_eq!(parse_retry_after(&date, now), Some(Duration::from_secs(12)));
        let past = httpdate::fmt_http_date(now - Duration::from_secs(12));
        assert_eq!(parse_retry_after(&past, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
        let p = RetryPolicy::default();
        assert_eq!(
            p.delay(2, Some(Duration::from_secs(3600))),
            Duration::from_secs(30)
        );
    }

    #[test]
    fn retryable_statuses_are_408_429_and_5xx_only() {
        let retryable: Vec<u16> = (100..600).filter(|s| is_retryable_status(*s)).collect();
        let mut want = vec![408, 429];
        want.extend(500..600);
        assert_eq!(retryable, want);
    }
}
