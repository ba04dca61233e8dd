//! Writing p1duo configurations for the suites: secrets in files beside the
//! config, the simulators' URLs, and the suites' standard outbound rule.

use crate::standalone::{P1_CLIENT_ID, P1_CLIENT_SECRET, P1_ENV_ID, SIM_IKEY, SIM_SKEY};
use std::path::{Path, PathBuf};

/// Where the two simulators listen.
#[derive(Debug, Clone)]
pub struct Endpoints {
    /// Duo base URL (`http://127.0.0.1:PORT`).
    pub duo: String,
    /// PingOne base URL (`http://127.0.0.1:PORT`); API at `/v1`, auth at the root.
    pub pingone: String,
}

/// Write `dir/p1duo.toml` for the standalone simulators. `duo_rate_limit` is
/// the TOML value of `[duo].rate_limit` (e.g. `"off"` or an inline table);
/// `agent` the `[agent]` body; `rules` appended verbatim.
pub fn write_config(
    dir: &Path,
    ep: &Endpoints,
    duo_rate_limit: &str,
    agent: &str,
    rules: &str,
) -> PathBuf {
    for (name, secret) in [("duo.skey", SIM_SKEY), ("pingone.secret", P1_CLIENT_SECRET)] {
        let path = dir.join(name);
        std::fs::write(&path, secret).expect("write a secret file");
        // Secret files are for the agent's user only (p1duo warns otherwise).
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .expect("chmod 600");
    }
    let text = format!(
        r#"state_path = "p1duo.db"

[pingone]
environment_id = "{P1_ENV_ID}"
api_url = "{p1}/v1"
auth_url = "{p1}"
client_id = "{P1_CLIENT_ID}"
client_secret = {{ file = "pingone.secret" }}
rate_limit = "off"

[duo]
api_host = "{duo}"
integration_key = "{SIM_IKEY}"
secret_key = {{ file = "duo.skey" }}
rate_limit = {duo_rate_limit}

[agent]
{agent}

{rules}
"#,
        p1 = ep.pingone,
        duo = ep.duo,
    );
    let path = dir.join("p1duo.toml");
    std::fs::write(&path, text).expect("write p1duo.toml");
    path
}

/// The suites' outbound rule over population Workforce: username, email,
/// phones = primaryPhone, enabled, realname = name.given; `extra` appended
/// (e.g. a `[rules.groups]` table).
pub fn outbound_rule(name: &str, actions: &str, extra: &str) -> String {
    format!(
        r#"[[rules]]
name = "{name}"
direction = "outbound"
[rules.scope]
populations = ["Workforce"]
[rules.actions]
{actions}
[rules.mapping]
username = "username"
email = "email"
phones = "primaryPhone"
enabled = "enabled"
realname = "name.given"
{extra}
"#
    )
}

/// A deterministic valid NANP phone number for user `i` (unique below 8,000,000).
pub fn phone_for(i: usize) -> String {
    format!("+1 734 {:03} {:04}", 200 + (i / 10_000) % 800, i % 10_000)
}

/// A small deterministic generator (xorshift) for seeded choices, so kill
/// moments and data are reproducible from one seed without a crate.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    /// Uniform in `lo..hi` (`hi > lo`).
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo).max(1)
    }
}

/// Whether the long (soak) variants run: `P1DUO_SOAK=1`.
pub fn soak() -> bool {
    std::env::var("P1DUO_SOAK").is_ok_and(|v| !v.is_empty() && v != "0")
}
