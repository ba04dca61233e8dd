//! Seeded fault injection: the settings both simulators accept (`--faults`, `PUT /__sim/faults`)
//! and the one decision stream they both draw from, one decision per request. The rules are
//! written once, in `docs/simulators.md` ("Faults (both simulators)"); this is their only
//! implementation, so the same JSON, seed and request order give the same decisions in either
//! simulator.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// The `Retry-After` of a fault, in seconds (clients wait it out, so keep it short).
pub const RETRY_AFTER_SECS: u64 = 1;

/// Fault settings, as JSON: `{"seed":1,"server_error_rate":0.1,...}`. All optional; zero is off.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Seed of the stream: the same seed and request order give the same faults.
    pub seed: u64,
    /// Share of requests answered 500 or 503 (half each) instead of being processed.
    pub server_error_rate: f64,
    /// Share of requests that start a burst of 429s.
    pub too_many_requests_rate: f64,
    /// Length of a 429 burst (0 counts as 1).
    pub burst_length: u32,
    /// Share of 429 bursts and of 503s that carry `Retry-After`.
    pub retry_after_rate: f64,
    /// Share of requests whose connection closes before anything is applied.
    pub drop_before_rate: f64,
    /// Share of requests applied, then closed without a response.
    pub drop_after_rate: f64,
    /// Extra latency, uniform in `[min, max]` milliseconds (a max below the min counts as the min).
    pub latency_ms: Option<[u64; 2]>,
}

/// What happens to one request; each simulator renders it in its vendor's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultAction {
    /// Process normally.
    Pass,
    /// Answer 429, with `Retry-After: N` seconds when `Some(N)`.
    TooMany {
        /// `Retry-After` seconds, if any.
        retry_after: Option<u64>,
    },
    /// Answer 500.
    ServerError,
    /// Answer 503, with `Retry-After: N` seconds when `Some(N)`.
    Unavailable {
        /// `Retry-After` seconds, if any.
        retry_after: Option<u64>,
    },
    /// Close the connection before doing anything.
    DropBefore,
    /// Apply the change, then close the connection unanswered.
    DropAfter,
}

/// One request's fate: latency to add first, then the action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaultDecision {
    /// Added before anything else.
    pub latency: Duration,
    /// What to do after the latency.
    pub action: FaultAction,
}

impl FaultDecision {
    /// Sleeps the latency (on tokio's clock, so paused-time tests pay nothing).
    pub async fn delay(&self) {
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
    }
}

/// The seeded decision stream.
#[derive(Debug)]
pub struct FaultStream {
    faults: Faults,
    rng: StdRng,
    burst_left: u32,
    burst_retry_after: Option<u64>,
}

impl Default for FaultStream {
    fn default() -> Self {
        FaultStream::new(Faults::default())
    }
}

impl FaultStream {
    /// A stream starting from `faults.seed`.
    pub fn new(faults: Faults) -> Self {
        FaultStream {
            rng: StdRng::seed_from_u64(faults.seed),
            faults,
            burst_left: 0,
            burst_retry_after: None,
        }
    }

    /// The settings it runs with.
    pub fn settings(&self) -> &Faults {
        &self.faults
    }

    /// The next request's decision.
    pub fn decide(&mut self) -> FaultDecision {
        // Always six draws, so changing one rate never shifts the others' numbers.
        let r_latency: f64 = self.rng.random();
        let r_burst: f64 = self.rng.random();
        let r_retry: f64 = self.rng.random();
        let r_error: f64 = self.rng.random();
        let r_kind: f64 = self.rng.random();
        let r_drop: f64 = self.rng.random();
        let f = &self.faults;
        let latency_ms = match f.latency_ms {
            Some([lo, hi]) if hi > lo => {
                (lo + ((hi - lo).saturating_add(1) as f64 * r_latency) as u64).min(hi)
            }
            Some([lo, _]) => lo,
            None => 0,
        };
        let retry_after = (r_retry < f.retry_after_rate).then_some(RETRY_AFTER_SECS);
        let action = if self.burst_left > 0 {
            self.burst_left -= 1;
            FaultAction::TooMany {
                retry_after: self.burst_retry_after,
            }
        } else if r_burst < f.too_many_requests_rate {
            self.burst_left = f.burst_length.max(1) - 1;
            self.burst_retry_after = retry_after;
            FaultAction::TooMany { retry_after }
        } else if r_error < f.server_error_rate {
            if r_kind < 0.5 {
                FaultAction::ServerError
            } else {
                FaultAction::Unavailable { retry_after }
            }
        } else if r_drop < f.drop_before_rate {
            FaultAction::DropBefore
        } else if r_drop < f.drop_before_rate + f.drop_after_rate {
            FaultAction::DropAfter
        } else {
            FaultAction::Pass
        };
        FaultDecision {
            latency: Duration::from_millis(latency_ms),
            action,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(f: &Faults, n: usize) -> Vec<FaultDecision> {
        let mut s = FaultStream::new(f.clone());
        (0..n).map(|_| s.decide()).collect()
    }

    fn all_on(seed: u64) -> Faults {
        Faults {
            seed,
            server_error_rate: 0.1,
            too_many_requests_rate: 0.1,
            burst_length: 3,
            retry_after_rate: 0.5,
            drop_before_rate: 0.05,
            drop_after_rate: 0.05,
            latency_ms: Some([5, 10]),
        }
    }

    #[test]
    fn the_json_parses_and_unknown_fields_are_refused() {
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
    fn same_seed_same_decisions_other_seed_other_decisions() {
        let a = run(&all_on(7), 500);
        assert_eq!(a, run(&all_on(7), 500));
        assert_ne!(a, run(&all_on(8), 500));
        assert!(a.iter().all(|d| (5..=10).contains(&d.latency.as_millis())));
        let kinds = [
            FaultAction::Pass,
            FaultAction::ServerError,
            FaultAction::Unavailable { retry_after: None },
            FaultAction::Unavailable {
                retry_after: Some(RETRY_AFTER_SECS),
            },
            FaultAction::TooMany { retry_after: None },
            FaultAction::TooMany {
                retry_after: Some(RETRY_AFTER_SECS),
            },
            FaultAction::DropBefore,
            FaultAction::DropAfter,
        ];
        for kind in kinds {
            assert!(a.iter().any(|d| d.action == kind), "{kind:?} never drawn");
        }
    }

    #[test]
    fn bursts_have_their_length_and_one_retry_after_setting() {
        let f = Faults {
            seed: 3,
            too_many_requests_rate: 0.05,
            retry_after_rate: 0.5,
            burst_length: 3,
            ..Faults::default()
        };
        let out = run(&f, 2000);
        let (mut i, mut bursts) = (0, 0);
        while i < out.len() {
            if let FaultAction::TooMany { retry_after } = out[i].action {
                // Back-to-back bursts may share a setting, so a run is a multiple of 3.
                let len = out[i..]
                    .iter()
                    .take_while(|d| d.action == FaultAction::TooMany { retry_after })
                    .count();
                assert!(
                    len % 3 == 0 || i + len == out.len(),
                    "burst of {len} at {i}"
                );
                bursts += 1;
                i += len;
            } else {
                i += 1;
            }
        }
        assert!(bursts > 10, "only {bursts} bursts");
    }

    #[test]
    fn a_rate_change_leaves_the_other_faults_where_they_were() {
        // Fixed draws per request: turning latency on moves no error.
        let errors =
            |f: &Faults| -> Vec<FaultAction> { run(f, 300).iter().map(|d| d.action).collect() };
        let base = Faults {
            seed: 11,
            server_error_rate: 0.2,
            ..Faults::default()
        };
        let with_latency = Faults {
            latency_ms: Some([0, 50]),
            ..base.clone()
        };
        assert_eq!(errors(&base), errors(&with_latency));
    }

    #[test]
    fn rates_of_one_always_fire_and_defaults_never_do() {
        let all =
            |f: Faults, want: fn(FaultAction) -> bool| run(&f, 50).iter().all(|d| want(d.action));
        assert!(all(Faults::default(), |a| a == FaultAction::Pass));
        assert!(all(
            Faults {
                server_error_rate: 1.0,
                ..Faults::default()
            },
            |a| matches!(
                a,
                FaultAction::ServerError | FaultAction::Unavailable { retry_after: None }
            )
        ));
        assert!(all(
            Faults {
                too_many_requests_rate: 1.0,
                retry_after_rate: 1.0,
                ..Faults::default()
            },
            |a| a
                == FaultAction::TooMany {
                    retry_after: Some(RETRY_AFTER_SECS)
                }
        ));
        assert!(all(
            Faults {
                drop_after_rate: 1.0,
                ..Faults::default()
            },
            |a| a == FaultAction::DropAfter
        ));
        assert!(
            run(&Faults::default(), 10)
                .iter()
                .all(|d| d.latency.is_zero())
        );
    }
}
