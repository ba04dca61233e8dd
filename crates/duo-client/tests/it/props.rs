//! Property tests: canonicalization equals a direct model of the reference
//! rules (and duo-sim's independent implementation), and any parameter map
//! (unicode, reserved characters, repeated keys, empty values) signed by the
//! client verifies in duo-sim, in the query (GET) and in a JSON body (POST).

use std::collections::BTreeMap;

use duo_client::canon::canon_params;
use duo_client::{DuoError, EndpointClass, Idempotency, Method, Params};
use duo_sim::SimConfig;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

/// Python's `quote(s, safe='~')` over UTF-8 bytes, written out directly.
fn model_quote(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// `canon_params` as the reference states it: a dict key → values, sorted by
/// encoded key, each key's values sorted by encoded value.
fn model_canon(pairs: &[(String, String)]) -> String {
    let mut by_key: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, v) in pairs {
        by_key
            .entry(model_quote(k))
            .or_default()
            .push(model_quote(v));
    }
    let mut out = Vec::new();
    for (k, mut vals) in by_key {
        vals.sort();
        for v in vals {
            out.push(format!("{k}={v}"));
        }
    }
    out.join("&")
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9_]{1,8}",
        "[ !\"#$%&'()*+,/:;<=>?@\\[\\]^`{|}~.-]{1,5}",
        "\\PC{1,6}",
        "[\\t\\n\\r\u{7f}ëüß€😀{Z~]{1,4}",
    ]
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![Just(String::new()), text()]
}

/// 0–8 pairs whose keys come from a pool of 1–4, so keys repeat.
fn param_pairs() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec(text(), 1..=4).prop_flat_map(|pool| {
        let n = pool.len();
        prop::collection::vec((0..n, value()), 0..=8).prop_map(move |picks| {
            picks
                .into_iter()
                .map(|(i, v)| (pool[i].clone(), v))
                .collect()
        })
    })
}

proptest! {
    #[test]
    fn canonicalization_matches_the_reference_rules(pairs in param_pairs()) {
        let params: Params = pairs.iter().cloned().collect();
        let ours = canon_params(&params);
        prop_assert_eq!(&ours, &model_canon(&pairs));
        let bytes: Vec<(Vec<u8>, Vec<u8>)> =
            pairs.iter().map(|(k, v)| (k.clone().into_bytes(), v.clone().into_bytes())).collect();
        prop_assert_eq!(&ours, &duo_sim::sign::canon_params(&bytes), "duo-sim's own canonicalization agrees");
    }

    #[test]
    fn insertion_order_does_not_change_the_canonical_line(mut pairs in param_pairs()) {
        let before = canon_params(&pairs.iter().cloned().collect());
        pairs.reverse();
        prop_assert_eq!(before, canon_params(&pairs.iter().cloned().collect()));
    }
}

fn is_auth_failure(e: &DuoError) -> bool {
    matches!(
        e,
        DuoError::InvalidSignature { .. } | DuoError::InvalidIntegrationKey { .. }
    ) || e.status() == Some(401)
}

#[test]
fn any_parameter_map_signed_by_the_client_verifies_in_duo_sim() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (sim, duo) = rt.block_on(crate::sim::start_with(SimConfig::default()));
    let group = sim.insert_group("target", &[]).unwrap();
    let post_path = format!("/admin/v1/groups/{}", group.group_id);

    let mut runner = TestRunner::new(Config {
        failure_persistence: None,
        ..Config::default()
    });
    let outcome = runner.run(&param_pairs(), |pairs| {
        let params: Params = pairs.iter().cloned().collect();
        for (method, path) in [
            (Method::GET, "/admin/v1/info/summary"),
            (Method::POST, post_path.as_str()),
        ] {
            let result = rt.block_on(duo.raw_call_with(
                method.clone(),
                path,
                &params,
                EndpointClass::Read,
                Idempotency::Idempotent,
            ));
            if let Err(e) = result
                && is_auth_failure(&e)
            {
                return Err(TestCaseError::fail(format!(
                    "{method} {path} with {pairs:?} was rejected: {e}"
                )));
            }
        }
        Ok(())
    });
    rt.block_on(sim.shutdown());
    if let Err(e) = outcome {
        panic!("{e}");
    }
}
