//! Test helpers: a tiny Duo request signer written from the reference (independent of the
//! simulator's verifier), a signed HTTP caller, and a raw HTTP/1.1 sender for exact bytes.

#![allow(dead_code)]

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::{Digest, Sha512};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub const IKEY: &str = "DIXXXXXXXXXXXXXXXXXX";
pub const SKEY: &str = "deadbeefdeadbeefdeadbeefdeadbeefdeadbeef";

/// `quote(x, safe='~')`.
pub fn quote(s: &str) -> String {
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

pub fn canon(params: &[(&str, &str)]) -> String {
    let mut v: Vec<(String, String)> = params.iter().map(|(k, x)| (quote(k), quote(x))).collect();
    v.sort();
    v.iter()
        .map(|(k, x)| format!("{k}={x}"))
        .collect::<Vec<_>>()
        .join("&")
}

pub fn sha512_hex(b: &[u8]) -> String {
    hex::encode(Sha512::digest(b))
}

pub fn now_date() -> String {
    date_at(time::OffsetDateTime::now_utc())
}

pub fn date_at(t: time::OffsetDateTime) -> String {
    let f = time::format_description::parse_borrowed::<2>(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] -0000",
    )
    .unwrap();
    t.format(&f).unwrap()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sig {
    V5,
    V2Sha512,
    V2Sha1,
}

/// A signed caller for one simulator.
#[derive(Clone)]
pub struct Caller {
    pub base: String,
    pub host: String,
    pub ikey: String,
    pub skey: String,
    pub sig: Sig,
    pub date: Option<String>,
    pub http: reqwest::Client,
}

impl Caller {
    pub fn new(base: &str) -> Self {
        Caller {
            base: base.to_owned(),
            host: "127.0.0.1".into(),
            ikey: IKEY.into(),
            skey: SKEY.into(),
            sig: Sig::V5,
            date: None,
            http: reqwest::Client::new(),
        }
    }

    pub fn with(&self, sig: Sig) -> Self {
        Caller {
            sig,
            ..self.clone()
        }
    }

    /// Sends a signed call; returns status and JSON body (Null when not JSON).
    pub async fn call(&self, method: &str, path: &str, params: &[(&str, &str)]) -> (u16, Value) {
        let r = self.send(method, path, params).await.expect("request sent");
        let status = r.status().as_u16();
        let body = r.bytes().await.unwrap_or_default();
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    pub async fn send(
        &self,
        method: &str,
        path: &str,
        params: &[(&str, &str)],
    ) -> reqwest::Result<reqwest::Response> {
        let date = self.date.clone().unwrap_or_else(now_date);
        let has_body = matches!(method, "POST" | "PUT" | "PATCH");
        let wire: String = params
            .iter()
            .map(|(k, v)| format!("{}={}", quote(k), quote(v)))
            .collect::<Vec<_>>()
            .join("&");
        let (canon_str, body, ctype, url) = match self.sig {
            Sig::V5 => {
                if has_body {
                    let mut obj = serde_json::Map::new();
                    for (k, v) in params {
                        obj.insert((*k).into(), Value::String((*v).into()));
                    }
                    let body = serde_json::to_vec(&obj).unwrap();
                    let c = [
                        &date,
                        method,
                        &self.host,
                        path,
                        "",
                        &sha512_hex(&body),
                        &sha512_hex(b""),
                    ]
                    .join("\n");
                    (
                        c,
                        body,
                        Some("application/json"),
                        format!("{}{}", self.base, path),
                    )
                } else {
                    let c = [
                        &date,
                        method,
                        &self.host,
                        path,
                        &canon(params),
                        &sha512_hex(b""),
                        &sha512_hex(b""),
                    ]
                    .join("\n");
                    (
                        c,
                        Vec::new(),
                        None,
                        format!("{}{}?{}", self.base, path, wire),
                    )
                }
            }
            Sig::V2Sha512 | Sig::V2Sha1 => {
                let c = [&date, method, &self.host, path, &canon(params)].join("\n");
                if has_body {
                    (
                        c,
                        wire.into_bytes(),
                        Some("application/x-www-form-urlencoded"),
                        format!("{}{}", self.base, path),
                    )
                } else {
                    (
                        c,
                        Vec::new(),
                        None,
                        format!("{}{}?{}", self.base, path, wire),
                    )
                }
            }
        };
        let sig = match self.sig {
            Sig::V2Sha1 => {
                let mut m = Hmac::<sha1::Sha1>::new_from_slice(self.skey.as_bytes()).unwrap();
                m.update(canon_str.as_bytes());
                hex::encode(m.finalize().into_bytes())
            }
            _ => {
                let mut m = Hmac::<Sha512>::new_from_slice(self.skey.as_bytes()).unwrap();
                m.update(canon_str.as_bytes());
                hex::encode(m.finalize().into_bytes())
            }
        };
        let auth = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", self.ikey, sig))
        );
        let mut req = self
            .http
            .request(method.parse().unwrap(), url)
            .header("Authorization", auth)
            .header("Date", date);
        if let Some(ct) = ctype {
            req = req.header("Content-Type", ct).body(body);
        }
        req.send().await
    }

    /// Lists every page of a paged endpoint; returns all items and the number of pages.
    pub async fn list_all(&self, path: &str, limit: usize) -> (Vec<Value>, usize) {
        let mut items = Vec::new();
        let mut offset = 0usize;
        let mut pages = 0;
        loop {
            let (limit_s, offset_s) = (limit.to_string(), offset.to_string());
            let (status, body) = self
                .call("GET", path, &[("limit", &limit_s), ("offset", &offset_s)])
                .await;
            assert_eq!(status, 200, "{body}");
            pages += 1;
            items.extend(body["response"].as_array().unwrap().iter().cloned());
            match body["metadata"]["next_offset"].as_u64() {
                Some(n) => offset = n as usize,
                None => break,
            }
        }
        (items, pages)
    }
}

/// Sends raw bytes as one HTTP/1.1 request and returns the status and body.
pub async fn raw_request(addr: std::net::SocketAddr, req: &[u8]) -> (u16, Value) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(req).await.unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8_lossy(&buf);
    let status: u16 = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

/// Builds a raw request with `Connection: close`.
pub fn build_raw(
    method: &str,
    uri: &str,
    host: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Vec<u8> {
    let mut out = format!("{method} {uri} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}
