//! A tiny blocking HTTP/1.1 client over `std::net::TcpStream`, enough to talk
//! to the simulators' control endpoints and seed them, with no HTTP crate.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// One answer: status code and body text.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: String,
}

impl Reply {
    /// The body as JSON (panics with the body when it is not).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// Send one request to `base` (`http://127.0.0.1:PORT`) and read the answer.
pub fn request(
    base: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> std::io::Result<Reply> {
    let host = base
        .strip_prefix("http://")
        .unwrap_or(base)
        .trim_end_matches('/');
    let host = host.split('/').next().unwrap_or(host);
    let mut s = TcpStream::connect(host)?;
    // One write and no Nagle: a split request otherwise waits for a delayed ACK.
    s.set_nodelay(true)?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    let body = body.unwrap_or(&[]);
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    s.write_all(&bytes)?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    parse(&raw).ok_or_else(|| std::io::Error::other("unreadable HTTP answer"))
}

fn parse(raw: &[u8]) -> Option<Reply> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..split]).ok()?;
    let mut body = raw[split + 4..].to_vec();
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    let chunked = head.lines().any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    if chunked {
        body = dechunk(&body)?;
    }
    Some(Reply {
        status,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

fn dechunk(mut b: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = b.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&b[..eol]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        b = &b[eol + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(b.get(..size)?);
        b = b.get(size + 2..)?;
    }
}

/// `GET` returning JSON; panics on a transport error or a non-2xx answer.
pub fn get_json(base: &str, path: &str) -> serde_json::Value {
    let r =
        request(base, "GET", path, &[], None).unwrap_or_else(|e| panic!("GET {base}{path}: {e}"));
    assert!(
        (200..300).contains(&r.status),
        "GET {base}{path}: {} {}",
        r.status,
        r.body
    );
    r.json()
}

/// `PUT`/`POST` a JSON body; panics on a transport error or a non-2xx answer.
pub fn send_json(
    base: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &serde_json::Value,
) -> Reply {
    let text = body.to_string();
    let mut h = vec![("Content-Type", "application/json")];
    h.extend_from_slice(headers);
    let r = request(base, method, path, &h, Some(text.as_bytes()))
        .unwrap_or_else(|e| panic!("{method} {base}{path}: {e}"));
    assert!(
        (200..300).contains(&r.status),
        "{method} {base}{path}: {} {}",
        r.status,
        r.body
    );
    r
}
