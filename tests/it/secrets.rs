//! Secrets: with every log at trace level (ours and the HTTP stack's), through
//! `check`, `plan --json`, `sync`, `status --json`, `explain`, error messages
//! (a wrong Duo secret key, a wrong PingOne client secret, 5xx and 429 storms),
//! `Debug` output and a panic, and the state database files, neither the Duo
//! secret key, the PingOne client secret, a wrong secret tried, nor any issued
//! PingOne access token appears.

use crate::support::{Env, outbound_rule};
use agent::{DEMO_CLIENT_SECRET, DEMO_SKEY};
use p1duo_tests::p1duo_bin;
use serde_json::json;

/// The header of every token the PingOne simulator issues (base64url of
/// `{"alg":"RS256","typ":"JWT","kid":"pingone-sim"}`): any leaked token has it.
const TOKEN_HEADER: &str = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InBpbmdvbmUtc2ltIn0";
const WRONG_DUO: &str = "wrong0duo0secret0that0must0not0leak00000";
const WRONG_P1: &str = "wrong-pingone-secret-that-must-not-leak";

async fn run(cfg: &str, args: &[&str]) -> (Option<i32>, String) {
    let out = tokio::process::Command::new(p1duo_bin())
        .args(["--log-level", "trace"])
        .args(args)
        .args(["--config", cfg])
        .env("RUST_LOG", "trace")
        .env("RUST_BACKTRACE", "1")
        .env_remove("P1DUO_CONFIG")
        .output()
        .await
        .expect("p1duo runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

fn assert_clean(what: &str, text: &str) {
    for (name, secret) in [
        ("the Duo secret key", DEMO_SKEY),
        ("the PingOne client secret", DEMO_CLIENT_SECRET),
        ("a wrong Duo secret key", WRONG_DUO),
        ("a wrong PingOne client secret", WRONG_P1),
        ("a PingOne access token", TOKEN_HEADER),
    ] {
        assert!(!text.contains(secret), "{name} leaked through {what}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_or_token_in_logs_json_errors_debug_panics_or_the_state_db() {
    let env = Env::new().await;
    env.p1_user("alice", &env.workforce, json!({ "type": "nonsense" }));
    env.p1_user(
        "bob",
        &env.workforce,
        json!({ "primaryPhone": "+1 734 555 1212" }),
    );
    let config = env.config(&outbound_rule(
        "r",
        "",
        "userType = \"coalesce(type, \\\"user\\\")\"",
    ));
    let cfg = env.path.to_str().unwrap().to_owned();
    let mut seen = 0;
    for args in [
        &["check"][..],
        &["plan", "--json"],
        &["--log-format", "json", "sync"],
        &["status", "--json"],
        &["explain", "alice"],
        &["api", "pingone", "GET", "/environments/{envId}/users"],
        &["api", "duo", "GET", "/admin/v1/users"],
    ] {
        let (_, text) = run(&cfg, args).await;
        assert_clean(&format!("p1duo {}", args.join(" ")), &text);
        seen += text.len();
    }
    assert!(
        seen > 10_000,
        "trace logging produced output ({seen} bytes)"
    );
    assert!(env.sims.p1.token_requests() > 0, "tokens were issued");

    // Storms of 5xx and 429: retries and their errors are logged at trace.
    let storm = json!({ "seed": 3, "server_error_rate": 0.5, "too_many_requests_rate": 0.2, "retry_after_rate": 1.0 });
    env.sims
        .duo
        .set_faults(serde_json::from_value(storm.clone()).unwrap());
    env.sims
        .p1
        .set_faults(serde_json::from_value(storm).unwrap());
    env.p1_user("carol", &env.workforce, json!({}));
    let (_, text) = run(&cfg, &["sync"]).await;
    assert_clean("a sync under 5xx and 429 storms", &text);
    env.sims.duo.set_faults(Default::default());
    env.sims.p1.set_faults(Default::default());

    // Wrong secrets: refused, with a message that says what to fix, not the value.
    std::fs::write(env.dir.path().join("duo.skey"), WRONG_DUO).unwrap();
    std::fs::write(env.dir.path().join("pingone.secret"), WRONG_P1).unwrap();
    for args in [&["check"][..], &["sync"], &["plan", "--json"]] {
        let (code, text) = run(&cfg, args).await;
        assert_ne!(code, Some(0), "{text}");
        assert_clean(
            &format!("p1duo {} with wrong secrets", args.join(" ")),
            &text,
        );
    }
    let (_, text) = run(&cfg, &["check"]).await;
    assert!(
        text.contains("40103") || text.to_lowercase().contains("secret"),
        "{text}"
    );

    // Debug output and a panic carrying the whole config.
    let debug = format!("{config:?}");
    assert!(
        debug.contains("client_id"),
        "Debug shows the config: {debug}"
    );
    assert_clean("Debug of the config", &debug);
    let c2 = config.clone();
    let payload = std::panic::catch_unwind(move || panic!("crashed with {c2:?}")).unwrap_err();
    let msg = payload
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(msg.contains("crashed with"));
    assert_clean("a panic message", &msg);

    // The state database and its WAL: no secret bytes.
    let mut files = 0;
    for f in std::fs::read_dir(env.dir.path()).unwrap() {
        let p = f.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("p1duo.db") {
            files += 1;
            let bytes = std::fs::read(&p).unwrap();
            assert_clean(&name, &String::from_utf8_lossy(&bytes));
        }
    }
    assert!(files >= 1, "the state database exists");
}

/// The agent's delivery secret (sent by PingOne in every delivery's header) never
/// appears in `p1duo run`'s trace logs, its status pages and metrics, `status
/// --json`, nor the 401 answered to a wrong one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_delivery_secret_stays_out_of_logs_status_pages_and_errors() {
    let env = Env::new().await;
    env.p1_user("alice", &env.workforce, json!({}));
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let agent_cfg = format!(
        "listen = \"127.0.0.1:{port}\"\ninterval = \"1h\"\njitter = \"0s\"\n[agent.notifications]\npublic_url = \"http://127.0.0.1:{port}/pingone/events\"\ndebounce = \"100ms\""
    );
    env.sims
        .write_config(env.dir.path(), &agent_cfg, &outbound_rule("r", "", ""))
        .unwrap();
    let cfg = env.path.to_str().unwrap().to_owned();
    let mut child = tokio::process::Command::new(p1duo_bin())
        .args(["--log-level", "trace", "run", "--config", &cfg])
        .env("RUST_LOG", "trace")
        .env_remove("P1DUO_CONFIG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("p1duo run starts");
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let mut secret = None;
    for _ in 0..800 {
        let ready = http
            .get(format!("{base}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200);
        if ready
            && let Some(s) = env.sims.p1.subscriptions().first()
            && let Some(h) = s["httpEndpoint"]["headers"]["Authorization"].as_str()
        {
            secret = Some(h.trim_start_matches("Bearer ").to_owned());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let secret = secret.expect("the agent subscribed with a secret header");
    assert!(secret.len() >= 32);
    // A delivery through the sim (the secret in its header), and a forged one.
    env.p1_user("bob", &env.workforce, json!({}));
    let forged = http
        .post(format!("{base}/pingone/events"))
        .header(
            "Authorization",
            format!("Bearer {}x", &secret[..secret.len() - 1]),
        )
        .body("[]")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    let forged_body = forged.text().await.unwrap();
    let mut pages = forged_body;
    for path in ["/status", "/status.json", "/metrics"] {
        pages.push_str(
            &http
                .get(format!("{base}{path}"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap(),
        );
    }
    let (_, status_json) = run(&cfg, &["status", "--json"]).await;
    child.start_kill().unwrap();
    let out = child.wait_with_output().await.unwrap();
    let logs = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(logs.len() > 1000, "trace logs were written");
    for (what, text) in [
        ("p1duo run's logs", &logs),
        ("the status pages, metrics and the 401", &pages),
        ("p1duo status --json", &status_json),
    ] {
        assert!(
            !text.contains(&secret),
            "the delivery secret leaked through {what}"
        );
        assert_clean(what, text);
    }
}
