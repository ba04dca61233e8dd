//! `p1duo check`: PingOne's "Test Connection" and more. Each check says what
//! it found and, when it fails, what to fix.

use crate::config::Config;
use futures::TryStreamExt;

/// One check's result.
#[derive(Debug, Clone)]
pub struct CheckResult {
    pub name: String,
    pub ok: bool,
    pub detail: String,
}

fn pass(name: &str, detail: impl Into<String>) -> CheckResult {
    CheckResult {
        name: name.into(),
        ok: true,
        detail: detail.into(),
    }
}

fn fail(name: &str, detail: impl Into<String>) -> CheckResult {
    CheckResult {
        name: name.into(),
        ok: false,
        detail: detail.into(),
    }
}

/// Run every check; never stops at the first failure.
pub async fn run_all(c: &Config) -> Vec<CheckResult> {
    let mut out = Vec::new();
    out.push(state_db(c).await);
    out.extend(duo(c).await);
    out.extend(pingone(c).await);
    out.extend(policies(c));
    out
}

/// Per rule, what it may adopt and what blocks a cycle; overlapping scopes.
fn policies(c: &Config) -> Vec<CheckResult> {
    let mut out = Vec::new();
    for r in &c.rules {
        let a = &r.adopt;
        let key = if a.exact_key {
            "the exact key"
        } else {
            "the key ignoring case"
        };
        let confirm = |list: &[String]| {
            if list.is_empty() {
                String::new()
            } else {
                format!(" and the same {}", list.join(", "))
            }
        };
        let accounts = if a.accounts {
            format!(
                "users with {key}{}, administrators with {key}{} (never a Duo Owner)",
                confirm(&a.confirm),
                confirm(&a.confirm_admins)
            )
        } else {
            "no users or administrators".to_owned()
        };
        let groups = if a.groups {
            "existing groups with a pushed group's name (unlinked, never deleted, when they leave)"
        } else {
            "no existing groups"
        };
        let s = &r.safety;
        let pct =
            |p: Option<f64>| p.map_or_else(|| "no percentage".to_owned(), |p| format!("{p}%"));
        out.push(pass(
            &format!("rule {}: adoption and limits", r.name),
            format!(
                "adopts {accounts}; adopts {groups}; blocks more than {} deletes or {}, {} disables or {} (never for {} or fewer), and deprovisioning when the source holds under {} of the linked users",
                s.max_deletes,
                pct(s.max_delete_percent),
                s.max_disables,
                pct(s.max_disable_percent),
                s.percent_floor,
                s.min_source_percent.map_or_else(|| "(off)".to_owned(), |p| format!("{p}%")),
            ),
        ));
    }
    for w in c.warnings() {
        out.push(pass("rule scopes", format!("warning: {w}")));
    }
    out
}

async fn state_db(c: &Config) -> CheckResult {
    let name = "state database";
    let path = &c.state_path;
    if !path.exists() {
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."));
        return match std::fs::metadata(dir) {
            Ok(m) if m.is_dir() && !m.permissions().readonly() => pass(
                name,
                format!(
                    "{} does not exist yet; the first sync creates it",
                    path.display()
                ),
            ),
            _ => fail(
                name,
                format!(
                    "directory {} does not exist or is not writable; create it or change state_path",
                    dir.display()
                ),
            ),
        };
    }
    let db = match crate::state::StateDb::open_read_only(path).await {
        Ok(Some(db)) => db,
        Ok(None) => return fail(name, format!("{} disappeared", path.display())),
        Err(e) => return fail(name, e.to_string()),
    };
    match db
        .call(|s| Ok((s.integrity_check()?, s.schema_version()?)))
        .await
    {
        Ok((problems, v)) if problems.is_empty() || problems == ["ok"] => pass(
            name,
            format!(
                "{} is healthy (schema version {v}, integrity_check ok)",
                path.display()
            ),
        ),
        Ok((problems, _)) => fail(
            name,
            format!(
                "{} fails integrity_check: {}; restore it from a backup (see docs/operations.md)",
                path.display(),
                problems.join("; ")
            ),
        ),
        Err(e) => fail(name, e.to_string()),
    }
}

async fn duo(c: &Config) -> Vec<CheckResult> {
    let mut out = Vec::new();
    let counts = std::sync::Arc::new(crate::duo::CallCounts::default());
    let duo = match crate::duo::duo_counted(c, counts.clone(), None) {
        Ok(d) => d,
        Err(e) => return vec![fail("Duo connection", e.to_string())],
    };
    let mut limit = duo_client::Params::new();
    limit.push("limit", "1");
    match duo
        .raw_call(duo_client::Method::GET, "/admin/v1/users", &limit)
        .await
    {
        Ok(_) => {
            out.push(pass(
                "Duo connection",
                format!(
                    "{} answered; integration key and secret key accepted",
                    c.duo.api_host
                ),
            ));
            let date = counts.last_date.lock().ok().and_then(|d| d.clone());
            out.push(clock_skew(date.as_deref(), std::time::SystemTime::now()));
            out.push(pass(
                "Duo permission: read resources",
                "users can be listed",
            ));
        }
        Err(e) => {
            let msg = e.to_string();
            out.push(fail("Duo connection", msg.clone()));
            out.extend(skew_hint(e.code()));
            return out;
        }
    }
    // A modify of a user that cannot exist: 404 proves the write grant without writing anything.
    match duo.raw_call(duo_client::Method::POST, "/admin/v1/users/DUP1DUOCHECKNOSUCHUSR", &duo_client::Params::new()).await {
        Err(e) if e.status() == Some(403) => out.push(fail(
            "Duo permission: write resources",
            "Duo refused a write (403): in the Duo Admin Panel > Applications > this Admin API application, tick \"Grant write resource\"",
        )),
        Err(e) if e.is_transient() => out.push(fail("Duo permission: write resources", e.to_string())),
        _ => out.push(pass("Duo permission: write resources", "writes are allowed")),
    }
    if c.manages_admins() {
        match duo.raw_call(duo_client::Method::GET, "/admin/v1/admins", &limit).await {
            Ok(_) => out.push(pass("Duo permission: administrators", "administrators can be listed (userType is mapped)")),
            Err(e) => out.push(fail(
                "Duo permission: administrators",
                format!("{e}; a rule maps userType, so tick \"Grant administrators\" on the Admin API application"),
            )),
        }
        // Duo also has a read-only administrators grant: prove writes with a modify of an
        // administrator that cannot exist (404, nothing written; this assumes Duo checks the
        // permission before the object, as it does for the resource probe above).
        match duo.raw_call(duo_client::Method::POST, "/admin/v1/admins/DEP1DUOCHECKNOSUCHAD", &duo_client::Params::new()).await {
            Err(e) if e.status() == Some(403) => out.push(fail(
                "Duo permission: administrator writes",
                "Duo refused an administrator write (403): a rule maps userType, so the Admin API application needs \"Grant administrators\" with Read/Write, not the read-only administrators grant; change it in the Duo Admin Panel > Applications > this Admin API application",
            )),
            Err(e) if e.is_transient() => out.push(fail("Duo permission: administrator writes", e.to_string())),
            _ => out.push(pass("Duo permission: administrator writes", "administrator writes are allowed")),
        }
    }
    out
}

async fn pingone(c: &Config) -> Vec<CheckResult> {
    let mut out = Vec::new();
    let p1 = match crate::pingone::pingone(c) {
        Ok(p) => p,
        Err(e) => return vec![fail("PingOne connection", e.to_string())],
    };
    let pops: Result<Vec<_>, _> = p1.list_populations().try_collect::<Vec<_>>().await;
    let pops: Vec<pingone_client::Population> = match pops {
        Ok(pages) => {
            out.push(pass(
                "PingOne connection",
                format!(
                    "token issued for environment {}; {} answered",
                    c.pingone.environment_id, c.pingone.api_url
                ),
            ));
            pages.into_iter().flat_map(|p| p.items).collect()
        }
        Err(e) => {
            out.push(fail("PingOne connection", e.to_string()));
            return out;
        }
    };
    let groups: Vec<pingone_client::Group> = match p1
        .list_groups(&Default::default())
        .try_collect::<Vec<_>>()
        .await
    {
        Ok(pages) => pages.into_iter().flat_map(|p| p.items).collect(),
        Err(e) => {
            out.push(fail(
                "PingOne role",
                format!("{e}; give the worker application the Identity Data Admin role"),
            ));
            return out;
        }
    };
    match p1.list_users(&Default::default()).try_next().await {
        Ok(_) => out.push(pass(
            "PingOne role",
            "users and groups can be read (Identity Data Admin or equivalent)",
        )),
        Err(e) => {
            out.push(fail(
                "PingOne role",
                format!("{e}; give the worker application the Identity Data Admin role"),
            ));
            return out;
        }
    }
    // What the agent resolved each name to last time: a name that stopped
    // matching because of a rename in PingOne is followed by id, not missing.
    let memos = resolved_memos(c).await;
    let known_pops = crate::pingone::known_populations(&pops);
    let known_groups = crate::pingone::known_groups(&groups);
    for r in &c.rules {
        let memo = memos.get(&r.name);
        let (mut missing, mut renamed) = (Vec::new(), Vec::new());
        let mut look = |list: &str, what: &str, n: &str, known: &[(String, String)]| {
            if known.iter().any(|(id, name)| id == n || name == n) {
                return;
            }
            let now = memo
                .and_then(|m| m.get(&format!("{list}:{n}")))
                .and_then(|id| known.iter().find(|(i, _)| i == id));
            match now {
                Some((_, name)) => renamed.push(format!("{what} {n:?} is now {name:?} ({list})")),
                None => missing.push(format!("{what} {n:?} ({list})")),
            }
        };
        for p in &r.outbound().scope_populations {
            look("scope.populations", "population", p, &known_pops);
        }
        for g in &r.outbound().scope_groups {
            look("scope.groups", "group", g, &known_groups);
        }
        for g in &r.outbound().push_groups {
            look("groups.push", "group", g, &known_groups);
        }
        if let Some(p) = r.target_population() {
            look("target.population", "population", p, &known_pops);
        }
        let name = format!("rule {}: named populations and groups", r.name);
        let renamed_note = if renamed.is_empty() {
            String::new()
        } else {
            format!(
                "; renamed in PingOne and followed by id: {}; put the new names in the config",
                renamed.join(", ")
            )
        };
        if missing.is_empty() {
            out.push(pass(&name, format!("all exist{renamed_note}")));
        } else {
            out.push(fail(
                &name,
                format!(
                    "not found in PingOne: {}; fix the names (case-sensitive) or create them{renamed_note}",
                    missing.join(", ")
                ),
            ));
        }
    }
    out.extend(mapping_targets(c, &p1).await);
    out
}

/// Inbound mapping targets PingOne's User schema lacks: PingOne ignores such an
/// attribute, so a sync would write it again every cycle and never see it.
async fn mapping_targets(c: &Config, p1: &pingone_client::PingOneClient) -> Vec<CheckResult> {
    let inbound: Vec<_> = c
        .rules
        .iter()
        .filter(|r| r.direction() == crate::config::Direction::Inbound)
        .collect();
    if inbound.is_empty() {
        return Vec::new();
    }
    let attrs = match p1.user_schema_attributes().await {
        Ok(a) if !a.is_empty() => a,
        Ok(_) => {
            return vec![pass(
                "PingOne schema",
                "warning: no User schema listed; mapping targets not checked",
            )];
        }
        Err(e) => {
            return vec![pass(
                "PingOne schema",
                format!("warning: cannot read the User schema ({e}); mapping targets not checked"),
            )];
        }
    };
    let mut out = Vec::new();
    for r in inbound {
        let missing: Vec<String> = r
            .mapping
            .spec()
            .0
            .keys()
            .filter(|t| {
                // `enabled` has its own endpoint; `custom.<name>` is attribute
                // `<name>`; the rest are attributes by their first segment.
                let attr = match t.strip_prefix("custom.") {
                    Some(name) => name,
                    None => t.split('.').next().unwrap_or(t),
                };
                attr != "enabled" && !attrs.iter().any(|a| a == attr)
            })
            .cloned()
            .collect();
        let name = format!("rule {}: mapping targets in PingOne's schema", r.name);
        if missing.is_empty() {
            out.push(pass(&name, "all exist"));
        } else {
            out.push(fail(
                &name,
                format!(
                    "not in PingOne's User schema: {}; PingOne ignores them, so every sync would write them again: add them as custom attributes (Directory > User Attributes) or remove them from the mapping",
                    missing.join(", ")
                ),
            ));
        }
    }
    out
}

/// Per rule, what its scope and push names last resolved to (empty without a
/// state database).
async fn resolved_memos(
    c: &Config,
) -> std::collections::HashMap<String, std::collections::BTreeMap<String, String>> {
    let mut out = std::collections::HashMap::new();
    let Ok(Some(db)) = crate::state::StateDb::open_read_only(&c.state_path).await else {
        return out;
    };
    for r in &c.rules {
        let name = r.name.clone();
        if let Ok(m) = db
            .call(move |s| crate::cycle::state::resolved(s, &name))
            .await
        {
            out.insert(r.name.clone(), m);
        }
    }
    out
}

/// Duo's clock against ours, from the `Date` header of its answer. Duo refuses
/// signatures whose date is more than a few minutes off, so warn well before.
/// What a refused signature says about the clock: 40103 may be skew (or a wrong secret key),
/// 40105 "Bad request timestamp" is skew.
fn skew_hint(code: Option<u32>) -> Option<CheckResult> {
    match code {
        Some(40105) => Some(fail(
            "Duo clock skew",
            "Duo refused the request date (40105 \"Bad request timestamp\"): this machine's clock is off; set it (NTP) to within a few minutes of UTC",
        )),
        Some(40103) => Some(fail(
            "Duo clock skew",
            "Duo refused the signature (40103): if the secret key is right, set this machine's clock (NTP) to within a few minutes of UTC",
        )),
        _ => None,
    }
}

fn clock_skew(duo_date: Option<&str>, now: std::time::SystemTime) -> CheckResult {
    const WARN_SECS: u64 = 60;
    let Some(theirs) = duo_date.and_then(|d| httpdate::parse_http_date(d).ok()) else {
        return pass(
            "Duo clock skew",
            "Duo accepted the request's signed Date header (it sent no Date of its own to compare)",
        );
    };
    let (secs, ahead) = match now.duration_since(theirs) {
        Ok(d) => (d.as_secs(), "ahead of"),
        Err(e) => (e.duration().as_secs(), "behind"),
    };
    if secs <= WARN_SECS {
        pass(
            "Duo clock skew",
            format!("this machine's clock is within {secs} s of Duo's"),
        )
    } else {
        fail(
            "Duo clock skew",
            format!(
                "this machine's clock is {secs} s {ahead} Duo's; Duo refuses signatures a few minutes off: \
                 synchronise the clock (NTP)"
            ),
        )
    }
}

#[cfg(test)]
mod skew_tests {
    //! The clock-skew check's verdicts.
    use super::*;
    use std::time::{Duration, SystemTime};

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn skew_is_measured_against_duos_date_header() {
        let duo = httpdate::fmt_http_date(at(1_800_000_000));
        let ok = clock_skew(Some(&duo), at(1_800_000_030));
        assert!(ok.ok, "{ok:?}");
        assert!(ok.detail.contains("within 30 s"), "{ok:?}");
        let ahead = clock_skew(Some(&duo), at(1_800_000_400));
        assert!(!ahead.ok, "{ahead:?}");
        assert!(ahead.detail.contains("400 s ahead of Duo's"), "{ahead:?}");
        let behind = clock_skew(Some(&duo), at(1_799_999_000));
        assert!(behind.detail.contains("1000 s behind Duo's"), "{behind:?}");
        assert!(clock_skew(None, at(0)).ok);
    }

    #[test]
    fn a_refused_timestamp_40105_is_explained_as_clock_skew() {
        let hint = skew_hint(Some(40105)).expect("40105 is explained");
        assert!(!hint.ok);
        assert!(
            hint.detail.contains("40105") && hint.detail.contains("NTP"),
            "{hint:?}"
        );
        assert!(skew_hint(Some(40103)).is_some());
        assert!(skew_hint(Some(40102)).is_none());
    }
}
