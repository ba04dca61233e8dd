//! Client configuration: environment, region hosts, base-URL overrides, credentials,
//! token auth method, timeouts, extra CA bundle and request rate.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::time::Duration;

use reqwest::Url;
use secrecy::SecretString;

use crate::retry::RetryPolicy;

/// A PingOne region: one top-level domain shared by the auth and API hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Region {
    /// North America excluding Canada (`pingone.com`), the default.
    #[default]
    Com,
    /// Europe (`pingone.eu`).
    Eu,
    /// Canada (`pingone.ca`).
    Ca,
    /// Asia-Pacific, legacy (`pingone.asia`).
    Asia,
    /// Australia (`pingone.com.au`).
    ComAu,
    /// Singapore (`pingone.sg`).
    Sg,
}

impl Region {
    /// Every region, in the reference's order.
    pub const ALL: [Region; 6] = [
        Region::Com,
        Region::Eu,
        Region::Ca,
        Region::Asia,
        Region::ComAu,
        Region::Sg,
    ];

    /// The top-level domain, as written in configuration (`com`, `eu`, `ca`, `asia`, `com.au`, `sg`).
    pub fn tld(self) -> &'static str {
        match self {
            Region::Com => "com",
            Region::Eu => "eu",
            Region::Ca => "ca",
            Region::Asia => "asia",
            Region::ComAu => "com.au",
            Region::Sg => "sg",
        }
    }

    /// The API base including its version, e.g. `https://api.pingone.eu/v1`.
    pub fn api_base(self) -> String {
        format!("https://api.pingone.{}/v1", self.tld())
    }

    /// The auth base without the environment, e.g. `https://auth.pingone.eu`.
    pub fn auth_base(self) -> String {
        format!("https://auth.pingone.{}", self.tld())
    }
}

impl FromStr for Region {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        // Accept the TLD and the region codes the PingOne docs use.
        Ok(match lower.as_str() {
            "com" | "na" | "north_america" => Region::Com,
            "eu" | "europe" => Region::Eu,
            "ca" | "canada" => Region::Ca,
            "asia" | "ap" | "apac" | "asia_pacific" => Region::Asia,
            "com.au" | "au" | "australia" => Region::ComAu,
            "sg" | "singapore" => Region::Sg,
            _ => {
                return Err(ConfigError::UnknownRegion {
                    given: s.to_owned(),
                });
            }
        })
    }
}

impl std::fmt::Display for Region {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.tld())
    }
}

/// How the client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TokenAuthMethod {
    /// `Authorization: Basic base64(id:secret)`, body only `grant_type` (the worker default).
    #[default]
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body, no Authorization header.
    ClientSecretPost,
}

impl FromStr for TokenAuthMethod {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "client_secret_basic" => Ok(Self::ClientSecretBasic),
            "client_secret_post" => Ok(Self::ClientSecretPost),
            _ => Err(ConfigError::UnknownAuthMethod {
                given: s.to_owned(),
            }),
        }
    }
}

/// Everything needed to build a [`crate::PingOneClient`].
///
/// `Debug` never shows the client secret (it is a [`SecretString`]).
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The PingOne environment id (a UUID).
    pub environment_id: String,
    /// The region; gives both hosts unless overridden.
    pub region: Region,
    /// Override of the API base including its version, e.g. `https://api.pingone.com/v1`.
    pub api_base: Option<String>,
    /// Override of the auth base without the environment, e.g. `https://auth.pingone.com`.
    pub auth_base: Option<String>,
    /// The worker application's client id.
    pub client_id: String,
    /// The worker application's client secret.
    pub client_secret: SecretString,
    /// How the secret is presented at the token endpoint.
    pub token_auth_method: TokenAuthMethod,
    /// TCP connect timeout.
    pub connect_timeout: Duration,
    /// Whole-request timeout (one attempt).
    pub request_timeout: Duration,
    /// Extra CA certificates (PEM bundle) trusted besides the system roots.
    pub extra_ca_pem: Option<Vec<u8>>,
    /// Requests per second across all calls of this client; `None` means no pacing.
    pub requests_per_second: Option<NonZeroU32>,
    /// Renew a cached token this long before it expires.
    pub token_renew_before: Duration,
    /// Retry schedule for 408, 429, 5xx and transport failures.
    pub retry: RetryPolicy,
    /// Sent as `X-Ping-External-Transaction-ID` (e.g. the sync run id) when set.
    pub transaction_id: Option<String>,
    /// Told of every request, pacing wait and 429 (metrics); none by default.
    pub observer: Option<std::sync::Arc<dyn crate::CallObserver>>,
}

impl ClientConfig {
    /// A configuration with the documented defaults: region `com`, basic auth, 10 s connect
    /// and 60 s request timeouts, no pacing, tokens renewed 60 s before expiry.
    pub fn new(
        environment_id: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: SecretString,
    ) -> Self {
        Self {
            environment_id: environment_id.into(),
            region: Region::default(),
            api_base: None,
            auth_base: None,
            client_id: client_id.into(),
            client_secret,
            token_auth_method: TokenAuthMethod::default(),
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            extra_ca_pem: None,
            requests_per_second: None,
            token_renew_before: Duration::from_secs(60),
            retry: RetryPolicy::default(),
            transaction_id: None,
            observer: None,
        }
    }

    /// The validated API base (no trailing slash), from the override or the region.
    pub fn resolved_api_base(&self) -> Result<Url, ConfigError> {
        let raw = self
            .api_base
            .clone()
            .unwrap_or_else(|| self.region.api_base());
        check_base("api_base", &raw)
    }

    /// The validated auth base (no trailing slash), from the override or the region.
    pub fn resolved_auth_base(&self) -> Result<Url, ConfigError> {
        let raw = self
            .auth_base
            .clone()
            .unwrap_or_else(|| self.region.auth_base());
        check_base("auth_base", &raw)
    }

    /// The token endpoint: `{auth base}/{environment id}/as/token`.
    pub fn token_url(&self) -> Result<Url, ConfigError> {
        let base = self.resolved_auth_base()?;
        self.check_environment_id()?;
        join(&base, &format!("{}/as/token", self.environment_id)).ok_or_else(|| {
            ConfigError::InvalidUrl {
                field: "auth_base",
                given: base.to_string(),
                reason: "cannot append the token path".into(),
            }
        })
    }

    /// Checks every field; the constructor calls this.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.check_environment_id()?;
        if self.client_id.trim().is_empty() {
            return Err(ConfigError::Missing {
                field: "client_id",
                fix: "set the worker application's client id",
            });
        }
        if secrecy::ExposeSecret::expose_secret(&self.client_secret).is_empty() {
            return Err(ConfigError::Missing {
                field: "client_secret",
                fix: "set the worker application's client secret",
            });
        }
        self.resolved_api_base()?;
        self.token_url()?;
        if let Some(id) = &self.transaction_id
            && id.is_empty()
        {
            return Err(ConfigError::Missing {
                field: "transaction_id",
                fix: "leave it unset or give a non-empty run id",
            });
        }
        Ok(())
    }

    fn check_environment_id(&self) -> Result<(), ConfigError> {
        let id = self.environment_id.trim();
        if id.is_empty() {
            return Err(ConfigError::Missing {
                field: "environment_id",
                fix: "set the PingOne environment id (a UUID from the admin console)",
            });
        }
        if !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(ConfigError::InvalidEnvironmentId { given: id.into() });
        }
        Ok(())
    }
}

/// A configuration value that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A required value is empty.
    #[error("PingOne client configuration: `{field}` is missing: {fix}")]
    Missing {
        /// The field.
        field: &'static str,
        /// What to do.
        fix: &'static str,
    },
    /// The region is not one of the six PingOne regions.
    #[error(
        "PingOne client configuration: region `{given}` is unknown: use one of com, eu, ca, asia, com.au, sg"
    )]
    UnknownRegion {
        /// What was given.
        given: String,
    },
    /// The token auth method is not supported.
    #[error(
        "PingOne client configuration: token auth method `{given}` is unsupported: use client_secret_basic or client_secret_post"
    )]
    UnknownAuthMethod {
        /// What was given.
        given: String,
    },
    /// The environment id has characters that cannot be in a path segment.
    #[error(
        "PingOne client configuration: environment_id `{given}` is not an id: copy the environment id (a UUID) from the admin console"
    )]
    InvalidEnvironmentId {
        /// What was given.
        given: String,
    },
    /// A base URL is malformed or unsafe.
    #[error("PingOne client configuration: `{field}` = `{given}` is not usable: {reason}")]
    InvalidUrl {
        /// `api_base` or `auth_base`.
        field: &'static str,
        /// What was given.
        given: String,
        /// Why, and the fix.
        reason: String,
    },
    /// The extra CA bundle could not be read as PEM.
    #[error(
        "PingOne client configuration: `extra_ca_pem` is not a PEM certificate bundle: {reason}"
    )]
    InvalidCaBundle {
        /// Why.
        reason: String,
    },
}

/// Parses a base URL: https anywhere, http only to a loopback host; no query or fragment.
fn check_base(field: &'static str, raw: &str) -> Result<Url, ConfigError> {
    let bad = |reason: &str| ConfigError::InvalidUrl {
        field,
        given: raw.to_owned(),
        reason: reason.to_owned(),
    };
    let url = Url::parse(raw.trim_end_matches('/'))
        .map_err(|e| bad(&format!("{e}; expected e.g. https://api.pingone.com/v1")))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => {
            return Err(bad(
                "plain http is allowed only to a loopback host (127.0.0.1, ::1, localhost); use https",
            ));
        }
        _ => return Err(bad("the scheme must be https")),
    }
    if url.host_str().is_none() {
        return Err(bad("it has no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("remove the query string and fragment"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad(
            "remove the user information; credentials go in client_id/client_secret",
        ));
    }
    Ok(url)
}

fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => bare.eq_ignore_ascii_case("localhost"),
    }
}

/// Appends `rest` (no leading slash) to a base URL that has no trailing slash.
pub(crate) fn join(base: &Url, rest: &str) -> Option<Url> {
    let mut s = base.as_str().trim_end_matches('/').to_owned();
    s.push('/');
    s.push_str(rest.trim_start_matches('/'));
    Url::parse(&s).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> ClientConfig {
        ClientConfig::new("env-1", "client", SecretString::from("s3cr3t-value"))
    }

    #[test]
    fn each_region_gives_its_auth_and_api_hosts() {
        let got: Vec<String> = Region::ALL
            .iter()
            .map(|r| {
                let mut c = cfg();
                c.region = r.to_string().parse().unwrap();
                format!(
                    "{} {} {}",
                    r,
                    c.resolved_api_base().unwrap(),
                    c.token_url().unwrap()
                )
            })
            .collect();
        expect_test::expect![[r#"
            com https://api.pingone.com/v1 https://auth.pingone.com/env-1/as/token
            eu https://api.pingone.eu/v1 https://auth.pingone.eu/env-1/as/token
            ca https://api.pingone.ca/v1 https://auth.pingone.ca/env-1/as/token
            asia https://api.pingone.asia/v1 https://auth.pingone.asia/env-1/as/token
            com.au https://api.pingone.com.au/v1 https://auth.pingone.com.au/env-1/as/token
            sg https://api.pingone.sg/v1 https://auth.pingone.sg/env-1/as/token"#]]
        .assert_eq(&got.join("\n"));
    }

    #[test]
    fn overrides_replace_the_region_hosts() {
        let mut c = cfg();
        c.region = Region::Eu;
        c.api_base = Some("https://api.example.test/v1/".into());
        c.auth_base = Some("https://auth.example.test".into());
        assert_eq!(
            c.resolved_api_base().unwrap().as_str(),
            "https://api.example.test/v1"
        );
        assert_eq!(
            c.token_url().unwrap().as_str(),
            "https://auth.example.test/env-1/as/token"
        );
    }

    #[test]
    fn plain_http_is_allowed_only_to_loopback() {
        for ok in [
            "http://127.0.0.1:8080/v1",
            "http://[::1]:9/v1",
            "http://localhost:1/v1",
        ] {
            let mut c = cfg();
            c.api_base = Some(ok.into());
            assert!(c.validate().is_ok(), "{ok} refused");
        }
        for bad in [
            "http://api.pingone.com/v1",
            "http://10.0.0.1/v1",
            "ftp://x/v1",
            "https://x/v1?a=b",
            "not a url",
        ] {
            let mut c = cfg();
            c.api_base = Some(bad.into());
            let err = c.validate().unwrap_err();
            assert!(
                matches!(
                    err,
                    ConfigError::InvalidUrl {
                        field: "api_base",
                        ..
                    }
                ),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn region_and_auth_method_names_parse_or_are_refused() {
        assert_eq!("com.au".parse::<Region>().unwrap(), Region::ComAu);
        assert_eq!("EU".parse::<Region>().unwrap(), Region::Eu);
        assert!("mars".parse::<Region>().is_err());
        assert_eq!(
            "client_secret_post".parse::<TokenAuthMethod>().unwrap(),
            TokenAuthMethod::ClientSecretPost
        );
        assert!("private_key_jwt".parse::<TokenAuthMethod>().is_err());
    }

    #[test]
    fn apac_is_the_asia_pacific_region() {
        // PingOne's Go client lists APAC among its region codes.
        assert_eq!("APAC".parse::<Region>().unwrap(), Region::Asia);
    }

    #[test]
    fn missing_values_are_named() {
        let mut c = cfg();
        c.client_id = String::new();
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("`client_id`")
        );
        let mut c = cfg();
        c.environment_id = "a/b".into();
        assert!(matches!(
            c.validate(),
            Err(ConfigError::InvalidEnvironmentId { .. })
        ));
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let text = format!("{:?}", cfg());
        assert!(!text.contains("s3cr3t-value"), "{text}");
    }
}
