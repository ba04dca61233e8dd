//! Client configuration: API host, keys, signature version, timeouts, TLS,
//! rate limits and retries. Validated once by [`crate::DuoClient::new`].

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;

use crate::error::DuoError;
use crate::pace::{CallObserver, RateLimits};
use crate::retry::RetryPolicy;

/// How requests are signed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SignatureVersion {
    /// v5 with HMAC-SHA512 and JSON bodies, as Duo's current clients.
    #[default]
    V5,
    /// v2 with HMAC-SHA512 and form bodies.
    V2Sha512,
    /// v2 with HMAC-SHA1, for old integrations.
    V2Sha1,
}

/// Everything the client needs. Build with [`DuoConfig::new`] and adjust
/// the public fields.
#[derive(Clone, Debug)]
pub struct DuoConfig {
    /// `api-xxxxxxxx.duosecurity.com`, or a full URL with scheme and port
    /// (`http://` only for loopback addresses).
    pub api_host: String,
    /// Integration key (`DI…`) of an Admin API application.
    pub ikey: String,
    /// Secret key of that application.
    pub skey: SecretString,
    /// Signature version (v5 by default).
    pub signature: SignatureVersion,
    /// TCP + TLS connect timeout.
    pub connect_timeout: Duration,
    /// Whole-request timeout (one attempt).
    pub request_timeout: Duration,
    /// An extra CA bundle (PEM) trusted on top of the platform roots.
    pub extra_ca_pem: Option<PathBuf>,
    /// `User-Agent` header.
    pub user_agent: String,
    /// Client-side pacing per endpoint class.
    pub rate_limits: RateLimits,
    /// Retry and back-off settings.
    pub retry: RetryPolicy,
    /// Told of every attempt, pacing wait and 429 (metrics); none by default.
    pub observer: Option<Arc<dyn CallObserver>>,
}

/// `p1duo/<version>`.
pub fn default_user_agent() -> String {
    format!("p1duo/{}", env!("CARGO_PKG_VERSION"))
}

impl DuoConfig {
    /// Defaults: v5, 10 s connect, 60 s request timeout, Duo's published rate
    /// limits, 7 attempts with 1→32 s back-off.
    pub fn new(api_host: impl Into<String>, ikey: impl Into<String>, skey: SecretString) -> Self {
        Self {
            api_host: api_host.into(),
            ikey: ikey.into(),
            skey,
            signature: SignatureVersion::V5,
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            extra_ca_pem: None,
            user_agent: default_user_agent(),
            rate_limits: RateLimits::duo_published(),
            retry: RetryPolicy::default(),
            observer: None,
        }
    }
}

/// A parsed API host: where to connect and which host name to sign.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiHost {
    /// `https` or `http` (loopback only).
    pub scheme: String,
    /// Host name as given (IPv6 without brackets).
    pub host: String,
    /// Port to connect to.
    pub port: u16,
}

impl ApiHost {
    /// Parses `host`, `host:port` or `scheme://host[:port][/]`.
    pub fn parse(input: &str) -> Result<ApiHost, DuoError> {
        let bad = |reason: String| DuoError::Config {
            field: "api_host",
            reason,
        };
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(bad(
                "is empty; give the API hostname from the Admin API application page".into(),
            ));
        }
        let (scheme, rest) = match trimmed.split_once("://") {
            Some((s, r)) => (s.to_ascii_lowercase(), r),
            None => ("https".to_owned(), trimmed),
        };
        if scheme != "https" && scheme != "http" {
            return Err(bad(format!(
                "scheme `{scheme}` is not supported; use https://"
            )));
        }
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.contains(['/', '?', '#', '@']) || authority.is_empty() {
            return Err(bad(format!(
                "`{input}` must be a host name or scheme://host[:port], without a path, query or user"
            )));
        }
        let default_port = if scheme == "https" { 443 } else { 80 };
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (h, after) = v6
                .split_once(']')
                .ok_or_else(|| bad(format!("`{input}`: unclosed `[`")))?;
            let port = match after.strip_prefix(':') {
                Some(p) => parse_port(p).map_err(bad)?,
                None if after.is_empty() => default_port,
                None => return Err(bad(format!("`{input}`: unexpected text after `]`"))),
            };
            (h.to_owned(), port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h.to_owned(), parse_port(p).map_err(bad)?),
                None => (authority.to_owned(), default_port),
            }
        };
        if host.is_empty() {
            return Err(bad(format!("`{input}` has no host name")));
        }
        if scheme == "http" && !is_loopback(&host) {
            return Err(bad(format!(
                "plain http:// is refused for `{host}`: only loopback addresses may skip TLS; use https://"
            )));
        }
        Ok(ApiHost { scheme, host, port })
    }

    /// The host line of the canonical string: lower-cased, no port (the
    /// official clients sign the bare host).
    pub fn signing_host(&self) -> String {
        self.host.to_lowercase()
    }

    /// `scheme://host:port` without a trailing slash.
    pub fn base_url(&self) -> String {
        if self.host.contains(':') {
            format!("{}://[{}]:{}", self.scheme, self.host, self.port)
        } else {
            format!("{}://{}:{}", self.scheme, self.host, self.port)
        }
    }
}

fn parse_port(p: &str) -> Result<u16, String> {
    p.parse::<u16>()
        .map_err(|_| format!("port `{p}` is not a number between 1 and 65535"))
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_host_means_https_443() {
        let h = ApiHost::parse("API-XXXX.duosecurity.com").unwrap();
        assert_eq!(h.base_url(), "https://API-XXXX.duosecurity.com:443");
        assert_eq!(h.signing_host(), "api-xxxx.duosecurity.com");
    }

    #[test]
    fn full_url_keeps_port_but_signs_bare_host() {
        let h = ApiHost::parse("http://127.0.0.1:8443/").unwrap();
        assert_eq!(h.base_url(), "http://127.0.0.1:8443");
        assert_eq!(h.signing_host(), "127.0.0.1");
        let v6 = ApiHost::parse("http://[::1]:9000").unwrap();
        assert_eq!(v6.base_url(), "http://[::1]:9000");
        assert_eq!(v6.signing_host(), "::1");
    }

    #[test]
    fn plain_http_to_a_remote_host_is_refused() {
        let err = ApiHost::parse("http://api-xxxx.duosecurity.com").unwrap_err();
        assert!(
            err.to_string().contains("plain http:// is refused"),
            "{err}"
        );
        assert!(ApiHost::parse("http://localhost:1").is_ok());
        assert!(ApiHost::parse("ftp://x").is_err());
        assert!(ApiHost::parse("https://x/admin").is_err());
        assert!(ApiHost::parse("x:notaport").is_err());
    }
}
