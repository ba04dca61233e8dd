//! Bad input: a corpus of malformed and hostile PingOne records, one row each.
//! Every bad record fails alone, with a message naming the user (or group), the
//! attribute and the rule it breaks; every other record, odd but valid ones
//! (emoji, right-to-left text, quotes, SQL and HTML fragments) included, syncs.

use crate::support::{Env, inbound_rule};
use agent::Outcome;
use serde_json::{Value, json};

/// The rule reads hostile values from custom attributes (`duo*`), which the
/// PingOne simulator stores unvalidated, falling back to the real ones.
const RULE: &str = r#"[[rules]]
name = "r"
direction = "outbound"
[rules.scope]
populations = ["Workforce"]
[rules.actions]
deprovision = true
[rules.groups]
push = ["Engineering", "HUGE_GROUP_NAME", "Bell\u0007Group", "Hundred"]
[rules.mapping]
username = "coalesce(duoUsername, username)"
email = "duoEmail"
phones = "coalesce(duoPhone, primaryPhone)"
enabled = "coalesce(duoEnabled, enabled)"
realname = "coalesce(duoName, name.given)"
notes = "duoNotes"
userType = "coalesce(type, \"user\")"
"#;

/// A PingOne user whose Duo email comes from `duoEmail` (set unless `extra` overrides it).
fn user(env: &Env, name: &str, extra: Value) -> String {
    let mut e = json!({ "duoEmail": format!("{name}@example.com") });
    for (k, v) in extra.as_object().unwrap() {
        e[k] = v.clone();
    }
    env.p1_user(name, &env.workforce, e)
}

/// (PingOne username, extra attributes, what the message must mention).
fn bad_rows() -> Vec<(&'static str, Value, &'static str)> {
    let long = |n: usize| "x".repeat(n);
    vec![
        ("ut-superuser", json!({ "type": "superuser" }), "userType"),
        ("ut-caps", json!({ "type": "ADMIN" }), "userType"),
        ("ut-space", json!({ "type": "admin " }), "userType"),
        ("ut-number", json!({ "type": "42" }), "userType"),
        ("ut-emoji", json!({ "type": "👑" }), "userType"),
        ("ph-words", json!({ "duoPhone": "call me maybe" }), "phones"),
        ("ph-short", json!({ "duoPhone": "12" }), "phones"),
        (
            "ph-nanp",
            json!({ "duoPhone": "+1 123 456 7890" }),
            "phones",
        ),
        (
            "ph-letters",
            json!({ "duoPhone": "555-CALL-NOW" }),
            "phones",
        ),
        (
            "ph-country",
            json!({ "duoPhone": "+999 1234 5678" }),
            "phones",
        ),
        (
            "ph-truncated",
            json!({ "duoPhone": "+1 734 555 121" }),
            "phones",
        ),
        ("nm-5000", json!({ "duoName": long(5000) }), "realname"),
        ("nm-256", json!({ "duoName": long(256) }), "realname"),
        ("nm-bell", json!({ "duoName": "Bob\u{7}Bell" }), "realname"),
        (
            "nm-bidi",
            json!({ "duoName": "Eve\u{202E}live" }),
            "realname",
        ),
        (
            "nm-zero-width",
            json!({ "duoName": "Zero\u{200B}Width" }),
            "realname",
        ),
        ("nm-newline", json!({ "duoName": "Two\nLines" }), "realname"),
        ("un-300", json!({ "duoUsername": long(300) }), "username"),
        ("un-tab", json!({ "duoUsername": "tab\tname" }), "username"),
        (
            "un-newline",
            json!({ "duoUsername": "line\nbreak" }),
            "username",
        ),
        (
            "un-invisible",
            json!({ "duoUsername": "\u{200B}ghost" }),
            "username",
        ),
        (
            "un-escape",
            json!({ "duoUsername": "esc\u{1b}[31mred" }),
            "username",
        ),
        ("em-plain", json!({ "duoEmail": "not-an-email" }), "email"),
        (
            "em-double-at",
            json!({ "duoEmail": "two@@example.com" }),
            "email",
        ),
        (
            "em-space",
            json!({ "duoEmail": "space in@example.com" }),
            "email",
        ),
        (
            "em-long",
            json!({ "duoEmail": format!("{}@example.com", long(300)) }),
            "email",
        ),
        ("em-no-domain", json!({ "duoEmail": "nobody@" }), "email"),
        ("en-maybe", json!({ "duoEnabled": "maybe" }), "enabled"),
        ("en-number", json!({ "duoEnabled": "2" }), "enabled"),
        ("nt-2000", json!({ "duoNotes": long(2000) }), "notes"),
        ("nt-control", json!({ "duoNotes": "a\u{0}b" }), "notes"),
    ]
}

/// Odd but valid: each must sync exactly.
fn odd_rows() -> Vec<(&'static str, Value)> {
    vec![
        ("ok-emoji", json!({ "duoName": "Smile 😀 Face" })),
        ("ok-cjk", json!({ "duoName": "山田 太郎" })),
        ("ok-rtl", json!({ "duoName": "مرحبا بالعالم" })),
        ("ok-quotes", json!({ "duoName": "O'Brien \"Bob\"" })),
        (
            "ok-sql",
            json!({ "duoName": "Robert'); DROP TABLE users;--" }),
        ),
        ("ok-html", json!({ "duoName": "<script>alert(1)</script>" })),
        ("ok-255", json!({ "duoName": "y".repeat(255) })),
        ("ok-percent", json!({ "duoName": "100% & +plus= ?q#frag" })),
        ("ok-phone-dots", json!({ "duoPhone": "734.555.1212" })),
        ("ok-admin", json!({ "type": "admin" })),
        ("ok-no-email", json!({ "duoEmail": null })),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_bad_record_fails_alone_naming_user_attribute_and_rule_and_the_rest_sync() {
    let env = Env::new().await;
    // The custom attributes the mapping reads, declared in PingOne's schema.
    for a in [
        "duoUsername",
        "duoEmail",
        "duoPhone",
        "duoName",
        "duoNotes",
        "duoEnabled",
    ] {
        env.sims.p1.declare_attribute(a);
    }
    let mut bad = bad_rows();
    let odd = odd_rows();
    for (name, extra, _) in &bad {
        user(&env, name, extra.clone());
    }
    for (name, extra) in &odd {
        user(&env, name, extra.clone());
    }
    // An admin without an email: Duo requires one for administrators.
    user(
        &env,
        "ad-no-email",
        json!({ "type": "admin", "duoEmail": null }),
    );
    bad.push(("ad-no-email", json!({}), "email"));
    // Two users whose Duo usernames differ only in case: Duo compares ignoring
    // case. (PingOne's own usernames are case-insensitive too, so the second
    // gets its Duo username from `duoUsername`.)
    user(&env, "Casey", json!({}));
    user(&env, "casey.2", json!({ "duoUsername": "casey" }));
    // Plain users, and one in 101 pushed groups (Duo allows 100 per user).
    let mut good = Vec::new();
    for i in 0..10 {
        good.push(user(&env, &format!("plain{i}"), json!({})));
    }
    let many = user(&env, "member-of-101", json!({}));
    let hundred = env
        .sims
        .p1
        .create_group(json!({ "name": "Hundred" }))
        .unwrap();
    env.sims.p1.add_member(&many, &hundred).unwrap();
    let eng = env
        .sims
        .p1
        .create_group(json!({ "name": "Engineering" }))
        .unwrap();
    env.sims.p1.add_member(&good[0], &eng).unwrap();
    // Groups Duo-side rules reject: a 256-character name (PingOne allows 256), a control character.
    let huge = "G".repeat(256);
    let huge_id = env.sims.p1.create_group(json!({ "name": huge })).unwrap();
    env.sims.p1.add_member(&good[1], &huge_id).unwrap();
    let bell = env
        .sims
        .p1
        .create_group(json!({ "name": "Bell\u{7}Group" }))
        .unwrap();
    env.sims.p1.add_member(&good[2], &bell).unwrap();
    let mut push = vec!["\"Engineering\"".to_owned(), "\"Hundred\"".to_owned()];
    push.push(format!("\"{huge}\""));
    push.push("\"Bell\\u0007Group\"".to_owned());
    for i in 0..100 {
        let g = env
            .sims
            .p1
            .create_group(json!({ "name": format!("Many{i:03}") }))
            .unwrap();
        env.sims.p1.add_member(&many, &g).unwrap();
        push.push(format!("\"Many{i:03}\""));
    }
    let rule = RULE.replace(
        "push = [\"Engineering\", \"HUGE_GROUP_NAME\", \"Bell\\u0007Group\", \"Hundred\"]",
        &format!("push = [{}]", push.join(", ")),
    );
    let config = env.config(&rule);
    let r = &env.sync(&config).await[0];
    assert_eq!(r.outcome, Outcome::SomeFailed, "{r:?}");

    let mut lines = Vec::new();
    for (kind, name, status, msg) in &r.problems {
        lines.push(format!(
            "{status} {kind} {}: {msg}",
            name.chars().take(40).collect::<String>()
        ));
    }
    // Every bad user fails, once, with the attribute named.
    for (name, _, attr) in &bad {
        let hits: Vec<_> = r.problems.iter().filter(|p| &p.1 == name).collect();
        assert_eq!(hits.len(), 1, "{name}: {hits:?}\n{}", lines.join("\n"));
        let msg = &hits[0].3;
        assert!(
            msg.contains(attr),
            "{name}: message does not name {attr}: {msg}"
        );
        assert!(
            msg.contains(&format!("user \"{name}\"")),
            "{name}: message does not name the user: {msg}"
        );
        assert!(
            msg.contains("must") || msg.contains("is "),
            "{name}: message states no rule: {msg}"
        );
        assert!(env.duo_user(name).is_none(), "{name} reached Duo");
    }
    // The case clash: exactly one Casey in Duo, the other reported.
    assert_eq!(env.duo_users_named("casey"), 1);
    let clash = r
        .problems
        .iter()
        .find(|p| p.1.eq_ignore_ascii_case("casey") || p.1 == "casey.2")
        .unwrap_or_else(|| panic!("the losing Casey is reported:\n{}", lines.join("\n")));
    // Named by username, with the attribute, the rule and who holds the name.
    assert!(
        clash.3.contains("(rule \"r\"): attribute \"username\"")
            && (clash.3.contains("already taken by user \"Casey\"")
                || clash.3.contains("already taken by user \"casey\"")
                || clash.3.contains("already taken by user \"casey.2\"")),
        "{clash:?}"
    );
    // Everyone else is in Duo.
    for (name, _) in &odd {
        if *name == "ok-admin" {
            continue;
        }
        assert!(
            env.duo_user(name).is_some(),
            "{name} did not sync:\n{}",
            lines.join("\n")
        );
    }
    assert_eq!(
        env.duo_user("ok-sql").unwrap().realname,
        "Robert'); DROP TABLE users;--"
    );
    assert_eq!(env.duo_user("ok-emoji").unwrap().realname, "Smile 😀 Face");
    for i in 0..10 {
        assert!(env.duo_user(&format!("plain{i}")).is_some(), "plain{i}");
    }
    assert!(
        env.sims
            .duo
            .state()
            .admins
            .iter()
            .any(|a| a.email == "ok-admin@example.com"),
        "the valid admin synced"
    );
    // 101 groups: the user is in Duo with 100 of them, the 101st membership reported.
    let m = env.duo_user("member-of-101").expect("member-of-101 synced");
    assert_eq!(m.groups.len(), 100);
    // The message names the member by username, and Duo's limit.
    assert!(
        r.problems.iter().any(|p| p.0 == "group"
            && p.1.starts_with("Many")
            && p.3.contains("add_member of user \"member-of-101\" failed")
            && p.3.contains("one-to-many limit")),
        "the 101st membership is reported:\n{}",
        lines.join("\n")
    );
    // The rejected groups fail alone; their members still synced.
    assert!(
        r.problems
            .iter()
            .any(|p| p.0 == "group" && p.3.contains("\"GGGG") && p.3.contains("at most 255")),
        "{}",
        lines.join("\n")
    );
    assert!(
        r.problems
            .iter()
            .any(|p| p.0 == "group" && p.3.contains("Bell") && p.3.contains("control")),
        "{}",
        lines.join("\n")
    );
    assert!(env.duo_user("plain1").is_some() && env.duo_user("plain2").is_some());
    // What an operator reads for each bad user (`UPDATE_EXPECT=1` to refresh).
    let mut users: Vec<String> = r
        .problems
        .iter()
        .filter(|p| p.0 == "user" && p.3.starts_with("user \""))
        .map(|p| p.3.clone())
        .collect();
    users.sort();
    expect_test::expect![[r#"
        user "ad-no-email" (rule "r"): attribute "email": is required for a Duo administrator: map `email`, or give this user userType "user"
        user "casey" (rule "r"): attribute "username" = "casey": already taken by user "Casey" (usernames compare ignoring case); give each user its own username
        user "em-double-at" (rule "r"): attribute "email" = "two@@example.com": must be an email address such as name@example.com
        user "em-long" (rule "r"): attribute "email" = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…": must be at most 254 characters (found 312)
        user "em-no-domain" (rule "r"): attribute "email" = "nobody@": must be an email address such as name@example.com
        user "em-plain" (rule "r"): attribute "email" = "not-an-email": must be an email address such as name@example.com
        user "em-space" (rule "r"): attribute "email" = "space in@example.com": must be an email address such as name@example.com
        user "en-maybe" (rule "r"): attribute "enabled" = "maybe": must be true or false (it sets Duo status active or disabled)
        user "en-number" (rule "r"): attribute "enabled" = "2": must be true or false (it sets Duo status active or disabled)
        user "nm-256" (rule "r"): attribute "realname" = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…": must be at most 255 characters (found 256)
        user "nm-5000" (rule "r"): attribute "realname" = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…": must be at most 255 characters (found 5000)
        user "nm-bell" (rule "r"): attribute "realname" = "Bob\u0007Bell": must not contain control or invisible formatting characters (found U+0007 at character 4)
        user "nm-bidi" (rule "r"): attribute "realname" = "Eve\u202elive": must not contain control or invisible formatting characters (found U+202E at character 4)
        user "nm-newline" (rule "r"): attribute "realname" = "Two\nLines": must not contain control or invisible formatting characters (found U+000A at character 4)
        user "nm-zero-width" (rule "r"): attribute "realname" = "Zero\u200bWidth": must not contain control or invisible formatting characters (found U+200B at character 5)
        user "nt-2000" (rule "r"): attribute "notes" = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…": must be at most 1024 characters (found 2000)
        user "nt-control" (rule "r"): attribute "notes" = "a\u0000b": must not contain control or invisible formatting characters (found U+0000 at character 2)
        user "ph-country" (rule "r"): attribute "phones" = "+999 1234 5678": is not a phone number: write it in E.164 form such as +17345551212
        user "ph-letters" (rule "r"): attribute "phones" = "555-CALL-NOW": is not a valid phone number (no such number range, read with default region US): write it in E.164 form such as +17345551212
        user "ph-nanp" (rule "r"): attribute "phones" = "+1 123 456 7890": is not a valid phone number (no such number range): write it in E.164 form such as +17345551212
        user "ph-short" (rule "r"): attribute "phones" = "12": is not a phone number (read with default region US): write it in E.164 form such as +17345551212
        user "ph-truncated" (rule "r"): attribute "phones" = "+1 734 555 121": is not a valid phone number (no such number range): write it in E.164 form such as +17345551212
        user "ph-words" (rule "r"): attribute "phones" = "call me maybe": is not a phone number (read with default region US): write it in E.164 form such as +17345551212
        user "un-300" (rule "r"): attribute "username" = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…": must be at most 255 characters (found 300)
        user "un-escape" (rule "r"): attribute "username" = "esc\u001b[31mred": must not contain control or invisible formatting characters (found U+001B at character 4)
        user "un-invisible" (rule "r"): attribute "username" = "\u200bghost": must not contain control or invisible formatting characters (found U+200B at character 1)
        user "un-newline" (rule "r"): attribute "username" = "line\nbreak": must not contain control or invisible formatting characters (found U+000A at character 5)
        user "un-tab" (rule "r"): attribute "username" = "tab\tname": must not contain control or invisible formatting characters (found U+0009 at character 4)
        user "ut-caps" (rule "r"): attribute "userType" = "ADMIN": must be exactly "user" or "admin"; any other value fails this user's sync
        user "ut-emoji" (rule "r"): attribute "userType" = "👑": must be exactly "user" or "admin"; any other value fails this user's sync
        user "ut-number" (rule "r"): attribute "userType" = "42": must be exactly "user" or "admin"; any other value fails this user's sync
        user "ut-space" (rule "r"): attribute "userType" = "admin ": must be exactly "user" or "admin"; any other value fails this user's sync
        user "ut-superuser" (rule "r"): attribute "userType" = "superuser": must be exactly "user" or "admin"; any other value fails this user's sync
    "#]].assert_eq(&(users.join("\n") + "\n"));
    let total = bad.len() + 1 + 2 + 1;
    assert!(total >= 30 + 3, "corpus of {total} bad records");
    eprintln!("{}", lines.join("\n"));
}

/// A hostile name never reaches the terminal raw: no escape sequence, no
/// forged line, no reversed text in `sync`, `status` or `plan` output.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_names_are_escaped_on_the_terminal() {
    let env = Env::new().await;
    let hostile = "evil\u{1b}[2J\n  Users:  impacted 0, success 999\u{202e}";
    // PingOne refuses such a username; Duo, in its own store, may hold one.
    env.sims
        .duo
        .insert_user(hostile, &[("email", "evil@example.net")])
        .unwrap();
    let config = env.config(&inbound_rule("r", "Contractors", ""));
    let mut outputs = Vec::new();
    let mut out = Vec::new();
    agent::plan(&config, None, false, &mut out).await.unwrap();
    outputs.push(String::from_utf8(out).unwrap());
    let mut out = Vec::new();
    let opts = agent::SyncOptions::default();
    agent::sync(&config, &opts, &mut out).await.unwrap();
    outputs.push(String::from_utf8(out).unwrap());
    let mut out = Vec::new();
    agent::status(&config, false, &mut out).await.unwrap();
    outputs.push(String::from_utf8(out).unwrap());
    for text in &outputs {
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{202e}'),
            "{text:?}"
        );
        assert!(
            !text
                .lines()
                .any(|l| l.starts_with("  Users:  impacted 0, success 999")),
            "a forged line: {text}"
        );
    }
    assert!(
        outputs.iter().any(|t| t.contains("evil\\u{1b}[2J\\u{a}")),
        "the name is shown, escaped: {outputs:?}"
    );
}
