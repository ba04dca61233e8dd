//! Duo request-signature verification (v2 with HMAC-SHA1 or HMAC-SHA512, v4, v5), written from the
//! reference independently of `duo-client` so the simulator catches the client's signing bugs.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha512};

/// Encodes bytes the way Duo's `canon_params` does: `quote(x, safe='~')`, uppercase hex.
pub fn duo_quote(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for &b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(char::from(b"0123456789ABCDEF"[(b >> 4) as usize]));
            out.push(char::from(b"0123456789ABCDEF"[(b & 15) as usize]));
        }
    }
    out
}

/// The canonical parameter line: encode keys and values, sort by encoded key then encoded value,
/// emit `key=value` per value, join with `&`.
pub fn canon_params(params: &[(Vec<u8>, Vec<u8>)]) -> String {
    let mut pairs: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (duo_quote(k), duo_quote(v)))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// Decodes an `application/x-www-form-urlencoded` string (or a query string) into raw byte pairs:
/// `+` is a space, `%XX` a byte. A segment without `=` is a key with an empty value.
pub fn parse_urlencoded(input: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    input
        .split(|&b| b == b'&')
        .filter(|seg| !seg.is_empty())
        .map(|seg| {
            let (k, v) = match seg.iter().position(|&b| b == b'=') {
                Some(i) => (&seg[..i], &seg[i + 1..]),
                None => (seg, &b""[..]),
            };
            (form_decode(k), form_decode(v))
        })
        .collect()
}

fn form_decode(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < s.len() => match (hex_val(s[i + 1]), hex_val(s[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    out
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Lowercase hex SHA-512 of `data`.
pub fn sha512_hex(data: &[u8]) -> String {
    hex::encode(Sha512::digest(data))
}

/// SHA-512 hex of the x-duo header blob: names lowercased and sorted, `name\0value\0...`.
pub fn xduo_headers_hash(headers: &[(String, String)]) -> String {
    let mut hs: Vec<(String, &str)> = headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.as_str()))
        .collect();
    hs.sort();
    let parts: Vec<&str> = hs.iter().flat_map(|(k, v)| [k.as_str(), *v]).collect();
    sha512_hex(parts.join("\0").as_bytes())
}

/// The pieces of a request that enter a canonical string.
#[derive(Debug, Clone)]
pub struct SignedParts<'a> {
    /// The date string exactly as sent (`X-Duo-Date` or `Date`).
    pub date: &'a str,
    /// The HTTP method (upper-cased when canonicalized).
    pub method: &'a str,
    /// The host as signed (lower-cased when canonicalized).
    pub host: &'a str,
    /// The raw request path, without the query.
    pub path: &'a str,
    /// The canonical params line.
    pub params_line: &'a str,
    /// The raw body bytes (hashed for v4/v5).
    pub body: &'a [u8],
    /// The hash of the x-duo header blob (v5).
    pub xduo_hash: &'a str,
}

/// Builds the canonical string for one signature version (1, 2, 4 or 5).
pub fn canonical(version: u8, p: &SignedParts<'_>) -> String {
    let method = p.method.to_ascii_uppercase();
    let host = p.host.to_ascii_lowercase();
    match version {
        1 => [method.as_str(), &host, p.path, p.params_line].join("\n"),
        2 => [p.date, &method, &host, p.path, p.params_line].join("\n"),
        4 => [
            p.date,
            &method,
            &host,
            p.path,
            p.params_line,
            &sha512_hex(p.body),
        ]
        .join("\n"),
        _ => [
            p.date,
            &method,
            &host,
            p.path,
            p.params_line,
            &sha512_hex(p.body),
            p.xduo_hash,
        ]
        .join("\n"),
    }
}

/// Hex HMAC-SHA512 of `canon` keyed with `skey`.
pub fn hmac_sha512_hex(skey: &[u8], canon: &str) -> String {
    let mut mac = Hmac::<Sha512>::new_from_slice(skey).expect("HMAC takes any key length");
    mac.update(canon.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Hex HMAC-SHA1 of `canon` keyed with `skey` (v2 for old integrations).
pub fn hmac_sha1_hex(skey: &[u8], canon: &str) -> String {
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(skey).expect("HMAC takes any key length");
    mac.update(canon.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Compares two strings in time independent of where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Which canonical form and HMAC matched a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum SigScheme {
    /// v2, HMAC-SHA1.
    V2Sha1,
    /// v2, HMAC-SHA512.
    V2Sha512,
    /// v4 (body hash), HMAC-SHA512.
    V4,
    /// v5 (body and x-duo header hashes), HMAC-SHA512.
    V5,
}

/// Candidate request data for verification; the verifier tries every version and host form.
#[derive(Debug, Clone)]
pub struct Candidate<'a> {
    /// Date string as sent.
    pub date: &'a str,
    /// Method as sent.
    pub method: &'a str,
    /// Host forms to try (with and without port).
    pub hosts: &'a [String],
    /// Raw path.
    pub path: &'a str,
    /// Canonical params line for v2 (query plus form body).
    pub v2_params_line: &'a str,
    /// Canonical params line for v4/v5 (query only when the body is JSON).
    pub v5_params_line: &'a str,
    /// Raw body.
    pub body: &'a [u8],
    /// x-duo header hashes to try for v5 (all sent x-duo headers, and none).
    pub xduo_hashes: &'a [String],
}

/// Returns the scheme whose signature matches `sig_hex`, or `None`.
pub fn verify(skey: &[u8], sig_hex: &str, c: &Candidate<'_>) -> Option<SigScheme> {
    let sig = sig_hex.to_ascii_lowercase();
    let sig = sig.as_bytes();
    for host in c.hosts {
        let base = SignedParts {
            date: c.date,
            method: c.method,
            host,
            path: c.path,
            params_line: c.v2_params_line,
            body: c.body,
            xduo_hash: "",
        };
        let v2 = canonical(2, &base);
        if sig.len() == 40 {
            if constant_time_eq(hmac_sha1_hex(skey, &v2).as_bytes(), sig) {
                return Some(SigScheme::V2Sha1);
            }
            continue;
        }
        if constant_time_eq(hmac_sha512_hex(skey, &v2).as_bytes(), sig) {
            return Some(SigScheme::V2Sha512);
        }
        let p5 = SignedParts {
            params_line: c.v5_params_line,
            ..base
        };
        if constant_time_eq(hmac_sha512_hex(skey, &canonical(4, &p5)).as_bytes(), sig) {
            return Some(SigScheme::V4);
        }
        for xh in c.xduo_hashes {
            let p = SignedParts {
                xduo_hash: xh,
                ..p5.clone()
            };
            if constant_time_eq(hmac_sha512_hex(skey, &canonical(5, &p)).as_bytes(), sig) {
                return Some(SigScheme::V5);
            }
        }
    }
    None
}
