//! What `p1duo status`, `/status` and the metrics show: each rule's last runs,
//! its objects per status, and every object not in step with its last error.

use crate::AgentError;
use crate::config::Config;
use crate::state::StateDb;
use reconcile_engine::terminal_safe as safe;
use serde::Serialize;
use state_store::{ObjectStatus, Run, StatusFilter, SyncStatus};
use std::fmt::Write as _;

/// Most objects not in step listed per rule.
const MAX_LISTED: u32 = 1000;

/// Version of `status --json`.
pub const STATUS_SCHEMA_VERSION: u32 = 1;

/// The status of every rule.
#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    pub version: u32,
    pub rules: Vec<RuleStatus>,
}

/// A rule's state, in the one vocabulary `status`, its exit code, the page,
/// `/readyz` and the metrics share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleState {
    /// The last cycle finished and no object is failed or partly synced.
    InStep,
    /// The last cycle finished, and some objects failed or are partly synced.
    SomeFailed,
    /// The last cycle was blocked by a safety limit: nothing changed, approval needed.
    Blocked,
    /// No cycle has run yet.
    NeverRun,
    /// The last cycle could not run (e.g. a side could not be read).
    Failing,
}

impl RuleState {
    /// Words for people.
    pub fn describe(self) -> &'static str {
        match self {
            RuleState::InStep => "in step",
            RuleState::SomeFailed => "some objects failed",
            RuleState::Blocked => "BLOCKED by a safety limit: nothing was changed",
            RuleState::NeverRun => "never run",
            RuleState::Failing => "FAILING: the last cycle could not run",
        }
    }

    /// The state from the last finished run, the block memo and the objects.
    fn of(runs: &[Run], blocked: bool, not_in_step: &[ObjectStatus]) -> RuleState {
        use state_store::RunOutcome as O;
        if blocked {
            return RuleState::Blocked;
        }
        let failing_objects = not_in_step
            .iter()
            .any(|o| matches!(o.status, SyncStatus::Failed | SyncStatus::Partial));
        match runs.iter().find_map(|r| r.outcome) {
            None => RuleState::NeverRun,
            Some(O::Failed) => RuleState::Failing,
            Some(O::Succeeded) if !failing_objects => RuleState::InStep,
            Some(_) => RuleState::SomeFailed,
        }
    }
}

/// The status of one rule.
#[derive(Debug, Clone, Serialize)]
pub struct RuleStatus {
    pub name: String,
    /// False for a rule that is only in the database (removed from the config).
    pub configured: bool,
    pub enabled: bool,
    pub runs: Vec<Run>,
    /// Objects per status (`success`, `unsynced`, `partial`, `failed`).
    pub counts: Vec<(String, String, u64)>,
    pub not_in_step: Vec<ObjectStatus>,
    pub state: RuleState,
    /// Why the last cycle was blocked, when it was.
    pub blocked: Option<crate::cycle::state::Blocked>,
}

impl StatusReport {
    /// Read the report from the state database (`None`: no database yet).
    pub async fn read(config: &Config, db: Option<&StateDb>) -> Result<StatusReport, AgentError> {
        let mut names: Vec<(String, bool, bool)> = config
            .rules
            .iter()
            .map(|r| (r.name.clone(), true, r.enabled))
            .collect();
        let Some(db) = db else {
            let rules = names
                .into_iter()
                .map(|(name, configured, enabled)| RuleStatus {
                    name,
                    configured,
                    enabled,
                    runs: vec![],
                    counts: vec![],
                    not_in_step: vec![],
                    state: RuleState::NeverRun,
                    blocked: None,
                })
                .collect();
            return Ok(StatusReport {
                version: STATUS_SCHEMA_VERSION,
                rules,
            });
        };
        let stored = db.call(|s| s.link_rules()).await?;
        for r in stored {
            if !names.iter().any(|(n, _, _)| *n == r) {
                names.push((r, false, false));
            }
        }
        let mut rules = Vec::new();
        for (name, configured, enabled) in names {
            let n = name.clone();
            let (runs, counts, not_in_step, blocked) = db
                .call(move |s| {
                    let runs = s.recent_runs(Some(&n), 5)?;
                    let counts = s
                        .status_counts(&n)?
                        .into_iter()
                        .map(|(k, st, c)| (k.as_str().to_owned(), st.as_str().to_owned(), c))
                        .collect();
                    let filter = StatusFilter {
                        rule: Some(n.clone()),
                        kind: None,
                        not_in_step: true,
                        limit: Some(MAX_LISTED),
                    };
                    let blocked = crate::cycle::state::blocked(s, &n)?;
                    Ok((runs, counts, s.statuses(&filter)?, blocked))
                })
                .await?;
            let state = RuleState::of(&runs, blocked.is_some(), &not_in_step);
            rules.push(RuleStatus {
                name,
                configured,
                enabled,
                runs,
                counts,
                not_in_step,
                state,
                blocked,
            });
        }
        Ok(StatusReport {
            version: STATUS_SCHEMA_VERSION,
            rules,
        })
    }

    /// The worst state of the enabled, configured rules (`InStep` when none).
    pub fn worst(&self) -> RuleState {
        self.rules
            .iter()
            .filter(|r| r.configured && r.enabled)
            .map(|r| r.state)
            .max()
            .unwrap_or(RuleState::InStep)
    }

    /// True when every enabled rule that has run could not run its last
    /// cycle; reads only each rule's last runs (cheap enough for `/readyz`).
    pub async fn every_rule_failing(config: &Config, db: &StateDb) -> Result<bool, AgentError> {
        let names: Vec<String> = config
            .rules
            .iter()
            .filter(|r| r.enabled)
            .map(|r| r.name.clone())
            .collect();
        let last = db
            .call(move |s| {
                names
                    .iter()
                    .map(|n| {
                        Ok(s.recent_runs(Some(n), 2)?
                            .into_iter()
                            .find_map(|r| r.outcome))
                    })
                    .collect::<state_store::Result<Vec<_>>>()
            })
            .await?;
        let ran: Vec<_> = last.into_iter().flatten().collect();
        Ok(!ran.is_empty() && ran.iter().all(|o| *o == state_store::RunOutcome::Failed))
    }

    /// Plain text for a terminal.
    pub fn render_text(&self) -> String {
        let mut s = String::new();
        for r in &self.rules {
            let state = match (r.configured, r.enabled) {
                (false, _) => " (not in the configuration)",
                (true, false) => " (disabled)",
                _ => "",
            };
            let _ = writeln!(s, "rule {}{state}: {}", r.name, r.state.describe());
            if let Some(b) = &r.blocked {
                for why in &b.reasons {
                    let _ = writeln!(s, "  blocked: {}", safe(why));
                }
                let _ = writeln!(
                    s,
                    "  {} destructive change(s) wait for approval: review with `p1duo plan --rule {1}`, then `p1duo approve --rule {1} {2}` (works while the agent runs)",
                    b.pending_destructive, r.name, b.plan_hash
                );
            }
            if r.runs.is_empty() {
                let _ = writeln!(s, "  no run yet");
            }
            for run in &r.runs {
                let [id, trigger, started, outcome, counts] = run_fields(run);
                let _ = writeln!(
                    s,
                    "  run {id} {trigger} started {started} {outcome}{counts}"
                );
            }
            let mut counts: Vec<String> = r
                .counts
                .iter()
                .map(|(k, st, c)| format!("{k} {st}: {c}"))
                .collect();
            counts.sort();
            if !counts.is_empty() {
                let _ = writeln!(s, "  objects: {}", counts.join(", "));
            }
            for o in &r.not_in_step {
                let err = o.last_error.as_ref().map_or(String::new(), |e| {
                    format!(
                        " — {}{}: {}",
                        e.code,
                        e.attribute
                            .as_ref()
                            .map_or(String::new(), |a| format!(" [{}]", safe(a))),
                        safe(&e.message)
                    )
                });
                let _ = writeln!(
                    s,
                    "  {} {} {}: {}{err}",
                    o.key.kind,
                    safe(&o.display_name),
                    safe(&o.key.source_id),
                    o.status
                );
            }
        }
        s
    }

    /// The `/status` page.
    pub fn render_html(&self) -> String {
        let mut s = String::from(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>p1duo status</title>\
             <style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:1em}\
             td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}.failed{color:#b00}</style></head><body>\
             <h1>p1duo status</h1>",
        );
        for r in &self.rules {
            let _ = write!(
                s,
                "<h2>rule {}: {}</h2>",
                esc(&r.name),
                esc(r.state.describe())
            );
            if let Some(b) = &r.blocked {
                for why in &b.reasons {
                    let _ = write!(s, "<p class=\"failed\">blocked: {}</p>", esc(why));
                }
                let _ = write!(
                    s,
                    "<p>{} destructive change(s) wait for approval (plan {}).</p>",
                    b.pending_destructive,
                    esc(&b.plan_hash)
                );
            }
            s.push_str("<table><tr><th>run</th><th>trigger</th><th>started</th><th>outcome</th><th>counts</th></tr>");
            for run in &r.runs {
                s.push_str("<tr>");
                for cell in run_fields(run) {
                    let _ = write!(s, "<td>{}</td>", esc(cell.trim()));
                }
                s.push_str("</tr>");
            }
            s.push_str("</table>");
            if r.not_in_step.is_empty() && r.state == RuleState::InStep {
                s.push_str("<p>Every object is in step.</p>");
            } else {
                s.push_str("<table><tr><th>kind</th><th>name</th><th>source id</th><th>status</th><th>last error</th><th>attempts</th></tr>");
                for o in &r.not_in_step {
                    let err = o
                        .last_error
                        .as_ref()
                        .map_or(String::new(), |e| format!("{}: {}", e.code, e.message));
                    let _ = write!(
                        s,
                        "<tr class=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                        o.status,
                        o.key.kind,
                        esc(&o.display_name),
                        esc(&o.key.source_id),
                        o.status,
                        esc(&err),
                        o.attempts
                    );
                }
                s.push_str("</table>");
            }
        }
        s.push_str("</body></html>");
        s
    }

    /// Objects per status over every rule (for the metrics).
    pub fn per_status(&self) -> Vec<(String, String, u64)> {
        let mut out = Vec::new();
        for r in &self.rules {
            for st in SyncStatus::ALL {
                let n: u64 = r
                    .counts
                    .iter()
                    .filter(|(_, s, _)| s == st.as_str())
                    .map(|(_, _, c)| c)
                    .sum();
                out.push((r.name.clone(), st.as_str().to_owned(), n));
            }
        }
        out
    }
}

fn fmt_counts(run: &Run) -> String {
    let mut parts: Vec<String> = run
        .counts
        .by_status
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    parts.extend(run.counts.by_op.iter().map(|(k, v)| format!("{k} {v}")));
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join(", "))
    }
}

/// Unix milliseconds as RFC 3339 (UTC).
pub fn fmt_time(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| ms.to_string())
}

/// Escape text for HTML.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A run as text fields: id, trigger, start, outcome, counts (", ..." or empty).
fn run_fields(run: &state_store::Run) -> [String; 5] {
    [
        run.id.to_string(),
        run.trigger.to_string(),
        fmt_time(run.started),
        run.outcome
            .map_or("running or interrupted", |o| o.as_str())
            .to_owned(),
        fmt_counts(run),
    ]
}
