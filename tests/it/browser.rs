//! The status page in a real browser: headless Chromium (Debian's package)
//! loads the page of a running agent whose rule is blocked, at phone and at
//! desktop width. The rendered DOM must show the health and the blocked
//! rule's approve command; the screenshots and the DOM are kept under
//! `target/tmp/status-page/` (a CI artifact) for people to look at.
//!
//! Without Chromium the test is skipped, except when `CI` is set: then it
//! fails (`.ci/run` installs the `chromium` package).

use crate::support::{Env, hourly_agent, outbound_rule};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// `P1DUO_CHROMIUM`, else Debian's `/usr/bin/chromium`.
fn chromium() -> Option<PathBuf> {
    let p = std::env::var_os("P1DUO_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    p.exists().then_some(p)
}

/// Runs headless Chromium on `url` with `extra` arguments; its stdout.
async fn browse(chromium: &Path, profile: &Path, url: &str, extra: &[String]) -> String {
    // The flags that work on a machine with no outside network (and as root).
    let mut cmd = tokio::process::Command::new(chromium);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .args(extra)
    .arg(url)
    .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(90), cmd.output())
        .await
        .expect("chromium finishes within 90 s")
        .expect("chromium starts");
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_page_shows_health_and_how_to_approve_in_a_real_browser() {
    let Some(chromium) = chromium() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but /usr/bin/chromium is missing: install Debian's chromium package (.ci/run does)"
        );
        println!("SKIPPED: no /usr/bin/chromium (apt-get install chromium, or set P1DUO_CHROMIUM)");
        return;
    };
    // A rule that worked, then PingOne lost most of its users: blocked.
    let env = Env::new().await;
    let rule = outbound_rule(
        "workforce",
        "deprovision = true\nremove_action = \"disable\"",
        "",
    );
    let config = env.config(&rule);
    let ids: Vec<String> = (0..20)
        .map(|i| env.p1_user(&format!("user{i:02}"), &env.workforce, json!({})))
        .collect();
    env.p1_user(
        "broken",
        &env.workforce,
        json!({ "primaryPhone": "call 12" }),
    );
    env.sync(&config).await;
    for id in &ids[..15] {
        env.sims.p1.delete_user(id).unwrap();
    }
    let (port, agent_cfg) = hourly_agent();
    env.sims
        .write_config(env.dir.path(), &agent_cfg, &rule)
        .unwrap();
    let config = Arc::new(agent::Config::load(&env.path).unwrap());
    let stop = CancellationToken::new();
    let task = tokio::spawn(agent::run_with(config, None, stop.clone(), None));
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    // Ready once the first cycle (blocked again) is recorded.
    for _ in 0..400 {
        if let Ok(r) = http.get(format!("{base}/readyz")).send().await
            && r.status().is_success()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("status-page");
    std::fs::create_dir_all(&out).unwrap();
    let profile = tempfile::tempdir().unwrap();
    let url = format!("{base}/status");
    let dom = browse(&chromium, profile.path(), &url, &["--dump-dom".into()]).await;
    std::fs::write(out.join("blocked.html"), &dom).unwrap();
    for (name, size) in [("phone", "390,1800"), ("desktop", "1280,1400")] {
        let shot = out.join(format!("blocked-{name}.png"));
        let _ = std::fs::remove_file(&shot);
        browse(
            &chromium,
            profile.path(),
            &url,
            &[
                format!("--window-size={size}"),
                format!("--screenshot={}", shot.display()),
            ],
        )
        .await;
        let len = std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0);
        assert!(
            len > 10_000,
            "{name} screenshot {} is {len} bytes",
            shot.display()
        );
    }
    stop.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(20), task).await;

    // What the browser built, not what the server sent.
    assert!(
        dom.contains(r#"<header class="health block" id="health" data-state="blocked">"#)
            && dom.contains("<h1>Blocked: a rule waits for approval</h1>"),
        "{dom}"
    );
    let hash = dom
        .split("p1duo approve --rule workforce ")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap_or_else(|| panic!("no approve command: {dom}"));
    assert_eq!(hash.len(), 64, "the plan hash: {hash:?}");
    assert!(dom.contains("p1duo plan --rule workforce"), "{dom}");
    assert!(dom.contains("<code>disable user user00</code>"), "{dom}");
    assert!(
        dom.contains("and 5 more") || dom.contains("destructive change"),
        "{dom}"
    );
    assert!(dom.contains(">broken<"), "the failed user is listed: {dom}");
    assert!(dom.contains(r#"name="viewport""#), "{dom}");
}
