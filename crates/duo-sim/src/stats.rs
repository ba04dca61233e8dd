//! Request counters served by `GET /__sim/stats` and `DuoSim::stats`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Request counts since start or the last reset (control endpoints are not counted).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// All counted requests.
    pub total: u64,
    /// By `"<METHOD> <route template>"`, e.g. `"GET /admin/v1/users/{user_id}"`.
    pub by_route: BTreeMap<String, u64>,
    /// By HTTP status (`"200"`, ...); a dropped connection counts as `"dropped"`.
    pub by_status: BTreeMap<String, u64>,
}

impl Stats {
    pub(crate) fn record(&mut self, route: &str, status: &str) {
        self.total += 1;
        *self.by_route.entry(route.to_owned()).or_default() += 1;
        *self.by_status.entry(status.to_owned()).or_default() += 1;
    }

    /// Count for one route key such as `"POST /admin/v1/users"` (0 when never called).
    pub fn route(&self, key: &str) -> u64 {
        self.by_route.get(key).copied().unwrap_or(0)
    }

    /// Count for one status such as `"429"`.
    pub fn status(&self, status: &str) -> u64 {
        self.by_status.get(status).copied().unwrap_or(0)
    }
}
