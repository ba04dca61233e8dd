//! Seeded fault injection: 500/503, 429 bursts (with or without `Retry-After`), latency, and
//! connections dropped before or after the change is applied. Same JSON as pingone-sim.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// Fault settings (all optional in JSON; zero means off).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Seed of the fault stream: the same seed and request sequence give the same faults.
    pub seed: u64,
    /// Probability of a 500 or 503 (half each) instead of processing.
    pub server_error_rate: f64,
    /// Probability that a request starts a burst of 429s.
    pub too_many_requests_rate: f64,
    /// Length of a 429 burst (0 is taken as 1).
    pub burst_length: u32,
    /// Probability that a burst's 429s carry `Retry-After`.
    pub retry_after_rate: f64,
    /// Probability of closing the connection without applying the change or answering.
    pub drop_before_rate: f64,
    /// Probability of applying the change, then closing the connection without answering.
    pub drop_after_rate: f64,
    /// Extra latency, uniform in `[min, max]` milliseconds.
    pub latency_ms: Option<[u64; 2]>,
}

/// What to do with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultAction {
    /// Process normally.
    None,
    /// Answer 500 (JSON envelope, code 50000).
    ServerError,
    /// Answer 503 (plain text, as a load balancer would).
    Unavailable,
    /// Answer 429 / 42901, with `Retry-After: N` when `Some(N)`.
    TooMany(Option<u64>),
    /// Close the connection before doing anything.
    DropBefore,
    /// Apply the change, then close the connection.
    DropAfter,
}

/// A decision: the action and the latency to add first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaultDecision {
    /// Latency to add, in milliseconds.
    pub latency_ms: u64,
    /// The action.
    pub action: FaultAction,
}

/// The seeded fault stream.
pub(crate) struct FaultEngine {
    faults: Faults,
    rng: StdRng,
    burst_left: u32,
    burst_retry_after: Option<u64>,
}

impl FaultEngine {
    pub(crate) fn new(faults: Faults) -> Self {
        FaultEngine {
            rng: StdRng::seed_from_u64(faults.seed),
            faults,
            burst_left: 0,
            burst_retry_after: None,
        }
    }

    pub(crate) fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Draws the next decision. Every draw consumes the same number of random values so that a
    /// seed gives the same sequence whatever the rates.
    pub(crate) fn next(&mut self) -> FaultDecision {
        let r_lat: f64 = self.rng.random();
        let r_drop: f64 = self.rng.random();
        let r_err: f64 = self.rng.random();
        let r_err_kind: bool = self.rng.random();
        let r_429: f64 = self.rng.random();
        let r_ra: f64 = self.rng.random();
        let r_ra_secs: u64 = self.rng.random_range(1..=2);
        let f = &self.faults;
        let latency_ms = match f.latency_ms {
            Some([lo, hi]) if hi > lo => lo + ((hi - lo + 1) as f64 * r_lat) as u64,
            Some([lo, _]) => lo,
            None => 0,
        }
        .min(f.latency_ms.map_or(0, |[lo, hi]| hi.max(lo)));
        let action = if self.burst_left > 0 {
            self.burst_left -= 1;
            FaultAction::TooMany(self.burst_retry_after)
        } else if r_drop < f.drop_before_rate {
            FaultAction::DropBefore
        } else if r_drop < f.drop_before_rate + f.drop_after_rate {
            FaultAction::DropAfter
        } else if r_err < f.server_error_rate {
            if r_err_kind {
                FaultAction::ServerError
            } else {
                FaultAction::Unavailable
            }
        } else if r_429 < f.too_many_requests_rate {
            self.burst_retry_after = (r_ra < f.retry_after_rate).then_some(r_ra_secs);
            self.burst_left = f.burst_length.max(1) - 1;
            FaultAction::TooMany(self.burst_retry_after)
        } else {
            FaultAction::None
        };
        FaultDecision { latency_ms, action }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(f: &Faults, n: usize) -> Vec<FaultDecision> {
        let mut e = FaultEngine::new(f.clone());
        (0..n).map(|_| e.next()).collect()
    }

    #[test]
    fn same_seed_same_faults_and_bursts_have_their_length() {
        let f = Faults {
            seed: 7,
            server_error_rate: 0.1,
            too_many_requests_rate: 0.1,
            burst_length: 3,
            retry_after_rate: 0.5,
            drop_before_rate: 0.05,
            drop_after_rate: 0.05,
            latency_ms: Some([5, 10]),
        };
        let a = run(&f, 500);
        assert_eq!(a, run(&f, 500));
        assert_ne!(
            a,
            run(
                &Faults {
                    seed: 8,
                    ..f.clone()
                },
                500
            )
        );
        assert!(a.iter().all(|d| (5..=10).contains(&d.latency_ms)));
        for kind in [
            FaultAction::ServerError,
            FaultAction::Unavailable,
            FaultAction::DropBefore,
            FaultAction::DropAfter,
        ] {
            assert!(a.iter().any(|d| d.action == kind), "{kind:?} never drawn");
        }
        assert!(a.iter().any(|d| d.action == FaultAction::TooMany(None)));
        assert!(
            a.iter()
                .any(|d| matches!(d.action, FaultAction::TooMany(Some(_))))
        );
        // Every burst is exactly 3 consecutive 429s with one Retry-After setting.
        let mut i = 0;
        while i < a.len() {
            if let FaultAction::TooMany(ra) = a[i].action {
                let run_len = a[i..]
                    .iter()
                    .take_while(|d| d.action == FaultAction::TooMany(ra))
                    .count();
                assert!(
                    run_len % 3 == 0 || i + run_len == a.len(),
                    "burst of {run_len} at {i}"
                );
                i += run_len;
            } else {
                i += 1;
            }
        }
    }

    #[test]
    fn no_faults_by_default() {
        assert!(run(&Faults::default(), 200).iter().all(|d| *d
            == FaultDecision {
                latency_ms: 0,
                action: FaultAction::None
            }));
    }
}
