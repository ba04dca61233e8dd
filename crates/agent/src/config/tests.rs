//! Config tests: the example validates, every kind of mistake names its key,
//! and no secret leaks through `Debug` or an error.

use super::*;
use secrecy::ExposeSecret;

const DUO_SECRET: &str = "duo-secret-zz9-plural-z-alpha-0123456789";
const P1_SECRET: &str = "pingone-secret-very-private-42";

fn env(name: &str) -> Option<String> {
    match name {
        "P1DUO_DUO_SECRET_KEY" => Some(DUO_SECRET.into()),
        "P1DUO_PINGONE_CLIENT_SECRET" => Some(P1_SECRET.into()),
        _ => None,
    }
}

fn load(text: &str) -> Result<Config, ConfigError> {
    Config::from_str_at(text, Path::new("/etc/p1duo/p1duo.toml"), &env)
}

/// Replace `from` with `to` in the example and return the error's lines.
fn errors_after(from: &str, to: &str) -> String {
    assert!(EXAMPLE.contains(from), "example lacks {from:?}");
    let text = EXAMPLE.replacen(from, to, 1);
    load(&text).expect_err("config must be refused").to_string()
}

#[test]
fn the_example_validates_with_every_key_typed() {
    let c = load(EXAMPLE).unwrap();
    assert_eq!(c.state_path, Path::new("/etc/p1duo/p1duo.db"));
    assert_eq!(c.pingone.api_url, "https://api.pingone.com/v1");
    assert_eq!(c.pingone.auth_url, "https://auth.pingone.com");
    assert_eq!(c.pingone.client_secret.expose_secret(), P1_SECRET);
    assert_eq!(c.duo.secret_key.expose_secret(), DUO_SECRET);
    assert_eq!(c.duo.rate_limit, Some(DuoRateLimit::default()));
    assert_eq!(c.rules.len(), 2);
    let out = &c.rules[0];
    assert_eq!(out.direction(), Direction::Outbound);
    assert_eq!(out.outbound().scope_populations, ["Workforce"]);
    assert_eq!(out.outbound().push_groups, ["Engineering", "Sales"]);
    assert!(
        !out.actions.deprovision,
        "the example never turns deprovisioning on by itself"
    );
    assert_eq!(out.actions.remove_action, RemoveAction::Disable);
    assert_eq!(
        out.safety.max_disable_percent,
        Some(10.0),
        "percentages on by default"
    );
    assert_eq!(out.safety.min_source_percent, Some(50.0));
    assert!(out.adopt.accounts && !out.adopt.groups && out.adopt.exact_key);
    assert_eq!(out.adopt.confirm, ["email"]);
    assert_eq!(out.mapping.spec().0.len(), 5);
    let inb = &c.rules[1];
    assert_eq!(inb.direction(), Direction::Inbound);
    assert_eq!(inb.target_population(), Some("Contractors"));
    assert!(!inb.actions.deprovision, "deprovision defaults to false");
}

#[test]
fn each_mistake_names_the_file_the_key_and_what_is_expected() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "region = \"com\"",
            "region = \"us\"",
            "pingone.region: expected one of com | eu",
        ),
        (
            "remove_action = \"disable\"",
            "remove_action = \"remove\"",
            "rules[0].actions.remove_action: expected \"disable\", \"delete\" or \"purge\"",
        ),
        (
            "direction = \"outbound\"",
            "direction = \"out\"",
            "rules[0].direction: expected \"outbound\"",
        ),
        (
            "create = true",
            "create = \"yes\"",
            "rules[0].actions.create: invalid type",
        ),
        (
            "update = true",
            "updte = true",
            "rules[0].actions.updte: unknown field \"updte\"",
        ),
        (
            "integration_key = \"DIXXXXXXXXXXXXXXXXXX\"",
            "integration_key = \"XYZ\"",
            "duo.integration_key: expected",
        ),
        (
            "secret_key = { env = \"P1DUO_DUO_SECRET_KEY\" }",
            "secret_key = \"abc\"",
            "duo.secret_key: secrets are never written inline",
        ),
        (
            "secret_key = { env = \"P1DUO_DUO_SECRET_KEY\" }",
            "secret_key = { env = \"NOPE\" }",
            "duo.secret_key: environment variable NOPE is not set",
        ),
        (
            "client_secret = { env = \"P1DUO_PINGONE_CLIENT_SECRET\" }",
            "client_secret = { file = \"missing.txt\" }",
            "pingone.client_secret: cannot read secret file /etc/p1duo/missing.txt",
        ),
        (
            "# api_url = \"https://api.pingone.com/v1\"",
            "api_url = \"http://api.example.com/v1\"",
            "pingone.api_url: plain http is allowed only to a loopback",
        ),
        (
            "environment_id = \"1b2c3d4e-5f60-4718-9a0b-1c2d3e4f5a6b\"",
            "environment_id = \"...\"",
            "pingone.environment_id: expected the environment's id",
        ),
        (
            "token_auth_method = \"client_secret_basic\"",
            "token_auth_method = \"basic\"",
            "pingone.token_auth_method: expected",
        ),
        (
            "interval = \"15m\"",
            "interval = \"15\"",
            "agent.interval: expected a duration",
        ),
        (
            "listen = \"127.0.0.1:9464\"",
            "listen = \"everywhere\"",
            "agent.listen: expected an address",
        ),
        (
            "population = \"Contractors\"",
            "population = \"\"",
            "rules[1].target.population: expected a population",
        ),
        (
            "name = \"duo-to-pingone\"",
            "name = \"workforce-to-duo\"",
            "rules[1].name: rule name \"workforce-to-duo\" is used twice",
        ),
        (
            "realname = \"name.given\"",
            "realnme = \"name.given\"",
            "rules[0].mapping.realnme: is not an outbound target attribute",
        ),
        (
            "email = \"email\"",
            "email = \"lower(email\"",
            "rules[0].mapping.email: ",
        ),
        (
            "max_deletes = 50",
            "max_deletes = -1",
            "rules[0].safety.max_deletes: expected a count",
        ),
        (
            "state_path = \"p1duo.db\"",
            "state_path = \"p1duo.db\"\nbogus = 1",
            "bogus: unknown field \"bogus\"",
        ),
        (
            "# rate_limit = { writes_per_minute",
            "rate_limit = { writes_per_mnute = 3 }\n# x",
            "duo.rate_limit.writes_per_mnute: unknown key",
        ),
    ];
    for (from, to, want) in cases {
        let got = errors_after(from, to);
        assert!(
            got.contains(&format!("/etc/p1duo/p1duo.toml: {want}")),
            "replacing {from:?} by {to:?}:\n  want {want:?}\n  got  {got}"
        );
    }
}

#[test]
fn inbound_rules_need_a_target_and_refuse_group_push() {
    let text = EXAMPLE.replace(
        "[rules.target]\npopulation = \"Contractors\"",
        "[rules.groups]\npush = [\"X\"]",
    );
    let err = load(&text).unwrap_err().to_string();
    assert!(
        err.contains("rules[1].target.population: inbound rules need the population"),
        "{err}"
    );
    assert!(
        err.contains("rules[1].groups.push: inbound group provisioning is not supported"),
        "{err}"
    );
}

#[test]
fn syntax_errors_give_the_line() {
    let err = load("state_path = \n[pingone").unwrap_err().to_string();
    assert!(err.starts_with("/etc/p1duo/p1duo.toml: (file): "), "{err}");
    assert!(err.contains("line 1") || err.contains("line 2"), "{err}");
}

#[test]
fn secrets_never_appear_in_debug_or_errors() {
    let c = load(EXAMPLE).unwrap();
    let debug = format!("{c:?}");
    assert!(
        !debug.contains(DUO_SECRET) && !debug.contains(P1_SECRET),
        "{debug}"
    );
    // An inline secret is refused without being echoed.
    let err = errors_after(
        "secret_key = { env = \"P1DUO_DUO_SECRET_KEY\" }",
        &format!("secret_key = \"{DUO_SECRET}\""),
    );
    assert!(!err.contains(DUO_SECRET), "{err}");
}

#[test]
fn secrets_from_files_lose_a_trailing_newline() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("skey"), format!("{DUO_SECRET}\n")).unwrap();
    let text = EXAMPLE.replace(
        "secret_key = { env = \"P1DUO_DUO_SECRET_KEY\" }",
        "secret_key = { file = \"skey\" }",
    );
    let c = Config::from_str_at(&text, &dir.path().join("p1duo.toml"), &env).unwrap();
    assert_eq!(c.duo.secret_key.expose_secret(), DUO_SECRET);
}

#[test]
fn secrets_come_from_systemd_credentials() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("duo-secret-key"), DUO_SECRET).unwrap();
    let text = EXAMPLE.replace(
        "secret_key = { env = \"P1DUO_DUO_SECRET_KEY\" }",
        "secret_key = { credential = \"duo-secret-key\" }",
    );
    let creds = dir.path().to_string_lossy().into_owned();
    let with_dir = |n: &str| {
        if n == "CREDENTIALS_DIRECTORY" {
            Some(creds.clone())
        } else {
            env(n)
        }
    };
    let c = Config::from_str_at(&text, &dir.path().join("p1duo.toml"), &with_dir).unwrap();
    assert_eq!(c.duo.secret_key.expose_secret(), DUO_SECRET);
    // Outside systemd the message says what to use instead.
    let e = Config::from_str_at(&text, &dir.path().join("p1duo.toml"), &env)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("duo.secret_key") && e.contains("LoadCredential"),
        "{e}"
    );
}

#[test]
fn off_rate_limits_and_loopback_urls_are_accepted() {
    let text = EXAMPLE
        .replace(
            "# rate_limit = { requests_per_second = 30 }",
            "rate_limit = \"off\"",
        )
        .replace(
            "# rate_limit = { writes_per_minute",
            "rate_limit = \"off\"\n# x",
        )
        .replace(
            "api_host = \"api-xxxxxxxx.duosecurity.com\"",
            "api_host = \"http://127.0.0.1:8080\"",
        )
        .replace(
            "# api_url = \"https://api.pingone.com/v1\"",
            "api_url = \"http://127.0.0.1:9000/v1/\"",
        );
    let c = load(&text).unwrap();
    assert_eq!(c.pingone.requests_per_second, None);
    assert_eq!(c.duo.rate_limit, None);
    assert_eq!(c.duo.api_host, "http://127.0.0.1:8080");
    assert_eq!(c.pingone.api_url, "http://127.0.0.1:9000/v1");
}
