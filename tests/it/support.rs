//! Shared fixtures: both simulators in-process, a config written beside a
//! temporary state database, and helpers to read what each side holds.

use agent::Config;
use agent::CycleReport;
use agent::Sims;
use agent::{SyncOptions, sync_reports};
use serde_json::{Value, json};
use std::path::PathBuf;

/// An outbound rule over population Workforce with the seed's mapping.
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

/// An inbound rule landing users in `population`.
pub fn inbound_rule(name: &str, population: &str, actions: &str) -> String {
    format!(
        r#"[[rules]]
name = "{name}"
direction = "inbound"
[rules.target]
population = "{population}"
[rules.actions]
{actions}
[rules.mapping]
username = "username"
email = "email"
"name.formatted" = "realname"
enabled = "status"
"#
    )
}

/// Both simulators, populations Workforce and Contractors, and a temp dir.
pub struct Env {
    pub sims: Sims,
    pub dir: tempfile::TempDir,
    pub workforce: String,
    pub contractors: String,
    pub path: PathBuf,
}

impl Env {
    pub async fn new() -> Env {
        Self::new_with(|_| {}).await
    }

    /// Both simulators, Duo's adjusted by `duo` after the variants named in the environment
    /// variable `P1DUO_DUO_SIM_VARIANTS` (comma-separated, see duo-sim's `VARIANT_NAMES`;
    /// `.ci/run` runs the suite under each) are applied, and PingOne's in the variants named
    /// in `P1DUO_SIM_VARIANT` (see pingone-sim's `VARIANTS`; `.ci/run` runs those too).
    pub async fn new_with(duo: impl FnOnce(&mut duo_sim::SimConfig)) -> Env {
        Self::new_in("", duo).await
    }

    /// [`Env::new_with`] with PingOne's variants `p1` on top of the environment's.
    pub async fn new_in(p1: &str, duo: impl FnOnce(&mut duo_sim::SimConfig)) -> Env {
        let variants = std::env::var("P1DUO_DUO_SIM_VARIANTS").unwrap_or_default();
        let p1_variants = format!(
            "{},{p1}",
            std::env::var("P1DUO_SIM_VARIANT").unwrap_or_default()
        );
        let sims = Sims::start_with_variants(&p1_variants, |c| {
            c.apply_variants(&variants)?;
            duo(c);
            Ok(())
        })
        .await
        .expect("simulators start");
        let workforce = sims.p1.create_population("Workforce").expect("population");
        let contractors = sims
            .p1
            .create_population("Contractors")
            .expect("population");
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("p1duo.toml");
        Env {
            sims,
            dir,
            workforce,
            contractors,
            path,
        }
    }

    /// Write the config with these rules; returns it loaded.
    pub fn config(&self, rules: &str) -> Config {
        self.sims
            .write_config(self.dir.path(), "listen = \"127.0.0.1:0\"", rules)
            .expect("config written");
        Config::load(&self.path).expect("config valid")
    }

    /// One `sync` of every rule; panics if a rule could not run.
    pub async fn sync(&self, config: &Config) -> Vec<CycleReport> {
        self.sync_with(config, false).await
    }

    pub async fn sync_with(&self, config: &Config, allow_deletes: bool) -> Vec<CycleReport> {
        reports(config, allow_deletes)
            .await
            .into_iter()
            .map(|r| r.expect("rule runs"))
            .collect()
    }

    /// One `sync` whose first rule must fail; its error text.
    pub async fn sync_error(&self, config: &Config, allow_deletes: bool) -> String {
        reports(config, allow_deletes)
            .await
            .remove(0)
            .expect_err("the rule fails")
            .to_string()
    }

    /// A PingOne user in `population` with these extra attributes.
    pub fn p1_user(&self, username: &str, population: &str, extra: Value) -> String {
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
        self.sims
            .p1
            .create_user(body)
            .expect("PingOne user created")
    }

    pub fn duo_user(&self, username: &str) -> Option<duo_sim::User> {
        self.sims
            .duo
            .state()
            .users
            .into_iter()
            .find(|u| u.username.eq_ignore_ascii_case(username))
    }

    pub fn duo_users_named(&self, username: &str) -> usize {
        self.sims
            .duo
            .state()
            .users
            .iter()
            .filter(|u| u.username.eq_ignore_ascii_case(username))
            .count()
    }

    /// Numbers of the phones attached to a Duo user.
    pub fn duo_phones(&self, username: &str) -> Vec<String> {
        let st = self.sims.duo.state();
        let Some(u) = st.users.iter().find(|u| u.username == username) else {
            return vec![];
        };
        st.phones
            .iter()
            .filter(|p| u.phones.contains(&p.phone_id))
            .map(|p| p.number.clone())
            .collect()
    }

    pub fn p1_state_user(&self, username: &str) -> Option<pingone_sim::UserState> {
        self.sims
            .p1
            .state()
            .users
            .into_iter()
            .find(|u| u.username == username)
    }

    /// Duo calls that are not reads.
    pub fn duo_writes(&self) -> u64 {
        self.sims
            .duo
            .stats()
            .by_route
            .iter()
            .filter(|(k, _)| !k.starts_with("GET "))
            .map(|(_, v)| v)
            .sum()
    }

    /// PingOne calls that are not reads (token requests excluded).
    pub fn p1_writes(&self) -> u64 {
        self.sims
            .p1
            .stats()
            .by_route
            .iter()
            .filter(|(k, _)| !k.starts_with("GET ") && !k.contains("/as/token"))
            .map(|(_, v)| v)
            .sum()
    }

    pub fn reset_stats(&self) {
        self.sims.duo.reset_stats();
        self.sims.p1.reset_stats();
    }
}

/// One `sync` of every rule: each rule's report or error.
async fn reports(
    config: &Config,
    allow_deletes: bool,
) -> Vec<Result<CycleReport, agent::AgentError>> {
    let opts = SyncOptions {
        rule: None,
        allow_deletes,
        ..SyncOptions::default()
    };
    sync_reports(config, &opts).await.expect("sync runs")
}

/// A free loopback port, and the `[agent]` settings of an agent listening
/// on it with full cycles hourly (so only the test starts them).
pub fn hourly_agent() -> (u16, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cfg = format!("listen = \"127.0.0.1:{port}\"\ninterval = \"1h\"\njitter = \"0s\"");
    (port, cfg)
}

/// The text of `GET {base}{path}`.
pub async fn get_text(http: &reqwest::Client, base: &str, path: &str) -> String {
    http.get(format!("{base}{path}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Stop the agent with SIGTERM; its exit code and stderr.
pub async fn sigterm(mut child: tokio::process::Child) -> (Option<i32>, String) {
    let pid = child.id().unwrap().to_string();
    let mut stderr = child.stderr.take().unwrap();
    tokio::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap();
    let status = tokio::time::timeout(std::time::Duration::from_secs(30), child.wait())
        .await
        .expect("stops on SIGTERM")
        .unwrap();
    let mut err = String::new();
    tokio::io::AsyncReadExt::read_to_string(&mut stderr, &mut err)
        .await
        .unwrap();
    (status.code(), err)
}
