//! Phase two: raw TOML values → the typed [`Config`], collecting every problem
//! with its key and what is expected.

use super::raw::*;
use super::*;
use std::collections::BTreeSet;

mod rules;
use rules::rule;

/// PingOne's regions: code → top-level domain.
const REGIONS: &[&str] = &["com", "eu", "ca", "asia", "com.au", "sg"];

pub(super) struct Checker<'a> {
    problems: Vec<Problem>,
    base: PathBuf,
    env: &'a dyn Fn(&str) -> Option<String>,
}

impl Checker<'_> {
    pub(super) fn problem(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem {
            key: key.into(),
            message: message.into(),
        });
    }

    pub(super) fn duration(&mut self, key: &str, v: Option<&str>, default: Duration) -> Duration {
        // Bounded, so no later sum (interval + jitter, now + interval) overflows.
        const MAX: Duration = Duration::from_secs(366 * 24 * 3600);
        match v.map(parse_duration) {
            None => default,
            Some(Ok(d)) if d > MAX => {
                self.problem(key, "expected at most 366 days (\"8784h\")");
                default
            }
            Some(Ok(d)) => d,
            Some(Err(e)) => {
                self.problem(key, e);
                default
            }
        }
    }

    pub(super) fn secret(&mut self, key: &str, v: &toml::Value) -> SecretString {
        match secret::resolve(v, &self.base, self.env) {
            Ok(s) => s,
            Err(e) => {
                self.problem(key, e);
                SecretString::from(String::new())
            }
        }
    }
}

pub fn parse_and_validate(
    text: &str,
    file: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigError> {
    let invalid = |problems| ConfigError::Invalid {
        file: file.to_path_buf(),
        problems,
    };
    let raw: RawConfig = parse_raw(text).map_err(|p| invalid(vec![p]))?;
    let base = file.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut c = Checker {
        problems: Vec::new(),
        base,
        env,
    };
    let config = build(raw, file, &mut c);
    if c.problems.is_empty() {
        Ok(config)
    } else {
        Err(invalid(c.problems))
    }
}

/// `[agent] concurrency` when unset.
const DEFAULT_CONCURRENCY: usize = 32;

fn parse_raw(text: &str) -> Result<RawConfig, Problem> {
    let de =
        toml::Deserializer::parse(text).map_err(|e| toml_problem(text, "(file)".into(), &e))?;
    serde_path_to_error::deserialize(de).map_err(|e| {
        let key = e.path().to_string();
        let key = if key == "." || key.is_empty() {
            "(top level)".into()
        } else {
            key
        };
        toml_problem(text, key, e.inner())
    })
}

fn toml_problem(text: &str, key: String, e: &toml::de::Error) -> Problem {
    let at = e
        .span()
        .map(|s| {
            let line = text[..s.start.min(text.len())].matches('\n').count() + 1;
            format!(" (line {line})")
        })
        .unwrap_or_default();
    let msg = e.message().trim().replace('`', "\"");
    Problem {
        key,
        message: format!("{msg}{at}"),
    }
}

fn build(raw: RawConfig, file: &Path, c: &mut Checker<'_>) -> Config {
    let state_path = c.base.join(raw.state_path.as_deref().unwrap_or("p1duo.db"));
    if raw.state_path.as_deref() == Some("") {
        c.problem(
            "state_path",
            "expected a file path for the state database, got an empty string",
        );
    }
    let pingone = pingone(raw.pingone, c);
    let duo = duo(raw.duo, c);
    let agent = agent(raw.agent, c);
    let mut names = BTreeSet::new();
    let mut rules = Vec::new();
    for (i, r) in raw.rules.into_iter().enumerate() {
        let key = format!("rules[{i}]");
        if !names.insert(r.name.clone()) {
            c.problem(
                format!("{key}.name"),
                format!(
                    "rule name {:?} is used twice; rule names must be unique",
                    r.name
                ),
            );
        }
        rules.push(rule(r, &key, c));
    }
    Config {
        file: file.to_path_buf(),
        state_path,
        pingone,
        duo,
        agent,
        rules,
    }
}

fn is_loopback_host(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost")
        || h.parse::<std::net::IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}

/// Check a base URL: https, or http to loopback only. Returns it without a trailing slash.
fn check_url(c: &mut Checker<'_>, key: &str, url: &str, shape: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        c.problem(
            key,
            format!("expected a URL shaped like {shape:?}, got {url:?}"),
        );
        return url.to_owned();
    };
    let host_port = rest.split('/').next().unwrap_or("");
    let host = match host_port.rsplit_once(':') {
        Some((h, p)) if p.chars().all(|ch| ch.is_ascii_digit()) && !h.is_empty() => h,
        _ => host_port,
    };
    if host.is_empty() {
        c.problem(
            key,
            format!("expected a URL with a host, shaped like {shape:?}, got {url:?}"),
        );
    }
    match scheme {
        "https" => {}
        "http" if is_loopback_host(host) => {}
        "http" => c.problem(
            key,
            format!("plain http is allowed only to a loopback address (127.0.0.1, ::1, localhost); use https for {host}"),
        ),
        _ => c.problem(key, format!("expected an https URL shaped like {shape:?}, got scheme {scheme:?}")),
    }
    url.trim_end_matches('/').to_owned()
}

fn is_uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.chars().all(|ch| ch.is_ascii_hexdigit()))
}

fn pingone(p: RawPingOne, c: &mut Checker<'_>) -> PingOneConfig {
    if !is_uuid(&p.environment_id) {
        c.problem(
            "pingone.environment_id",
            format!(
                "expected the environment's id, a UUID such as \"1b2c3d4e-0000-4000-8000-00000000abcd\" (PingOne console > Environment > Properties), got {:?}",
                p.environment_id
            ),
        );
    }
    let region = p.region.unwrap_or_else(|| "com".into());
    if !REGIONS.contains(&region.as_str()) {
        c.problem(
            "pingone.region",
            format!("expected one of {}, got {region:?}", REGIONS.join(" | ")),
        );
    }
    let api_url = match &p.api_url {
        Some(u) => check_url(c, "pingone.api_url", u, "https://api.pingone.com/v1"),
        None => format!("https://api.pingone.{region}/v1"),
    };
    let auth_url = match &p.auth_url {
        Some(u) => check_url(c, "pingone.auth_url", u, "https://auth.pingone.com"),
        None => format!("https://auth.pingone.{region}"),
    };
    if p.client_id.trim().is_empty() {
        c.problem(
            "pingone.client_id",
            "expected the worker application's client id, got an empty string",
        );
    }
    let client_secret = c.secret("pingone.client_secret", &p.client_secret);
    let token_auth_method = match p.token_auth_method.as_deref() {
        None | Some("client_secret_basic") => TokenAuthMethod::ClientSecretBasic,
        Some("client_secret_post") => TokenAuthMethod::ClientSecretPost,
        Some(other) => {
            c.problem(
                "pingone.token_auth_method",
                format!("expected \"client_secret_basic\" or \"client_secret_post\" (the worker application's Token Endpoint Authentication Method), got {other:?}"),
            );
            TokenAuthMethod::ClientSecretBasic
        }
    };
    let requests_per_second = match &p.rate_limit {
        None => Some(30),
        Some(toml::Value::String(s)) if s == "off" => None,
        Some(toml::Value::Table(t)) if t.len() == 1 && t.contains_key("requests_per_second") => {
            match t["requests_per_second"].as_integer() {
                Some(n) if (1..=10_000).contains(&n) => Some(n as u32),
                _ => {
                    c.problem(
                        "pingone.rate_limit.requests_per_second",
                        "expected a whole number from 1 to 10000",
                    );
                    None
                }
            }
        }
        Some(_) => {
            c.problem(
                "pingone.rate_limit",
                "expected { requests_per_second = N } or \"off\"",
            );
            None
        }
    };
    let timeout = c.duration(
        "pingone.timeout",
        p.timeout.as_deref(),
        Duration::from_secs(30),
    );
    if timeout < Duration::from_secs(1) {
        c.problem(
            "pingone.timeout",
            "expected at least 1s for a request to PingOne",
        );
    }
    PingOneConfig {
        environment_id: p.environment_id,
        region,
        api_url,
        auth_url,
        client_id: p.client_id,
        client_secret,
        token_auth_method,
        requests_per_second,
        timeout,
    }
}

fn duo(d: RawDuo, c: &mut Checker<'_>) -> DuoConfig {
    let api_host = if d.api_host.contains("://") {
        check_url(
            c,
            "duo.api_host",
            &d.api_host,
            "https://api-xxxxxxxx.duosecurity.com",
        )
    } else {
        let h = d.api_host.trim().to_ascii_lowercase();
        let ok = !h.is_empty()
            && h.split(':').next().is_some_and(|name| {
                !name.is_empty()
                    && name
                        .chars()
                        .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '.')
            });
        if !ok {
            c.problem(
                "duo.api_host",
                format!("expected the Admin API application's API hostname such as \"api-xxxxxxxx.duosecurity.com\", got {:?}", d.api_host),
            );
        }
        h
    };
    // What the client will accept is decided here, before anything is created.
    if let Err(e) = duo_client::ApiHost::parse(&api_host) {
        c.problem("duo.api_host", e.to_string());
    }
    let ikey = d.integration_key.trim();
    if !(ikey.len() == 20
        && ikey.starts_with("DI")
        && ikey.chars().all(|ch| ch.is_ascii_alphanumeric()))
    {
        c.problem(
            "duo.integration_key",
            format!("expected the Admin API application's integration key, 20 letters and digits starting with \"DI\", got {:?}", d.integration_key),
        );
    }
    let secret_key = c.secret("duo.secret_key", &d.secret_key);
    let rate_limit = match &d.rate_limit {
        None => Some(DuoRateLimit::default()),
        Some(toml::Value::String(s)) if s == "off" => None,
        Some(toml::Value::Table(t)) => {
            let mut rl = DuoRateLimit::default();
            for (k, v) in t {
                let mut bulk = 0;
                let slot = match k.as_str() {
                    "writes_per_minute" => &mut rl.writes_per_minute,
                    "reads_per_minute" => &mut rl.reads_per_minute,
                    "pages_per_minute" => &mut rl.pages_per_minute,
                    "bulk_per_minute" => &mut bulk,
                    other => {
                        c.problem(
                            format!("duo.rate_limit.{other}"),
                            "unknown key; expected writes_per_minute, reads_per_minute, pages_per_minute or bulk_per_minute",
                        );
                        continue;
                    }
                };
                match v.as_integer() {
                    Some(n) if (1..=100_000).contains(&n) => {
                        *slot = n as u32;
                        if k == "bulk_per_minute" {
                            rl.bulk_per_minute = Some(n as u32);
                        }
                    }
                    _ => c.problem(
                        format!("duo.rate_limit.{k}"),
                        "expected a whole number from 1 to 100000",
                    ),
                }
            }
            Some(rl)
        }
        Some(_) => {
            c.problem(
                "duo.rate_limit",
                "expected { writes_per_minute = N, reads_per_minute = N, pages_per_minute = N } or \"off\"",
            );
            None
        }
    };
    let timeout = c.duration("duo.timeout", d.timeout.as_deref(), Duration::from_secs(30));
    if timeout < Duration::from_secs(1) {
        c.problem("duo.timeout", "expected at least 1s for a request to Duo");
    }
    let bulk = duo_bulk(d.bulk.as_ref(), c);
    DuoConfig {
        api_host,
        integration_key: d.integration_key,
        secret_key,
        rate_limit,
        timeout,
        bulk,
    }
}

/// `[duo] bulk`: `true` (the default), `false`, or `{ users = N, operations = N }`.
fn duo_bulk(v: Option<&toml::Value>, c: &mut Checker<'_>) -> Option<DuoBulk> {
    let shape = "expected true, false or { users = 1..100, operations = 1..50 }";
    match v {
        None | Some(toml::Value::Boolean(true)) => Some(DuoBulk::default()),
        Some(toml::Value::Boolean(false)) => None,
        Some(toml::Value::Table(t)) => {
            let mut b = DuoBulk::default();
            for (k, v) in t {
                let (slot, max) = match k.as_str() {
                    "users" => (&mut b.users, 100),
                    "operations" => (&mut b.operations, 50),
                    other => {
                        c.problem(
                            format!("duo.bulk.{other}"),
                            "unknown key; expected users or operations",
                        );
                        continue;
                    }
                };
                match v.as_integer() {
                    Some(n) if (1..=max).contains(&n) => *slot = n as usize,
                    _ => c.problem(
                        format!("duo.bulk.{k}"),
                        format!("expected a whole number from 1 to {max} (larger batches are not known to work with Duo)"),
                    ),
                }
            }
            Some(b)
        }
        Some(_) => {
            c.problem("duo.bulk", shape);
            None
        }
    }
}

fn agent(a: RawAgent, c: &mut Checker<'_>) -> AgentSettings {
    let default_listen: SocketAddr = ([127, 0, 0, 1], 9464).into();
    let listen = match a.listen.as_deref().map(str::parse::<SocketAddr>) {
        None => default_listen,
        Some(Ok(addr)) => addr,
        Some(Err(_)) => {
            c.problem(
                "agent.listen",
                format!(
                    "expected an address and port such as \"127.0.0.1:9464\", got {:?}",
                    a.listen.unwrap_or_default()
                ),
            );
            default_listen
        }
    };
    let interval = c.duration(
        "agent.interval",
        a.interval.as_deref(),
        Duration::from_secs(15 * 60),
    );
    if interval < Duration::from_secs(1) {
        c.problem("agent.interval", "expected at least 1s between full cycles");
    }
    let jitter = c.duration("agent.jitter", a.jitter.as_deref(), Duration::from_secs(30));
    // Measured with group commit (docs/benchmarks.md): 8 left throughput
    // on the table; 16 to 64 were alike; 32 keeps headroom without bursts.
    let concurrency = match a.concurrency {
        None => DEFAULT_CONCURRENCY,
        Some(n) if (1..=256).contains(&n) => n as usize,
        Some(n) => {
            c.problem(
                "agent.concurrency",
                format!("expected a whole number from 1 to 256, got {n}"),
            );
            DEFAULT_CONCURRENCY
        }
    };
    let n = a.notifications;
    let notifications = match (n.enabled.unwrap_or(n.public_url.is_some()), n.public_url) {
        (false, _) => None,
        (true, None) => {
            c.problem(
                "agent.notifications.public_url",
                "notifications are enabled but no public_url is set; give the URL at which PingOne reaches this agent's /pingone/events",
            );
            None
        }
        (true, Some(url)) => {
            let public_url = check_url(
                c,
                "agent.notifications.public_url",
                &url,
                "https://p1duo.example.com/pingone/events",
            );
            let debounce = c.duration(
                "agent.notifications.debounce",
                n.debounce.as_deref(),
                Duration::from_secs(2),
            );
            Some(Notifications {
                public_url,
                debounce,
            })
        }
    };
    AgentSettings {
        listen,
        interval,
        jitter,
        concurrency,
        notifications,
        server: server(a.server, c),
    }
}

fn server(s: RawServer, c: &mut Checker<'_>) -> ServerLimits {
    let d = ServerLimits::default();
    let mut count = |key: &str, v: Option<i64>, max: i64, default: usize| match v {
        None => default,
        Some(n) if (1..=max).contains(&n) => n as usize,
        Some(n) => {
            c.problem(
                key,
                format!("expected a whole number from 1 to {max}, got {n}"),
            );
            default
        }
    };
    let max_connections = count(
        "agent.server.max_connections",
        s.max_connections,
        65_536,
        d.max_connections,
    );
    let max_requests = count(
        "agent.server.max_requests",
        s.max_requests,
        1024,
        d.max_requests,
    );
    let mut timeout = |key: &str, v: Option<&str>, default: Duration| {
        let t = c.duration(key, v, default);
        if t < Duration::from_millis(100) {
            c.problem(key, "expected at least 100ms");
            return default;
        }
        t
    };
    ServerLimits {
        max_connections,
        header_timeout: timeout(
            "agent.server.header_timeout",
            s.header_timeout.as_deref(),
            d.header_timeout,
        ),
        idle_timeout: timeout(
            "agent.server.idle_timeout",
            s.idle_timeout.as_deref(),
            d.idle_timeout,
        ),
        request_timeout: timeout(
            "agent.server.request_timeout",
            s.request_timeout.as_deref(),
            d.request_timeout,
        ),
        max_requests,
    }
}
