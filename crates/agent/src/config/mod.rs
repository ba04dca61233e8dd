//! The configuration: read in two phases (raw TOML with serde, then validated
//! typed values built once), so a config that is wrong in any way is refused
//! before anything is contacted, with the file, the key and what is expected.

mod duration;
mod raw;
mod secret;
mod validate;

pub use duration::parse_duration;

use secrecy::SecretString;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The commented example printed by `p1duo config example`.
pub const EXAMPLE: &str = include_str!("example.toml");

/// A validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from (relative paths inside resolve against its directory).
    pub file: PathBuf,
    /// Where the state database lives.
    pub state_path: PathBuf,
    pub pingone: PingOneConfig,
    pub duo: DuoConfig,
    pub agent: AgentSettings,
    pub rules: Vec<Rule>,
}

/// `[pingone]`: the PingOne environment and its worker application.
#[derive(Debug, Clone)]
pub struct PingOneConfig {
    pub environment_id: String,
    pub region: String,
    /// API base including the version, e.g. `https://api.pingone.com/v1`.
    pub api_url: String,
    /// Auth base without the environment, e.g. `https://auth.pingone.com`.
    pub auth_url: String,
    pub client_id: String,
    /// Never printed: `SecretString`'s `Debug` redacts it.
    pub client_secret: SecretString,
    pub token_auth_method: TokenAuthMethod,
    /// Requests per second; `None` is off.
    pub requests_per_second: Option<u32>,
    pub timeout: Duration,
}

/// How the worker application authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenAuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
}

/// `[duo]`: the Duo Admin API application.
#[derive(Debug, Clone)]
pub struct DuoConfig {
    /// A host name or a URL with scheme and port (plain http only to loopback).
    pub api_host: String,
    pub integration_key: String,
    /// Never printed: `SecretString`'s `Debug` redacts it.
    pub secret_key: SecretString,
    /// `None` is off.
    pub rate_limit: Option<DuoRateLimit>,
    pub timeout: Duration,
    /// Duo's bulk endpoints, with the batch sizes to start from; `None` is off.
    pub bulk: Option<DuoBulk>,
}

/// `[duo] bulk`: the largest batches to start with (a refusal for size halves them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DuoBulk {
    /// Users per `users/bulk_create`.
    pub users: usize,
    /// Operations per `/admin/v1/bulk`.
    pub operations: usize,
}

impl Default for DuoBulk {
    /// The conservative third-party figures: Duo publishes none.
    fn default() -> Self {
        DuoBulk {
            users: 100,
            operations: 50,
        }
    }
}

/// Duo's published per-minute limits, the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DuoRateLimit {
    pub writes_per_minute: u32,
    pub reads_per_minute: u32,
    pub pages_per_minute: u32,
    /// Bulk calls per minute, a limit of their own besides one write each; `None`: none.
    pub bulk_per_minute: Option<u32>,
}

impl Default for DuoRateLimit {
    fn default() -> Self {
        DuoRateLimit {
            writes_per_minute: 300,
            reads_per_minute: 300,
            pages_per_minute: 200,
            bulk_per_minute: None,
        }
    }
}

/// `[agent]`: how `p1duo run` schedules and serves.
#[derive(Debug, Clone)]
pub struct AgentSettings {
    /// Address of the health/metrics/status server.
    pub listen: SocketAddr,
    /// Period of the full cycle of each rule.
    pub interval: Duration,
    /// Random delay added to each period, at most this much.
    pub jitter: Duration,
    /// Writes in flight at once per rule.
    pub concurrency: usize,
    /// PingOne change notifications; `None` when off.
    pub notifications: Option<Notifications>,
    /// Limits of the local HTTP server.
    pub server: ServerLimits,
}

/// `[agent.server]`: what the local HTTP server grants its clients, so
/// idle or slow sockets can neither exhaust descriptors nor stall it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerLimits {
    /// Connections open at once (also at most a quarter of the open-file limit).
    pub max_connections: usize,
    /// Time for a request's header to arrive, from the connection's start
    /// or the previous response (so it is the keep-alive idle time too).
    pub header_timeout: Duration,
    /// A connection on which no byte moves either way for this long is closed.
    pub idle_timeout: Duration,
    /// Time to read a request's body and answer it.
    pub request_timeout: Duration,
    /// Requests served at once per route; more are answered 503.
    pub max_requests: usize,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            max_connections: 256,
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            request_timeout: Duration::from_secs(30),
            max_requests: 8,
        }
    }
}

/// `[agent.notifications]`: where PingOne should deliver change events.
#[derive(Debug, Clone)]
pub struct Notifications {
    /// The URL PingOne posts to; it must reach this agent's `/pingone/events`.
    pub public_url: String,
    /// Changes arriving within this window are synced together.
    pub debounce: Duration,
}

/// Which way a rule provisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// PingOne → Duo.
    Outbound,
    /// Duo → PingOne.
    Inbound,
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::Outbound => "outbound",
            Direction::Inbound => "inbound",
        })
    }
}

/// What happens to a user who leaves the scope or is deleted at the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RemoveAction {
    Disable,
    /// Duo users go to Duo's trash (restorable until Duo purges them); groups, administrators
    /// and PingOne users are deleted.
    Delete,
    /// As `Delete`, but Duo users are deleted permanently at once (the Admin API's delete).
    Purge,
}

/// One `[[rules]]` entry.
#[derive(Debug, Clone)]
pub struct Rule {
    pub name: String,
    /// What the rule reads and where it writes, by direction.
    pub flow: Flow,
    pub enabled: bool,
    pub actions: Actions,
    /// The compiled `[rules.mapping]` (the direction's default when absent).
    pub mapping: mapping::Mapping,
    pub safety: Safety,
    pub adopt: Adopt,
    /// `[rules.enroll]` when enabled: new users get Duo's enrollment email.
    pub enroll: Option<Enroll>,
}

/// `[rules.enroll]`: Duo's enrollment email for new, unenrolled users.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Enroll {
    /// Seconds the link stays valid (0: never expires).
    pub valid_secs: u64,
    /// One reminder this long after the first email, if still unenrolled.
    pub remind_after: Option<std::time::Duration>,
}

/// The direction-specific part of a rule, so an invalid mix (an inbound rule
/// with a push list, an outbound one with a target population) cannot be written.
#[derive(Debug, Clone)]
pub enum Flow {
    /// PingOne → Duo.
    Outbound(Outbound),
    /// Duo → PingOne.
    Inbound(Inbound),
}

/// What an outbound rule reads from PingOne.
#[derive(Debug, Clone, Default)]
pub struct Outbound {
    /// PingOne populations (names or ids); all conditions must hold.
    pub scope_populations: Vec<String>,
    /// PingOne groups (names or ids), any kind of membership.
    pub scope_groups: Vec<String>,
    /// PingOne groups pushed to Duo with their in-scope members.
    pub push_groups: Vec<String>,
    /// `scope.filter`: a condition on the PingOne user's attributes.
    pub filter: Option<mapping::scope::ScopeFilter>,
}

/// Where an inbound rule writes in PingOne.
#[derive(Debug, Clone, Default)]
pub struct Inbound {
    /// The population new PingOne users land in (name or id).
    pub target_population: String,
    /// `scope.filter`: a condition on the Duo user's attributes.
    pub filter: Option<mapping::scope::ScopeFilter>,
}

impl Rule {
    /// Outbound (PingOne → Duo) or inbound (Duo → PingOne).
    pub fn direction(&self) -> Direction {
        match self.flow {
            Flow::Outbound(_) => Direction::Outbound,
            Flow::Inbound(_) => Direction::Inbound,
        }
    }

    /// The outbound part; an inbound rule has none (empty lists).
    pub fn outbound(&self) -> &Outbound {
        static NONE: Outbound = Outbound {
            scope_populations: Vec::new(),
            scope_groups: Vec::new(),
            push_groups: Vec::new(),
            filter: None,
        };
        match &self.flow {
            Flow::Outbound(o) => o,
            Flow::Inbound(_) => &NONE,
        }
    }

    /// `scope.filter` of either direction.
    pub fn scope_filter(&self) -> Option<&mapping::scope::ScopeFilter> {
        match &self.flow {
            Flow::Outbound(o) => o.filter.as_ref(),
            Flow::Inbound(i) => i.filter.as_ref(),
        }
    }

    /// The inbound rule's target population; `None` for an outbound rule.
    pub fn target_population(&self) -> Option<&str> {
        match &self.flow {
            Flow::Inbound(i) => Some(&i.target_population),
            Flow::Outbound(_) => None,
        }
    }
}

/// `[rules.adopt]`: when the rule may link a target object it did not create.
/// A candidate that fails it is a per-object conflict: no write, no create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adopt {
    /// Adopt existing accounts whose key matches.
    pub accounts: bool,
    /// Adopt an existing Duo group with a pushed group's name (unlinked, never
    /// deleted, when it leaves the push list).
    pub groups: bool,
    /// The key must match exactly (no case folding).
    pub exact_key: bool,
    /// Users: target attributes that must agree with the source besides the key.
    pub confirm: Vec<String>,
    /// Duo administrators: likewise (their key is already the email).
    pub confirm_admins: Vec<String>,
}

impl Default for Adopt {
    fn default() -> Self {
        Adopt {
            accounts: true,
            groups: false,
            exact_key: true,
            confirm: vec!["email".to_owned()],
            confirm_admins: vec!["name".to_owned()],
        }
    }
}

/// `[rules.actions]`, PingOne's user actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actions {
    pub create: bool,
    pub update: bool,
    pub disable: bool,
    pub deprovision: bool,
    pub remove_action: RemoveAction,
    pub deprovision_on_rule_deletion: bool,
    /// Remove Duo phones no longer used by anyone (never one with an activated device).
    pub remove_unused_phones: bool,
    /// A linked Duo user found in Duo's trash ("pending deletion") is restored
    /// (`bulk_restore`) instead of reported; off, it is reported and left alone.
    pub restore_trashed: bool,
}

impl Default for Actions {
    fn default() -> Self {
        Actions {
            create: true,
            update: true,
            disable: true,
            deprovision: false,
            remove_action: RemoveAction::Disable,
            deprovision_on_rule_deletion: false,
            remove_unused_phones: true,
            restore_trashed: false,
        }
    }
}

/// `[rules.safety]`: a plan beyond these is blocked unless deletes are allowed.
/// Counts and percentages (of the objects the rule manages) both apply; a
/// percentage never blocks `percent_floor` changes or fewer, so a small rule
/// is protected without tripping on a single change.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Safety {
    pub max_deletes: u64,
    pub max_delete_percent: Option<f64>,
    pub max_disables: u64,
    pub max_disable_percent: Option<f64>,
    pub max_membership_removals: u64,
    pub max_membership_removal_percent: Option<f64>,
    pub percent_floor: u64,
    /// Block deprovisioning when the source holds fewer than this percentage
    /// of the accounts the rule links.
    pub min_source_percent: Option<f64>,
}

impl Default for Safety {
    fn default() -> Self {
        Safety {
            max_deletes: 50,
            max_delete_percent: Some(10.0),
            max_disables: 100,
            max_disable_percent: Some(10.0),
            max_membership_removals: 500,
            max_membership_removal_percent: Some(10.0),
            percent_floor: 5,
            min_source_percent: Some(50.0),
        }
    }
}

impl Config {
    /// Things that are valid but probably not meant: outbound rules whose
    /// scopes can overlap (the first in config order owns a shared user; the
    /// other reports it and writes nothing).
    pub fn warnings(&self) -> Vec<String> {
        let out: Vec<&Rule> = self
            .rules
            .iter()
            .filter(|r| r.enabled && r.direction() == Direction::Outbound)
            .collect();
        let mut w = Vec::new();
        if !self.agent.listen.ip().is_loopback() {
            w.push(format!(
                "agent.listen = \"{}\" is reachable from other machines: /status and /metrics show names and emails, and /approve and /pingone/events take requests; listen on 127.0.0.1 behind a reverse proxy with authentication, or firewall the port",
                self.agent.listen
            ));
        }
        for (i, a) in out.iter().enumerate() {
            for b in &out[i + 1..] {
                let (a_pops, b_pops) = (
                    &a.outbound().scope_populations,
                    &b.outbound().scope_populations,
                );
                let pops = a_pops.is_empty()
                    || b_pops.is_empty()
                    || a_pops.iter().any(|p| b_pops.contains(p));
                if pops {
                    w.push(format!(
                        "outbound rules {:?} and {:?} have scopes that can overlap (the same populations, or one of them scopes every population): a user in both is owned by {:?}, the first in the file, and {:?} reports it as owned by that rule and writes nothing; narrow the scopes so each user has one rule",
                        a.name, b.name, a.name, b.name
                    ));
                }
            }
        }
        w
    }
}

/// One thing wrong with a configuration: the key and what is expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Dotted path such as `rules[0].actions.remove_action`.
    pub key: String,
    pub message: String,
}

/// A configuration that cannot be used. Never contains a secret value.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{}: cannot read the configuration ({source}); pass --config FILE or set P1DUO_CONFIG", file.display())]
    Read {
        file: PathBuf,
        source: std::io::Error,
    },
    /// The file was read but is wrong; every problem found is listed.
    #[error("{}", render_problems(file, problems))]
    Invalid {
        file: PathBuf,
        problems: Vec<Problem>,
    },
}

impl ConfigError {
    /// The problems found (empty for a read error).
    pub fn problems(&self) -> &[Problem] {
        match self {
            ConfigError::Read { .. } => &[],
            ConfigError::Invalid { problems, .. } => problems,
        }
    }
}

fn render_problems(file: &Path, problems: &[Problem]) -> String {
    let mut s = String::new();
    for (i, p) in problems.iter().enumerate() {
        if i > 0 {
            s.push('\n');
        }
        s.push_str(&format!("{}: {}: {}", file.display(), p.key, p.message));
    }
    s
}

impl Config {
    /// Read and validate `file`. Reads secrets from the environment and files;
    /// contacts nothing.
    pub fn load(file: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(file).map_err(|source| ConfigError::Read {
            file: file.to_path_buf(),
            source,
        })?;
        Config::from_str_at(&text, file, &|name| std::env::var(name).ok())
    }

    /// Validate `text` as if read from `file`, taking environment variables from `env`.
    pub fn from_str_at(
        text: &str,
        file: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        validate::parse_and_validate(text, file, env)
    }

    /// The enabled rules, or the one named (enabled or not).
    pub fn select_rules(&self, name: Option<&str>) -> Result<Vec<&Rule>, String> {
        match name {
            None => Ok(self.rules.iter().filter(|r| r.enabled).collect()),
            Some(n) => match self.rules.iter().find(|r| r.name == n) {
                Some(r) => Ok(vec![r]),
                None => Err(format!(
                    "no rule named {n:?} in {}; the rules are: {}",
                    self.file.display(),
                    self.rules
                        .iter()
                        .map(|r| r.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            },
        }
    }

    /// Whether any outbound rule maps `userType` (so Duo administrators are managed).
    pub fn manages_admins(&self) -> bool {
        self.rules.iter().any(|r| {
            r.enabled
                && r.direction() == Direction::Outbound
                && r.mapping.spec().0.contains_key("userType")
        })
    }
}

#[cfg(test)]
mod tests;
