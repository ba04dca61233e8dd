//! The `/status` page: overall health at the top in the rules' one vocabulary,
//! then each rule (state, live progress of a running cycle, block reason with
//! the pending destructive changes and how to approve, last and next run,
//! durations, objects not in step page by page), then each service's
//! rate-limit headroom. One self-contained HTML document: no script, no
//! external asset; every text from the database or a service is escaped.

use crate::config::{Config, Direction};
use crate::live::{LiveSnapshot, Phase, Running, ServiceLive};
use crate::status::{RuleState, RuleStatus, StatusReport, esc, fmt_time};
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
                duo: config.duo.rate_limit.map(|l| {
                    [
                        l.writes_per_minute,
                        l.reads_per_minute,
                        l.pages_per_minute,
                    ]
                }),
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

const STYLE: &str = r#"
:root{--ok:#1a7f37;--warn:#9a6700;--block:#bc4c00;--bad:#cf222e;--idle:#57606a;--line:#d0d7de;--soft:#f6f8fa;--ink:#1f2328;--mute:#57606a}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink);background:#fff}
main{max-width:72rem;margin:0 auto;padding:0 1rem 2rem}
header.health{color:#fff;padding:1rem;border-radius:0 0 .6rem .6rem;margin-bottom:1rem}
header.health h1{margin:0;font-size:1.6rem;line-height:1.2}
header.health p{margin:.3rem 0 0;opacity:.95}
.ok{--c:var(--ok)}.warn{--c:var(--warn)}.block{--c:var(--block)}.bad{--c:var(--bad)}.idle{--c:var(--idle)}
header.health{background:var(--c)}
.brand{font-size:.85rem;opacity:.9;letter-spacing:.02em}
nav.rules{display:grid;grid-template-columns:repeat(auto-fill,minmax(15rem,1fr));gap:.6rem;margin-bottom:1rem}
nav.rules a{display:block;border:1px solid var(--line);border-left:.4rem solid var(--c);border-radius:.4rem;padding:.5rem .7rem;color:inherit;text-decoration:none}
nav.rules a:hover{background:var(--soft)}
nav.rules b{display:block;overflow-wrap:anywhere}
.badge{display:inline-block;background:var(--c);color:#fff;border-radius:1rem;padding:0 .55rem;font-size:.8rem;font-weight:600;white-space:nowrap;vertical-align:middle}
.small{font-size:.85rem;color:var(--mute)}
section.rule{border:1px solid var(--line);border-top:.35rem solid var(--c);border-radius:.5rem;padding:.2rem 1rem 1rem;margin:0 0 1.2rem}
section.rule h2{font-size:1.25rem;margin:.7rem 0 .2rem;overflow-wrap:anywhere}
.box{border-radius:.4rem;padding:.6rem .8rem;margin:.7rem 0;border:1px solid var(--c);background:color-mix(in srgb,var(--c) 7%,#fff)}
.box h3{margin:0 0 .3rem;font-size:1rem;color:var(--c)}
.box ul{margin:.2rem 0 .4rem;padding-left:1.2rem}
code{font:13px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:var(--soft);border:1px solid var(--line);border-radius:.3rem;padding:.05rem .3rem;overflow-wrap:anywhere}
pre{margin:.3rem 0;white-space:pre-wrap;overflow-wrap:anywhere;background:#1f2328;color:#f6f8fa;padding:.6rem .8rem;border-radius:.4rem}
pre code{background:none;border:0;padding:0;color:inherit}
progress{width:100%;height:.9rem;accent-color:var(--c)}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;margin:.7rem 0}
dl.facts dt{color:var(--mute)}dl.facts dd{margin:0}
.counts span{display:inline-block;margin:0 .8rem .2rem 0}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid var(--line);vertical-align:top}
th{background:var(--soft);font-weight:600;white-space:nowrap}
td.err{overflow-wrap:anywhere;min-width:12rem}
tr.failed td:nth-child(3){color:var(--bad);font-weight:600}
tr.partial td:nth-child(3){color:var(--warn);font-weight:600}
.more{margin:.5rem 0}
.more a{font-weight:600}
section.services{border:1px solid var(--line);border-radius:.5rem;padding:.2rem 1rem 1rem}
footer{margin-top:1.5rem;color:var(--mute);font-size:.85rem}
footer a{color:inherit}
@media (max-width:40rem){main{padding:0 .5rem 1.5rem}header.health h1{font-size:1.3rem}section.rule{padding:.1rem .6rem .7rem}dl.facts{grid-template-columns:1fr}dl.facts dd{margin-bottom:.3rem}}
"#;

/// "3 min ago", "in 12 s": a duration relative to now.
fn relative(now: i64, at: i64) -> String {
    let d = (at - now).abs();
    if d < 1_500 {
        return "now".into();
    }
    // Minutes are precise enough once past the first.
    let amount = if d < 60_000 {
        duration(d)
    } else if d < 3_600_000 {
        format!("{} min", (d + 30_000) / 60_000)
    } else {
        duration(d)
    };
    if at > now {
        format!("in {amount}")
    } else {
        format!("{amount} ago")
    }
}

/// "1 h 4 min", "3 min 12 s", "850 ms".
fn duration(ms: i64) -> String {
    let s = ms / 1000;
    match s {
        _ if ms < 1_000 => format!("{ms} ms"),
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min {} s", s / 60, s % 60),
        3600..86_400 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        _ => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
    }
}

/// A clock time for people: `2026-12-03 15:04:05 UTC`.
fn clock(ms: i64) -> String {
    fmt_time(ms - ms.rem_euclid(1000))
        .replace('T', " ")
        .replace('Z', " UTC")
}

fn time_html(now: i64, at: i64) -> String {
    format!(
        "<time datetime=\"{}\" title=\"{}\">{}</time>",
        esc(&fmt_time(at)),
        esc(&clock(at)),
        esc(&relative(now, at))
    )
}

/// Percent-encodes a query value.
fn query(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// An HTML id for a rule's section (rule names may hold anything).
fn anchor(rule: &str) -> String {
    format!("rule-{}", query(rule).replace('%', "_"))
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn status_word(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

impl Page<'_> {
    /// The whole document.
    pub fn render(&self) -> String {
        let now = self.now_ms;
        let shown: Vec<&RuleStatus> = self.report.rules.iter().collect();
        let worst = self.report.worst();
        let running = self
            .live
            .rules
            .values()
            .any(|r| r.running.is_some());
        let mut s = String::new();
        // A running cycle refreshes often; otherwise twice a minute.
        let refresh = if running { 5 } else { 30 };
        let _ = write!(
            s,
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <meta http-equiv=\"refresh\" content=\"{refresh}\">\
             <title>{} · p1duo</title><style>{STYLE}</style></head>\n<body><main>\n",
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
        let _ = write!(
            s,
            "<header class=\"health {}\" id=\"health\" data-state=\"{}\">\
             <div class=\"brand\">p1duo {} · PingOne ⇄ Duo</div>\
             <h1>{}</h1><p>{}{}</p><p class=\"brand\">as of {} · refreshes every {refresh} s</p></header>\n",
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
        let _ = write!(
            s,
            "<section class=\"rule {}\" id=\"{}\" data-state=\"{}\">\
             <h2>{} <span class=\"badge\">{}</span></h2><div class=\"small\">{direction}{note}</div>\
             <p>{}</p>\n",
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
                let more = b.pending_destructive.saturating_sub(b.examples.len() as u64);
                if more > 0 {
                    let _ = write!(s, "<li>and {} more</li>", thousands(more));
                }
                s.push_str("</ul>");
            }
            let _ = write!(
                s,
                "<p>Review the whole plan, then approve exactly it (the running agent carries it out at once; \
                 if anything changed since, it drops the approval and says so):</p>\
                 <pre><code>p1duo plan --rule {0}\np1duo approve --rule {0} {1}</code></pre></div>\n",
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
            let _ = write!(
                s,
                "<div class=\"box bad\"><h3>The last cycle could not run</h3><p>A side could not be read or the credentials were refused{}. \
                 The agent's log says why; <code>p1duo check</code> tests both connections.</p></div>\n",
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
        let _ = write!(s, "<span><b>{}s</b>: {}</span>", esc(kind), esc(&words.join(" · ")));
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
        let _ = write!(
            s,
            ", {} in flight, {} failed",
            run.in_flight, run.failed
        );
        if let Some(eta) = run.eta_ms(now) {
            let _ = write!(s, ", about {} left", duration(eta));
        }
        let _ = write!(
            s,
            ".</p><progress max=\"{}\" value=\"{}\"></progress></div>\n",
            run.planned.max(1),
            run.done
        );
    } else {
        s.push_str(".</p><progress></progress></div>\n");
    }
}

/// The rule's state description as a sentence.
fn sentence(d: &str) -> String {
    let mut out = status_word(&d.to_lowercase());
    out.push('.');
    out
}

/// A rule name as one shell word (quoted when it needs to be).
fn shell_word(s: &str) -> String {
    if !s.is_empty()
        && s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:/@".contains(&b))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cycle::state::Blocked;
    use crate::live::RuleLive;
    use state_store::{
        ErrorInfo, ObjectKey, ObjectKind, ObjectStatus, Op, Run, RunCounts, RunId, RunOutcome,
        SyncStatus, Trigger,
    };

    /// 2026-12-03 12:00:00 UTC.
    const NOW: i64 = 1_796_299_200_000;
    const MIN: i64 = 60_000;

    fn run(id: i64, ago_min: i64, took_s: i64, outcome: RunOutcome) -> Run {
        let started = NOW - ago_min * MIN;
        let mut counts = RunCounts::default();
        counts.by_op.insert(Op::Create, 3);
        counts.by_status.insert(SyncStatus::Success, 40);
        Run {
            id: RunId(id),
            rule: "r".into(),
            trigger: Trigger::Schedule,
            started,
            ended: Some(started + took_s * 1000),
            outcome: Some(outcome),
            counts,
            plan_hash: None,
        }
    }

    fn rule(name: &str, state: RuleState, runs: Vec<Run>) -> RuleStatus {
        RuleStatus {
            name: name.into(),
            configured: true,
            enabled: true,
            runs,
            counts: vec![("user".into(), "success".into(), 40)],
            not_in_step: vec![],
            not_in_step_total: 0,
            listed_from: 0,
            state,
            blocked: None,
        }
    }

    fn failed(i: usize, name: &str, message: &str) -> ObjectStatus {
        ObjectStatus {
            key: ObjectKey::new("r", ObjectKind::User, format!("p1-{i}")),
            display_name: name.into(),
            status: SyncStatus::Failed,
            last_error: Some(ErrorInfo {
                code: "40002".into(),
                message: message.into(),
                attribute: Some("primaryPhone".into()),
            }),
            attempts: 3,
            last_attempt: NOW - 5 * MIN,
            last_success: None,
            run_id: Some(RunId(7)),
        }
    }

    /// The page without its style sheet, one element group a line.
    fn check(rules: Vec<RuleStatus>, live: LiveSnapshot, want: expect_test::Expect) {
        let report = StatusReport {
            version: crate::status::STATUS_SCHEMA_VERSION,
            rules,
        };
        let directions = report
            .rules
            .iter()
            .map(|r| (r.name.clone(), Direction::Outbound))
            .collect();
        let page = Page {
            report: &report,
            live: &live,
            directions,
            limits: Limits {
                duo: Some([300, 300, 200]),
                pingone_per_second: None,
            },
            now_ms: NOW,
            version: "0.1.0",
        };
        let html = page.render();
        let (head, rest) = html.split_once("<style>").unwrap();
        let (_, body) = rest.split_once("</style>").unwrap();
        let text = format!("{head}<style>…</style>{body}")
            .replace("><", ">\n<")
            .replace("<br>", "<br>\n");
        want.assert_eq(&text);
    }

    fn services() -> Vec<ServiceLive> {
        vec![
            ServiceLive {
                name: "duo".into(),
                last_minute: [("page".to_owned(), 4), ("write".to_owned(), 120)].into(),
                throttled_last_minute: 1,
                requests_total: 900,
                throttled_total: 2,
                paced_total: 30,
                paced_seconds_total: 12.25,
            },
            ServiceLive {
                name: "pingone".into(),
                last_minute: [("request".to_owned(), 9)].into(),
                ..ServiceLive::default()
            },
        ]
    }

    fn next(rule: &str, in_min: i64) -> (String, RuleLive) {
        (
            rule.to_owned(),
            RuleLive {
                running: None,
                next_run_ms: Some(NOW + in_min * MIN),
                failures_in_a_row: 0,
            },
        )
    }

    #[test]
    fn in_step() {
        let live = LiveSnapshot {
            rules: [next("workforce", 14)].into(),
            services: services(),
        };
        check(
            vec![rule(
                "workforce",
                RuleState::InStep,
                vec![run(2, 1, 12, RunOutcome::Succeeded), run(1, 16, 75, RunOutcome::Succeeded)],
            )],
            live,
            expect_test::expect![[r##"
                <!doctype html>
                <html lang="en">
                <head>
                <meta charset="utf-8">
                <meta name="viewport" content="width=device-width, initial-scale=1">
                <meta http-equiv="refresh" content="30">
                <title>Every rule is in step · p1duo</title>
                <style>…</style>
                </head>
                <body>
                <main>
                <header class="health ok" id="health" data-state="in step">
                <div class="brand">p1duo 0.1.0 · PingOne ⇄ Duo</div>
                <h1>Every rule is in step</h1>
                <p>1 rule: 1 in step</p>
                <p class="brand">as of 2026-12-03 12:00:00 UTC · refreshes every 30 s</p>
                </header>
                <nav class="rules" aria-label="rules">
                <a class="ok" href="#rule-workforce">
                <b>workforce</b>
                <span class="badge">in step</span> <span class="small">last run 1 min ago</span>
                </a>
                </nav>
                <section class="rule ok" id="rule-workforce" data-state="in step">
                <h2>workforce <span class="badge">in step</span>
                </h2>
                <div class="small">PingOne → Duo</div>
                <p>In step.</p>
                <dl class="facts">
                <dt>Last run</dt>
                <dd>
                <time datetime="2026-12-03T11:59:00Z" title="2026-12-03 11:59:00 UTC">1 min ago</time> (schedule), succeeded</dd>
                <dt>Next run</dt>
                <dd>
                <time datetime="2026-12-03T12:14:00Z" title="2026-12-03 12:14:00 UTC">in 14 min</time>
                </dd>
                <dt>Durations</dt>
                <dd>12 s, 1 min 15 s <span class="small">(latest first)</span>
                </dd>
                </dl>
                <div class="counts">
                <span>
                <b>users</b>: 40 Success</span>
                </div>
                <p>Every object is in step.</p>
                <details>
                <summary>Recent runs</summary>
                <div class="scroll">
                <table>
                <tr>
                <th>run</th>
                <th>trigger</th>
                <th>started</th>
                <th>took</th>
                <th>outcome</th>
                <th>changes</th>
                </tr>
                <tr>
                <td>2</td>
                <td>schedule</td>
                <td>
                <time datetime="2026-12-03T11:59:00Z" title="2026-12-03 11:59:00 UTC">1 min ago</time>
                </td>
                <td>12 s</td>
                <td>succeeded</td>
                <td>create 3, Success 40</td>
                </tr>
                <tr>
                <td>1</td>
                <td>schedule</td>
                <td>
                <time datetime="2026-12-03T11:44:00Z" title="2026-12-03 11:44:00 UTC">16 min ago</time>
                </td>
                <td>1 min 15 s</td>
                <td>succeeded</td>
                <td>create 3, Success 40</td>
                </tr>
                </table>
                </div>
                </details>
                </section>
                <section class="services" id="rate-limits">
                <h2>Rate limits</h2>
                <h3>Duo</h3>
                <ul>
                <li>writes: 120 in the last minute of 300 per minute allowed: <b>180 left</b>
                </li>
                <li>reads: 0 in the last minute of 300 per minute allowed: <b>300 left</b>
                </li>
                <li>pages: 4 in the last minute of 200 per minute allowed: <b>196 left</b>
                </li>
                <li>answered 429 (rate limited): 1 in the last minute, 2 since start</li>
                <li>paced by the agent: 30 request(s), 12.2 s waited in all; 900 request(s) since start</li>
                </ul>
                <h3>PingOne</h3>
                <ul>
                <li>9 request(s) in the last minute; no client-side pacing (set pingone.requests_per_second to pace below PingOne's limits)</li>
                <li>answered 429 (rate limited): 0 in the last minute, 0 since start</li>
                <li>paced by the agent: 0 request(s), 0.0 s waited in all; 0 request(s) since start</li>
                </ul>
                </section>
                <footer>Machine-readable: <a href="/status.json">/status.json</a> · <a href="/metrics">/metrics</a> · <a href="/readyz">/readyz</a>. On a terminal: <code>p1duo status</code>.</footer>
                </main>
                </body>
                </html>
            "##]],
        );
    }

    #[test]
    fn some_failed_with_more_objects_than_a_page() {
        let mut r = rule(
            "workforce <&> \"x\"",
            RuleState::SomeFailed,
            vec![run(7, 3, 20, RunOutcome::PartiallyFailed)],
        );
        r.not_in_step = vec![
            failed(1, "alice", "Invalid phone number: call 12"),
            failed(2, "<script>alert(1)</script>", "bad & worse"),
        ];
        r.not_in_step_total = 1_203;
        r.counts.push(("user".into(), "failed".into(), 1_203));
        check(
            vec![r],
            LiveSnapshot {
                rules: [next("workforce <&> \"x\"", 57)].into(),
                services: services(),
            },
            expect_test::expect![[r##"
                <!doctype html>
                <html lang="en">
                <head>
                <meta charset="utf-8">
                <meta name="viewport" content="width=device-width, initial-scale=1">
                <meta http-equiv="refresh" content="30">
                <title>Some objects failed · p1duo</title>
                <style>…</style>
                </head>
                <body>
                <main>
                <header class="health warn" id="health" data-state="some failed">
                <div class="brand">p1duo 0.1.0 · PingOne ⇄ Duo</div>
                <h1>Some objects failed</h1>
                <p>1 rule: 1 some failed</p>
                <p class="brand">as of 2026-12-03 12:00:00 UTC · refreshes every 30 s</p>
                </header>
                <nav class="rules" aria-label="rules">
                <a class="warn" href="#rule-workforce_20_3C_26_3E_20_22x_22">
                <b>workforce &lt;&amp;&gt; &quot;x&quot;</b>
                <span class="badge">some failed</span> <span class="small">last run 3 min ago</span>
                </a>
                </nav>
                <section class="rule warn" id="rule-workforce_20_3C_26_3E_20_22x_22" data-state="some failed">
                <h2>workforce &lt;&amp;&gt; &quot;x&quot; <span class="badge">some failed</span>
                </h2>
                <div class="small">PingOne → Duo</div>
                <p>Some objects failed.</p>
                <dl class="facts">
                <dt>Last run</dt>
                <dd>
                <time datetime="2026-12-03T11:57:00Z" title="2026-12-03 11:57:00 UTC">3 min ago</time> (schedule), partially failed</dd>
                <dt>Next run</dt>
                <dd>
                <time datetime="2026-12-03T12:57:00Z" title="2026-12-03 12:57:00 UTC">in 57 min</time>
                </dd>
                <dt>Durations</dt>
                <dd>20 s <span class="small">(latest first)</span>
                </dd>
                </dl>
                <div class="counts">
                <span>
                <b>users</b>: 40 Success · 1,203 Failed</span>
                </div>
                <h3>Objects not in step <span class="small">(1,203)</span>
                </h3>
                <div class="scroll">
                <table>
                <tr>
                <th>kind</th>
                <th>name</th>
                <th>status</th>
                <th>last error</th>
                <th>attempts</th>
                <th>last attempt</th>
                </tr>
                <tr class="failed">
                <td>user</td>
                <td title="source id p1-1">alice</td>
                <td>Failed</td>
                <td class="err">40002 [primaryPhone]: Invalid phone number: call 12</td>
                <td>3</td>
                <td>
                <time datetime="2026-12-03T11:55:00Z" title="2026-12-03 11:55:00 UTC">5 min ago</time>
                </td>
                </tr>
                <tr class="failed">
                <td>user</td>
                <td title="source id p1-2">&lt;script&gt;alert(1)&lt;/script&gt;</td>
                <td>Failed</td>
                <td class="err">40002 [primaryPhone]: bad &amp; worse</td>
                <td>3</td>
                <td>
                <time datetime="2026-12-03T11:55:00Z" title="2026-12-03 11:55:00 UTC">5 min ago</time>
                </td>
                </tr>
                </table>
                </div>
                <p class="more">Showing 1–2 of 1,203 … and 1,201 more: <a href="/status?rule=workforce%20%3C%26%3E%20%22x%22&amp;from=2#rule-workforce_20_3C_26_3E_20_22x_22">next 50 →</a>
                </p>
                <details>
                <summary>Recent runs</summary>
                <div class="scroll">
                <table>
                <tr>
                <th>run</th>
                <th>trigger</th>
                <th>started</th>
                <th>took</th>
                <th>outcome</th>
                <th>changes</th>
                </tr>
                <tr>
                <td>7</td>
                <td>schedule</td>
                <td>
                <time datetime="2026-12-03T11:57:00Z" title="2026-12-03 11:57:00 UTC">3 min ago</time>
                </td>
                <td>20 s</td>
                <td>partially failed</td>
                <td>create 3, Success 40</td>
                </tr>
                </table>
                </div>
                </details>
                </section>
                <section class="services" id="rate-limits">
                <h2>Rate limits</h2>
                <h3>Duo</h3>
                <ul>
                <li>writes: 120 in the last minute of 300 per minute allowed: <b>180 left</b>
                </li>
                <li>reads: 0 in the last minute of 300 per minute allowed: <b>300 left</b>
                </li>
                <li>pages: 4 in the last minute of 200 per minute allowed: <b>196 left</b>
                </li>
                <li>answered 429 (rate limited): 1 in the last minute, 2 since start</li>
                <li>paced by the agent: 30 request(s), 12.2 s waited in all; 900 request(s) since start</li>
                </ul>
                <h3>PingOne</h3>
                <ul>
                <li>9 request(s) in the last minute; no client-side pacing (set pingone.requests_per_second to pace below PingOne's limits)</li>
                <li>answered 429 (rate limited): 0 in the last minute, 0 since start</li>
                <li>paced by the agent: 0 request(s), 0.0 s waited in all; 0 request(s) since start</li>
                </ul>
                </section>
                <footer>Machine-readable: <a href="/status.json">/status.json</a> · <a href="/metrics">/metrics</a> · <a href="/readyz">/readyz</a>. On a terminal: <code>p1duo status</code>.</footer>
                </main>
                </body>
                </html>
            "##]],
        );
    }

    #[test]
    fn blocked_with_the_changes_and_how_to_approve() {
        let mut r = rule(
            "contractors",
            RuleState::Blocked,
            vec![run(9, 2, 4, RunOutcome::Aborted)],
        );
        r.blocked = Some(Blocked {
            plan_hash: "9f2c1a".into(),
            reasons: vec!["15 of 20 users (75%) would be disabled; the limit is 10%".into()],
            pending_destructive: 15,
            examples: vec!["disable user u00".into(), "disable user u01".into()],
            at: NOW - 2 * MIN,
        });
        let ok = rule("workforce", RuleState::InStep, vec![run(8, 3, 12, RunOutcome::Succeeded)]);
        check(
            vec![ok, r],
            LiveSnapshot {
                rules: [next("contractors", 58), next("workforce", 57)].into(),
                services: vec![],
            },
            expect_test::expect![[r##"
                <!doctype html>
                <html lang="en">
                <head>
                <meta charset="utf-8">
                <meta name="viewport" content="width=device-width, initial-scale=1">
                <meta http-equiv="refresh" content="30">
                <title>Blocked: a rule waits for approval · p1duo</title>
                <style>…</style>
                </head>
                <body>
                <main>
                <header class="health block" id="health" data-state="blocked">
                <div class="brand">p1duo 0.1.0 · PingOne ⇄ Duo</div>
                <h1>Blocked: a rule waits for approval</h1>
                <p>2 rules: 1 in step · 1 blocked</p>
                <p class="brand">as of 2026-12-03 12:00:00 UTC · refreshes every 30 s</p>
                </header>
                <nav class="rules" aria-label="rules">
                <a class="ok" href="#rule-workforce">
                <b>workforce</b>
                <span class="badge">in step</span> <span class="small">last run 3 min ago</span>
                </a>
                <a class="block" href="#rule-contractors">
                <b>contractors</b>
                <span class="badge">blocked</span> <span class="small">last run 2 min ago</span>
                </a>
                </nav>
                <section class="rule ok" id="rule-workforce" data-state="in step">
                <h2>workforce <span class="badge">in step</span>
                </h2>
                <div class="small">PingOne → Duo</div>
                <p>In step.</p>
                <dl class="facts">
                <dt>Last run</dt>
                <dd>
                <time datetime="2026-12-03T11:57:00Z" title="2026-12-03 11:57:00 UTC">3 min ago</time> (schedule), succeeded</dd>
                <dt>Next run</dt>
                <dd>
                <time datetime="2026-12-03T12:57:00Z" title="2026-12-03 12:57:00 UTC">in 57 min</time>
                </dd>
                <dt>Durations</dt>
                <dd>12 s <span class="small">(latest first)</span>
                </dd>
                </dl>
                <div class="counts">
                <span>
                <b>users</b>: 40 Success</span>
                </div>
                <p>Every object is in step.</p>
                <details>
                <summary>Recent runs</summary>
                <div class="scroll">
                <table>
                <tr>
                <th>run</th>
                <th>trigger</th>
                <th>started</th>
                <th>took</th>
                <th>outcome</th>
                <th>changes</th>
                </tr>
                <tr>
                <td>8</td>
                <td>schedule</td>
                <td>
                <time datetime="2026-12-03T11:57:00Z" title="2026-12-03 11:57:00 UTC">3 min ago</time>
                </td>
                <td>12 s</td>
                <td>succeeded</td>
                <td>create 3, Success 40</td>
                </tr>
                </table>
                </div>
                </details>
                </section>
                <section class="rule block" id="rule-contractors" data-state="blocked">
                <h2>contractors <span class="badge">blocked</span>
                </h2>
                <div class="small">PingOne → Duo</div>
                <p>Blocked by a safety limit: nothing was changed.</p>
                <div class="box block approve">
                <h3>Waiting for your approval</h3>
                <p>The last cycle (<time datetime="2026-12-03T11:58:00Z" title="2026-12-03 11:58:00 UTC">2 min ago</time>) changed nothing: its plan would make 15 destructive change(s), beyond the safety limits:</p>
                <ul>
                <li>15 of 20 users (75%) would be disabled; the limit is 10%</li>
                </ul>
                <p>Pending destructive changes:</p>
                <ul>
                <li>
                <code>disable user u00</code>
                </li>
                <li>
                <code>disable user u01</code>
                </li>
                <li>and 13 more</li>
                </ul>
                <p>Review the whole plan, then approve exactly it (the running agent carries it out at once; if anything changed since, it drops the approval and says so):</p>
                <pre>
                <code>p1duo plan --rule contractors
                p1duo approve --rule contractors 9f2c1a</code>
                </pre>
                </div>
                <dl class="facts">
                <dt>Last run</dt>
                <dd>
                <time datetime="2026-12-03T11:58:00Z" title="2026-12-03 11:58:00 UTC">2 min ago</time> (schedule), aborted</dd>
                <dt>Next run</dt>
                <dd>
                <time datetime="2026-12-03T12:58:00Z" title="2026-12-03 12:58:00 UTC">in 58 min</time>
                </dd>
                <dt>Durations</dt>
                <dd>4 s <span class="small">(latest first)</span>
                </dd>
                </dl>
                <div class="counts">
                <span>
                <b>users</b>: 40 Success</span>
                </div>
                <details>
                <summary>Recent runs</summary>
                <div class="scroll">
                <table>
                <tr>
                <th>run</th>
                <th>trigger</th>
                <th>started</th>
                <th>took</th>
                <th>outcome</th>
                <th>changes</th>
                </tr>
                <tr>
                <td>9</td>
                <td>schedule</td>
                <td>
                <time datetime="2026-12-03T11:58:00Z" title="2026-12-03 11:58:00 UTC">2 min ago</time>
                </td>
                <td>4 s</td>
                <td>aborted</td>
                <td>create 3, Success 40</td>
                </tr>
                </table>
                </div>
                </details>
                </section>
                <section class="services" id="rate-limits">
                <h2>Rate limits</h2>
                <h3>Duo</h3>
                <ul>
                <li>writes: 0 in the last minute of 300 per minute allowed: <b>300 left</b>
                </li>
                <li>reads: 0 in the last minute of 300 per minute allowed: <b>300 left</b>
                </li>
                <li>pages: 0 in the last minute of 200 per minute allowed: <b>200 left</b>
                </li>
                <li>answered 429 (rate limited): 0 in the last minute, 0 since start</li>
                <li>paced by the agent: 0 request(s), 0.0 s waited in all; 0 request(s) since start</li>
                </ul>
                <h3>PingOne</h3>
                <ul>
                <li>0 request(s) in the last minute; no client-side pacing (set pingone.requests_per_second to pace below PingOne's limits)</li>
                <li>answered 429 (rate limited): 0 in the last minute, 0 since start</li>
                <li>paced by the agent: 0 request(s), 0.0 s waited in all; 0 request(s) since start</li>
                </ul>
                </section>
                <footer>Machine-readable: <a href="/status.json">/status.json</a> · <a href="/metrics">/metrics</a> · <a href="/readyz">/readyz</a>. On a terminal: <code>p1duo status</code>.</footer>
                </main>
                </body>
                </html>
            "##]],
        );
    }

    #[test]
    fn running_and_failing() {
        let running = RuleLive {
            running: Some(Running {
                trigger: "schedule".into(),
                started_ms: NOW - 2 * MIN,
                phase: Phase::Writing,
                planned: 3_000,
                done: 1_000,
                failed: 2,
                in_flight: 8,
                writing_since_ms: Some(NOW - MIN),
            }),
            next_run_ms: None,
            failures_in_a_row: 0,
        };
        let failing = RuleLive {
            running: None,
            next_run_ms: Some(NOW + 2 * MIN),
            failures_in_a_row: 3,
        };
        check(
            vec![
                rule("workforce", RuleState::InStep, vec![run(5, 62, 90, RunOutcome::Succeeded)]),
                rule("inbound", RuleState::Failing, vec![run(6, 1, 1, RunOutcome::Failed)]),
            ],
            LiveSnapshot {
                rules: [
                    ("workforce".to_owned(), running),
                    ("inbound".to_owned(), failing),
                ]
                .into(),
                services: services(),
            },
            expect_test::expect![[r##"
                <!doctype html>
                <html lang="en">
                <head>
                <meta charset="utf-8">
                <meta name="viewport" content="width=device-width, initial-scale=1">
                <meta http-equiv="refresh" content="5">
                <title>Failing: a rule cannot run · p1duo</title>
                <style>…</style>
                </head>
                <body>
                <main>
                <header class="health bad" id="health" data-state="failing">
                <div class="brand">p1duo 0.1.0 · PingOne ⇄ Duo</div>
                <h1>Failing: a rule cannot run</h1>
                <p>2 rules: 1 in step · 1 failing · running now: workforce</p>
                <p class="brand">as of 2026-12-03 12:00:00 UTC · refreshes every 5 s</p>
                </header>
                <nav class="rules" aria-label="rules">
                <a class="ok" href="#rule-workforce">
                <b>workforce</b>
                <span class="badge">in step</span> <span class="small">running: 1,000 of 3,000 writes</span>
                </a>
                <a class="bad" href="#rule-inbound">
                <b>inbound</b>
                <span class="badge">failing</span> <span class="small">last run 1 min ago</span>
                </a>
                </nav>
                <section class="rule ok" id="rule-workforce" data-state="in step">
                <h2>workforce <span class="badge">in step</span>
                </h2>
                <div class="small">PingOne → Duo</div>
                <p>In step.</p>
                <div class="box idle running">
                <h3>Running now (schedule)</h3>
                <p>Started <time datetime="2026-12-03T11:58:00Z" title="2026-12-03 11:58:00 UTC">2 min ago</time>: 1,000 of 3,000 writes, 8 in flight, 2 failed, about 2 min 0 s left.</p>
                <progress max="3000" value="1000">
                </progress>
                </div>
                <dl class="facts">
                <dt>Last run</dt>
                <dd>
                <time datetime="2026-12-03T10:58:00Z" title="2026-12-03 10:58:00 UTC">1 h 2 min ago</time> (schedule), succeeded</dd>
                <dt>Next run</dt>
                <dd>scheduled when this one ends</dd>
                <dt>Durations</dt>
                <dd>1 min 30 s <span class="small">(latest first)</span>
                </dd>
                </dl>
                <div class="counts">
                <span>
                <b>users</b>: 40 Success</span>
                </div>
                <p>Every object is in step.</p>
                <details>
                <summary>Recent runs</summary>
                <div class="scroll">
                <table>
                <tr>
                <th>run</th>
                <th>trigger</th>
                <th>started</th>
                <th>took</th>
                <th>outcome</th>
                <th>changes</th>
                </tr>
                <tr>
                <td>5</td>
                <td>schedule</td>
                <td>
                <time datetime="2026-12-03T10:58:00Z" title="2026-12-03 10:58:00 UTC">1 h 2 min ago</time>
                </td>
                <td>1 min 30 s</td>
                <td>succeeded</td>
                <td>create 3, Success 40</td>
                </tr>
                </table>
                </div>
                </details>
                </section>
                <section class="rule bad" id="rule-inbound" data-state="failing">
                <h2>inbound <span class="badge">failing</span>
                </h2>
                <div class="small">PingOne → Duo</div>
                <p>Failing: the last cycle could not run.</p>
                <div class="box bad">
                <h3>The last cycle could not run</h3>
                <p>A side could not be read or the credentials were refused; 3 failure(s) in a row, retrying in 2 min (backing off). The agent's log says why; <code>p1duo check</code> tests both connections.</p>
                </div>
                <dl class="facts">
                <dt>Last run</dt>
                <dd>
                <time datetime="2026-12-03T11:59:00Z" title="2026-12-03 11:59:00 UTC">1 min ago</time> (schedule), failed</dd>
                <dt>Next run</dt>
                <dd>
                <time datetime="2026-12-03T12:02:00Z" title="2026-12-03 12:02:00 UTC">in 2 min</time>
                </dd>
                <dt>Durations</dt>
                <dd>1 s <span class="small">(latest first)</span>
                </dd>
                </dl>
                <div class="counts">
                <span>
                <b>users</b>: 40 Success</span>
                </div>
                <details>
                <summary>Recent runs</summary>
                <div class="scroll">
                <table>
                <tr>
                <th>run</th>
                <th>trigger</th>
                <th>started</th>
                <th>took</th>
                <th>outcome</th>
                <th>changes</th>
                </tr>
                <tr>
                <td>6</td>
                <td>schedule</td>
                <td>
                <time datetime="2026-12-03T11:59:00Z" title="2026-12-03 11:59:00 UTC">1 min ago</time>
                </td>
                <td>1 s</td>
                <td>failed</td>
                <td>create 3, Success 40</td>
                </tr>
                </table>
                </div>
                </details>
                </section>
                <section class="services" id="rate-limits">
                <h2>Rate limits</h2>
                <h3>Duo</h3>
                <ul>
                <li>writes: 120 in the last minute of 300 per minute allowed: <b>180 left</b>
                </li>
                <li>reads: 0 in the last minute of 300 per minute allowed: <b>300 left</b>
                </li>
                <li>pages: 4 in the last minute of 200 per minute allowed: <b>196 left</b>
                </li>
                <li>answered 429 (rate limited): 1 in the last minute, 2 since start</li>
                <li>paced by the agent: 30 request(s), 12.2 s waited in all; 900 request(s) since start</li>
                </ul>
                <h3>PingOne</h3>
                <ul>
                <li>9 request(s) in the last minute; no client-side pacing (set pingone.requests_per_second to pace below PingOne's limits)</li>
                <li>answered 429 (rate limited): 0 in the last minute, 0 since start</li>
                <li>paced by the agent: 0 request(s), 0.0 s waited in all; 0 request(s) since start</li>
                </ul>
                </section>
                <footer>Machine-readable: <a href="/status.json">/status.json</a> · <a href="/metrics">/metrics</a> · <a href="/readyz">/readyz</a>. On a terminal: <code>p1duo status</code>.</footer>
                </main>
                </body>
                </html>
            "##]],
        );
    }
}
