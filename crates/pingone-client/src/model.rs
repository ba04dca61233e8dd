//! Wire types: users, groups, memberships, populations and HAL pages. Deserialisation is
//! tolerant (every field optional, unknown keys kept in `extra`) because PingOne adds
//! fields and custom attributes are extra top-level keys.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// `{"id": "..."}`: a reference to a population, environment, password policy, ...
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectRef {
    /// The referenced id.
    #[serde(default)]
    pub id: String,
}

impl ObjectRef {
    /// A reference to `id`.
    pub fn new(id: impl Into<String>) -> Self {
        Self { id: id.into() }
    }
}

/// A user's name parts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Name {
    #[serde(skip_serializing_if = "Option::is_none")]
    /// Given (first) name.
    pub given: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// Family (last) name.
    pub family: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// Middle name.
    pub middle: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// Full name for display.
    pub formatted: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// E.g. `Dr.`.
    pub honorific_prefix: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// E.g. `Jr.`.
    pub honorific_suffix: Option<String>,
}

/// A postal address.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Address {
    #[serde(skip_serializing_if = "Option::is_none")]
    /// Street.
    pub street_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// City.
    pub locality: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// State or region.
    pub region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// Postal code.
    pub postal_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// ISO 3166 alpha-2.
    pub country_code: Option<String>,
}

/// A PingOne user as read (`GET /users`, `GET /users/{id}`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct User {
    /// The user id.
    pub id: String,
    /// Unique per environment.
    pub username: String,
    /// Email address.
    pub email: Option<String>,
    /// Name parts.
    pub name: Option<Name>,
    /// The user's population.
    pub population: Option<ObjectRef>,
    /// Whether the user may sign on (change it with `set_user_enabled`).
    pub enabled: Option<bool>,
    /// Correlation id owned by another system (e.g. the Duo user id).
    pub external_id: Option<String>,
    /// Account id (a documented standard attribute missing from the SDK model).
    pub account_id: Option<String>,
    /// Job title.
    pub title: Option<String>,
    /// User type (free text), e.g. `admin`.
    #[serde(rename = "type")]
    pub user_type: Option<String>,
    /// Nickname.
    pub nickname: Option<String>,
    /// Locale.
    pub locale: Option<String>,
    /// Preferred language.
    pub preferred_language: Option<String>,
    /// IANA time zone.
    pub timezone: Option<String>,
    /// Primary phone.
    pub primary_phone: Option<String>,
    /// Mobile phone.
    pub mobile_phone: Option<String>,
    /// Postal address.
    pub address: Option<Address>,
    /// `{canAuthenticate, status, ...}` (read-only).
    pub account: Option<Value>,
    /// `{status, ...}`.
    pub lifecycle: Option<Value>,
    /// `{id, type}` of the authoritative identity provider.
    pub identity_provider: Option<Value>,
    /// Photo `{href}`.
    pub photo: Option<Value>,
    /// Whether MFA is on.
    pub mfa_enabled: Option<bool>,
    /// `NOT_INITIATED`, `ENABLED` or `DISABLED`.
    pub verify_status: Option<String>,
    /// Whether the email address is verified.
    pub email_verified: Option<bool>,
    /// `{at, remoteIp}`.
    pub last_sign_on: Option<Value>,
    /// Direct and indirect group ids; only from `get_user` (`include=memberOfGroupIDs`).
    #[serde(rename = "memberOfGroupIDs")]
    pub member_of_group_ids: Option<Vec<String>>,
    /// Group names; only with `include=memberOfGroupNames`.
    pub member_of_group_names: Option<Vec<String>>,
    /// ISO-8601 creation time.
    pub created_at: Option<String>,
    /// ISO-8601 last update.
    pub updated_at: Option<String>,
    /// The environment.
    pub environment: Option<ObjectRef>,
    /// Expanded objects, e.g. the population with `expand=population`.
    #[serde(rename = "_embedded", skip_serializing_if = "Option::is_none")]
    pub embedded: Option<UserEmbedded>,
    /// HAL links (not sent back).
    #[serde(rename = "_links", skip_serializing)]
    pub links: Option<Value>,
    /// Custom attributes and any field this type does not name.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `_embedded` of a user.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct UserEmbedded {
    /// With `expand=population`.
    pub population: Option<Population>,
    /// Anything else embedded.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl User {
    /// The population id, if known.
    pub fn population_id(&self) -> Option<&str> {
        self.population.as_ref().map(|p| p.id.as_str())
    }

    /// The expanded population, with `expand=population`.
    pub fn expanded_population(&self) -> Option<&Population> {
        self.embedded.as_ref()?.population.as_ref()
    }
}

/// The attributes sent to create (`POST`) or partially update (`PATCH`) a user.
///
/// `None` fields are left out, so a PATCH leaves them unchanged. To clear an attribute,
/// put `null` under its name in `extra` (PingOne unsets nullable attributes that way).
/// `enabled` and `population` take effect only on create; later use `set_user_enabled`
/// and `set_user_population`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserFields {
    /// Unique per environment; required on create.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Email address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Name parts (PATCH replaces the whole object).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<Name>,
    /// Population at create; the environment's default when left out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub population: Option<ObjectRef>,
    /// Enabled at create.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Correlation id owned by another system.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Account id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// Job title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// User type.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub user_type: Option<String>,
    /// Nickname.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nickname: Option<String>,
    /// Locale.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// Preferred language.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferred_language: Option<String>,
    /// IANA time zone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// Primary phone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary_phone: Option<String>,
    /// Mobile phone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mobile_phone: Option<String>,
    /// Postal address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    /// Custom attributes, and `null`s to unset attributes.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A PingOne group as read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Group {
    /// The group id.
    pub id: String,
    /// Name; treated as unique per environment.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Correlation id owned by another system (e.g. the Duo group id).
    pub external_id: Option<String>,
    /// Set for a population-scoped group.
    pub population: Option<ObjectRef>,
    /// SCIM filter of a dynamic group.
    pub user_filter: Option<String>,
    /// Free JSON.
    pub custom_data: Option<Value>,
    /// `{users, groups}` direct member counts.
    pub direct_member_counts: Option<MemberCounts>,
    /// `{users}` with `include=totalMemberCounts`.
    pub total_member_counts: Option<MemberCounts>,
    /// External groups only.
    pub display_name: Option<String>,
    /// `GATEWAY` or `IDP` for external groups.
    pub source_type: Option<String>,
    /// External groups only.
    pub source_id: Option<String>,
    /// ISO-8601 creation time.
    pub created_at: Option<String>,
    /// ISO-8601 last update.
    pub updated_at: Option<String>,
    /// The environment.
    pub environment: Option<ObjectRef>,
    /// HAL links (not sent back).
    #[serde(rename = "_links", skip_serializing)]
    pub links: Option<Value>,
    /// Any field this type does not name.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Member counts of a group.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MemberCounts {
    /// Users.
    pub users: Option<u64>,
    /// Nested groups.
    pub groups: Option<u64>,
}

/// The attributes sent to create (`POST`) or replace (`PUT`) a group. A PUT removes what is
/// left out, so send everything the group should keep.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupFields {
    /// Required.
    pub name: String,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Correlation id owned by another system.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Population scope; only on create.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub population: Option<ObjectRef>,
    /// SCIM filter making the group dynamic.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_filter: Option<String>,
    /// Free JSON.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_data: Option<Value>,
    /// Anything else.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// How a user belongs to a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MembershipType {
    /// Added with `add_user_to_group`; removable.
    Direct,
    /// Through a nested or dynamic group.
    Indirect,
    /// A value this client does not know.
    #[serde(other)]
    Other,
}

/// One of a user's groups (`GET /users/{id}/memberOfGroups`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GroupMembership {
    /// The group id.
    pub id: String,
    /// The group name.
    pub name: Option<String>,
    /// Direct or indirect.
    #[serde(rename = "type")]
    pub membership_type: Option<MembershipType>,
    /// The environment.
    pub environment: Option<ObjectRef>,
    /// The group, with `expand=group`.
    #[serde(rename = "_embedded", skip_serializing_if = "Option::is_none")]
    pub embedded: Option<MembershipEmbedded>,
    /// HAL links (not sent back).
    #[serde(rename = "_links", skip_serializing)]
    pub links: Option<Value>,
    /// Any field this type does not name.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl GroupMembership {
    /// The expanded group, with `expand=group`.
    pub fn group(&self) -> Option<&Group> {
        self.embedded.as_ref()?.group.as_ref()
    }

    /// Whether this is a direct membership.
    pub fn is_direct(&self) -> bool {
        self.membership_type == Some(MembershipType::Direct)
    }
}

/// `_embedded` of a membership.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MembershipEmbedded {
    /// With `expand=group`.
    pub group: Option<Group>,
}

/// A population.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Population {
    /// The population id.
    pub id: String,
    /// Unique per environment.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Whether new users without a population land here.
    pub default: Option<bool>,
    /// Users in it.
    pub user_count: Option<u64>,
    /// Password policy.
    pub password_policy: Option<ObjectRef>,
    /// ISO-8601 creation time.
    pub created_at: Option<String>,
    /// ISO-8601 last update.
    pub updated_at: Option<String>,
    /// The environment.
    pub environment: Option<ObjectRef>,
    /// HAL links (not sent back).
    #[serde(rename = "_links", skip_serializing)]
    pub links: Option<Value>,
    /// Any field this type does not name.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One page of a HAL collection.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The items on this page.
    pub items: Vec<T>,
    /// `size`: items on this page, as PingOne counted them.
    pub size: Option<u64>,
    /// `count`: the total, when PingOne gives it (absent for very large sets).
    pub count: Option<u64>,
    /// `_links.next.href`, followed verbatim.
    pub next: Option<String>,
}

/// A HAL collection page decoded straight into `T` (no intermediate JSON tree).
#[derive(Debug, Deserialize)]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
pub(crate) struct HalCollection<T> {
    #[serde(rename = "_links", default)]
    pub links: Map<String, Value>,
    #[serde(rename = "_embedded", default = "Embedded::empty")]
    pub embedded: Embedded<T>,
    #[serde(default)]
    pub count: Option<f64>,
    #[serde(default)]
    pub size: Option<f64>,
}

impl<T> HalCollection<T> {
    pub(crate) fn next_href(&self) -> Option<String> {
        let href = self.links.get("next")?.get("href")?.as_str()?;
        (!href.is_empty()).then(|| href.to_owned())
    }
}

/// `_embedded` of a collection: PingOne puts exactly one key there (`users`, `groups`, ...);
/// the first key's array is decoded and any other key skipped.
#[derive(Debug)]
pub(crate) struct Embedded<T> {
    pub key: Option<String>,
    pub items: Vec<T>,
}

impl<T> Embedded<T> {
    fn empty() -> Self {
        Self {
            key: None,
            items: Vec::new(),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Embedded<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for V<T> {
            type Value = Embedded<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an `_embedded` object holding one array")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut out = Embedded::empty();
                while let Some(k) = map.next_key::<String>()? {
                    if out.key.is_none() {
                        out.items = map.next_value()?;
                        out.key = Some(k);
                    } else {
                        map.next_value::<serde::de::IgnoredAny>()?;
                    }
                }
                Ok(out)
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}
