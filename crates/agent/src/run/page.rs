//! The `/status` page: overall health at the top in the rules' one vocabulary,
//! then each rule (state, live progress of a running cycle, block reason with
//! the pending destructive changes and how to approve, last and next run,
//! durations, objects not in step page by page), then each service's
//! rate-limit headroom. One self-contained HTML document: no script, no
//! external asset; every text from the database or a service is escaped.

use super::page_fmt::{
    anchor, clock, duration, query, relative, sentence, shell_word, status_word, thousands,
    time_html,
};
use crate::config::{Config, Direction};
use crate::live::{LiveSnapshot, Phase, Running, ServiceLive};
use crate::status::{RuleState, RuleStatus, StatusReport, esc};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Objects not in step listed per rule and page.
pub const PAGE_ROWS: u32 = 50;

/// The client-side limits the page measures headroom against.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Limits {
    /// Duo writes, single reads and page reads per minute (`None`: not paced).
    pub duo: Option<[u32; 3]>,
    /// PingOne requests per second (`None`: not paced).
    pub pingone_per_second: Option<u32>,
}

/// Everything the page shows.
pub struct Page<'a> {
    pub report: &'a StatusReport,
    pub live: &'a LiveSnapshot,
    pub directions: BTreeMap<String, Direction>,
    pub limits: Limits,
    pub now_ms: i64,
    pub version: &'a str,
}

impl<'a> Page<'a> {
    /// The page of a running agent with this configuration.
    pub fn new(
        report: &'a StatusReport,
        live: &'a LiveSnapshot,
        config: &Config,
        now_ms: i64,
    ) -> Page<'a> {
        Page {
            report,
            live,
            directions: config
                .rules
                .iter()
                .map(|r| (r.name.clone(), r.direction()))
                .collect(),
            limits: Limits {
                duo: config
                    .duo
                    .rate_limit
                    .map(|l| [l.writes_per_minute, l.reads_per_minute, l.pages_per_minute]),
                pingone_per_second: config.pingone.requests_per_second.filter(|n| *n > 0),
            },
            now_ms,
            version: env!("CARGO_PKG_VERSION"),
        }
    }
}

/// Short words for a state, as `status --json` spells it (with spaces).
fn label(s: RuleState) -> &'static str {
    match s {
        RuleState::InStep => "in step",
        RuleState::SomeFailed => "some failed",
        RuleState::Blocked => "blocked",
        RuleState::NeverRun => "never run",
        RuleState::Failing => "failing",
    }
}

fn class(s: RuleState) -> &'static str {
    match s {
        RuleState::InStep => "ok",
        RuleState::SomeFailed => "warn",
        RuleState::Blocked => "block",
        RuleState::NeverRun => "idle",
        RuleState::Failing => "bad",
    }
}

fn headline(s: RuleState) -> &'static str {
    match s {
        RuleState::InStep => "Every rule is in step",
        RuleState::SomeFailed => "Some objects failed",
        RuleState::Blocked => "Blocked: a rule waits for approval",
        RuleState::NeverRun => "Waiting for the first cycle",
        RuleState::Failing => "Failing: a rule cannot run",
    }
}

/// The style sheet, inlined into the page (no external asset).
const STYLE: &str = include_str!("page.css");

impl Page<'_> {
    /// The whole document.
    pub fn render(&self) -> String {
        let now = self.now_ms;
        let shown: Vec<&RuleStatus> = self.report.rules.iter().collect();
        let worst = self.report.worst();
        let running = self.live.rules.values().any(|r| r.running.is_some());
        let mut s = String::new();
        // A running cycle refreshes often; otherwise twice a minute.
        let refresh = if running { 5 } else { 30 };
        let _ = writeln!(
            s,
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <meta http-equiv=\"refresh\" content=\"{refresh}\">\
             <title>{} · p1duo</title><style>{STYLE}</style></head>\n<body><main>",
            esc(headline(worst))
        );
        let mut tally: BTreeMap<RuleState, usize> = BTreeMap::new();
        for r in shown.iter().filter(|r| r.configured && r.enabled) {
            *tally.entry(r.state).or_default() += 1;
        }
        let enabled: usize = tally.values().sum();
        let tally: Vec<String> = tally
            .iter()
            .map(|(st, n)| format!("{n} {}", label(*st)))
            .collect();
        let tally = if enabled == 0 {
            Vec::new()
        } else {
            vec![format!(
                "{enabled} rule{}: {}",
                if enabled == 1 { "" } else { "s" },
                tally.join(" · ")
            )]
        };
        let runs_now: Vec<String> = self
            .live
            .rules
            .iter()
            .filter(|(_, r)| r.running.is_some())
            .map(|(n, _)| esc(n))
            .collect();
        let _ = writeln!(
            s,
            "<header class=\"health {}\" id=\"health\" data-state=\"{}\">\
             <div class=\"brand\">p1duo {} · PingOne ⇄ Duo</div>\
             <h1>{}</h1><p>{}{}</p><p class=\"brand\">as of {} · refreshes every {refresh} s</p></header>",
            class(worst),
            label(worst),
            esc(self.version),
            esc(headline(worst)),
            if tally.is_empty() {
                "no rule is enabled".to_owned()
            } else {
                esc(&tally.join(" · "))
            },
            if runs_now.is_empty() {
                String::new()
            } else {
                format!(" · running now: {}", runs_now.join(", "))
            },
            esc(&clock(now)),
        );
        s.push_str("<nav class=\"rules\" aria-label=\"rules\">");
        for r in &shown {
            let live = self.live.rules.get(&r.name);
            let extra = match live.and_then(|l| l.running.as_ref()) {
                Some(run) => format!("running: {}", progress_words(run)),
                None => match r.runs.first() {
                    Some(last) => format!("last run {}", relative(now, last.started)),
                    None => "no run yet".into(),
                },
            };
            let _ = write!(
                s,
                "<a class=\"{}\" href=\"#{}\"><b>{}</b><span class=\"badge\">{}</span> <span class=\"small\">{}</span></a>",
                class(r.state),
                anchor(&r.name),
                esc(&r.name),
                label(r.state),
                esc(&extra)
            );
        }
        s.push_str("</nav>\n");
        for r in &shown {
            self.rule(&mut s, r);
        }
        self.services(&mut s);
        s.push_str(
            "<footer>Machine-readable: <a href=\"/status.json\">/status.json</a> · \
             <a href=\"/metrics\">/metrics</a> · <a href=\"/readyz\">/readyz</a>. \
             On a terminal: <code>p1duo status</code>.</footer>\n</main></body></html>\n",
        );
        s
    }

    fn rule(&self, s: &mut String, r: &RuleStatus) {
        let now = self.now_ms;
        let live = self.live.rules.get(&r.name).cloned().unwrap_or_default();
        let direction = match self.directions.get(&r.name) {
            Some(Direction::Outbound) => "PingOne → Duo",
            Some(Direction::Inbound) => "Duo → PingOne",
            None => "removed from the configuration",
        };
        let note = match (r.configured, r.enabled) {
            (true, false) => " · disabled",
            _ => "",
        };
        let _ = writeln!(
            s,
            "<section class=\"rule {}\" id=\"{}\" data-state=\"{}\">\
             <h2>{} <span class=\"badge\">{}</span></h2><div class=\"small\">{direction}{note}</div>\
             <p>{}</p>",
            class(r.state),
            anchor(&r.name),
            label(r.state),
            esc(&r.name),
            label(r.state),
            esc(&sentence(r.state.describe())),
        );
        if let Some(run) = &live.running {
            running_box(s, run, now);
        }
        if let Some(b) = &r.blocked {
            let _ = write!(
                s,
                "<div class=\"box block approve\"><h3>Waiting for your approval</h3>\
                 <p>The last cycle ({}) changed nothing: its plan would make {} destructive change(s), beyond the safety limits:</p><ul>",
                time_html(now, b.at),
                thousands(b.pending_destructive)
            );
            for why in &b.reasons {
                let _ = write!(s, "<li>{}</li>", esc(why));
            }
            s.push_str("</ul>");
            if !b.examples.is_empty() {
                s.push_str("<p>Pending destructive changes:</p><ul>");
                for e in &b.examples {
                    let _ = write!(s, "<li><code>{}</code></li>", esc(e));
                }
                let more = b
                    .pending_destructive
                    .saturating_sub(b.examples.len() as u64);
                if more > 0 {
                    let _ = write!(s, "<li>and {} more</li>", thousands(more));
                }
                s.push_str("</ul>");
            }
            let _ = writeln!(
                s,
                "<p>Review the whole plan, then approve exactly it (the running agent carries it out at once; \
                 if anything changed since, it drops the approval and says so):</p>\
                 <pre><code>p1duo plan --rule {0}\np1duo approve --rule {0} {1}</code></pre></div>",
                esc(&shell_word(&r.name)),
                esc(&b.plan_hash)
            );
        }
        if r.state == RuleState::Failing {
            let retry = match live.next_run_ms {
                Some(at) if live.failures_in_a_row > 0 => format!(
                    "; {} failure(s) in a row, retrying {} (backing off)",
                    live.failures_in_a_row,
                    relative(now, at)
                ),
                _ => String::new(),
            };
            let _ = writeln!(
                s,
                "<div class=\"box bad\"><h3>The last cycle could not run</h3><p>A side could not be read or the credentials were refused{}. \
                 The agent's log says why; <code>p1duo check</code> tests both connections.</p></div>",
                esc(&retry)
            );
        }
        s.push_str("<dl class=\"facts\">");
        match r.runs.first() {
            Some(last) => {
                let outcome = last
                    .outcome
                    .map_or("running or interrupted", |o| o.as_str());
                let _ = write!(
                    s,
                    "<dt>Last run</dt><dd>{} ({}), {}</dd>",
                    time_html(now, last.started),
                    esc(last.trigger.as_str()),
                    esc(&outcome.replace('_', " "))
                );
            }
            None => s.push_str("<dt>Last run</dt><dd>none yet</dd>"),
        }
        match live.next_run_ms {
            _ if live.running.is_some() => {
                s.push_str("<dt>Next run</dt><dd>scheduled when this one ends</dd>");
            }
            Some(at) => {
                let _ = write!(s, "<dt>Next run</dt><dd>{}</dd>", time_html(now, at));
            }
            None if r.configured && r.enabled => {
                s.push_str("<dt>Next run</dt><dd>when the agent schedules it</dd>");
            }
            None => {}
        }
        let durations: Vec<String> = r
            .runs
            .iter()
            .filter_map(|run| run.ended.map(|e| duration(e - run.started)))
            .collect();
        if !durations.is_empty() {
            let _ = write!(
                s,
                "<dt>Durations</dt><dd>{} <span class=\"small\">(latest first)</span></dd>",
                esc(&durations.join(", "))
            );
        }
        s.push_str("</dl>");
        counts(s, r);
        self.objects(s, r);
        if !r.runs.is_empty() {
            s.push_str("<details><summary>Recent runs</summary><div class=\"scroll\"><table><tr><th>run</th><th>trigger</th><th>started</th><th>took</th><th>outcome</th><th>changes</th></tr>");
            for run in &r.runs {
                let mut changes: Vec<String> = run
                    .counts
                    .by_op
                    .iter()
                    .map(|(k, v)| format!("{k} {v}"))
                    .collect();
                changes.extend(
                    run.counts
                        .by_status
                        .iter()
                        .map(|(k, v)| format!("{} {v}", status_word(k.as_str()))),
                );
                let _ = write!(
                    s,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    run.id,
                    esc(run.trigger.as_str()),
                    time_html(now, run.started),
                    run.ended.map_or("—".into(), |e| duration(e - run.started)),
                    esc(&run
                        .outcome
                        .map_or("running or interrupted", |o| o.as_str())
                        .replace('_', " ")),
                    esc(&changes.join(", "))
                );
            }
            s.push_str("</table></div></details>");
        }
        s.push_str("</section>\n");
    }

    fn objects(&self, s: &mut String, r: &RuleStatus) {
        let total = r.not_in_step_total;
        if total == 0 && r.not_in_step.is_empty() {
            if r.state == RuleState::InStep {
                s.push_str("<p>Every object is in step.</p>");
            }
            return;
        }
        let from = u64::from(r.listed_from);
        let shown = r.not_in_step.len() as u64;
        let _ = write!(
            s,
            "<h3>Objects not in step <span class=\"small\">({})</span></h3>",
            thousands(total)
        );
        if shown > 0 {
            s.push_str("<div class=\"scroll\"><table><tr><th>kind</th><th>name</th><th>status</th><th>last error</th><th>attempts</th><th>last attempt</th></tr>");
            for o in &r.not_in_step {
                let err = o.last_error.as_ref().map_or(String::new(), |e| {
                    let attr = e
                        .attribute
                        .as_ref()
                        .map_or(String::new(), |a| format!(" [{a}]"));
                    format!("{}{attr}: {}", e.code, e.message)
                });
                let _ = write!(
                    s,
                    "<tr class=\"{}\"><td>{}</td><td title=\"source id {}\">{}</td><td>{}</td><td class=\"err\">{}</td><td>{}</td><td>{}</td></tr>",
                    esc(o.status.as_str()),
                    esc(o.key.kind.as_str()),
                    esc(&o.key.source_id),
                    esc(&o.display_name),
                    esc(&status_word(o.status.as_str())),
                    esc(&err),
                    o.attempts,
                    time_html(self.now_ms, o.last_attempt)
                );
            }
            s.push_str("</table></div>");
        }
        let rest = total.saturating_sub(from + shown);
        if from == 0 && rest == 0 {
            return;
        }
        s.push_str("<p class=\"more\">");
        if shown > 0 {
            let _ = write!(
                s,
                "Showing {}–{} of {} ",
                thousands(from + 1),
                thousands(from + shown),
                thousands(total)
            );
        }
        if from > 0 {
            let back = from.saturating_sub(u64::from(PAGE_ROWS));
            let _ = write!(
                s,
                "<a href=\"/status?rule={}&amp;from={back}#{}\">← previous {PAGE_ROWS}</a> ",
                query(&r.name),
                anchor(&r.name)
            );
        }
        if rest > 0 {
            let _ = write!(
                s,
                "… and {} more: <a href=\"/status?rule={}&amp;from={}#{}\">next {} →</a>",
                thousands(rest),
                query(&r.name),
                from + shown,
                anchor(&r.name),
                rest.min(u64::from(PAGE_ROWS))
            );
        }
        s.push_str("</p>");
    }

    fn services(&self, s: &mut String) {
        s.push_str("<section class=\"services\" id=\"rate-limits\"><h2>Rate limits</h2>");
        let find = |n: &str| self.live.services.iter().find(|x| x.name == n);
        let duo_limits: Option<Vec<(&str, u32)>> = self
            .limits
            .duo
            .map(|[w, r, p]| vec![("write", w), ("read", r), ("page", p)]);
        service(
            s,
            "Duo",
            find("duo"),
            duo_limits.as_deref(),
            "per minute",
            "Duo publishes 300 writes, 300 reads and 200 page reads a minute; set [duo.rate_limit] to pace below them",
        );
        let p1_limits = self
            .limits
            .pingone_per_second
            .map(|n| vec![("request", n.saturating_mul(60))]);
        service(
            s,
            "PingOne",
            find("pingone"),
            p1_limits.as_deref(),
            "per minute",
            "set pingone.requests_per_second to pace below PingOne's limits",
        );
        s.push_str("</section>\n");
    }
}

fn service(
    s: &mut String,
    name: &str,
    live: Option<&ServiceLive>,
    limits: Option<&[(&str, u32)]>,
    per: &str,
    unpaced: &str,
) {
    let empty = ServiceLive::default();
    let l = live.unwrap_or(&empty);
    let _ = write!(s, "<h3>{name}</h3><ul>");
    match limits {
        Some(limits) => {
            for (class, limit) in limits {
                let used = l.last_minute.get(*class).copied().unwrap_or(0);
                let left = u64::from(*limit).saturating_sub(used);
                let _ = write!(
                    s,
                    "<li>{class}s: {} in the last minute of {} {per} allowed: <b>{} left</b></li>",
                    thousands(used),
                    thousands(u64::from(*limit)),
                    thousands(left)
                );
            }
        }
        None => {
            let used: u64 = l.last_minute.values().sum();
            let _ = write!(
                s,
                "<li>{} request(s) in the last minute; no client-side pacing ({})</li>",
                thousands(used),
                esc(unpaced)
            );
        }
    }
    let _ = write!(
        s,
        "<li>answered 429 (rate limited): {} in the last minute, {} since start</li>\
         <li>paced by the agent: {} request(s), {:.1} s waited in all; {} request(s) since start</li></ul>",
        thousands(l.throttled_last_minute),
        thousands(l.throttled_total),
        thousands(l.paced_total),
        l.paced_seconds_total,
        thousands(l.requests_total)
    );
}

fn counts(s: &mut String, r: &RuleStatus) {
    let mut by_kind: BTreeMap<&str, Vec<(&str, u64)>> = BTreeMap::new();
    for (kind, status, n) in &r.counts {
        by_kind.entry(kind).or_default().push((status, *n));
    }
    if by_kind.is_empty() {
        return;
    }
    s.push_str("<div class=\"counts\">");
    for (kind, statuses) in by_kind {
        let words: Vec<String> = ["success", "partial", "unsynced", "failed"]
            .iter()
            .filter_map(|w| {
                statuses
                    .iter()
                    .find(|(st, _)| st == w)
                    .map(|(_, n)| format!("{} {}", thousands(*n), status_word(w)))
            })
            .collect();
        let _ = write!(
            s,
            "<span><b>{}s</b>: {}</span>",
            esc(kind),
            esc(&words.join(" · "))
        );
    }
    s.push_str("</div>");
}

fn progress_words(run: &Running) -> String {
    match run.phase {
        Phase::Reading => "reading both sides".into(),
        Phase::Writing => format!(
            "{} of {} writes",
            thousands(run.done),
            thousands(run.planned)
        ),
    }
}

fn running_box(s: &mut String, run: &Running, now: i64) {
    let _ = write!(
        s,
        "<div class=\"box idle running\"><h3>Running now ({})</h3><p>Started {}: {}",
        esc(&run.trigger),
        time_html(now, run.started_ms),
        esc(&progress_words(run))
    );
    if run.phase == Phase::Writing {
        let _ = write!(s, ", {} in flight, {} failed", run.in_flight, run.failed);
        if let Some(eta) = run.eta_ms(now) {
            let _ = write!(s, ", about {} left", duration(eta));
        }
        let _ = writeln!(
            s,
            ".</p><progress max=\"{}\" value=\"{}\"></progress></div>",
            run.planned.max(1),
            run.done
        );
    } else {
        s.push_str(".</p><progress></progress></div>\n");
    }
}

#[cfg(test)]
#[path = "page_tests.rs"]
mod tests;
