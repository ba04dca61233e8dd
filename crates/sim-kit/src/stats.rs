//! Request counters, served by `GET /__sim/stats` and the handles' `stats()`:
//! `{"total": N, "by_route": {"GET /v1/...": N}, "by_status": {"200": N}}`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Request counts since start or the last reset (control endpoints are not counted).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// All counted requests.
    pub total: u64,
    /// By `"<METHOD> <route template>"`, e.g. `"GET /admin/v1/users/{user_id}"`.
    pub by_route: BTreeMap<String, u64>,
    /// By the status answered (`"200"`, ...); what else a simulator counts here is its own.
    pub by_status: BTreeMap<String, u64>,
}

impl Stats {
    /// Counts one request on `route` (not its status).
    pub fn count_request(&mut self, route: &str) {
        self.total += 1;
        *self.by_route.entry(route.to_owned()).or_default() += 1;
    }

    /// Counts one answer with `status`.
    pub fn count_status(&mut self, status: &str) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_json_shape_is_the_one_tests_and_xtask_read() {
        let mut s = Stats::default();
        s.count_request("GET /x/{id}");
        s.count_request("GET /x/{id}");
        s.count_status("200");
        assert_eq!(
            serde_json::to_string(&s).unwrap(),
            r#"{"total":2,"by_route":{"GET /x/{id}":2},"by_status":{"200":1}}"#
        );
        assert_eq!((s.route("GET /x/{id}"), s.status("404")), (2, 0));
    }
}
