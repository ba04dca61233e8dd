//! The one-shot commands behind `p1duo check|plan|sync|status|explain|api`.

pub(crate) mod check;
pub(crate) mod demo;
mod explain;
pub(crate) mod sync_user;

pub use sync_user::{UserSync, sync_users};

use crate::cycle::{Agent, CycleOptions, CycleReport, RuleRef};
use crate::metrics::Metrics;
use crate::state::StateDb;
use crate::status::{RuleState, StatusReport};
use crate::{AgentError, Config, Outcome};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::Write;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Options of `sync`.
#[derive(Debug, Clone, Default)]
pub struct SyncOptions {
    /// Only this rule.
    pub rule: Option<String>,
    /// Carry out plans beyond the safety limits.
    pub allow_deletes: bool,
    /// Draw a progress bar (on a terminal).
    pub progress: bool,
    /// Print the reports as JSON.
    pub json: bool,
}

/// Which side `api` calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiSide {
    Duo,
    PingOne,
}

/// The version of every `--json` output of the one-shot commands (`sync`,
/// `check`, `explain`, `plan`; `status --json` has its own): raised when a field is
/// removed or changes meaning, never for an added one.
pub const JSON_VERSION: u32 = 1;

fn io(e: std::io::Error) -> AgentError {
    AgentError::Output(e)
}

/// Print `v` as pretty JSON.
fn print_json(v: &serde_json::Value, out: &mut dyn Write) -> Result<(), AgentError> {
    writeln!(
        out,
        "{}",
        serde_json::to_string_pretty(v).unwrap_or_default()
    )
    .map_err(io)
}

/// `p1duo check`: every check, each failure with what to fix.
pub async fn check(c: &Config, json: bool, out: &mut dyn Write) -> Result<Outcome, AgentError> {
    let results = check::run_all(c).await;
    let failed = results.iter().filter(|r| !r.ok).count();
    if json {
        let checks: Vec<serde_json::Value> = results
            .iter()
            .map(|r| serde_json::json!({ "name": r.name, "ok": r.ok, "detail": r.detail }))
            .collect();
        print_json(
            &serde_json::json!({ "version": JSON_VERSION, "failed": failed, "checks": checks }),
            out,
        )?;
    } else {
        for r in &results {
            let mark = if r.ok { "ok  " } else { "FAIL" };
            writeln!(out, "{mark} {}: {}", r.name, safe(&r.detail)).map_err(io)?;
        }
    }
    if failed > 0 {
        if !json {
            writeln!(out, "{failed} check(s) failed").map_err(io)?;
        }
        return Err(AgentError::Other(format!(
            "{failed} check(s) failed; fix what is listed above and run `p1duo check` again"
        )));
    }
    if !json {
        writeln!(out, "all {} checks passed", results.len()).map_err(io)?;
    }
    Ok(Outcome::InStep)
}

/// Every selected rule's plan, each as if the rules before it had run, in
/// the order `sync` runs them: what `plan` shows is what `sync` does.
pub(crate) async fn plan_rules(
    c: &Config,
    rule: Option<&str>,
) -> Result<Vec<crate::cycle::Prepared>, AgentError> {
    let db = StateDb::open_read_only(&c.state_path).await?;
    let agent = Agent::new(Arc::new(c.clone()), db, Arc::new(Metrics::new()))?;
    let mut before = crate::cycle::Echo::default();
    let mut out = Vec::new();
    for r in agent.rules(rule).await? {
        let p = agent.prepare_after(&r, false, &before).await?;
        if r.direction() == crate::config::Direction::Outbound {
            before.note_outbound(&p);
        }
        out.push(p);
    }
    Ok(out)
}

/// `p1duo plan`: what a sync would do, without writing anything.
pub async fn plan(
    c: &Config,
    rule: Option<&str>,
    json: bool,
    out: &mut dyn Write,
) -> Result<Outcome, AgentError> {
    let mut outcome = Outcome::InStep;
    let mut plans = Vec::new();
    for p in plan_rules(c, rule).await? {
        let r = p.rule.clone();
        if !p.plan.blocked.is_empty() {
            outcome = outcome.worst(Outcome::Blocked);
        } else if p
            .plan
            .problems
            .iter()
            .any(|pr| pr.code.status() == reconcile_engine::SyncStatus::Failed)
        {
            outcome = outcome.worst(Outcome::SomeFailed);
        }
        let leaving: Vec<(&String, &String, &str)> = p
            .verdicts
            .iter()
            .filter(|(_, (_, v))| !v.included)
            .map(|(id, (name, v))| (id, name, v.because.as_str()))
            .collect();
        if json {
            let mut v =
                serde_json::from_str::<serde_json::Value>(&p.plan.to_json()).unwrap_or_default();
            if let Some(obj) = v.as_object_mut() {
                let exits: Vec<_> = leaving
                    .iter()
                    .map(|(id, name, why)| serde_json::json!({"source_id": id, "name": name, "because": why}))
                    .collect();
                obj.insert("scope_exits".into(), serde_json::Value::Array(exits));
            }
            plans.push(v);
        } else {
            let label = match &r {
                RuleRef::Configured(rc) => format!("rule {} ({})", rc.name, rc.direction()),
                RuleRef::Deleted { name, .. } => {
                    format!("rule {name} (removed from the configuration)")
                }
            };
            writeln!(out, "{label}").map_err(io)?;
            write!(out, "{}", p.plan.render()).map_err(io)?;
            if !leaving.is_empty() {
                writeln!(out, "leaving the scope (why):").map_err(io)?;
                for (_, name, why) in &leaving {
                    writeln!(out, "  {}: {}", safe(name), safe(why)).map_err(io)?;
                }
            }
            writeln!(out).map_err(io)?;
        }
    }
    if json {
        let v = serde_json::json!({ "version": JSON_VERSION, "plans": plans });
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&v).unwrap_or_default()
        )
        .map_err(io)?;
    }
    Ok(outcome)
}

/// Directory values on a terminal: control and bidi characters made visible.
use reconcile_engine::terminal_safe as safe;

/// Print a cycle report in PingOne's words.
pub fn print_report(r: &CycleReport, out: &mut dyn Write) -> Result<(), AgentError> {
    let s = &r.summary;
    // One cause failing many objects (a mapping over a missing attribute) first.
    let causes = |out: &mut dyn Write| -> Result<(), AgentError> {
        for (kind, n, cause) in &r.common_failures {
            writeln!(out, "  same cause for {n} {kind}s: {}", safe(cause)).map_err(io)?;
        }
        if r.held > 0 {
            writeln!(
                out,
                "  held {} linked object(s): their source failed, so nothing destructive (disable, delete, membership or phone removal) is done to them until it maps again",
                r.held
            )
            .map_err(io)?;
        }
        Ok(())
    };
    if !r.blocked.is_empty() {
        writeln!(
            out,
            "rule {} ({}): BLOCKED by a safety limit, nothing was changed",
            r.rule, r.direction
        )
        .map_err(io)?;
        for b in &r.blocked {
            writeln!(out, "  {}", safe(b)).map_err(io)?;
        }
        causes(out)?;
        writeln!(
            out,
            "  review with `p1duo plan --rule {0}`, then run `p1duo sync --rule {0} --allow-deletes`, or `p1duo approve --rule {0} {1}` (bound to this plan; works while the agent runs), if it is intended",
            r.rule, r.plan_hash
        )
        .map_err(io)?;
        return Ok(());
    }
    writeln!(
        out,
        "rule {} ({}): {} change(s) planned, {} call(s) made",
        r.rule, r.direction, r.ops, r.writes
    )
    .map_err(io)?;
    writeln!(
        out,
        "  Users:  impacted {}, success {}, unsynced {}, partially synced {}, failed {}",
        s.users_impacted, s.users_success, s.users_unsynced, s.users_partial, s.users_failed
    )
    .map_err(io)?;
    if r.direction == crate::config::Direction::Outbound {
        writeln!(
            out,
            "  Groups: impacted {}, success {}, failed {}",
            s.groups_impacted, s.groups_success, s.groups_failed
        )
        .map_err(io)?;
    }
    causes(out)?;
    for (kind, name, status, msg) in r.problems.iter().take(50) {
        writeln!(out, "  {status} {kind} {}: {}", safe(name), safe(msg)).map_err(io)?;
    }
    if r.problems.len() > 50 {
        writeln!(
            out,
            "  ... and {} more (see `p1duo status`)",
            r.problems.len() - 50
        )
        .map_err(io)?;
    }
    Ok(())
}

/// Run one full cycle of the selected rules; returns the reports.
pub async fn sync_reports(
    c: &Config,
    o: &SyncOptions,
) -> Result<Vec<Result<CycleReport, AgentError>>, AgentError> {
    Ok(sync_named(c, o)
        .await?
        .into_iter()
        .map(|(_, r)| r)
        .collect())
}

/// [`sync_reports`] with each rule's name (a rule that could not run has no report).
async fn sync_named(
    c: &Config,
    o: &SyncOptions,
) -> Result<Vec<(String, Result<CycleReport, AgentError>)>, AgentError> {
    let db = StateDb::open(&c.state_path).await?;
    db.call(|s| s.close_interrupted_runs(state_store::now_millis()))
        .await?;
    let agent = Agent::new(Arc::new(c.clone()), Some(db), Arc::new(Metrics::new()))?;
    let cancel = CancellationToken::new();
    let on_ctrl_c = cancel.clone();
    let guard = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            tracing::warn!("interrupted: letting the writes in flight finish, starting no new one");
            on_ctrl_c.cancel();
        }
    });
    let mut reports = Vec::new();
    for r in agent.rules(o.rule.as_deref()).await? {
        let bar = o.progress.then(|| {
            let b = ProgressBar::new(0);
            b.set_style(
                ProgressStyle::with_template("{msg:20} [{bar:40}] {pos}/{len} writes ({eta})")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            b
        });
        reports.push((
            r.name().to_owned(),
            agent
                .cycle(
                    &r,
                    CycleOptions {
                        trigger: state_store::Trigger::Manual,
                        allow_destructive: o.allow_deletes,
                        cancel: cancel.clone(),
                        progress: bar,
                    },
                )
                .await,
        ));
        if cancel.is_cancelled() {
            break;
        }
    }
    guard.abort();
    Ok(reports)
}

/// `p1duo sync`.
pub async fn sync(c: &Config, o: &SyncOptions, out: &mut dyn Write) -> Result<Outcome, AgentError> {
    let mut outcome = Outcome::InStep;
    let mut first_err = None;
    let mut rules = Vec::new();
    for (rule, r) in sync_named(c, o).await? {
        match r {
            Ok(rep) if o.json => {
                outcome = outcome.worst(rep.outcome);
                rules.push(report_json(&rep));
            }
            Ok(rep) => {
                print_report(&rep, out)?;
                outcome = outcome.worst(rep.outcome);
            }
            Err(e) => {
                if o.json {
                    rules.push(serde_json::json!({
                        "rule": rule,
                        "outcome": Outcome::Failing.as_str(),
                        "error": e.to_string(),
                    }));
                } else {
                    writeln!(out, "rule failed: {e}").map_err(io)?;
                }
                first_err.get_or_insert(e);
            }
        }
    }
    if o.json {
        let worst = if first_err.is_some() {
            Outcome::Failing
        } else {
            outcome
        };
        print_json(
            &serde_json::json!({ "version": JSON_VERSION, "outcome": worst.as_str(), "rules": rules }),
            out,
        )?;
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(outcome),
    }
}

/// `p1duo status`.
pub async fn status(c: &Config, json: bool, out: &mut dyn Write) -> Result<Outcome, AgentError> {
    let db = StateDb::open_read_only(&c.state_path).await?;
    let report = StatusReport::read(c, db.as_ref()).await?;
    if json {
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        )
        .map_err(io)?;
    } else {
        if db.is_none() {
            writeln!(
                out,
                "no state database at {} yet: run `p1duo sync` or `p1duo run` first",
                c.state_path.display()
            )
            .map_err(io)?;
        }
        write!(out, "{}", report.render_text()).map_err(io)?;
    }
    // Anything not in step is a non-zero exit, a missing database included.
    Ok(match (db.is_some(), report.worst()) {
        (false, _) => Outcome::Failing,
        (true, RuleState::InStep) => Outcome::InStep,
        (true, RuleState::SomeFailed) => Outcome::SomeFailed,
        (true, RuleState::Blocked) => Outcome::Blocked,
        (true, RuleState::NeverRun | RuleState::Failing) => Outcome::Failing,
    })
}

/// A cycle report for `sync --json`: objects, not tuples.
fn report_json(r: &CycleReport) -> serde_json::Value {
    let problems: Vec<serde_json::Value> = r
        .problems
        .iter()
        .map(|(kind, name, status, message)| {
            serde_json::json!({ "kind": kind, "name": name, "status": status, "message": message })
        })
        .collect();
    let common: Vec<serde_json::Value> = r
        .common_failures
        .iter()
        .map(|(kind, count, cause)| serde_json::json!({ "kind": kind, "count": count, "cause": cause }))
        .collect();
    serde_json::json!({
        "rule": r.rule,
        "direction": r.direction,
        "outcome": r.outcome.as_str(),
        "plan_hash": r.plan_hash,
        "blocked": r.blocked,
        "changes_planned": r.ops,
        "calls_made": r.writes,
        "summary": r.summary,
        "held": r.held,
        "common_failures": common,
        "problems": problems,
    })
}

/// `p1duo explain USER`.
pub async fn explain(
    c: &Config,
    user: &str,
    json: bool,
    out: &mut dyn Write,
) -> Result<Outcome, AgentError> {
    let e = explain::explanation(c, user).await?;
    if json {
        print_json(&serde_json::to_value(&e).unwrap_or_default(), out)?;
    } else {
        write!(out, "{}", explain::render(&e)).map_err(io)?;
    }
    Ok(Outcome::InStep)
}

/// `p1duo api duo|pingone METHOD PATH [k=v...]`: prints the JSON answer.
pub async fn api(
    c: &Config,
    side: ApiSide,
    method: &str,
    path: &str,
    params: &[String],
    out: &mut dyn Write,
) -> Result<Outcome, AgentError> {
    let mut pairs = Vec::new();
    for p in params {
        let Some((k, v)) = p.split_once('=') else {
            return Err(AgentError::Usage(format!(
                "parameter {p:?} is not key=value"
            )));
        };
        pairs.push((k.to_owned(), v.to_owned()));
    }
    let method_up = method.to_ascii_uppercase();
    let value = match side {
        ApiSide::Duo => {
            let m = duo_client::Method::from_bytes(method_up.as_bytes())
                .map_err(|_| AgentError::Usage(format!("{method:?} is not an HTTP method")))?;
            let duo = crate::duo::duo(c)?;
            let mut ps = duo_client::Params::new();
            for (k, v) in &pairs {
                ps.push(k.clone(), v.clone());
            }
            let r = duo
                .raw_call(m, path, &ps)
                .await
                .map_err(|e| AgentError::Duo(e.to_string()))?;
            serde_json::json!({ "response": r.response, "metadata": r.metadata })
        }
        ApiSide::PingOne => {
            let m = pingone_client::Method::from_bytes(method_up.as_bytes())
                .map_err(|_| AgentError::Usage(format!("{method:?} is not an HTTP method")))?;
            let p1 = crate::pingone::pingone(c)?;
            let path = path.replace("{envId}", &c.pingone.environment_id);
            let (path, body) =
                if m == pingone_client::Method::GET || m == pingone_client::Method::DELETE {
                    let q: Vec<String> = pairs
                        .iter()
                        .map(|(k, v)| format!("{k}={}", encode(v)))
                        .collect();
                    let sep = if path.contains('?') { '&' } else { '?' };
                    (
                        if q.is_empty() {
                            path
                        } else {
                            format!("{path}{sep}{}", q.join("&"))
                        },
                        None,
                    )
                } else {
                    let mut obj = serde_json::Map::new();
                    for (k, v) in &pairs {
                        // Values that parse as JSON (true, 3, {"a":1}) are sent as such.
                        obj.insert(
                            k.clone(),
                            serde_json::from_str(v)
                                .unwrap_or_else(|_| serde_json::Value::String(v.clone())),
                        );
                    }
                    (path, Some(serde_json::Value::Object(obj)))
                };
            p1.raw(m, &path, body.as_ref())
                .await
                .map_err(|e| AgentError::PingOne(e.to_string()))?
                .unwrap_or(serde_json::Value::Null)
        }
    };
    writeln!(
        out,
        "{}",
        serde_json::to_string_pretty(&value).unwrap_or_default()
    )
    .map_err(io)?;
    Ok(Outcome::InStep)
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// What `p1duo link` records.
#[derive(Debug, Clone)]
pub struct LinkRequest {
    pub rule: String,
    /// `user`, `admin` or `group`.
    pub kind: String,
    /// The source object's id (PingOne for outbound rules, Duo for inbound).
    pub source_id: String,
    /// The target object's id.
    pub target_id: String,
}

/// `p1duo link`: the operator's explicit answer to an adoption conflict.
/// Links a source object to a target object the rule did not create (taking
/// it from another source of the same rule if need be); the next sync makes
/// the target match its source. Refuses a target another rule owns.
pub async fn link(
    c: &Config,
    req: &LinkRequest,
    out: &mut dyn Write,
) -> Result<Outcome, AgentError> {
    use state_store::{Link, ObjectKey, ObjectKind, Origin, now_millis};
    if !c.rules.iter().any(|r| r.name == req.rule) {
        return Err(AgentError::Usage(format!(
            "rule {:?} is not in the configuration; name one of its [[rules]]",
            req.rule
        )));
    }
    let kind = match req.kind.as_str() {
        "user" => ObjectKind::User,
        "admin" => ObjectKind::Admin,
        "group" => ObjectKind::Group,
        k => {
            return Err(AgentError::Usage(format!(
                "--kind {k:?}: expected user, admin or group"
            )));
        }
    };
    let db = StateDb::open(&c.state_path).await?;
    let r = req.clone();
    let (others, displaced) = db
        .call(move |s| {
            let mut others = Vec::new();
            for rule in s.link_rules()? {
                if rule != r.rule && !s.links_to_target(&rule, kind, &r.target_id)?.is_empty() {
                    others.push(rule);
                }
            }
            if !others.is_empty() {
                return Ok((others, Vec::new()));
            }
            let displaced: Vec<String> = s
                .links_to_target(&r.rule, kind, &r.target_id)?
                .into_iter()
                .filter(|l| l.source_id != r.source_id)
                .map(|l| l.source_id)
                .collect();
            let keys: Vec<ObjectKey> = displaced
                .iter()
                .map(|src| ObjectKey::new(r.rule.clone(), kind, src.clone()))
                .collect();
            s.delete_links(&keys)?;
            let now = now_millis();
            s.upsert_links(&[Link {
                rule: r.rule.clone(),
                kind,
                source_id: r.source_id.clone(),
                target_id: r.target_id.clone(),
                attrs: serde_json::Value::Null,
                // Never a real fingerprint: the next plan diffs every attribute.
                fingerprint: 0,
                origin: Origin::Adopted,
                first_synced: now,
                last_synced: now,
            }])?;
            Ok((others, displaced))
        })
        .await?;
    if let Some(owner) = others.first() {
        return Err(AgentError::Usage(format!(
            "{} {} is linked by rule {owner:?}; one rule owns each object: unlink it there first or narrow that rule's scope",
            req.kind, req.target_id
        )));
    }
    writeln!(
        out,
        "linked {} {} to {} in rule {:?}{}; the next sync makes it match its source (review with `p1duo plan --rule {}`)",
        req.kind,
        req.source_id,
        req.target_id,
        req.rule,
        if displaced.is_empty() {
            String::new()
        } else {
            format!(" (no longer linked to {})", displaced.join(", "))
        },
        req.rule
    )
    .map_err(io)?;
    Ok(Outcome::InStep)
}

/// `p1duo approve --rule R HASH`: approve exactly the blocked plan that was
/// reviewed. Recorded in the state database, or, while the agent runs and
/// holds it, handed to the agent over its local HTTP server (which also
/// starts the rule's next cycle). A plan that changed since is not approved.
pub async fn approve(
    c: &Config,
    rule: &str,
    plan_hash: &str,
    out: &mut dyn Write,
) -> Result<Outcome, AgentError> {
    if !c.rules.iter().any(|r| r.name == rule) {
        return Err(AgentError::Usage(format!(
            "rule {rule:?} is not in the configuration"
        )));
    }
    let record = |db: StateDb| async move {
        let (r, h) = (rule.to_owned(), plan_hash.to_owned());
        db.call(move |s| crate::cycle::state::approve(s, &r, &h))
            .await?
            .map_err(AgentError::Usage)?;
        Ok::<_, AgentError>(format!(
            "approved plan {plan_hash} of rule {rule:?}: the next `p1duo sync` or agent cycle carries it out if its plan is still exactly this one"
        ))
    };
    let said = match StateDb::open(&c.state_path).await {
        Ok(db) => record(db).await?,
        Err(AgentError::StateLocked(held)) => match ask_agent(c, rule, plan_hash).await {
            Ok(said) => said,
            // No agent answers: a command that is finishing may hold the
            // database for a moment; wait for it, briefly.
            Err(AgentError::Other(_)) => {
                let mut db = None;
                for _ in 0..50 {
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    if let Ok(d) = StateDb::open(&c.state_path).await {
                        db = Some(d);
                        break;
                    }
                }
                match db {
                    Some(db) => record(db).await?,
                    None => return Err(AgentError::StateLocked(held)),
                }
            }
            Err(e) => return Err(e),
        },
        Err(e) => return Err(e),
    };
    writeln!(out, "{said}").map_err(io)?;
    Ok(Outcome::InStep)
}

/// `POST /approve` to the running agent on its (loopback) status server.
async fn ask_agent(c: &Config, rule: &str, plan_hash: &str) -> Result<String, AgentError> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = c.agent.listen;
    let unreachable = |e: std::io::Error| {
        AgentError::Other(format!(
            "the state database is held by a running agent, but its server at {addr} (agent.listen) did not answer: {e}"
        ))
    };
    let mut conn = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(unreachable)?;
    // Rule names and hashes need no escaping (letters, digits, - _ .).
    let req = format!(
        "POST /approve?rule={rule}&hash={plan_hash} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    conn.write_all(req.as_bytes()).await.map_err(unreachable)?;
    let mut answer = String::new();
    conn.take(64 * 1024)
        .read_to_string(&mut answer)
        .await
        .map_err(unreachable)?;
    let body = answer
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .trim()
        .to_owned();
    if answer.starts_with("HTTP/1.1 200") {
        Ok(body)
    } else {
        Err(AgentError::Usage(body))
    }
}
