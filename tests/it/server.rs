//! The status server of the real `p1duo run` under hostile clients: idle
//! sockets beyond the process's open-file limit, and a header that never ends.

use crate::support::{Env, hourly_agent, outbound_rule, sigterm};
use serde_json::json;
use std::time::Duration;

/// Poll `f` until it holds; the bound only stops a broken test from hanging.
async fn eventually<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !f().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `p1duo run` under `prlimit --nofile=N:N`, its stderr piped.
fn spawn_agent(env: &Env, nofile: u32) -> tokio::process::Child {
    tokio::process::Command::new("prlimit")
        .arg(format!("--nofile={nofile}:{nofile}"))
        .arg(p1duo_tests::p1duo_bin())
        .args(["run", "--config", env.path.to_str().unwrap()])
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("prlimit (util-linux) runs the agent with a low open-file limit")
}

async fn answers(http: &reqwest::Client, url: &str) -> Option<String> {
    let r = http.get(url).send().await.ok()?;
    r.status().is_success().then_some(())?;
    r.text().await.ok()
}

/// Issue #19: 1,100 idle sockets against an agent whose open-file limit is
/// 1,024 made `/healthz` unreachable and outgoing calls fail with "Too many
/// open files". Now the server holds at most a quarter of the limit, closes
/// the oldest idle connection for a new one, and the sync still runs.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_sockets_beyond_the_open_file_limit_starve_neither_healthz_nor_the_sync() {
    const IDLE: usize = 1100;
    // This test process holds the idle sockets: make room for them.
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut own = getrlimit(Resource::Nofile);
    if own.current.is_some_and(|c| c < 4096) {
        own.current = own.maximum.map(|m| m.min(8192));
        setrlimit(Resource::Nofile, own).expect("raise this process's open-file limit");
    }
    let env = Env::new().await;
    env.p1_user("alice", &env.workforce, json!({}));
    let (port, agent_cfg) = hourly_agent();
    let rule = outbound_rule("workforce", "", "");
    env.sims
        .write_config(env.dir.path(), &agent_cfg, &rule)
        .unwrap();
    let child = spawn_agent(&env, 1024);
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let ready = format!("{base}/readyz");
    eventually("the first cycle", || async {
        answers(&http, &ready).await.is_some()
    })
    .await;
    assert!(env.duo_user("alice").is_some());

    let mut idle = Vec::with_capacity(IDLE);
    for _ in 0..IDLE {
        idle.push(
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .expect("connect"),
        );
    }
    // Health answers while every idle socket is still open on this side.
    let health = answers(&http, &format!("{base}/healthz")).await;
    assert_eq!(health.as_deref(), Some("ok\n"), "/healthz did not answer");

    // A cycle under the same pressure: a new user, and SIGHUP restarts the rule.
    env.p1_user("bob", &env.workforce, json!({}));
    tokio::process::Command::new("kill")
        .args(["-HUP", &child.id().unwrap().to_string()])
        .status()
        .await
        .unwrap();
    eventually("bob's sync", || async { env.duo_user("bob").is_some() }).await;
    // The server held at most a quarter of its 1,024 descriptors: it closed
    // the rest of the idle sockets, oldest first.
    let closed = |idle: &[tokio::net::TcpStream]| {
        idle.iter()
            .filter(|s| matches!(s.try_read(&mut [0u8; 16]), Ok(0)))
            .count()
    };
    eventually("the idle sockets beyond the cap to be closed", || async {
        closed(&idle) >= IDLE - 256
    })
    .await;
    let status = answers(&http, &format!("{base}/status.json"))
        .await
        .unwrap_or_default();
    assert!(status.contains("\"in_step\""), "{status}");
    assert_eq!(idle.len(), IDLE);
    drop(idle);

    let (code, err) = sigterm(child).await;
    assert_eq!(code, Some(0), "{err}");
    assert!(!err.contains("Too many open files"), "{err}");
    assert!(!err.contains("cycle failed"), "{err}");
}

/// A client that sends part of a header and then nothing is cut off after
/// `agent.server.header_timeout` (here 1s) by the real binary.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_header_that_never_ends_is_cut_off_after_the_header_timeout() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let env = Env::new().await;
    let (port, agent_cfg) = hourly_agent();
    let agent_cfg = format!("{agent_cfg}\n[agent.server]\nheader_timeout = \"1s\"");
    env.sims
        .write_config(
            env.dir.path(),
            &agent_cfg,
            &outbound_rule("workforce", "", ""),
        )
        .unwrap();
    let child = spawn_agent(&env, 1024);
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let health = format!("{base}/healthz");
    eventually("the server", || async {
        answers(&http, &health).await.is_some()
    })
    .await;
    let mut slow = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let started = std::time::Instant::now();
    slow.write_all(b"GET /status HTTP/1.1\r\nHost: x\r\nX-Never-Ends: aaaa")
        .await
        .unwrap();
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(30), slow.read_to_end(&mut rest)).await;
    assert!(closed.is_ok(), "the connection is still open after 30s");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(10),
        "closed after {waited:?}"
    );
    let (code, err) = sigterm(child).await;
    assert_eq!(code, Some(0), "{err}");
}
