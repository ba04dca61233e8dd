//! Malformed configurations, one row each: `p1duo sync` refuses every one with
//! exit code 2 and a message naming the key, before any network call (both
//! services point at a listener that fails the test if anything connects).

use p1duo_tests::fixtures::{Endpoints, outbound_rule, write_config};
use p1duo_tests::p1duo_bin;
use std::net::TcpListener;

/// (case, edit of the valid config: (find, replace) pairs, key the message must name)
type Row = (
    &'static str,
    &'static [(&'static str, &'static str)],
    &'static str,
);

const ROWS: &[Row] = &[
    ("toml syntax", &[("[agent]", "[agent")], "(file)"),
    (
        "unknown key",
        &[(
            "rate_limit = \"off\"\n\n[agent]",
            "rate_limit = \"off\"\nsecret = \"x\"\n\n[agent]",
        )],
        "duo",
    ),
    ("missing duo table", &[("[duo]\n", "[duox]\n")], "duox"),
    (
        "inline secret",
        &[(
            "secret_key = { file = \"duo.skey\" }",
            "secret_key = \"abc\"",
        )],
        "duo.secret_key",
    ),
    (
        "secret env unset",
        &[(
            "secret_key = { file = \"duo.skey\" }",
            "secret_key = { env = \"P1DUO_PROVE_UNSET\" }",
        )],
        "duo.secret_key",
    ),
    (
        "secret file missing",
        &[(
            "{ file = \"pingone.secret\" }",
            "{ file = \"nope.secret\" }",
        )],
        "pingone.client_secret",
    ),
    (
        "empty state path",
        &[("state_path = \"p1duo.db\"", "state_path = \"\"")],
        "state_path",
    ),
    (
        "unknown region",
        &[("client_id =", "region = \"mars\"\nclient_id =")],
        "pingone.region",
    ),
    (
        "token auth method",
        &[(
            "client_id =",
            "token_auth_method = \"client_secret_jwt\"\nclient_id =",
        )],
        "pingone.token_auth_method",
    ),
    (
        "plain http off loopback",
        &[(
            "api_host = \"http://127.0.0.1",
            "api_host = \"http://10.1.2.3",
        )],
        "duo.api_host",
    ),
    (
        "pingone url scheme",
        &[(
            "api_url = \"http://127.0.0.1",
            "api_url = \"ftp://127.0.0.1",
        )],
        "pingone.api_url",
    ),
    (
        "zero write rate",
        &[(
            "rate_limit = \"off\"\n\n[agent]",
            "rate_limit = { writes_per_minute = 0 }\n\n[agent]",
        )],
        "duo.rate_limit",
    ),
    (
        "pingone rate limit shape",
        &[("rate_limit = \"off\"\n\n[duo]", "rate_limit = 30\n\n[duo]")],
        "pingone.rate_limit",
    ),
    (
        "bad interval",
        &[("[agent]\n", "[agent]\ninterval = \"soon\"\n")],
        "agent.interval",
    ),
    (
        "zero concurrency",
        &[("[agent]\n", "[agent]\nconcurrency = 0\n")],
        "agent.concurrency",
    ),
    (
        "bad listen address",
        &[("[agent]\n", "[agent]\nlisten = \"not an address\"\n")],
        "agent.listen",
    ),
    (
        "unknown direction",
        &[("direction = \"outbound\"", "direction = \"sideways\"")],
        "rules[0].direction",
    ),
    (
        "unknown remove action",
        &[("deprovision = true", "remove_action = \"remove\"")],
        "rules[0].actions.remove_action",
    ),
    (
        "percent above 100",
        &[(
            "[rules.mapping]",
            "[rules.safety]\nmax_delete_percent = 250.0\n[rules.mapping]",
        )],
        "rules[0].safety.max_delete_percent",
    ),
    (
        "unknown duo attribute",
        &[("realname = \"name.given\"", "shoesize = \"name.given\"")],
        "rules[0].mapping",
    ),
    (
        "mapping syntax",
        &[("email = \"email\"", "email = \"coalesce((email\"")],
        "rules[0].mapping.email",
    ),
    (
        "duplicate rule names",
        &[(
            "[[rules]]",
            "[[rules]]\nname = \"r\"\ndirection = \"inbound\"\n[rules.target]\npopulation = \"P\"\n[[rules]]",
        )],
        "rules[1].name",
    ),
    (
        "inbound without target",
        &[
            ("direction = \"outbound\"", "direction = \"inbound\""),
            ("[rules.scope]\npopulations = [\"Workforce\"]\n", ""),
        ],
        "rules[0].target",
    ),
];

#[test]
fn every_malformed_config_is_refused_before_any_call_with_exit_2_naming_the_key() {
    let trap = TcpListener::bind("127.0.0.1:0").unwrap();
    trap.set_nonblocking(true).unwrap();
    let at = format!("http://{}", trap.local_addr().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(
        dir.path(),
        &Endpoints {
            duo: at.clone(),
            pingone: at,
        },
        "\"off\"",
        "",
        &outbound_rule("r", "deprovision = true", ""),
    );
    let valid = std::fs::read_to_string(&path).unwrap();
    // The unedited config is valid: each row's refusal is the edit's doing.
    let ok = std::process::Command::new(p1duo_bin())
        .args(["config", "validate", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(ROWS.len() >= 15);
    let mut failures = Vec::new();
    for (case, edits, key) in ROWS {
        let mut text = valid.clone();
        for (find, replace) in *edits {
            assert!(text.contains(find), "{case}: {find:?} not in the config");
            text = text.replacen(find, replace, 1);
        }
        std::fs::write(&path, &text).unwrap();
        let out = std::process::Command::new(p1duo_bin())
            .args(["sync", "--config"])
            .arg(&path)
            .env_remove("P1DUO_PROVE_UNSET")
            .output()
            .unwrap();
        let msg = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if out.status.code() != Some(2) || !msg.contains(&format!("{key}")) {
            failures.push(format!(
                "{case}: exit {:?}, want key {key}: {msg}",
                out.status.code()
            ));
        }
        match trap.accept() {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            other => panic!("{case}: p1duo contacted a service: {other:?}"),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
