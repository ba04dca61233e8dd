//! The result of mapping one record: checked attribute values with their policies, the
//! derived Duo user type and admin role, and a stable fingerprint.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::canon::Canon;
use crate::spec::{EmptyPolicy, When};

/// A checked attribute value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AttrValue {
    /// Text (every Duo attribute, and PingOne's text attributes).
    Text(String),
    /// A boolean (PingOne `enabled`).
    Bool(bool),
}

impl AttrValue {
    /// The text, if this is text.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            AttrValue::Text(s) => Some(s),
            AttrValue::Bool(_) => None,
        }
    }
}

/// One mapped attribute: its value (`None` = the source was empty) and its policies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MappedAttr {
    /// The value; `None` when the source value was empty (see `empty`).
    pub value: Option<AttrValue>,
    /// What to do with the target's value when `value` is `None`.
    pub empty: EmptyPolicy,
    /// Whether to write it on every update or only at create.
    pub when: When,
}

/// What to do with one target attribute, both policies applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Desired<'a> {
    /// Write this value.
    Set(&'a AttrValue),
    /// Clear the target's value (empty source, `empty = "clear"`).
    Clear,
    /// Leave the target's value alone (empty source with `keep`, or `on_create` on an update).
    Leave,
}

impl MappedAttr {
    /// What this attribute asks of the target when creating (`is_create`) or updating it.
    pub fn desired(&self, is_create: bool) -> Desired<'_> {
        if !is_create && self.when == When::OnCreate {
            return Desired::Leave;
        }
        match (&self.value, self.empty) {
            (Some(v), _) => Desired::Set(v),
            (None, EmptyPolicy::Clear) => Desired::Clear,
            (None, EmptyPolicy::Keep) => Desired::Leave,
        }
    }
}

/// Outbound: whether the PingOne user becomes a Duo user or a Duo administrator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserType {
    /// A Duo user (`/admin/v1/users`).
    User,
    /// A Duo administrator (`/admin/v1/admins`).
    Admin,
}

impl fmt::Display for UserType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UserType::User => "user",
            UserType::Admin => "admin",
        })
    }
}

/// A Duo administrator role, always one of [`crate::ADMIN_ROLES`] (spelled as Duo spells it).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AdminRole(pub(crate) String);

impl AdminRole {
    /// The role as Duo's API spells it, e.g. `Read-only`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for AdminRole {
    /// `Read-only`: the least an administrator can do.
    fn default() -> Self {
        AdminRole("Read-only".to_owned())
    }
}

/// The attributes one source record should have on the target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MappedRecord {
    /// Target attribute name → value and policies, in name order. Outbound keys are Duo
    /// fields (`enabled` appears as `status`); inbound keys are PingOne paths.
    pub attrs: BTreeMap<String, MappedAttr>,
    /// Outbound only: user or administrator (`User` when `userType` is not mapped).
    pub user_type: Option<UserType>,
    /// Outbound administrators only: the Duo role (default `Read-only`).
    pub admin_role: Option<AdminRole>,
}

/// Bumped whenever the canonical encoding changes, so old fingerprints never match new ones.
const FINGERPRINT_VERSION: &[u8] = b"p1duo-mapping-fingerprint-v1\0";

impl MappedRecord {
    /// The attribute `name`, if mapped.
    pub fn get(&self, name: &str) -> Option<&MappedAttr> {
        self.attrs.get(name)
    }

    /// The text value of `name`, if mapped, non-empty and text.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.get(name)?.value.as_ref()?.as_str()
    }

    /// A 64-bit fingerprint of the mapped values, user type and role (not the policies).
    ///
    /// SHA-256 over a length-prefixed canonical encoding, first 8 bytes big-endian: the same on
    /// every run and platform, and it changes exactly when a mapped value changes.
    pub fn fingerprint(&self) -> u64 {
        let mut c = Canon::new(FINGERPRINT_VERSION);
        c.len(self.attrs.len());
        for (name, attr) in &self.attrs {
            c.str(name);
            match &attr.value {
                None => c.byte(0),
                Some(AttrValue::Text(s)) => {
                    c.byte(1);
                    c.str(s);
                }
                Some(AttrValue::Bool(b)) => {
                    c.byte(2);
                    c.byte(u8::from(*b));
                }
            }
        }
        c.byte(match self.user_type {
            None => 0,
            Some(UserType::User) => 1,
            Some(UserType::Admin) => 2,
        });
        match &self.admin_role {
            None => c.byte(0),
            Some(r) => {
                c.byte(1);
                c.str(r.as_str());
            }
        }
        c.finish()
    }
}
