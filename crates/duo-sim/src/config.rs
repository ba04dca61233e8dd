//! Simulator settings: credentials, per-integration permissions, rate limits, case rules, skew.

use std::collections::BTreeSet;
use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use sim_kit::Faults;

/// An Admin API permission flag, as named on Duo's integration object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// `adminapi_admins`: "Grant administrators – Read/Write" (all `/admins` endpoints).
    AdminapiAdmins,
    /// `adminapi_admins_read`: "Grant administrators – Read" (`GET /admins` only; writes 403).
    AdminapiAdminsRead,
    /// `adminapi_info`: "Grant read information" (`/info/summary`).
    AdminapiInfo,
    /// `adminapi_integrations`.
    AdminapiIntegrations,
    /// `adminapi_read_log`.
    AdminapiReadLog,
    /// `adminapi_read_resource`: reads of users, groups, phones.
    AdminapiReadResource,
    /// `adminapi_settings`.
    AdminapiSettings,
    /// `adminapi_write_resource`: writes of users, groups, phones, memberships.
    AdminapiWriteResource,
}

impl Permission {
    /// The flag name Duo uses.
    pub fn flag(self) -> &'static str {
        match self {
            Permission::AdminapiAdmins => "adminapi_admins",
            Permission::AdminapiAdminsRead => "adminapi_admins_read",
            Permission::AdminapiInfo => "adminapi_info",
            Permission::AdminapiIntegrations => "adminapi_integrations",
            Permission::AdminapiReadLog => "adminapi_read_log",
            Permission::AdminapiReadResource => "adminapi_read_resource",
            Permission::AdminapiSettings => "adminapi_settings",
            Permission::AdminapiWriteResource => "adminapi_write_resource",
        }
    }

    /// The grants a provisioning connector needs: admins, info, read and write resource.
    pub fn provisioning() -> BTreeSet<Permission> {
        [
            Permission::AdminapiAdmins,
            Permission::AdminapiInfo,
            Permission::AdminapiReadResource,
            Permission::AdminapiWriteResource,
        ]
        .into_iter()
        .collect()
    }
}

/// Another application's keys the simulator knows (to test 40102 and 403 paths).
#[derive(Clone, Serialize, Deserialize)]
pub struct IntegrationConfig {
    /// Integration key.
    pub ikey: String,
    /// Secret key.
    pub skey: String,
    /// False for keys of a non-Admin-API application: requests get 401 / 40102.
    pub admin_api: bool,
    /// Granted permissions.
    pub permissions: BTreeSet<Permission>,
}

impl std::fmt::Debug for IntegrationConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IntegrationConfig")
            .field("ikey", &self.ikey)
            .field("skey", &"<redacted>")
            .field("admin_api", &self.admin_api)
            .field("permissions", &self.permissions)
            .finish()
    }
}

/// How usernames and aliases compare for uniqueness and `?username=` lookups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UsernameCase {
    /// "Alice" and "alice" are the same user (the default: the stricter choice, Duo does not say).
    #[default]
    Insensitive,
    /// Usernames compare byte for byte.
    Sensitive,
}

/// Everything the simulator can be told at start.
#[derive(Clone)]
pub struct SimConfig {
    /// Address to bind; `None` binds `127.0.0.1:0`.
    pub listen: Option<SocketAddr>,
    /// The main Admin API integration key.
    pub ikey: String,
    /// Its secret key.
    pub skey: String,
    /// Permissions of the main integration.
    pub permissions: BTreeSet<Permission>,
    /// More integrations (other keys, other grants, other application types).
    pub extra_integrations: Vec<IntegrationConfig>,
    /// Enforce Duo's published per-minute rate limits.
    pub rate_limit: bool,
    /// Time compression: limits apply per `60 s / scale` (1.0 = Duo's real figures).
    pub rate_limit_scale: f64,
    /// Users created at start (`user00001`, ...).
    pub seed_users: usize,
    /// Seed for generated ids and seeded data.
    pub seed: u64,
    /// Serve `/__sim/*` control endpoints.
    pub control: bool,
    /// Accepted distance between the request date and the simulator clock, in seconds.
    pub skew_tolerance_secs: u64,
    /// Username/alias comparison.
    pub username_case: UsernameCase,
    /// Faults active from the start.
    pub faults: Faults,
    /// Shown by `/admin/v1/info/summary`.
    pub telephony_credits: u64,
    /// Simulated days a trashed ("pending deletion") user stays restorable before it is purged
    /// (Duo's `pending_deletion_days`, 7 by default); days pass through `POST /__sim/days`.
    pub pending_deletion_days: u64,
    /// Where Duo is undocumented or its sources conflict: switches, Duo's most likely behaviour off.
    pub variants: Variants,
    /// The bulk endpoints (`users/bulk_create`, `/admin/v1/bulk`): maxima, atomicity, rate class.
    pub bulk: BulkSettings,
}

/// How a bulk call counts against the rate limits (Duo publishes nothing; see
/// `docs/simulators.md`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BulkRateClass {
    /// One write against the 300/min write limit per call, whatever its size (the default).
    Write,
    /// A bucket of its own, this many calls per minute (third-party notes say 50).
    Own(u32),
    /// One write per object in the call: bulk saves requests, not rate.
    PerObject,
}

/// The bulk endpoints as the simulator serves them. Duo publishes none of these figures; the
/// defaults are the conservative third-party ones (`shared/reference/duo-bulk-and-trash.md`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BulkSettings {
    /// Off: both endpoints answer 404 / 40401, as a Duo without them would.
    pub enabled: bool,
    /// Most users one `users/bulk_create` takes; more is 400 / 40002 naming `users`.
    pub max_users: usize,
    /// Most operations one `/admin/v1/bulk` takes; more is 400 / 40002 naming `operations`.
    pub max_operations: usize,
    /// `bulk_create` is all or nothing (the first bad user fails the call and nothing is
    /// created); off: the good users are created and only they are answered.
    pub create_atomic: bool,
    /// How each bulk call counts against the rate limits.
    pub rate_class: BulkRateClass,
}

impl Default for BulkSettings {
    fn default() -> Self {
        BulkSettings {
            enabled: true,
            max_users: 100,
            max_operations: 50,
            create_atomic: true,
            rate_class: BulkRateClass::Write,
        }
    }
}

/// Behaviours Duo does not document (or documents in conflicting ways); each is a switch so the
/// agent's tests can run under either. Names for `--variant` and `SimConfig::apply_variants`:
/// `phone_without_plus`, `skew_40105`, `null_lists`, `username_case_sensitive`, the bulk switches `no_bulk` (404) and
/// `bulk_partial` (`bulk_create` not atomic), and the rest of
/// [`VARIANT_NAMES`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Variants {
    /// Users' embedded `phones[].number` without `+` (`15555550100`), as duo.com's Retrieve Users
    /// example shows; off: `+15555550100`, as Duo's Go fixtures and the phone endpoints show.
    pub phone_without_plus: bool,
    /// A stale request date answers 401 / 40105 "Bad request timestamp" (observed on the Auth
    /// API) instead of 401 / 40103.
    pub skew_40105: bool,
    /// Empty list and map fields of users and phones (`aliases`, `groups`, `phones`,
    /// `capabilities`) render as `null`.
    pub null_lists: bool,
    /// Group names compare ignoring case (`Sales` and `sales` clash, 40003); off: exact, as
    /// nothing Duo publishes says otherwise.
    pub group_name_case_insensitive: bool,
    /// An unknown `group_id` / `phone_id` in an association POST answers 404 / 40401 (the
    /// simulator's old answer); off: 400 / 40002 naming the parameter, Duo's pattern for a bad
    /// referenced id.
    pub unknown_id_404: bool,
    /// DELETE of an unknown group or administrator answers 404 / 40401; off: 200, as Duo's
    /// Delete Group text says ("returns 200 if … no such … exists").
    pub delete_unknown_404: bool,
    /// Re-sending an existing user–group or user–phone association answers 400 / 40003
    /// "Duplicate resource"; off: 200 (Duo's answer is undocumented).
    pub association_exists_40003: bool,
    /// The `Security Analyst` administrator role is accepted; off: only the roles duo.com
    /// documents (Owner, Administrator, Application Manager, User Manager, Help Desk, Billing,
    /// Phishing Manager, Read-only).
    pub security_analyst_role: bool,
}

/// Every variant name `apply_variants` accepts.
pub const VARIANT_NAMES: &[&str] = &[
    "phone_without_plus",
    "skew_40105",
    "null_lists",
    "username_case_sensitive",
    "group_name_case_insensitive",
    "unknown_id_404",
    "delete_unknown_404",
    "association_exists_40003",
    "security_analyst_role",
    "no_bulk",
    "bulk_partial",
];

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            listen: None,
            ikey: "DIXXXXXXXXXXXXXXXXXX".into(),
            skey: "deadbeefdeadbeefdeadbeefdeadbeefdeadbeef".into(),
            permissions: Permission::provisioning(),
            extra_integrations: Vec::new(),
            rate_limit: false,
            rate_limit_scale: 1.0,
            seed_users: 0,
            seed: 1,
            control: false,
            skew_tolerance_secs: 300,
            username_case: UsernameCase::Insensitive,
            faults: Faults::default(),
            telephony_credits: 1000,
            pending_deletion_days: 7,
            variants: Variants::default(),
            bulk: BulkSettings::default(),
        }
    }
}

impl std::fmt::Debug for SimConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimConfig")
            .field("listen", &self.listen)
            .field("ikey", &self.ikey)
            .field("skey", &"<redacted>")
            .field("permissions", &self.permissions)
            .field("extra_integrations", &self.extra_integrations)
            .field("rate_limit", &self.rate_limit)
            .field("rate_limit_scale", &self.rate_limit_scale)
            .field("seed_users", &self.seed_users)
            .field("seed", &self.seed)
            .field("control", &self.control)
            .field("skew_tolerance_secs", &self.skew_tolerance_secs)
            .field("username_case", &self.username_case)
            .field("faults", &self.faults)
            .field("pending_deletion_days", &self.pending_deletion_days)
            .field("variants", &self.variants)
            .field("bulk", &self.bulk)
            .finish()
    }
}

impl SimConfig {
    /// Turns on the variants named in `spec`, separated by commas or spaces (see
    /// [`VARIANT_NAMES`]; `default` or an empty spec changes nothing).
    pub fn apply_variants(&mut self, spec: &str) -> Result<(), String> {
        for name in spec
            .split([',', ' '])
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            match name {
                "default" => {}
                "phone_without_plus" => self.variants.phone_without_plus = true,
                "skew_40105" => self.variants.skew_40105 = true,
                "null_lists" => self.variants.null_lists = true,
                "username_case_sensitive" => self.username_case = UsernameCase::Sensitive,
                "group_name_case_insensitive" => self.variants.group_name_case_insensitive = true,
                "unknown_id_404" => self.variants.unknown_id_404 = true,
                "delete_unknown_404" => self.variants.delete_unknown_404 = true,
                "association_exists_40003" => self.variants.association_exists_40003 = true,
                "security_analyst_role" => self.variants.security_analyst_role = true,
                "no_bulk" => self.bulk.enabled = false,
                "bulk_partial" => self.bulk.create_atomic = false,
                other => {
                    return Err(format!(
                        "unknown duo-sim variant {other:?}; known: default, {}",
                        VARIANT_NAMES.join(", ")
                    ));
                }
            }
        }
        Ok(())
    }

    /// All integrations: the main one first.
    pub(crate) fn integrations(&self) -> Vec<IntegrationConfig> {
        let mut v = vec![IntegrationConfig {
            ikey: self.ikey.clone(),
            skey: self.skey.clone(),
            admin_api: true,
            permissions: self.permissions.clone(),
        }];
        v.extend(self.extra_integrations.iter().cloned());
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_keys_never_appear_in_debug_output() {
        let cfg = SimConfig {
            skey: "topsecret-main-skey-0000000000000000000".into(),
            extra_integrations: vec![IntegrationConfig {
                ikey: "DIOTHERXXXXXXXXXXXXX".into(),
                skey: "topsecret-extra-skey-000000000000000000".into(),
                admin_api: true,
                permissions: Permission::provisioning(),
            }],
            ..SimConfig::default()
        };
        let shown = format!("{cfg:?} {:#?}", cfg.integrations());
        assert!(!shown.contains("topsecret"), "{shown}");
        assert!(
            shown.contains("DIOTHERXXXXXXXXXXXXX"),
            "ikeys stay visible: {shown}"
        );
    }
}
