//! Duo request signing: canonical strings (v1, v2, v4, v5), HMAC, the
//! `Authorization` value, the `Date` string, and the JSON body encoding of
//! Duo's Python client.
//!
//! Everything here is pure so every vector in
//! `duo-signature-vectors.json` can check it directly.

use base64::Engine as _;
use hmac::{KeyInit, Mac};
use sha2::{Digest, Sha512};
use time::OffsetDateTime;

use crate::canon::{Params, canon_params};

/// Which canonical string to build.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Canon {
    /// Legacy v1 (no date line). Only for the reference vector; never sent.
    V1,
    /// v2: date, method, host, path, params.
    V2,
    /// v4: v2 plus the SHA-512 of the body.
    V4,
    /// v5: v4 plus the SHA-512 of the signed `X-Duo-*` headers.
    V5,
}

/// The HMAC digest of the signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Digest512Or1 {
    /// HMAC-SHA512 (every current Duo client).
    Sha512,
    /// HMAC-SHA1 (old v2 integrations).
    Sha1,
}

/// Inputs of one canonical string.
#[derive(Clone, Copy, Debug)]
pub struct CanonInput<'a> {
    /// The exact `Date` header string.
    pub date: &'a str,
    /// HTTP method in any case; it is upper-cased.
    pub method: &'a str,
    /// API host in any case, without a port; it is lower-cased.
    pub host: &'a str,
    /// The URI path as sent (escapes applied, no query).
    pub path: &'a str,
    /// Parameters that feed the params line (empty for v5 JSON bodies).
    pub params: &'a Params,
    /// The exact body bytes sent (empty for GET/DELETE).
    pub body: &'a [u8],
    /// Additional `X-Duo-*` headers signed under v5.
    pub x_duo_headers: &'a [(&'a str, &'a str)],
}

/// Lower-case hex SHA-512 of `data`.
pub fn sha512_hex(data: &[u8]) -> String {
    hex::encode(Sha512::digest(data))
}

/// SHA-512 hex of the `X-Duo-*` header blob: names lower-cased, pairs sorted
/// by name, `[name, value, ...]` joined with NUL.
pub fn x_duo_headers_hash(headers: &[(&str, &str)]) -> String {
    let mut lowered: Vec<(String, &str)> = headers
        .iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), *v))
        .collect();
    lowered.sort();
    let mut blob = Vec::new();
    for (i, (name, value)) in lowered.iter().enumerate() {
        if i > 0 {
            blob.push(0);
        }
        blob.extend_from_slice(name.as_bytes());
        blob.push(0);
        blob.extend_from_slice(value.as_bytes());
    }
    sha512_hex(&blob)
}

/// Builds the canonical string Duo signs, lines joined by `\n`.
pub fn canonicalize(version: Canon, input: &CanonInput<'_>) -> String {
    let method = input.method.to_ascii_uppercase();
    let host = input.host.to_lowercase();
    let params = canon_params(input.params);
    let mut lines: Vec<String> = Vec::with_capacity(7);
    if version != Canon::V1 {
        lines.push(input.date.to_owned());
    }
    lines.push(method);
    lines.push(host);
    lines.push(input.path.to_owned());
    lines.push(params);
    if matches!(version, Canon::V4 | Canon::V5) {
        lines.push(sha512_hex(input.body));
    }
    if version == Canon::V5 {
        lines.push(x_duo_headers_hash(input.x_duo_headers));
    }
    lines.join("\n")
}

/// Lower-case hex HMAC of `canonical`, keyed with the secret key.
pub fn hmac_hex(digest: Digest512Or1, skey: &str, canonical: &str) -> String {
    match digest {
        Digest512Or1::Sha512 => {
            let mut mac = hmac::Hmac::<Sha512>::new_from_slice(skey.as_bytes())
                .expect("HMAC takes any key length");
            mac.update(canonical.as_bytes());
            hex::encode(mac.finalize().into_bytes())
        }
        Digest512Or1::Sha1 => {
            let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(skey.as_bytes())
                .expect("HMAC takes any key length");
            mac.update(canonical.as_bytes());
            hex::encode(mac.finalize().into_bytes())
        }
    }
}

/// `Basic base64(ikey:signature)`.
pub fn authorization(ikey: &str, signature_hex: &str) -> String {
    let raw = format!("{ikey}:{signature_hex}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// The `Date` string as Python's `email.utils.formatdate()` writes it:
/// `Fri, 07 Dec 2012 17:18:00 -0000`.
pub fn format_date(unix_seconds: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp(unix_seconds).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!(
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} -0000",
        WEEKDAYS[t.weekday().number_days_from_monday() as usize],
        t.day(),
        MONTHS[t.month() as usize - 1],
        t.year(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// The `Date` string for now (wall clock, UTC).
pub fn date_now() -> String {
    format_date(OffsetDateTime::now_utc().unix_timestamp())
}

/// The JSON body exactly as Duo's Python client writes it:
/// `json.dumps(params, sort_keys=True, separators=(',', ':'))` with
/// `ensure_ascii`. A key given once becomes a string, a repeated key an array.
pub fn json_body(params: &Params) -> String {
    let mut keys: Vec<&str> = params.iter().map(|(k, _)| k).collect();
    keys.sort_unstable();
    keys.dedup();
    let mut out = String::from("{");
    for (i, key) in keys.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_json_string(&mut out, key);
        out.push(':');
        let values: Vec<&str> = params
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v)
            .collect();
        if let [single] = values.as_slice() {
            push_json_string(&mut out, single);
        } else {
            out.push('[');
            for (j, v) in values.iter().enumerate() {
                if j > 0 {
                    out.push(',');
                }
                push_json_string(&mut out, v);
            }
            out.push(']');
        }
    }
    out.push('}');
    out
}

/// Writes `s` as a JSON string with Python's `ensure_ascii` escaping
/// (lower-case `\uXXXX`, surrogate pairs above the BMP).
fn push_json_string(out: &mut String, s: &str) {
    use std::fmt::Write as _;
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if !(' '..='~').contains(&c) => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_body_matches_python_ensure_ascii() {
        let p: Params = [
            ("b", "Zoë"),
            ("a", "x\"y\\z\n"),
            ("c", "😀"),
            ("d", "\u{7f}"),
        ]
        .into_iter()
        .collect();
        assert_eq!(
            json_body(&p),
            r#"{"a":"x\"y\\z\n","b":"Zo\u00eb","c":"\ud83d\ude00","d":"\u007f"}"#
        );
    }

    #[test]
    fn json_body_of_nothing_is_empty_object() {
        assert_eq!(json_body(&Params::new()), "{}");
    }

    #[test]
    fn repeated_key_becomes_array_in_json() {
        let p: Params = [("k", "1"), ("k", "2")].into_iter().collect();
        assert_eq!(json_body(&p), r#"{"k":["1","2"]}"#);
    }
}
