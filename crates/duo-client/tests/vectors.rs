//! Every vector of `duo-signature-vectors.json` (re-derived with Duo's
//! official Python client 5.7.0) checked against this crate: parameter
//! lines, canonical strings, signatures, whole requests, constants, dates.
//!
//! `testdata/duo-signature-vectors.json` (workspace root, shared with
//! duo-sim's tests) is a verbatim copy of
//! `shared/reference/duo-signature-vectors.json`, so a clean clone tests alone.

use std::sync::Arc;

use duo_client::sign::{self, Canon, CanonInput, Digest512Or1};
use duo_client::transport::{BoxFuture, HttpRequest, HttpResponse, Transport, TransportError};
use duo_client::{DuoClient, DuoConfig, Method, Params, RateLimits, SignatureVersion};
use serde_json::Value;

const VECTORS: &str = include_str!("../../../testdata/duo-signature-vectors.json");

/// `params` as key → list of values (a scalar is a one-element list).
fn params_of(v: &Value) -> Params {
    let mut p = Params::new();
    if let Some(obj) = v.get("params").and_then(Value::as_object) {
        for (k, vals) in obj {
            match vals {
                Value::Array(list) => {
                    for item in list {
                        p.push(k.as_str(), item.as_str().expect("string values"));
                    }
                }
                Value::String(s) => {
                    p.push(k.as_str(), s.as_str());
                }
                other => panic!("unexpected param value {other}"),
            }
        }
    }
    p
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn x_duo(v: &Value) -> Vec<(String, String)> {
    v.get("x_duo_headers")
        .and_then(Value::as_object)
        .map(|o| {
            o.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// A transport that never sends: `prepare` is all the request vectors need.
struct Never;
impl Transport for Never {
    fn send(&self, _: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, TransportError>> {
        Box::pin(async { unreachable!("vectors never send") })
    }
}

/// Decoded `k=v&…` pairs (form or query), sorted, for order-free comparison.
fn decoded_pairs(query: &str) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let dec = |x: &str| percent_decode(&x.replace('+', " "));
            (dec(k), dec(v))
        })
        .collect();
    pairs.sort();
    pairs
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).expect("hex escape"));
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).expect("utf-8")
}

fn check_signature(v: &Value) -> Result<(), String> {
    let version = match v["sig_version"].as_u64() {
        Some(2) => Canon::V2,
        Some(4) => Canon::V4,
        Some(5) => Canon::V5,
        other => return Err(format!("unexpected sig_version {other:?}")),
    };
    let digest = if s(v, "hmac") == "HMAC-SHA1" {
        Digest512Or1::Sha1
    } else {
        Digest512Or1::Sha512
    };
    let params = params_of(v);
    let headers = x_duo(v);
    let header_refs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    if let Some(expected) = v.get("x_duo_headers_sha512").and_then(Value::as_str) {
        let got = sign::x_duo_headers_hash(&header_refs);
        if got != expected {
            return Err(format!("x-duo header hash {got} != {expected}"));
        }
    }
    if let Some(expected) = v.get("body_sha512").and_then(Value::as_str)
        && let Some(body) = v.get("body").and_then(Value::as_str)
    {
        let got = sign::sha512_hex(body.as_bytes());
        if got != expected {
            return Err(format!("body hash {got} != {expected}"));
        }
    }
    let canonical = sign::canonicalize(
        version,
        &CanonInput {
            date: s(v, "date"),
            method: s(v, "method"),
            host: s(v, "host"),
            path: s(v, "path"),
            params: &params,
            body: s(v, "body").as_bytes(),
            x_duo_headers: &header_refs,
        },
    );
    if canonical != s(v, "expected_canonical") {
        return Err(format!(
            "canonical\n{canonical}\n!=\n{}",
            s(v, "expected_canonical")
        ));
    }
    let sig = sign::hmac_hex(digest, s(v, "skey"), &canonical);
    if sig != s(v, "expected_signature_hex") {
        return Err(format!(
            "signature {sig} != {}",
            s(v, "expected_signature_hex")
        ));
    }
    let auth = sign::authorization(s(v, "ikey"), &sig);
    if auth != s(v, "expected_authorization") {
        return Err(format!(
            "authorization {auth} != {}",
            s(v, "expected_authorization")
        ));
    }
    Ok(())
}

/// Builds the request through the client itself and compares what it would
/// send with what duo_client 5.7.0 sent.
fn check_request(v: &Value) -> Result<(), String> {
    let signature = match v["sig_version"].as_u64() {
        Some(5) => SignatureVersion::V5,
        Some(2) => SignatureVersion::V2Sha512,
        other => return Err(format!("unexpected sig_version {other:?}")),
    };
    let mut config = DuoConfig::new(s(v, "host"), s(v, "ikey"), s(v, "skey").to_owned().into());
    config.signature = signature;
    config.rate_limits = RateLimits::off();
    let client = DuoClient::with_transport(config, Arc::new(Never)).map_err(|e| e.to_string())?;
    let method = Method::from_bytes(s(v, "method").as_bytes()).map_err(|e| e.to_string())?;
    let params = params_of(v);
    let req = client.prepare(&method, s(v, "path"), &params, s(v, "date"));

    let sent = &v["sent_headers"];
    if req.header("Authorization") != sent.get("Authorization").and_then(Value::as_str) {
        return Err(format!(
            "Authorization differs (expected canonical:\n{})",
            s(v, "expected_canonical")
        ));
    }
    if req.header("Date") != Some(s(sent, "Date")) {
        return Err(format!(
            "Date {:?} != {}",
            req.header("Date"),
            s(sent, "Date")
        ));
    }
    if req.header("Content-Type") != sent.get("Content-type").and_then(Value::as_str) {
        return Err(format!(
            "Content-Type {:?} != {:?}",
            req.header("Content-Type"),
            sent.get("Content-type")
        ));
    }
    // URI: same path, same decoded query pairs (the order on the wire is free).
    let base = client.base_url();
    let uri = req
        .url
        .strip_prefix(base)
        .ok_or("url does not start with the base url")?;
    let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
    let sent_uri = s(v, "sent_uri");
    let (sent_path, sent_query) = sent_uri.split_once('?').unwrap_or((sent_uri, ""));
    if path != sent_path || decoded_pairs(query) != decoded_pairs(sent_query) {
        return Err(format!("uri {uri} != {sent_uri}"));
    }
    // Body: JSON bodies byte for byte (the hash covers them); form bodies by pairs.
    let body = req
        .body
        .as_deref()
        .map(|b| String::from_utf8_lossy(b).into_owned());
    match (body.as_deref(), v.get("sent_body").and_then(Value::as_str)) {
        (None, None) => {}
        (Some(got), Some(want)) if signature == SignatureVersion::V5 => {
            if got != want {
                return Err(format!("body {got} != {want}"));
            }
            if sign::sha512_hex(got.as_bytes()) != s(v, "body_sha512") {
                return Err("body hash differs".into());
            }
        }
        (Some(got), Some(want)) => {
            if decoded_pairs(got) != decoded_pairs(want) {
                return Err(format!("form body {got} != {want}"));
            }
        }
        (got, want) => return Err(format!("body {got:?} != {want:?}")),
    }
    if !s(v, "expected_canon_params").is_empty() || v.get("expected_canon_params").is_some() {
        let line = if signature == SignatureVersion::V5 && matches!(method, Method::POST) {
            String::new()
        } else {
            duo_client::canon::canon_params(&params)
        };
        if line != s(v, "expected_canon_params") {
            return Err(format!(
                "params line {line} != {}",
                s(v, "expected_canon_params")
            ));
        }
    }
    // The request vectors also carry the signature pieces: check them directly.
    check_signature(&with_body(v))
}

/// A request vector seen as a signature vector (body = what was sent).
fn with_body(v: &Value) -> Value {
    let mut v = v.clone();
    let is_v5_post = v["sig_version"] == 5 && s(&v, "method").eq_ignore_ascii_case("POST");
    if is_v5_post {
        v["body"] = v["sent_body"].clone();
        v["params"] = Value::Object(Default::default());
    } else {
        v["body"] = Value::String(String::new());
    }
    if v.get("expected_canonical").is_none() {
        // Two request vectors omit the canonical; rebuild it from the pieces.
        let params = if is_v5_post {
            Params::new()
        } else {
            params_of(&v)
        };
        let version = if v["sig_version"] == 5 {
            Canon::V5
        } else {
            Canon::V2
        };
        let canonical = sign::canonicalize(
            version,
            &CanonInput {
                date: s(&v, "date"),
                method: s(&v, "method"),
                host: s(&v, "host"),
                path: s(&v, "path"),
                params: &params,
                body: s(&v, "body").as_bytes(),
                x_duo_headers: &[],
            },
        );
        v["expected_canonical"] = Value::String(canonical);
    }
    v
}

fn check(v: &Value) -> Result<(), String> {
    match s(v, "kind") {
        "canon_params" => {
            let got = duo_client::canon::canon_params(&params_of(v));
            (got == s(v, "expected_canon_params"))
                .then_some(())
                .ok_or_else(|| format!("{got} != {}", s(v, "expected_canon_params")))
        }
        "canonical" => {
            let params = params_of(v);
            let got = sign::canonicalize(
                Canon::V1,
                &CanonInput {
                    date: "",
                    method: s(v, "method"),
                    host: s(v, "host"),
                    path: s(v, "path"),
                    params: &params,
                    body: b"",
                    x_duo_headers: &[],
                },
            );
            (got == s(v, "expected_canonical"))
                .then_some(())
                .ok_or_else(|| format!("{got} differs"))
        }
        "signature" => check_signature(v),
        "request" => check_request(v),
        "constant" => {
            let got = sign::sha512_hex(s(v, "input").as_bytes());
            (got == s(v, "sha512_hex"))
                .then_some(())
                .ok_or_else(|| format!("{got} != {}", s(v, "sha512_hex")))
        }
        "date" => {
            let got = sign::format_date(v["unix_time"].as_i64().expect("unix_time"));
            (got == s(v, "expected_date_header"))
                .then_some(())
                .ok_or_else(|| format!("{got} != {}", s(v, "expected_date_header")))
        }
        other => Err(format!("unknown kind {other}")),
    }
}

#[test]
fn every_signing_vector_holds() {
    let vectors: Vec<Value> = serde_json::from_str(VECTORS).expect("vectors parse");
    assert_eq!(vectors.len(), 47, "the reference file holds 47 vectors");
    let failures: Vec<String> = vectors
        .iter()
        .filter_map(|v| check(v).err().map(|e| format!("{}: {e}", s(v, "id"))))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} vectors fail:\n{}",
        failures.len(),
        vectors.len(),
        failures.join("\n\n")
    );
}

#[test]
fn a_changed_vector_is_caught() {
    // Guard against a checker that accepts anything.
    let vectors: Vec<Value> = serde_json::from_str(VECTORS).expect("vectors parse");
    for mut v in vectors {
        let key = match s(&v, "kind") {
            "canon_params" => "expected_canon_params",
            "canonical" => "expected_canonical",
            "signature" | "request" => "expected_signature_hex",
            "constant" => "sha512_hex",
            _ => "expected_date_header",
        };
        if s(&v, "kind") == "request" {
            v["sent_headers"]["Authorization"] = Value::String("Basic AAAA".into());
        } else {
            v[key] = Value::String(format!("{}x", s(&v, key)));
        }
        assert!(
            check(&v).is_err(),
            "tampered vector {} still passes",
            s(&v, "id")
        );
    }
}
