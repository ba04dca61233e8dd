//! The simulators as standalone child processes (their state survives the
//! agent being killed), their `listening on` line, and their control endpoints.

use crate::http;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// Integration key the standalone Duo simulator accepts.
pub const SIM_IKEY: &str = "DIPROVE0000000000000";
/// Its secret key (a test value; the secrecy suite checks it never leaks).
pub const SIM_SKEY: &str = "prove0duo0secret0key0000000000000000000x";
/// PingOne environment id of the standalone PingOne simulator.
pub const P1_ENV_ID: &str = "9c1ed0e0-0000-4000-8000-0000000000e9";
/// Its worker application's client id.
pub const P1_CLIENT_ID: &str = "9d3e0c1a-0000-4000-8000-0000000000c9";
/// Its worker application's client secret (a test value).
pub const P1_CLIENT_SECRET: &str = "prove-pingone-client-secret-0000";

/// A simulator child process; killed when dropped.
pub struct SimProcess {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
}

impl SimProcess {
    /// Start `bin` with `args` and read its first stdout line
    /// (`listening on http://ADDR:PORT`).
    pub fn start(bin: &Path, args: &[String]) -> SimProcess {
        let mut child = Command::new(bin)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", bin.display()));
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        let mut reader = BufReader::new(stdout);
        reader.read_line(&mut line).expect("reading the first line");
        let base = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("{} printed {line:?} first", bin.display()))
            .trim_end_matches('/')
            .to_owned();
        // Keep draining stdout so the child never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut sink = String::new();
            while reader.read_line(&mut sink).map(|n| n > 0).unwrap_or(false) {
                sink.clear();
            }
        });
        SimProcess { child, base }
    }

    /// The standalone Duo simulator with control on; `extra` flags appended.
    pub fn duo(bin: &Path, extra: &[&str]) -> SimProcess {
        let mut args: Vec<String> = [
            "--listen",
            "127.0.0.1:0",
            "--ikey",
            SIM_IKEY,
            "--skey",
            SIM_SKEY,
            "--control",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend(extra.iter().map(|s| s.to_string()));
        SimProcess::start(bin, &args)
    }

    /// The standalone PingOne simulator with control on; `extra` flags appended.
    pub fn pingone(bin: &Path, extra: &[&str]) -> SimProcess {
        let mut args: Vec<String> = [
            "--listen",
            "127.0.0.1:0",
            "--env-id",
            P1_ENV_ID,
            "--client-id",
            P1_CLIENT_ID,
            "--client-secret",
            P1_CLIENT_SECRET,
            "--control",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend(extra.iter().map(|s| s.to_string()));
        SimProcess::start(bin, &args)
    }

    /// `GET /__sim/state`.
    pub fn state(&self) -> Value {
        http::get_json(&self.base, "/__sim/state")
    }

    /// `GET /__sim/stats`.
    pub fn stats(&self) -> Value {
        http::get_json(&self.base, "/__sim/stats")
    }

    /// `POST /__sim/stats/reset`.
    pub fn reset_stats(&self) {
        let r = http::request(&self.base, "POST", "/__sim/stats/reset", &[], None)
            .expect("stats reset");
        assert!(r.status < 300, "stats reset: {}", r.status);
    }

    /// `PUT /__sim/faults`.
    pub fn set_faults(&self, faults: &Value) {
        http::send_json(&self.base, "PUT", "/__sim/faults", &[], faults);
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Calls in `/__sim/stats` whose route starts with one of `prefixes` (e.g. `"GET "`).
pub fn calls(stats: &Value, pred: impl Fn(&str) -> bool) -> u64 {
    stats["by_route"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(k, _)| pred(k))
                .map(|(_, v)| v.as_u64().unwrap_or(0))
                .sum()
        })
        .unwrap_or(0)
}

/// A token-holding PingOne API seeder over plain HTTP (the standalone simulator
/// has no in-process handle).
pub struct PingOneSeeder {
    base: String,
    token: String,
}

impl PingOneSeeder {
    /// Get a token from the simulator at `base`.
    pub fn new(base: &str) -> PingOneSeeder {
        let body = format!(
            "grant_type=client_credentials&client_id={P1_CLIENT_ID}&client_secret={P1_CLIENT_SECRET}"
        );
        let r = http::request(
            base,
            "POST",
            &format!("/{P1_ENV_ID}/as/token"),
            &[("Content-Type", "application/x-www-form-urlencoded")],
            Some(body.as_bytes()),
        )
        .expect("token request");
        assert_eq!(r.status, 200, "token: {}", r.body);
        let token = r.json()["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned();
        PingOneSeeder {
            base: base.to_owned(),
            token,
        }
    }

    /// `method` a JSON body to `/v1/environments/{env}/{path}` (panics unless 2xx).
    pub fn send(&self, method: &str, path: &str, body: &Value) -> http::Reply {
        let auth = format!("Bearer {}", self.token);
        http::send_json(
            &self.base,
            method,
            &format!("/v1/environments/{P1_ENV_ID}/{path}"),
            &[("Authorization", &auth)],
            body,
        )
    }

    /// POST to `/v1/environments/{env}/{path}`; returns the created object's id.
    pub fn post(&self, path: &str, body: &Value) -> String {
        let r = self.send("POST", path, body);
        r.json()["id"].as_str().unwrap_or_default().to_owned()
    }

    /// A population; returns its id.
    pub fn population(&self, name: &str) -> String {
        self.post("populations", &json!({ "name": name }))
    }

    /// A group; returns its id.
    pub fn group(&self, name: &str) -> String {
        self.post("groups", &json!({ "name": name }))
    }

    /// A user in `population` (`extra` merged in); returns its id.
    pub fn user(&self, username: &str, population: &str, extra: Value) -> String {
        let mut body = json!({
            "username": username,
            "email": format!("{username}@example.com"),
            "name": { "given": format!("Given {username}"), "family": "Family" },
            "population": { "id": population },
        });
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                b.insert(k.clone(), v.clone());
            }
        }
        self.post("users", &body)
    }

    /// Make `user` a direct member of `group`.
    pub fn member(&self, user: &str, group: &str) {
        self.post(
            &format!("users/{user}/memberOfGroups"),
            &json!({ "id": group }),
        );
    }
}
