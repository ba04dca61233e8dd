//! Phase one of reading a configuration: the TOML as written, with serde.
//!
//! Nothing here is checked beyond its shape; `validate` turns these into the
//! typed [`crate::config::Config`]. Values whose shape varies (secrets, rate
//! limits) stay `toml::Value` so validation can explain what is expected.

use serde::Deserialize;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    pub state_path: Option<String>,
    pub pingone: RawPingOne,
    pub duo: RawDuo,
    #[serde(default)]
    pub agent: RawAgent,
    #[serde(default)]
    pub rules: Vec<RawRule>,
}

/// `[pingone]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPingOne {
    pub environment_id: String,
    pub region: Option<String>,
    pub api_url: Option<String>,
    pub auth_url: Option<String>,
    pub client_id: String,
    pub client_secret: toml::Value,
    pub token_auth_method: Option<String>,
    pub rate_limit: Option<toml::Value>,
    pub timeout: Option<String>,
}

/// `[duo]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDuo {
    pub api_host: String,
    pub integration_key: String,
    pub secret_key: toml::Value,
    pub rate_limit: Option<toml::Value>,
    pub timeout: Option<String>,
    pub bulk: Option<toml::Value>,
}

/// `[agent]`: how `p1duo run` behaves.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAgent {
    pub listen: Option<String>,
    pub interval: Option<String>,
    pub jitter: Option<String>,
    pub concurrency: Option<i64>,
    #[serde(default)]
    pub notifications: RawNotifications,
    #[serde(default)]
    pub server: RawServer,
}

/// `[agent.server]`: limits of the local HTTP server.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawServer {
    pub max_connections: Option<i64>,
    pub header_timeout: Option<String>,
    pub idle_timeout: Option<String>,
    pub request_timeout: Option<String>,
    pub max_requests: Option<i64>,
}

/// `[agent.notifications]`: PingOne change events.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNotifications {
    pub enabled: Option<bool>,
    pub public_url: Option<String>,
    pub debounce: Option<String>,
}

/// One `[[rules]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    pub name: String,
    pub direction: String,
    pub enabled: Option<bool>,
    pub scope: Option<RawScope>,
    #[serde(default)]
    pub actions: RawActions,
    pub groups: Option<RawGroups>,
    pub mapping: Option<toml::Table>,
    pub target: Option<RawTarget>,
    #[serde(default)]
    pub safety: RawSafety,
    #[serde(default)]
    pub adopt: RawAdopt,
    pub mapping_options: Option<RawMappingOptions>,
    pub enroll: Option<RawEnroll>,
}

/// `[rules.enroll]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEnroll {
    pub enabled: Option<bool>,
    pub valid_secs: Option<i64>,
    pub remind_after: Option<String>,
}

/// `[rules.mapping_options]`: options for the whole mapping.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMappingOptions {
    pub default_region: Option<String>,
    pub allow_owner: Option<bool>,
}

/// `[rules.adopt]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAdopt {
    pub accounts: Option<bool>,
    pub groups: Option<bool>,
    pub exact_key: Option<bool>,
    pub confirm: Option<Vec<String>>,
    pub confirm_admins: Option<Vec<String>>,
}

/// `[rules.scope]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScope {
    #[serde(default)]
    pub populations: Vec<String>,
    #[serde(default)]
    pub groups: Vec<String>,
    /// A SCIM-style filter on the source user's attributes.
    pub filter: Option<String>,
}

/// `[rules.actions]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawActions {
    pub create: Option<bool>,
    pub update: Option<bool>,
    pub disable: Option<bool>,
    pub deprovision: Option<bool>,
    pub remove_action: Option<String>,
    pub deprovision_on_rule_deletion: Option<bool>,
    pub remove_unused_phones: Option<bool>,
    pub restore_trashed: Option<bool>,
}

/// `[rules.groups]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGroups {
    #[serde(default)]
    pub push: Vec<String>,
}

/// `[rules.target]` (inbound).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTarget {
    pub population: Option<String>,
}

/// `[rules.safety]`: limits on destructive changes per cycle.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSafety {
    pub max_deletes: Option<i64>,
    pub max_delete_percent: Option<f64>,
    pub max_disables: Option<i64>,
    pub max_disable_percent: Option<f64>,
    pub max_membership_removals: Option<i64>,
    pub max_membership_removal_percent: Option<f64>,
    pub percent_floor: Option<i64>,
    pub min_source_percent: Option<f64>,
}
