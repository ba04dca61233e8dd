//! Enrollment emails (`[rules.enroll]`): a new user gets exactly one, and at
//! most one reminder; a user without an email gets none and `plan` says why;
//! with enrollment off nothing is sent. duo-sim records every email.

use crate::support::{Env, outbound_rule};
use agent::Outcome;
use serde_json::json;

fn rule(enroll: &str) -> String {
    outbound_rule(
        "r",
        "deprovision = true",
        &format!("[rules.enroll]\n{enroll}"),
    )
}

fn sent(env: &Env) -> Vec<(String, String, i64)> {
    env.sims
        .duo
        .enrollments()
        .into_iter()
        .map(|e| (e.username, e.email, e.valid_secs))
        .collect()
}

async fn plan_text(config: &agent::Config) -> String {
    let mut out = Vec::new();
    agent::plan(config, None, false, &mut out).await.unwrap();
    String::from_utf8(out).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_user_gets_exactly_one_enrollment_email_and_one_without_email_gets_none() {
    let env = Env::new().await;
    env.p1_user("alice", &env.workforce, json!({}));
    // Under the sim's `email-required` variant PingOne has no user without one.
    let nomail = !std::env::var("P1DUO_SIM_VARIANT")
        .unwrap_or_default()
        .contains("email-required");
    if nomail {
        env.p1_user("nomail", &env.workforce, json!({ "email": null }));
    }
    let config = env.config(&rule("enabled = true\nvalid_secs = 86400"));
    let text = plan_text(&config).await;
    assert!(
        text.contains(
            r#"+ enroll user alice: enrollment email to "alice@example.com" (link valid 1 days)"#
        ),
        "{text}"
    );
    assert!(text.contains("1 enrollment emails to send."), "{text}");
    assert_eq!(
        text.contains(
            r#"note: no enrollment email for user "nomail": not enrolled but has no email"#
        ),
        nomail,
        "{text}"
    );
    for _ in 0..3 {
        let r = env.sync(&config).await;
        assert_eq!(r[0].outcome, Outcome::InStep, "{:?}", r[0]);
    }
    assert_eq!(
        sent(&env),
        [("alice".to_owned(), "alice@example.com".to_owned(), 86400)]
    );
    assert_eq!(
        env.duo_user("nomail").is_some(),
        nomail,
        "created, just not emailed"
    );
    // The next plan has nothing left to send.
    let text = plan_text(&config).await;
    assert!(!text.contains("+ enroll"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reminder_goes_once_after_remind_after_and_never_to_an_enrolled_user() {
    let env = Env::new().await;
    env.p1_user("alice", &env.workforce, json!({}));
    // bob enrolls (a phone in Duo makes him enrolled) before any reminder.
    env.p1_user(
        "bob",
        &env.workforce,
        json!({ "primaryPhone": "+1 734 555 1212" }),
    );
    let config = env.config(&rule("enabled = true\nremind_after = \"0s\""));
    env.sync(&config).await;
    // bob's phone is attached in the same plan, after the email.
    let first = sent(&env);
    assert_eq!(first.len(), 2, "{first:?}");
    assert!(
        first.iter().all(|e| e.2 == 2_592_000),
        "Duo's default validity: {first:?}"
    );
    let text = plan_text(&config).await;
    assert!(
        text.contains(r#"+ enroll user alice: enrollment reminder to "alice@example.com""#),
        "{text}"
    );
    assert!(!text.contains("enroll user bob"), "bob is enrolled: {text}");
    for _ in 0..3 {
        env.sync(&config).await;
    }
    let names: Vec<String> = sent(&env).into_iter().map(|e| e.0).collect();
    assert_eq!(
        names.iter().filter(|n| *n == "alice").count(),
        2,
        "{names:?}"
    );
    assert_eq!(names.iter().filter(|n| *n == "bob").count(), 1, "{names:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_reminder_before_remind_after_and_nothing_with_enroll_off() {
    let env = Env::new().await;
    env.p1_user("alice", &env.workforce, json!({}));
    let off = env.config(&rule("enabled = false"));
    env.sync(&off).await;
    env.sync(&off).await;
    assert!(sent(&env).is_empty(), "{:?}", sent(&env));
    assert!(!plan_text(&off).await.contains("enroll"));
    // Turned on later: the linked, unenrolled user gets one email, and no
    // reminder before a day has passed.
    let on = env.config(&rule("enabled = true\nremind_after = \"24h\""));
    for _ in 0..3 {
        env.sync(&on).await;
    }
    assert_eq!(sent(&env).len(), 1, "{:?}", sent(&env));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_whose_reply_was_lost_is_never_sent_again() {
    let env = Env::new().await;
    env.p1_user("alice", &env.workforce, json!({}));
    let config = env.config(&rule("enabled = true"));
    // Duo records the email but the reply never arrives: as a crash between
    // the send and its outcome, the journal holds a pending intent.
    env.sims.duo.drop_enroll_replies(1);
    let first = env.sync(&config).await;
    assert_ne!(first[0].outcome, Outcome::InStep, "{:?}", first[0]);
    assert_eq!(sent(&env).len(), 1);
    for _ in 0..3 {
        env.sync(&config).await;
    }
    assert_eq!(sent(&env).len(), 1, "sent twice: {:?}", sent(&env));
    assert!(!plan_text(&config).await.contains("+ enroll"));
}
