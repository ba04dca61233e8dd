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
        "secret file that never ends",
        &[("{ file = \"pingone.secret\" }", "{ file = \"/dev/zero\" }")],
        "pingone.client_secret",
    ),
    (
        "secret file that is a directory",
        &[("{ file = \"pingone.secret\" }", "{ file = \"/tmp\" }")],
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
        "interval near the maximum",
        &[("[agent]\n", "[agent]\ninterval = \"5124095576030431h\"\n")],
        "agent.interval",
    ),
    (
        "zero timeout",
        &[(
            "rate_limit = \"off\"\n\n[agent]",
            "rate_limit = \"off\"\ntimeout = \"0s\"\n\n[agent]",
        )],
        "duo.timeout",
    ),
    (
        "duo bulk shape",
        &[(
            "rate_limit = \"off\"\n\n[agent]",
            "rate_limit = \"off\"\nbulk = \"yes\"\n\n[agent]",
        )],
        "duo.bulk",
    ),
    (
        "duo bulk batch over the maximum",
        &[(
            "rate_limit = \"off\"\n\n[agent]",
            "rate_limit = \"off\"\nbulk = { users = 500 }\n\n[agent]",
        )],
        "duo.bulk.users",
    ),
    (
        "api_host port out of range",
        &[(
            "api_host = \"",
            "api_host = \"api-x.duosecurity.com:99999\" # ",
        )],
        "duo.api_host",
    ),
    (
        "a userType constant that can never be valid",
        &[(
            "[rules.mapping]\n",
            "[rules.mapping]\nuserType = \"'superuser'\"\n",
        )],
        "rules[0].mapping.userType",
    ),
    (
        "an Owner role constant without allow_owner",
        &[(
            "[rules.mapping]\n",
            "[rules.mapping]\nuserType = \"'admin'\"\nadminRole = \"'Owner'\"\n",
        )],
        "rules[0].mapping.adminRole",
    ),
    (
        "zero concurrency",
        &[("[agent]\n", "[agent]\nconcurrency = 0\n")],
        "agent.concurrency",
    ),
    (
        "zero server connections",
        &[(
            "[agent]\n",
            "[agent]\n[agent.server]\nmax_connections = 0\n",
        )],
        "agent.server.max_connections",
    ),
    (
        "zero header timeout",
        &[(
            "[agent]\n",
            "[agent]\n[agent.server]\nheader_timeout = \"0s\"\n",
        )],
        "agent.server.header_timeout",
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
    (
        "scope filter syntax",
        &[(
            "populations = [\"Workforce\"]\n",
            "populations = [\"Workforce\"]\nfilter = 'title sw \"Eng\" and (country eq \"US\"'\n",
        )],
        "rules[0].scope.filter",
    ),
    (
        "scope filter type",
        &[(
            "populations = [\"Workforce\"]\n",
            "populations = [\"Workforce\"]\nfilter = 'enabled eq \"yes\"'\n",
        )],
        "rules[0].scope.filter",
    ),
    (
        "inbound scope filter on an unknown duo attribute",
        &[
            (
                "direction = \"outbound\"",
                "direction = \"inbound\"\n[rules.target]\npopulation = \"P\"",
            ),
            (
                "populations = [\"Workforce\"]\n",
                "filter = 'status eq \"active\" and title sw \"Eng\"'\n",
            ),
        ],
        "rules[0].scope.filter",
    ),
    (
        "enroll link validity out of range",
        &[(
            "[rules.scope]",
            "[rules.enroll]\nenabled = true\nvalid_secs = -1\n[rules.scope]",
        )],
        "rules[0].enroll.valid_secs",
    ),
    (
        "enroll reminder not a duration",
        &[(
            "[rules.scope]",
            "[rules.enroll]\nenabled = true\nremind_after = \"a week\"\n[rules.scope]",
        )],
        "rules[0].enroll.remind_after",
    ),
    (
        "enroll on an inbound rule",
        &[
            (
                "direction = \"outbound\"",
                "direction = \"inbound\"\n[rules.target]\npopulation = \"P\"\n[rules.enroll]\nenabled = true",
            ),
            ("[rules.scope]\npopulations = [\"Workforce\"]\n", ""),
        ],
        "rules[0].enroll.enabled",
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
    let mut table = String::new();
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
        let shown = msg.replace(&*dir.path().to_string_lossy(), "DIR");
        table.push_str(&format!(
            "{case}: {}\n",
            shown.lines().next().unwrap_or("").trim()
        ));
        if out.status.code() != Some(2) || !msg.contains(key) {
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
    // What an operator reads, one row per case (`UPDATE_EXPECT=1` to refresh).
    expect_test::expect![[r#"
        toml syntax: error: DIR/p1duo.toml: (file): unclosed table, expected "]" (line 17)
        unknown key: error: DIR/p1duo.toml: duo.secret: unknown field "secret", expected one of "api_host", "integration_key", "secret_key", "rate_limit", "timeout", "bulk" (line 16)
        missing duo table: error: DIR/p1duo.toml: duox: unknown field "duox", expected one of "state_path", "pingone", "duo", "agent", "rules" (line 11)
        inline secret: error: DIR/p1duo.toml: duo.secret_key: secrets are never written inline; expected { env = "VARIABLE" }, { file = "path" } or { credential = "name" } (the value given was not echoed)
        secret env unset: error: DIR/p1duo.toml: duo.secret_key: environment variable P1DUO_PROVE_UNSET is not set; export it before running p1duo
        secret file missing: error: DIR/p1duo.toml: pingone.client_secret: cannot read secret file DIR/nope.secret (No such file or directory (os error 2)); check the path and its permissions
        secret file that never ends: error: DIR/p1duo.toml: pingone.client_secret: secret file /dev/zero is not a regular file; point it at a file holding only the secret
        secret file that is a directory: error: DIR/p1duo.toml: pingone.client_secret: secret file /tmp is not a regular file; point it at a file holding only the secret
        empty state path: error: DIR/p1duo.toml: state_path: expected a file path for the state database, got an empty string
        unknown region: error: DIR/p1duo.toml: pingone.region: expected one of com | eu | ca | asia | com.au | sg, got "mars"
        token auth method: error: DIR/p1duo.toml: pingone.token_auth_method: expected "client_secret_basic" or "client_secret_post" (the worker application's Token Endpoint Authentication Method), got "client_secret_jwt"
        plain http off loopback: error: DIR/p1duo.toml: duo.api_host: plain http is allowed only to a loopback address (127.0.0.1, ::1, localhost); use https for 10.1.2.3
        pingone url scheme: error: DIR/p1duo.toml: pingone.api_url: expected an https URL shaped like "https://api.pingone.com/v1", got scheme "ftp"
        zero write rate: error: DIR/p1duo.toml: duo.rate_limit.writes_per_minute: expected a whole number from 1 to 100000
        pingone rate limit shape: error: DIR/p1duo.toml: pingone.rate_limit: expected { requests_per_second = N } or "off"
        bad interval: error: DIR/p1duo.toml: agent.interval: expected a duration such as "90s", "15m" or "1h30m", got "soon"
        interval near the maximum: error: DIR/p1duo.toml: agent.interval: expected at most 366 days ("8784h")
        zero timeout: error: DIR/p1duo.toml: duo.timeout: expected at least 1s for a request to Duo
        duo bulk shape: error: DIR/p1duo.toml: duo.bulk: expected true, false or { users = 1..100, operations = 1..50 }
        duo bulk batch over the maximum: error: DIR/p1duo.toml: duo.bulk.users: expected a whole number from 1 to 100 (larger batches are not known to work with Duo)
        api_host port out of range: error: DIR/p1duo.toml: duo.api_host: Duo client configuration: `api_host` port `99999` is not a number between 1 and 65535
        a userType constant that can never be valid: error: DIR/p1duo.toml: rules[0].mapping.userType: the constant "superuser" can never be valid: must be exactly "user" or "admin"; any other value fails this user's sync
        an Owner role constant without allow_owner: error: DIR/p1duo.toml: rules[0].mapping.adminRole: the constant "Owner" can never be valid: Owner is refused unless the mapping option allow_owner is true: an Owner can do everything in Duo
        zero concurrency: error: DIR/p1duo.toml: agent.concurrency: expected a whole number from 1 to 256, got 0
        zero server connections: error: DIR/p1duo.toml: agent.server.max_connections: expected a whole number from 1 to 65536, got 0
        zero header timeout: error: DIR/p1duo.toml: agent.server.header_timeout: expected at least 100ms
        bad listen address: error: DIR/p1duo.toml: agent.listen: expected an address and port such as "127.0.0.1:9464", got "not an address"
        unknown direction: error: DIR/p1duo.toml: rules[0].direction: expected "outbound" (PingOne -> Duo) or "inbound" (Duo -> PingOne), got "sideways"
        unknown remove action: error: DIR/p1duo.toml: rules[0].actions.remove_action: expected "disable", "delete" or "purge", got "remove"
        percent above 100: error: DIR/p1duo.toml: rules[0].safety.max_delete_percent: expected a percentage from 0 to 100, got 250
        unknown duo attribute: error: DIR/p1duo.toml: rules[0].mapping.shoesize: is not an outbound target attribute; the valid ones are: username, email, realname, firstname, lastname, notes, alias1, alias2, alias3, alias4, phones, enabled, status, userType, adminRole
        mapping syntax: error: DIR/p1duo.toml: rules[0].mapping.email: unexpected `(`: expected an attribute path, a quoted string or a function call (in "coalesce((email" at column 10)
        duplicate rule names: error: DIR/p1duo.toml: rules[1].name: rule name "r" is used twice; rule names must be unique
        inbound without target: error: DIR/p1duo.toml: rules[0].target.population: inbound rules need the population (name or id) where new PingOne users are created
        scope filter syntax: error: DIR/p1duo.toml: rules[0].scope.filter: column 36: the filter ends where ")" was expected
        scope filter type: error: DIR/p1duo.toml: rules[0].scope.filter: column 1: enabled is a boolean: write enabled eq true or enabled eq false, without quotes
        inbound scope filter on an unknown duo attribute: error: DIR/p1duo.toml: rules[0].scope.filter: column 24: "title" is not a Duo user attribute; use one of user_id, username, realname, firstname, lastname, email, status, notes, alias1, alias2, alias3, alias4, external_id, groups, is_enrolled, created, last_login
        enroll link validity out of range: error: DIR/p1duo.toml: rules[0].enroll.valid_secs: expected 0 (never expires) to 31622400 (366 days) seconds
        enroll reminder not a duration: error: DIR/p1duo.toml: rules[0].enroll.remind_after: expected a duration such as "90s", "15m" or "1h30m", got "a week"
        enroll on an inbound rule: error: DIR/p1duo.toml: rules[0].enroll.enabled: enrollment emails are sent by Duo: only an outbound rule can enroll
    "#]].assert_eq(&table);
}
