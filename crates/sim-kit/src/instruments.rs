//! The fault stream and the request counters of one running simulator, behind locks, shared by
//! its request pipeline, its control endpoints and its handle.

use std::sync::Mutex;

use crate::faults::{FaultDecision, FaultStream, Faults};
use crate::lock;
use crate::stats::Stats;

/// One simulator's faults and stats.
#[derive(Debug, Default)]
pub struct Instruments {
    faults: Mutex<FaultStream>,
    stats: Mutex<Stats>,
}

impl Instruments {
    /// Starts the fault stream from `faults.seed`, with zeroed counters.
    pub fn new(faults: Faults) -> Self {
        Instruments {
            faults: Mutex::new(FaultStream::new(faults)),
            stats: Mutex::default(),
        }
    }

    /// The next request's fault decision.
    pub fn decide(&self) -> FaultDecision {
        lock(&self.faults).decide()
    }

    /// The fault settings in force.
    pub fn faults(&self) -> Faults {
        lock(&self.faults).settings().clone()
    }

    /// Replaces the fault settings and restarts the stream from their seed.
    pub fn set_faults(&self, faults: Faults) {
        *lock(&self.faults) = FaultStream::new(faults);
    }

    /// A copy of the counters.
    pub fn stats(&self) -> Stats {
        lock(&self.stats).clone()
    }

    /// Zeroes the counters.
    pub fn reset_stats(&self) {
        *lock(&self.stats) = Stats::default();
    }

    /// Counts one request on `route` (see [`Stats::count_request`]).
    pub fn count_request(&self, route: &str) {
        lock(&self.stats).count_request(route);
    }

    /// Counts one answer with `status` (see [`Stats::count_status`]).
    pub fn count_status(&self, status: &str) {
        lock(&self.stats).count_status(status);
    }

    /// Counts a request and its status at once.
    pub fn record(&self, route: &str, status: &str) {
        let mut s = lock(&self.stats);
        s.count_request(route);
        s.count_status(status);
    }
}
