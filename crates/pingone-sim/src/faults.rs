//! Seeded faults (5xx, 429 bursts, latency, dropped connections), the
//! request-rate limiter and the request statistics. The fault settings and
//! the stats shape are shared with `duo-sim`.

use rand::{Rng, SeedableRng, rngs::StdRng};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::time::Instant;

/// Fault settings, as JSON: `{"seed":1,"server_error_rate":0.1,...}`. All optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Seed of the fault dice; the same seed and request order give the same faults.
    pub seed: u64,
    /// Share of requests answered 500 (or 503 with `Retry-After`).
    pub server_error_rate: f64,
    /// Share of requests that start a burst of 429 answers.
    pub too_many_requests_rate: f64,
    /// Length of a 429 burst (0 counts as 1).
    pub burst_length: u32,
    /// Share of 429/5xx answers that carry `Retry-After: 1`.
    pub retry_after_rate: f64,
    /// Share of requests whose connection is closed before anything is applied.
    pub drop_before_rate: f64,
    /// Share of requests applied, then closed without a response.
    pub drop_after_rate: f64,
    /// Extra latency, uniform in `[min, max]` milliseconds.
    pub latency_ms: Option<[u64; 2]>,
}

/// What happens to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Pass,
    TooMany { retry_after: bool },
    ServerError { retry_after: bool },
    DropBefore,
    DropAfter,
}

pub(crate) struct FaultState {
    pub faults: Faults,
    rng: StdRng,
    burst_left: u32,
}

impl FaultState {
    pub fn new(faults: Faults) -> Self {
        Self {
            rng: StdRng::seed_from_u64(faults.seed),
            faults,
            burst_left: 0,
        }
    }

    /// Rolls the dice for one request: (latency, outcome).
    pub fn decide(&mut self) -> (Duration, Outcome) {
        let f = &self.faults;
        let latency = match f.latency_ms {
            Some([lo, hi]) if hi > 0 && hi >= lo => {
                Duration::from_millis(self.rng.random_range(lo..=hi))
            }
            _ => Duration::ZERO,
        };
        let retry_after = f.retry_after_rate > 0.0 && self.rng.random::<f64>() < f.retry_after_rate;
        let outcome = if self.burst_left > 0 {
            self.burst_left -= 1;
            Outcome::TooMany { retry_after }
        } else if f.too_many_requests_rate > 0.0
            && self.rng.random::<f64>() < f.too_many_requests_rate
        {
            self.burst_left = f.burst_length.max(1) - 1;
            Outcome::TooMany { retry_after }
        } else if f.server_error_rate > 0.0 && self.rng.random::<f64>() < f.server_error_rate {
            Outcome::ServerError { retry_after }
        } else if f.drop_before_rate > 0.0 && self.rng.random::<f64>() < f.drop_before_rate {
            Outcome::DropBefore
        } else if f.drop_after_rate > 0.0 && self.rng.random::<f64>() < f.drop_after_rate {
            Outcome::DropAfter
        } else {
            Outcome::Pass
        };
        (latency, outcome)
    }
}

/// A token bucket on tokio's clock (so paused-time tests can drive it).
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

/// Request counts: `{"total": N, "by_route": {"GET /v1/...": N}, "by_status": {"200": N}}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Requests seen (control endpoints excluded).
    pub total: u64,
    /// Per `"<METHOD> <route template>"`.
    pub by_route: BTreeMap<String, u64>,
    /// Per HTTP status of the answers sent (dropped connections have none).
    pub by_status: BTreeMap<String, u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(f: &Faults, n: usize) -> Vec<Outcome> {
        let mut s = FaultState::new(f.clone());
        (0..n).map(|_| s.decide().1).collect()
    }

    #[test]
    fn the_shared_json_shape_parses_and_unknown_fields_are_refused() {
        let f: Faults = serde_json::from_str(
            r#"{"seed":1,"server_error_rate":0.1,"too_many_requests_rate":0.05,"burst_length":3,
                "retry_after_rate":0.5,"drop_before_rate":0.01,"drop_after_rate":0.01,"latency_ms":[0,20]}"#,
        )
        .unwrap();
        assert_eq!(
            (f.seed, f.burst_length, f.latency_ms),
            (1, 3, Some([0, 20]))
        );
        assert_eq!(
            serde_json::from_str::<Faults>("{}").unwrap(),
            Faults::default()
        );
        assert!(serde_json::from_str::<Faults>(r#"{"server_error":0.1}"#).is_err());
    }

    #[test]
    fn bursts_have_the_configured_length() {
        let f = Faults {
            seed: 3,
            too_many_requests_rate: 0.05,
            burst_length: 3,
            ..Faults::default()
        };
        let out = run(&f, 2000);
        let mut i = 0;
        let mut bursts = 0;
        while i < out.len() {
            if matches!(out[i], Outcome::TooMany { .. }) {
                let len = out[i..]
                    .iter()
                    .take_while(|o| matches!(o, Outcome::TooMany { .. }))
                    .count();
                assert!(len % 3 == 0, "burst of {len} at {i}");
                bursts += 1;
                i += len;
            } else {
                i += 1;
            }
        }
        assert!(bursts > 10, "only {bursts} bursts");
    }

    #[test]
    fn same_seed_same_faults_other_seed_other_faults() {
        let f = Faults {
            seed: 9,
            server_error_rate: 0.2,
            drop_before_rate: 0.1,
            ..Faults::default()
        };
        assert_eq!(run(&f, 500), run(&f, 500));
        let g = Faults {
            seed: 10,
            ..f.clone()
        };
        assert_ne!(run(&f, 500), run(&g, 500));
    }

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
