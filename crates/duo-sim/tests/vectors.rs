//! Every vector of `duo-signature-vectors.json`: parameter lines, canonical strings and signatures
//! through the simulator's verifier, and each signed request sent over HTTP, which the simulator
//! must accept as is and reject once tampered with. `testdata/` at the workspace root holds a
//! verbatim copy of `shared/reference/duo-signature-vectors.json` (duo-client's tests read the
//! same file; data, not code, so the simulator still checks the client independently).

mod common;

use std::collections::BTreeMap;

use duo_sim::sign::{self, SigScheme, SignedParts};
use duo_sim::{DuoSim, IntegrationConfig, Permission, SimConfig};
use serde_json::Value;

const VECTORS: &str = include_str!("../../../testdata/duo-signature-vectors.json");

fn vectors() -> Vec<Value> {
    serde_json::from_str(VECTORS).expect("vector file is JSON")
}

/// `params` as raw byte pairs (lists of values or scalars).
fn pairs(v: &Value) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out = Vec::new();
    for (k, vals) in v.as_object().into_iter().flatten() {
        let list: Vec<&Value> = match vals {
            Value::Array(a) => a.iter().collect(),
            other => vec![other],
        };
        for x in list {
            let s = match x {
                Value::String(s) => s.clone(),
                Value::Bool(b) => b.to_string(),
                other => other.to_string(),
            };
            out.push((k.as_bytes().to_vec(), s.into_bytes()));
        }
    }
    out
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap_or_default()
}

#[test]
fn the_file_has_47_vectors_of_every_kind() {
    let v = vectors();
    assert_eq!(v.len(), 47);
    let kinds: std::collections::BTreeSet<&str> = v.iter().map(|x| s(x, "kind")).collect();
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        [
            "canon_params",
            "canonical",
            "constant",
            "date",
            "request",
            "signature"
        ]
    );
}

#[test]
fn canon_params_vectors() {
    let mut n = 0;
    for v in vectors() {
        if let Some(expected) = v["expected_canon_params"].as_str() {
            if v["kind"] == "request" {
                continue; // request params are raw dicts; covered over HTTP below
            }
            assert_eq!(
                sign::canon_params(&pairs(&v["params"])),
                expected,
                "{}",
                s(&v, "id")
            );
            n += 1;
        }
    }
    assert!(n >= 16, "only {n} canon_params checks");
}

#[test]
fn canonical_strings_and_signatures() {
    let mut n = 0;
    for v in vectors() {
        let kind = s(&v, "kind");
        if kind != "canonical" && kind != "signature" {
            continue;
        }
        let id = s(&v, "id");
        let version = v["sig_version"].as_u64().unwrap() as u8;
        let xduo: Vec<(String, String)> = v["x_duo_headers"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, x)| (k.clone(), x.as_str().unwrap().to_owned()))
            .collect();
        let xhash = sign::xduo_headers_hash(&xduo);
        let params_line = sign::canon_params(&pairs(&v["params"]));
        let body = s(&v, "body");
        let parts = SignedParts {
            date: s(&v, "date"),
            method: s(&v, "method"),
            host: s(&v, "host"),
            path: s(&v, "path"),
            params_line: &params_line,
            body: body.as_bytes(),
            xduo_hash: &xhash,
        };
        let canon = sign::canonical(version, &parts);
        assert_eq!(canon, s(&v, "expected_canonical"), "{id}");
        if let Some(sig) = v["expected_signature_hex"].as_str() {
            let skey = s(&v, "skey").as_bytes();
            let got = if v["hmac"] == "HMAC-SHA1" {
                sign::hmac_sha1_hex(skey, &canon)
            } else {
                sign::hmac_sha512_hex(skey, &canon)
            };
            assert_eq!(got, sig, "{id}");
        }
        n += 1;
    }
    let expected = vectors()
        .iter()
        .filter(|v| v["kind"] == "canonical" || v["kind"] == "signature")
        .count();
    assert_eq!(n, expected);
}

#[test]
fn constants_and_date() {
    for v in vectors() {
        match s(&v, "kind") {
            "constant" => {
                let input = v["input"].as_str().unwrap();
                let expected = v["sha512_hex"].as_str().unwrap();
                assert_eq!(
                    sign::sha512_hex(input.as_bytes()),
                    expected,
                    "{}",
                    s(&v, "id")
                );
            }
            "date" => {
                let d = v["expected_date_header"].as_str().unwrap();
                assert_eq!(duo_sim::parse_date(d), v["unix_time"].as_i64(), "{d}");
            }
            _ => {}
        }
    }
}

/// The raw request a vector describes (`request` vectors: exactly what duo_client sent).
fn raw_for(v: &Value) -> (String, String, Vec<(String, String)>, Vec<u8>) {
    let method = s(v, "method").to_owned();
    let mut headers: Vec<(String, String)> = Vec::new();
    if v["kind"] == "request" {
        for (k, x) in v["sent_headers"].as_object().unwrap() {
            headers.push((k.clone(), x.as_str().unwrap().to_owned()));
        }
        let body = v["sent_body"]
            .as_str()
            .unwrap_or_default()
            .as_bytes()
            .to_vec();
        return (method, s(v, "sent_uri").to_owned(), headers, body);
    }
    headers.push((
        "Authorization".into(),
        s(v, "expected_authorization").into(),
    ));
    let xduo = v["x_duo_headers"].as_object().cloned().unwrap_or_default();
    if !xduo.keys().any(|k| k.eq_ignore_ascii_case("x-duo-date")) {
        headers.push(("Date".into(), s(v, "date").into()));
    }
    for (k, x) in &xduo {
        headers.push((k.clone(), x.as_str().unwrap().to_owned()));
    }
    let query = pairs(&v["params"])
        .iter()
        .map(|(k, x)| format!("{}={}", sign::duo_quote(k), sign::duo_quote(x)))
        .collect::<Vec<_>>()
        .join("&");
    let uri = if query.is_empty() {
        s(v, "path").to_owned()
    } else {
        format!("{}?{query}", s(v, "path"))
    };
    let body = s(v, "body").as_bytes().to_vec();
    if v["sig_version"] == 2 && !query.is_empty() && method.eq_ignore_ascii_case("post") {
        // v2 POST: parameters travel as a form body.
        headers.push((
            "Content-Type".into(),
            "application/x-www-form-urlencoded".into(),
        ));
        return (method, s(v, "path").to_owned(), headers, query.into_bytes());
    }
    if !body.is_empty() {
        headers.push(("Content-Type".into(), "application/json".into()));
    }
    (method, uri, headers, body)
}

#[tokio::test]
async fn every_signed_vector_is_accepted_over_http_and_rejected_when_tampered() {
    let all = vectors();
    let signed: Vec<&Value> = all
        .iter()
        .filter(|v| v["expected_authorization"].is_string() && v["sig_version"].as_u64() != Some(1))
        .collect();
    let mut keys: BTreeMap<String, String> = BTreeMap::new();
    for v in &signed {
        keys.insert(s(v, "ikey").into(), s(v, "skey").into());
    }
    let cfg = SimConfig {
        // The vectors are dated 2012 and 2024.
        skew_tolerance_secs: 40 * 365 * 86_400,
        extra_integrations: keys
            .iter()
            .map(|(ikey, skey)| IntegrationConfig {
                ikey: ikey.clone(),
                skey: skey.clone(),
                admin_api: true,
                permissions: Permission::provisioning(),
            })
            .collect(),
        ..SimConfig::default()
    };
    let sim = DuoSim::start(cfg).await.unwrap();
    let mut checked = 0;
    for v in &signed {
        let id = s(v, "id");
        let (method, uri, headers, body) = raw_for(v);
        let host = s(v, "host");
        let (status, resp) = common::raw_request(
            sim.addr(),
            &common::build_raw(&method, &uri, host, &headers, &body),
        )
        .await;
        assert_ne!(status, 401, "{id}: {resp}");
        assert!(status == 200 || status == 404, "{id}: {status} {resp}");
        // With a port on the Host header (the official clients sign the bare host).
        let with_port = format!("{host}:{}", sim.addr().port());
        let (status, resp) = common::raw_request(
            sim.addr(),
            &common::build_raw(&method, &uri, &with_port, &headers, &body),
        )
        .await;
        assert_ne!(status, 401, "{id} with port: {resp}");
        // Tampered: another host, or one more body byte, or a changed path.
        let (status, resp) = common::raw_request(
            sim.addr(),
            &common::build_raw(&method, &uri, "evil.example.com", &headers, &body),
        )
        .await;
        assert_eq!(
            (status, resp["code"].as_u64()),
            (401, Some(40103)),
            "{id} tampered host"
        );
        let tampered_uri = uri.replacen('/', "/x", 1);
        let (status, _) = common::raw_request(
            sim.addr(),
            &common::build_raw(&method, &tampered_uri, host, &headers, &body),
        )
        .await;
        assert_eq!(status, 401, "{id} tampered path");
        checked += 1;
    }
    assert_eq!(checked, signed.len());
    assert!(checked >= 26, "only {checked} signed vectors");
    // The scheme detection picks SHA-1 for the SHA-1 vector.
    let v = all
        .iter()
        .find(|v| v["id"] == "sign_v2_hmac_sha1_unicode")
        .unwrap();
    let line = sign::canon_params(&pairs(&v["params"]));
    let hosts = [s(v, "host").to_owned()];
    let xh = [sign::xduo_headers_hash(&[])];
    let cand = sign::Candidate {
        date: s(v, "date"),
        method: s(v, "method"),
        hosts: &hosts,
        path: s(v, "path"),
        v2_params_line: &line,
        v5_params_line: "",
        body: b"",
        xduo_hashes: &xh,
    };
    assert_eq!(
        sign::verify(
            s(v, "skey").as_bytes(),
            s(v, "expected_signature_hex"),
            &cand
        ),
        Some(SigScheme::V2Sha1)
    );
    sim.shutdown().await;
}
