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

/// Which objects not in step a report lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    /// The rule `from` and `count` apply to (`None`: every rule).
    pub rule: Option<String>,
    /// Skip this many.
    pub from: u32,
    /// List at most this many.
    pub count: u32,
    /// At most this many for the other rules.
    pub others: u32,
}

impl Default for Listing {
    fn default() -> Self {
        Listing {
            rule: None,
            from: 0,
            count: MAX_LISTED,
            others: MAX_LISTED,
        }
    }
}

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
    fn of(runs: &[Run], blocked: bool, failing_objects: bool) -> RuleState {
        use state_store::RunOutcome as O;
        if blocked {
            return RuleState::Blocked;
        }
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
    /// Objects not in step in all; `not_in_step` may list only some of them.
    pub not_in_step_total: u64,
    /// The position of `not_in_step`'s first entry among them all.
    #[serde(skip)]
    pub listed_from: u32,
    pub state: RuleState,
    /// Why the last cycle was blocked, when it was.
    pub blocked: Option<crate::cycle::state::Blocked>,
}

impl StatusReport {
    /// Read the report from the state database (`None`: no database yet).
    pub async fn read(config: &Config, db: Option<&StateDb>) -> Result<StatusReport, AgentError> {
        Self::read_listing(config, db, &Listing::default()).await
    }

    /// [`StatusReport::read`], listing the objects not in step that `listing` asks for.
    pub async fn read_listing(
        config: &Config,
        db: Option<&StateDb>,
        listing: &Listing,
    ) -> Result<StatusReport, AgentError> {
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
                    not_in_step_total: 0,
                    listed_from: 0,
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
            let from = match &listing.rule {
                Some(r) if *r == name => listing.from,
                _ => 0,
            };
            let limit = if listing.rule.as_ref().is_some_and(|r| *r != name) {
                listing.others
            } else {
                listing.count
            };
            let (runs, counts, not_in_step, blocked) = db
                .call(move |s| {
                    let runs = s.recent_runs(Some(&n), 5)?;
                    let counts: Vec<(String, String, u64)> = s
                        .status_counts(&n)?
                        .into_iter()
                        .map(|(k, st, c)| (k.as_str().to_owned(), st.as_str().to_owned(), c))
                        .collect();
                    let filter = StatusFilter {
                        rule: Some(n.clone()),
                        kind: None,
                        not_in_step: true,
                        limit: Some(from.saturating_add(limit)),
                    };
                    let blocked = crate::cycle::state::blocked(s, &n)?;
                    Ok((runs, counts, s.statuses(&filter)?, blocked))
                })
                .await?;
            // From the counts: the listing may show only some objects.
            let failing = counts.iter().any(|(_, st, c)| {
                *c > 0 && (st == SyncStatus::Failed.as_str() || st == SyncStatus::Partial.as_str())
            }) || not_in_step
                .iter()
                .any(|o| matches!(o.status, SyncStatus::Failed | SyncStatus::Partial));
            let state = RuleState::of(&runs, blocked.is_some(), failing);
            let not_in_step_total = counts
                .iter()
                .filter(|(_, st, _)| st != SyncStatus::Success.as_str())
                .map(|(_, _, c)| c)
                .sum::<u64>()
                .max(not_in_step.len() as u64);
            let not_in_step: Vec<ObjectStatus> =
                not_in_step.into_iter().skip(from as usize).collect();
            rules.push(RuleStatus {
                name,
                configured,
                enabled,
                runs,
                counts,
                not_in_step,
                not_in_step_total,
                listed_from: from,
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
            let more = r
                .not_in_step_total
                .saturating_sub(u64::from(r.listed_from) + r.not_in_step.len() as u64);
            if more > 0 {
                let _ = writeln!(
                    s,
                    "  … and {more} more (`status --json` or the status page)"
                );
            }
        }
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
