//! `p1duo demo`: both simulators in-process with a realistic sample directory
//! (a few hundred users across populations, groups, phones, a few bad
//! records), a config written to a temporary directory, then check, plan and
//! sync. The same environment serves the end-to-end tests.

use crate::commands::{self, SyncOptions};
use crate::config::Config;
use crate::{AgentError, Outcome};
use duo_sim::DuoSim;
use pingone_sim::PingOneSim;
use serde_json::json;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Keys of the demo's Duo Admin API application (simulated, not secrets).
pub const DEMO_IKEY: &str = "DIDEMO0000000000000A";
/// Secret key of the demo's simulated Duo application.
pub const DEMO_SKEY: &str = "demo0secret0key0for0the0duo0simulator000";
/// Client id of the demo's simulated PingOne worker application.
pub const DEMO_CLIENT_ID: &str = "0d3e0c1a-0000-4000-8000-0000000000c1";
/// Client secret of the demo's simulated PingOne worker application.
pub const DEMO_CLIENT_SECRET: &str = "demo-pingone-client-secret";
/// Environment id of the demo's simulated PingOne environment.
pub const DEMO_ENV_ID: &str = "5c1ed0e0-0000-4000-8000-00000000e0e0";

/// Both simulators, started in-process.
pub struct Sims {
    pub duo: DuoSim,
    pub p1: PingOneSim,
}

impl Sims {
    /// Start both simulators on loopback (rate limits off, control on).
    pub async fn start() -> Result<Sims, AgentError> {
        Self::start_with(|_| Ok(())).await
    }

    /// [`Sims::start`] with the Duo simulator's settings adjusted first (tests: variants,
    /// grants), e.g. `|c| c.apply_variants("phone_without_plus")`.
    pub async fn start_with(
        duo: impl FnOnce(&mut duo_sim::SimConfig) -> Result<(), String>,
    ) -> Result<Sims, AgentError> {
        Self::start_with_variants("", duo).await
    }

    /// [`Sims::start_with`] with the PingOne simulator in the given behaviour
    /// variants too (comma-separated names of `pingone_sim::VARIANTS`).
    pub async fn start_with_variants(
        p1_variants: &str,
        duo: impl FnOnce(&mut duo_sim::SimConfig) -> Result<(), String>,
    ) -> Result<Sims, AgentError> {
        let mut duo_config = duo_sim::SimConfig {
            ikey: DEMO_IKEY.into(),
            skey: DEMO_SKEY.into(),
            control: true,
            ..Default::default()
        };
        duo(&mut duo_config)
            .map_err(|e| AgentError::Other(format!("configuring the Duo simulator: {e}")))?;
        let duo = DuoSim::start(duo_config)
            .await
            .map_err(|e| AgentError::Other(format!("starting the Duo simulator: {e}")))?;
        let p1 = PingOneSim::start(
            pingone_sim::SimConfig {
                env_id: DEMO_ENV_ID.into(),
                client_id: DEMO_CLIENT_ID.into(),
                client_secret: DEMO_CLIENT_SECRET.into(),
                control: true,
                ..Default::default()
            }
            .with_variants(p1_variants)
            .map_err(AgentError::Other)?,
        )
        .await
        .map_err(|e| AgentError::Other(format!("starting the PingOne simulator: {e}")))?;
        Ok(Sims { duo, p1 })
    }

    /// A config for these simulators: `rules` is appended verbatim (TOML
    /// `[[rules]]` tables). Secrets go to files beside the config.
    pub fn write_config(
        &self,
        dir: &Path,
        agent: &str,
        rules: &str,
    ) -> Result<PathBuf, AgentError> {
        let w = |name: &str, text: &str| {
            let fail = |e: std::io::Error| {
                AgentError::Other(format!("writing {}: {e}", dir.join(name).display()))
            };
            std::fs::write(dir.join(name), text).map_err(fail)?;
            // Secret files are for the agent's user only (p1duo warns otherwise).
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir.join(name), std::fs::Permissions::from_mode(0o600))
                .map_err(fail)
        };
        w("duo.skey", DEMO_SKEY)?;
        w("pingone.secret", DEMO_CLIENT_SECRET)?;
        let text = format!(
            r#"# Written by p1duo demo: the agent against in-process simulators.
state_path = "p1duo.db"

[pingone]
environment_id = "{env}"
api_url = "{api}"
auth_url = "{auth}"
client_id = "{cid}"
client_secret = {{ file = "pingone.secret" }}
rate_limit = "off"

[duo]
api_host = "{duo}"
integration_key = "{ikey}"
secret_key = {{ file = "duo.skey" }}
rate_limit = "off"

[agent]
{agent}

{rules}
"#,
            env = DEMO_ENV_ID,
            api = self.p1.api_url(),
            auth = self.p1.auth_url(),
            cid = DEMO_CLIENT_ID,
            duo = self.duo.base_url(),
            ikey = DEMO_IKEY,
        );
        let path = dir.join("p1duo.toml");
        w("p1duo.toml", &text)?;
        Ok(path)
    }
}

/// The demo's two rules.
pub const DEMO_RULES: &str = r#"[[rules]]
name = "workforce-to-duo"
direction = "outbound"
[rules.scope]
populations = ["Workforce"]
groups = ["Duo Users"]
[rules.actions]
deprovision = true
remove_action = "disable"
[rules.groups]
push = ["Engineering", "Sales"]
[rules.mapping]
username = "username"
email = "email"
phones = "primaryPhone"
enabled = "enabled"
realname = "\"${name.given} ${name.family}\""
userType = "coalesce(type, \"user\")"

[[rules]]
name = "duo-to-pingone"
direction = "inbound"
[rules.target]
population = "Contractors"
[rules.mapping]
username = "username"
email = "email"
"name.formatted" = "realname"
"#;

const GIVEN: &[&str] = &[
    "Ada",
    "Alan",
    "Grace",
    "Linus",
    "Margaret",
    "Dennis",
    "Barbara",
    "Ken",
    "Frances",
    "Edsger",
    "Radia",
    "Tim",
    "Hedy",
    "John",
    "Katherine",
    "Niklaus",
];
const FAMILY: &[&str] = &[
    "Lovelace",
    "Turing",
    "Hopper",
    "Torvalds",
    "Hamilton",
    "Ritchie",
    "Liskov",
    "Thompson",
    "Allen",
    "Dijkstra",
    "Perlman",
    "Berners-Lee",
    "Lamarr",
    "McCarthy",
    "Johnson",
    "Wirth",
];

/// What the sample directory holds (for printing and tests).
#[derive(Debug, Clone, Default)]
pub struct Sample {
    pub users: usize,
    pub workforce: usize,
    pub duo_existing: usize,
    pub duo_only: usize,
}

/// Fill both simulators with the sample directory: `n` PingOne users.
pub fn seed(s: &Sims, n: usize) -> Result<Sample, AgentError> {
    let e =
        |what: &str, err: String| AgentError::Other(format!("seeding the demo ({what}): {err}"));
    let workforce =
        s.p1.create_population("Workforce")
            .map_err(|x| e("population", x.to_string()))?;
    let contractors =
        s.p1.create_population("Contractors")
            .map_err(|x| e("population", x.to_string()))?;
    let mut groups = Vec::new();
    for g in ["Duo Users", "Engineering", "Sales", "Support"] {
        groups.push(
            s.p1.create_group(json!({ "name": g, "description": format!("{g} (demo)") }))
                .map_err(|x| e("group", x.to_string()))?,
        );
    }
    let mut sample = Sample {
        users: n,
        ..Sample::default()
    };
    for i in 0..n {
        let given = GIVEN[i % GIVEN.len()];
        let family = FAMILY[(i / GIVEN.len()) % FAMILY.len()];
        let username = format!(
            "{}.{}{}",
            given.to_lowercase(),
            family.to_lowercase().replace('-', ""),
            i
        );
        let in_workforce = i % 5 != 0;
        let phone = match i % 4 {
            0 => format!("+1734555{:04}", i),
            1 => format!("(734) 555-{:04}", 5000 + i),
            2 => format!("+44 20 7946 {:04}", i),
            _ => String::new(),
        };
        let mut user = json!({
            "username": username,
            "email": format!("{username}@example.com"),
            "name": { "given": given, "family": family },
            "population": { "id": if in_workforce { &workforce } else { &contractors } },
        });
        if !phone.is_empty() {
            user["primaryPhone"] = json!(phone);
        }
        // A few administrators and a few bad records, as real directories have.
        if [7, 77, 177].contains(&i) {
            user["type"] = json!("admin");
        }
        if i == 13 {
            user["type"] = json!("superuser");
        }
        if i == 42 {
            user["primaryPhone"] = json!("call 12");
        }
        if i == 98 {
            user["name"]["given"] = json!("X".repeat(250));
        }
        let id =
            s.p1.create_user(user)
                .map_err(|x| e("user", x.to_string()))?;
        // `enabled` is read-only on create in PingOne: disable afterwards.
        if i % 37 == 1 {
            s.p1.set_user_enabled(&id, false)
                .map_err(|x| e("user", x.to_string()))?;
        }
        if in_workforce {
            sample.workforce += 1;
            if i % 11 != 0 {
                s.p1.add_member(&id, &groups[0])
                    .map_err(|x| e("membership", x.to_string()))?;
            }
        }
        s.p1.add_member(&id, &groups[1 + i % 3])
            .map_err(|x| e("membership", x.to_string()))?;
        // Some users already exist in Duo with the same username and email:
        // they are adopted, not duplicated. One look-alike (another case,
        // another email) is someone else's account: never adopted.
        if (1..=9).contains(&i) {
            s.duo
                .insert_user(
                    &username,
                    &[
                        ("realname", "Old Name"),
                        ("email", &format!("{username}@example.com")),
                    ],
                )
                .map_err(|x| e("Duo user", x.to_string()))?;
            sample.duo_existing += 1;
        }
        if i == 10 {
            s.duo
                .insert_user(
                    &username.to_uppercase(),
                    &[
                        ("realname", "Someone Else"),
                        ("email", "someone@other.example"),
                    ],
                )
                .map_err(|x| e("Duo user", x.to_string()))?;
            sample.duo_existing += 1;
        }
    }
    // Duo-only users: the inbound rule brings them into PingOne's Contractors.
    for k in 0..15 {
        let u = format!("duo.only{k}");
        s.duo
            .insert_user(
                &u,
                &[
                    ("realname", &format!("Duo Only {k}")),
                    ("email", &format!("{u}@example.net")),
                ],
            )
            .map_err(|x| e("Duo user", x.to_string()))?;
        sample.duo_only += 1;
    }
    Ok(sample)
}

/// Run the demo; with `serve`, keep the agent and its status page running.
pub async fn demo(serve: bool, out: &mut dyn Write) -> Result<Outcome, AgentError> {
    let io = AgentError::Output;
    let sims = Sims::start().await?;
    let sample = seed(&sims, 300)?;
    let dir = tempfile::Builder::new()
        .prefix("p1duo-demo-")
        .tempdir()
        .map_err(|e| AgentError::Other(format!("creating a temporary directory: {e}")))?;
    let listen = if serve {
        free_port().unwrap_or(9464)
    } else {
        0
    };
    let agent = format!(
        "listen = \"127.0.0.1:{listen}\"\ninterval = \"1m\"\njitter = \"5s\"\n[agent.notifications]\npublic_url = \"http://127.0.0.1:{listen}/pingone/events\"\ndebounce = \"1s\""
    );
    let path = sims.write_config(dir.path(), &agent, DEMO_RULES)?;
    let config = Config::load(&path)?;
    writeln!(out, "p1duo demo").map_err(io)?;
    writeln!(out, "  Duo simulator:     {}", sims.duo.base_url()).map_err(io)?;
    writeln!(out, "  PingOne simulator: {}", sims.p1.base_url()).map_err(io)?;
    writeln!(
        out,
        "  sample directory:  {} PingOne users ({} in Workforce), groups Duo Users/Engineering/Sales/Support; {} matching and {} Duo-only users in Duo",
        sample.users, sample.workforce, sample.duo_existing, sample.duo_only
    )
    .map_err(io)?;
    writeln!(out, "  configuration:     {}", path.display()).map_err(io)?;
    writeln!(out, "\n== p1duo check").map_err(io)?;
    commands::check(&config, false, out).await?;
    writeln!(out, "\n== p1duo plan (summary)").map_err(io)?;
    for p in commands::plan_rules(&config, None).await? {
        writeln!(
            out,
            "rule {} ({}): {}",
            p.rule.name(),
            p.rule.direction(),
            summary_line(&p.plan)
        )
        .map_err(io)?;
    }
    writeln!(out, "\n== p1duo sync").map_err(io)?;
    let progress = std::io::IsTerminal::is_terminal(&std::io::stderr());
    commands::sync(
        &config,
        &SyncOptions {
            rule: None,
            allow_deletes: false,
            progress,
            json: false,
        },
        out,
    )
    .await
    .map(|_| ())?;
    let before = sims.duo.stats();
    writeln!(out, "\n== p1duo sync again (nothing to change)").map_err(io)?;
    commands::sync(
        &config,
        &SyncOptions {
            rule: None,
            allow_deletes: false,
            progress: false,
            json: false,
        },
        out,
    )
    .await
    .map(|_| ())?;
    let after = sims.duo.stats();
    let writes = |st: &duo_sim::Stats| {
        st.by_route
            .iter()
            .filter(|(k, _)| !k.starts_with("GET "))
            .map(|(_, v)| v)
            .sum::<u64>()
    };
    writeln!(
        out,
        "Duo write calls in the second sync: {}",
        writes(&after) - writes(&before)
    )
    .map_err(io)?;
    writeln!(out, "\nThe failed users above are the sample's bad records (an invalid userType, a phone that is not a number, a name too long for Duo) and a Duo look-alike (another case, another email) that p1duo never adopts.").map_err(io)?;
    // The directory outlives the demo so that `status` and `explain` can read its state database.
    let kept = dir.keep();
    writeln!(
        out,
        "The demo's config and state database stay in {} (delete it when done).\n\
         Inspect the failures with: p1duo --config {} status",
        kept.display(),
        path.display()
    )
    .map_err(io)?;
    if serve {
        writeln!(
            out,
            "\n== p1duo run: status page at http://127.0.0.1:{listen}/status (Ctrl-C to stop)"
        )
        .map_err(io)?;
        out.flush().map_err(io)?;
        let shutdown = tokio_util::sync::CancellationToken::new();
        let s2 = shutdown.clone();
        tokio::spawn(async move {
            let _ = tokio::signal::ctrl_c().await;
            s2.cancel();
        });
        crate::run::run_with(Arc::new(config), Some(path.clone()), shutdown, None).await?;
    }
    drop(sims);
    Ok(Outcome::InStep)
}

/// One line of a plan's summary: the counts that are not zero.
pub fn summary_line(p: &reconcile_engine::Plan) -> String {
    let s = &p.summary;
    let parts: Vec<String> = [
        ("create", s.create),
        ("adopt", s.adopt),
        ("rename", s.rename),
        ("update", s.update),
        ("enable", s.enable),
        ("disable", s.disable),
        ("delete", s.delete),
        ("add phone", s.add_phone),
        ("remove phone", s.remove_phone),
        ("add member", s.add_member),
        ("remove member", s.remove_member),
        ("enroll", s.enroll),
        ("problems", s.problems),
    ]
    .iter()
    .filter(|(_, n)| *n > 0)
    .map(|(k, n)| format!("{n} {k}"))
    .collect();
    if parts.is_empty() {
        "nothing to do".into()
    } else {
        parts.join(", ")
    }
}

fn free_port() -> Option<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").ok()?;
    l.local_addr().ok().map(|a| a.port())
}
