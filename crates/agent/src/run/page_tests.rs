//! Snapshots of the `/status` page in its main states: in step, some failed
//! (more objects than a page), blocked, running and failing.

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
            vec![
                run(2, 1, 12, RunOutcome::Succeeded),
                run(1, 16, 75, RunOutcome::Succeeded),
            ],
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
    let ok = rule(
        "workforce",
        RuleState::InStep,
        vec![run(8, 3, 12, RunOutcome::Succeeded)],
    );
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
            rule(
                "workforce",
                RuleState::InStep,
                vec![run(5, 62, 90, RunOutcome::Succeeded)],
            ),
            rule(
                "inbound",
                RuleState::Failing,
                vec![run(6, 1, 1, RunOutcome::Failed)],
            ),
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
