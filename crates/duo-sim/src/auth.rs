//! Checks a request's credentials as Duo does: `Authorization: Basic ikey:sig`, the date header
//! within the skew window, and a signature of any accepted version over the request as received.

use base64::Engine as _;
use http::HeaderMap;

use crate::config::IntegrationConfig;
use crate::error::ApiError;
use crate::sign::{
    Candidate, SigScheme, canon_params, parse_urlencoded, verify, xduo_headers_hash,
};

/// A verified request: which integration and which scheme.
#[derive(Debug, Clone)]
pub struct Verified {
    /// Index into the simulator's integrations.
    pub integration: usize,
    /// The matching scheme.
    pub scheme: SigScheme,
}

/// Parses a signing date: RFC 2822 (`-0000`, `+0000`, `-0500`) or an HTTP date.
pub fn parse_date(s: &str) -> Option<i64> {
    use time::format_description::well_known::Rfc2822;
    // `time` rejects the "-0000" zone of RFC 2822's obsolete form; it means UTC.
    // A date without a zone (seen in Duo's own test vectors) is taken as UTC.
    let t = s.trim();
    let fixed = match t.strip_suffix("-0000") {
        Some(p) => Some(format!("{p}+0000")),
        None if t.len() == 25 && t.as_bytes()[22] == b':' => Some(format!("{t} +0000")),
        None => None,
    };
    let candidate = fixed.as_deref().unwrap_or(t);
    if let Ok(t) = time::OffsetDateTime::parse(candidate, &Rfc2822) {
        return Some(t.unix_timestamp());
    }
    httpdate::parse_http_date(s.trim())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs() as i64)
}

/// Whether the content type says the body is a form.
pub fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        })
}

/// Inputs to verification.
pub struct AuthInput<'a> {
    /// Request method.
    pub method: &'a str,
    /// Raw path (no query).
    pub path: &'a str,
    /// Raw query (without `?`).
    pub query: &'a str,
    /// Headers.
    pub headers: &'a HeaderMap,
    /// Raw body.
    pub body: &'a [u8],
    /// Simulator clock, Unix seconds.
    pub now: i64,
    /// Allowed skew, seconds.
    pub skew_tolerance: u64,
    /// Answer a stale date with 40105 "Bad request timestamp" instead of 40103 (a variant).
    pub skew_40105: bool,
}

/// Verifies `input` against the known integrations.
pub fn authenticate(
    input: &AuthInput<'_>,
    integrations: &[IntegrationConfig],
) -> Result<Verified, ApiError> {
    let h = input.headers;
    let auth = h
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(ApiError::missing_credentials)?;
    let b64 = auth
        .strip_prefix("Basic ")
        .or_else(|| auth.strip_prefix("basic "))
        .ok_or_else(ApiError::missing_credentials)?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(ApiError::missing_credentials)?;
    let (ikey, sig) = decoded
        .split_once(':')
        .ok_or_else(ApiError::missing_credentials)?;
    let (idx, integ) = integrations
        .iter()
        .enumerate()
        .find(|(_, i)| i.ikey == ikey)
        .ok_or_else(ApiError::bad_ikey)?;
    if !integ.admin_api {
        return Err(ApiError::bad_ikey());
    }
    // Duo's own mock reads X-Duo-Date first, then Date.
    let date = h
        .get("x-duo-date")
        .or_else(|| h.get(http::header::DATE))
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| ApiError {
            detail: Some("missing Date or X-Duo-Date header".into()),
            ..ApiError::bad_signature()
        })?;
    let when = parse_date(date).ok_or_else(|| ApiError {
        detail: Some("unreadable Date header".into()),
        ..ApiError::bad_signature()
    })?;
    let skew = (input.now - when).unsigned_abs();
    if skew > input.skew_tolerance {
        return Err(ApiError {
            detail: Some(format!(
                "request date is {skew} s from server time (tolerance {} s)",
                input.skew_tolerance
            )),
            ..if input.skew_40105 {
                ApiError::bad_timestamp()
            } else {
                ApiError::bad_signature()
            }
        });
    }
    let host_header = h
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let mut hosts = vec![host_header.to_ascii_lowercase()];
    if let Some((bare, port)) = host_header.rsplit_once(':')
        && port.bytes().all(|b| b.is_ascii_digit())
        && (!bare.contains(':') || (bare.starts_with('[') && bare.ends_with(']')))
    {
        hosts.insert(0, bare.to_ascii_lowercase());
    }
    let query = parse_urlencoded(input.query.as_bytes());
    let mut all = query.clone();
    if is_form(h) {
        all.extend(parse_urlencoded(input.body));
    }
    let v2_line = canon_params(&all);
    let v5_line = canon_params(&query);
    let xduo: Vec<(String, String)> = h
        .iter()
        .filter(|(k, _)| k.as_str().starts_with("x-duo-"))
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let mut xduo_hashes = vec![xduo_headers_hash(&xduo)];
    if !xduo.is_empty() {
        xduo_hashes.push(xduo_headers_hash(&[]));
    }
    let cand = Candidate {
        date,
        method: input.method,
        hosts: &hosts,
        path: input.path,
        v2_params_line: &v2_line,
        v5_params_line: &v5_line,
        body: input.body,
        xduo_hashes: &xduo_hashes,
    };
    let scheme = verify(integ.skey.as_bytes(), sig, &cand).ok_or_else(ApiError::bad_signature)?;
    Ok(Verified {
        integration: idx,
        scheme,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Permission;
    use crate::sign::{SignedParts, canonical, hmac_sha512_hex, sha512_hex};

    #[test]
    fn dates_in_every_client_format() {
        let t = 1_354_900_680;
        for d in [
            "Fri, 07 Dec 2012 17:18:00 -0000",
            "Fri, 07 Dec 2012 17:18:00 +0000",
            "Fri, 07 Dec 2012 12:18:00 -0500",
            "Fri, 07 Dec 2012 17:18:00 GMT",
            "Fri, 07 Dec 2012 17:18:00",
        ] {
            assert_eq!(parse_date(d), Some(t), "{d}");
        }
        assert_eq!(parse_date("yesterday"), None);
    }

    fn signed(
        host_header: &str,
        signed_host: &str,
        date_headers: &[(&'static str, &str)],
        signed_date: &str,
    ) -> Result<Verified, ApiError> {
        let integ = IntegrationConfig {
            ikey: "DIK".into(),
            skey: "sk".into(),
            admin_api: true,
            permissions: Permission::provisioning(),
        };
        let empty = sha512_hex(b"");
        let canon = canonical(
            5,
            &SignedParts {
                date: signed_date,
                method: "GET",
                host: signed_host,
                path: "/admin/v1/users",
                params_line: "",
                body: b"",
                xduo_hash: &empty,
            },
        );
        let sig = hmac_sha512_hex(b"sk", &canon);
        let mut h = HeaderMap::new();
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("DIK:{sig}"));
        h.insert("authorization", format!("Basic {auth}").parse().unwrap());
        h.insert("host", host_header.parse().unwrap());
        for (k, v) in date_headers {
            h.insert(*k, v.parse().unwrap());
        }
        let now = parse_date(signed_date).unwrap();
        authenticate(
            &AuthInput {
                method: "GET",
                path: "/admin/v1/users",
                query: "",
                headers: &h,
                body: b"",
                now,
                skew_tolerance: 300,
                skew_40105: false,
            },
            &[integ],
        )
    }

    #[test]
    fn host_with_or_without_port_and_ipv6() {
        let d = "Fri, 07 Dec 2012 17:18:00 -0000";
        assert!(signed("127.0.0.1:8443", "127.0.0.1", &[("date", d)], d).is_ok());
        assert!(signed("127.0.0.1:8443", "127.0.0.1:8443", &[("date", d)], d).is_ok());
        assert!(
            signed(
                "API-X.duosecurity.com",
                "api-x.DUOSECURITY.com",
                &[("date", d)],
                d
            )
            .is_ok()
        );
        assert!(signed("[::1]:8443", "[::1]", &[("date", d)], d).is_ok());
        assert_eq!(
            signed("127.0.0.1:8443", "localhost", &[("date", d)], d)
                .unwrap_err()
                .code,
            40103
        );
    }

    #[test]
    fn x_duo_date_wins_over_date() {
        let d = "Fri, 07 Dec 2012 17:18:00 -0000";
        let other = "Fri, 07 Dec 2012 17:18:01 -0000";
        // Signed with X-Duo-Date's value while Date differs. The x-duo-date header is sent, so
        // the v5 candidate without x-duo headers is the one that matches.
        assert!(signed("h", "h", &[("x-duo-date", d), ("date", other)], d).is_ok());
        assert_eq!(
            signed("h", "h", &[("x-duo-date", other), ("date", d)], d)
                .unwrap_err()
                .code,
            40103
        );
        let missing = signed("h", "h", &[], d).unwrap_err();
        assert_eq!((missing.status, missing.code), (401, 40103));
    }
}
