//! What the real binary's logs say: directory values escaped in text logs
//! and exact in JSON logs, and outcomes in the words `status` uses.

use crate::support::{Env, hourly_agent, inbound_rule, sigterm};
use std::time::Duration;

const HOSTILE: &str = "evil\u{1b}[2J\n  WARN forged line\u{202e}";

/// `p1duo run` with `--log-format FORMAT` until its first cycles are done;
/// its stderr.
async fn run_log(env: &Env, port: u16, format: &str) -> String {
    let child = tokio::process::Command::new(p1duo_tests::p1duo_bin())
        .args(["run", "--log-level", "info", "--log-format", format])
        .args(["--config", env.path.to_str().unwrap()])
        .env_remove("RUST_LOG")
        .env_remove("NO_COLOR")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let ready = format!("http://127.0.0.1:{port}/readyz");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let ok = reqwest::get(&ready)
            .await
            .is_ok_and(|r| r.status().is_success());
        if ok {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "never ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (code, err) = sigterm(child).await;
    assert_eq!(code, Some(0), "{err}");
    err
}

/// Issue #19: a Duo username with ESC, a newline and U+202E reached text
/// logs raw. Now the text log shows it escaped (and in no colour, stderr not
/// being a terminal), the JSON log exactly, and both say `some_failed` as
/// `status --json` does (not `SomeFailed`).
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_username_is_escaped_in_text_logs_and_exact_in_json_logs() {
    let env = Env::new().await;
    // PingOne refuses such a username: the inbound user fails, and the
    // warning names it.
    env.sims
        .duo
        .insert_user(HOSTILE, &[("email", "evil@example.net")])
        .unwrap();
    let (port, agent_cfg) = hourly_agent();
    env.sims
        .write_config(
            env.dir.path(),
            &agent_cfg,
            &inbound_rule("r", "Contractors", ""),
        )
        .unwrap();

    let text = run_log(&env, port, "text").await;
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{202e}'),
        "raw control characters in the text log: {text:?}"
    );
    assert!(
        !text
            .lines()
            .any(|l| l.trim_start().starts_with("WARN forged line")),
        "a forged line: {text}"
    );
    let warn = text
        .lines()
        .find(|l| l.contains("cycle finished with failed objects"))
        .unwrap_or_else(|| panic!("no warning for the failed user: {text}"));
    assert!(
        warn.contains(r#"failed="user evil\u{1b}[2J\u{a}  WARN forged line\u{202e}""#)
            && warn.contains("outcome=some_failed"),
        "{warn}"
    );

    let json = run_log(&env, port, "json").await;
    let warn: serde_json::Value = json
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| {
            v["fields"]["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("cycle finished with failed objects"))
        })
        .unwrap_or_else(|| panic!("no warning for the failed user: {json}"));
    assert_eq!(warn["fields"]["failed"], format!("user {HOSTILE}"));
    assert_eq!(warn["fields"]["outcome"], "some_failed");

    let out = std::process::Command::new(p1duo_tests::p1duo_bin())
        .args(["status", "--json", "--config", env.path.to_str().unwrap()])
        .output()
        .unwrap();
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["rules"][0]["state"], "some_failed");
}
