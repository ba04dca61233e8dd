//! Duo objects as the Admin API returns them (users, phones, groups,
//! administrators, the account summary) and the inputs of create/modify.
//!
//! Decoding is lenient: missing fields take defaults and unknown status or
//! role values are kept as `Other`, so a new Duo value never fails a sync.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::canon::Params;

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
            /// A value this client does not know, kept verbatim.
            Other(String),
        }

        impl $name {
            /// The value as Duo's requests spell it.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $wire,)+
                    $name::Other(s) => s,
                }
            }

            /// Parses Duo's spelling, ignoring case (responses capitalise).
            pub fn parse(s: &str) -> Self {
                $(if s.eq_ignore_ascii_case($wire) { return $name::$variant; })+
                $name::Other(s.to_owned())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Ok($name::parse(&s))
            }
        }
    };
}

string_enum!(
    /// A user's status.
    UserStatus {
        /// Must complete two-factor authentication (the default).
        Active => "active",
        /// Skips two-factor authentication.
        Bypass => "bypass",
        /// Cannot log in.
        Disabled => "disabled",
        /// Locked out (set by Duo; read-only here).
        LockedOut => "locked out",
        /// In the Trash, deleted after 7 days (read-only here).
        PendingDeletion => "pending deletion",
    }
);

string_enum!(
    /// A group's status (responses say `Active`, requests `active`).
    GroupStatus {
        /// Members must use two-factor authentication.
        Active => "active",
        /// Members skip two-factor authentication.
        Bypass => "bypass",
        /// Members cannot log in.
        Disabled => "disabled",
    }
);

string_enum!(
    /// An administrator role (case-sensitive on the wire).
    AdminRole {
        /// Full control.
        Owner => "Owner",
        /// Administrator.
        Administrator => "Administrator",
        /// Application Manager.
        ApplicationManager => "Application Manager",
        /// User Manager.
        UserManager => "User Manager",
        /// Help Desk.
        HelpDesk => "Help Desk",
        /// Billing.
        Billing => "Billing",
        /// Phishing Manager.
        PhishingManager => "Phishing Manager",
        /// Read-only.
        ReadOnly => "Read-only",
        /// Security Analyst.
        SecurityAnalyst => "Security Analyst",
    }
);

string_enum!(
    /// An administrator's status.
    AdminStatus {
        /// Can log in.
        Active => "Active",
        /// Cannot log in.
        Disabled => "Disabled",
        /// Created, activation link not used yet.
        PendingActivation => "Pending Activation",
        /// The activation link expired.
        Expired => "Expired",
    }
);

/// Duo's one-to-many limit: phones or groups per user, users per phone
/// (duo.com/docs/rate-limits).
pub const ONE_TO_MANY_LIMIT: usize = 100;

/// A null string field reads as empty.
fn null_as_empty<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

/// A `null` reads as the type's default (an empty list or map): Duo marks
/// many fields nullable, and one `null` must not fail a whole page.
fn null_as_default<'de, D: Deserializer<'de>, T: Default + Deserialize<'de>>(
    d: D,
) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A number or a numeric string (Duo is not consistent).
fn lenient_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(match Option::<serde_json::Value>::deserialize(d)? {
        Some(serde_json::Value::Number(n)) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Some(serde_json::Value::String(s)) => s.parse().ok(),
        _ => None,
    })
}

/// A Duo user.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct User {
    /// `DU…` id.
    #[serde(deserialize_with = "null_as_empty")]
    pub user_id: String,
    /// Username (unique, with aliases).
    #[serde(deserialize_with = "null_as_empty")]
    pub username: String,
    /// Full name.
    pub realname: Option<String>,
    /// First name.
    pub firstname: Option<String>,
    /// Last name.
    pub lastname: Option<String>,
    /// Email address.
    pub email: Option<String>,
    /// Status.
    pub status: Option<UserStatus>,
    /// Notes.
    pub notes: Option<String>,
    /// Legacy alias slot 1.
    pub alias1: Option<String>,
    /// Legacy alias slot 2.
    pub alias2: Option<String>,
    /// Legacy alias slot 3.
    pub alias3: Option<String>,
    /// Legacy alias slot 4.
    pub alias4: Option<String>,
    /// All aliases, `alias1`… → value.
    #[serde(deserialize_with = "null_as_default")]
    pub aliases: BTreeMap<String, String>,
    /// Created (Unix seconds).
    #[serde(deserialize_with = "lenient_i64")]
    pub created: Option<i64>,
    /// Last login (Unix seconds).
    #[serde(deserialize_with = "lenient_i64")]
    pub last_login: Option<i64>,
    /// Whether the user has enrolled a device.
    pub is_enrolled: Option<bool>,
    /// Directory id, for directory-synced users.
    pub external_id: Option<String>,
    /// Groups the user belongs to.
    #[serde(deserialize_with = "null_as_default")]
    pub groups: Vec<Group>,
    /// The user's phones.
    #[serde(deserialize_with = "null_as_default")]
    pub phones: Vec<Phone>,
}

impl User {
    /// The aliases in slot order (`aliases` map, falling back to `alias1`…`alias4`).
    pub fn alias_list(&self) -> Vec<String> {
        if !self.aliases.is_empty() {
            let mut slots: Vec<(u32, &String)> = self
                .aliases
                .iter()
                .filter_map(|(k, v)| {
                    k.strip_prefix("alias")
                        .and_then(|n| n.parse().ok())
                        .map(|n| (n, v))
                })
                .filter(|(_, v)| !v.is_empty())
                .collect();
            slots.sort();
            return slots.into_iter().map(|(_, v)| v.clone()).collect();
        }
        [&self.alias1, &self.alias2, &self.alias3, &self.alias4]
            .into_iter()
            .flatten()
            .filter(|a| !a.is_empty())
            .cloned()
            .collect()
    }
}

/// A Duo phone.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Phone {
    /// `DP…` id.
    #[serde(deserialize_with = "null_as_empty")]
    pub phone_id: String,
    /// E.164 number (`+17345551212`), empty for tablets.
    pub number: Option<String>,
    /// Extension.
    pub extension: Option<String>,
    /// Display name.
    pub name: Option<String>,
    /// `Mobile`, `Landline`, `Unknown`.
    #[serde(rename = "type")]
    pub phone_type: Option<String>,
    /// Platform, e.g. `Apple iOS`.
    pub platform: Option<String>,
    /// Whether Duo Mobile is activated.
    pub activated: Option<bool>,
    /// `auto`, `push`, `phone`, `sms`, `mobile_otp`.
    #[serde(deserialize_with = "null_as_default")]
    pub capabilities: Vec<String>,
    /// Users this phone belongs to (id and username).
    #[serde(deserialize_with = "null_as_default")]
    pub users: Vec<UserRef>,
}

/// One id's outcome of `bulk_send_to_trash` or `bulk_restore`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BulkResult {
    /// `DU…` id.
    #[serde(deserialize_with = "null_as_empty")]
    pub user_id: String,
    /// Whether Duo applied it.
    pub success: bool,
}

/// A user as embedded in another object.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct UserRef {
    /// `DU…` id.
    #[serde(deserialize_with = "null_as_empty")]
    pub user_id: String,
    /// Username.
    #[serde(deserialize_with = "null_as_empty")]
    pub username: String,
}

/// A Duo group.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Group {
    /// `DG…` id.
    #[serde(deserialize_with = "null_as_empty")]
    pub group_id: String,
    /// Name (case-sensitive).
    #[serde(deserialize_with = "null_as_empty")]
    pub name: String,
    /// Description.
    #[serde(deserialize_with = "null_as_empty")]
    pub desc: String,
    /// Status.
    pub status: Option<GroupStatus>,
}

/// A Duo administrator.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Admin {
    /// `DE…` id.
    #[serde(deserialize_with = "null_as_empty")]
    pub admin_id: String,
    /// Name.
    #[serde(deserialize_with = "null_as_empty")]
    pub name: String,
    /// Email (unique among administrators).
    #[serde(deserialize_with = "null_as_empty")]
    pub email: String,
    /// Phone number.
    pub phone: Option<String>,
    /// Role.
    pub role: Option<AdminRole>,
    /// Status.
    pub status: Option<AdminStatus>,
    /// Restricted to administrative units.
    pub restricted_by_admin_units: Option<bool>,
    /// Must change password at next login.
    pub password_change_required: Option<bool>,
    /// Created (Unix seconds).
    #[serde(deserialize_with = "lenient_i64")]
    pub created: Option<i64>,
    /// Last login (Unix seconds).
    #[serde(deserialize_with = "lenient_i64")]
    pub last_login: Option<i64>,
}

/// `GET /admin/v1/info/summary`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Summary {
    /// Administrators.
    pub admin_count: u64,
    /// Applications.
    pub integration_count: u64,
    /// Telephony credits left.
    pub telephony_credits_remaining: i64,
    /// Users.
    pub user_count: u64,
}

/// One page of a listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page<T> {
    /// The objects of this page.
    pub items: Vec<T>,
    /// `metadata.total_objects`, when Duo sent it.
    pub total_objects: Option<u64>,
    /// Offset of this page.
    pub offset: u64,
    /// `metadata.next_offset`; `None` on the last page.
    pub next_offset: Option<u64>,
}

/// Sets aliases: legacy `alias1`…`alias4` when four or fewer, the `aliases`
/// form (`alias1=…&…&alias8=…`) beyond; blank slots clear old aliases.
fn push_aliases(p: &mut Params, aliases: &[String]) {
    if aliases.len() <= 4 {
        for slot in 0..4 {
            p.push(
                format!("alias{}", slot + 1),
                aliases.get(slot).map(String::as_str).unwrap_or(""),
            );
        }
    } else {
        let pairs: Vec<String> = (0..8)
            .map(|i| {
                let value = aliases
                    .get(i)
                    .map(|a| crate::canon::encode(a))
                    .unwrap_or_default();
                format!("alias{}={value}", i + 1)
            })
            .collect();
        p.push("aliases", pairs.join("&"));
    }
}

/// Input of `create_user`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewUser {
    /// Required, unique.
    pub username: String,
    /// Full name.
    pub realname: Option<String>,
    /// First name.
    pub firstname: Option<String>,
    /// Last name.
    pub lastname: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// `active` (default), `bypass` or `disabled`.
    pub status: Option<UserStatus>,
    /// Notes.
    pub notes: Option<String>,
    /// Aliases (at most 8), unique across users.
    pub aliases: Vec<String>,
    /// Any other parameter (e.g. `custom_attributes.x`), sent as given.
    pub extra: Params,
}

impl NewUser {
    /// A user with just a username.
    pub fn new(username: impl Into<String>) -> Self {
        Self {
            username: username.into(),
            ..Self::default()
        }
    }

    pub(crate) fn params(&self) -> Params {
        let mut p = Params::new();
        p.push("username", self.username.as_str());
        p.push_opt("realname", self.realname.as_deref());
        p.push_opt("firstname", self.firstname.as_deref());
        p.push_opt("lastname", self.lastname.as_deref());
        p.push_opt("email", self.email.as_deref());
        p.push_opt("status", self.status.as_ref().map(UserStatus::as_str));
        p.push_opt("notes", self.notes.as_deref());
        if !self.aliases.is_empty() {
            push_aliases(&mut p, &self.aliases);
        }
        p.extend_from(&self.extra);
        p
    }
}

/// Input of `modify_user`: only `Some` fields are sent; `Some("")` clears.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserUpdate {
    /// Renames the user.
    pub username: Option<String>,
    /// Full name.
    pub realname: Option<String>,
    /// First name.
    pub firstname: Option<String>,
    /// Last name.
    pub lastname: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// `active`, `bypass` or `disabled`.
    pub status: Option<UserStatus>,
    /// Notes.
    pub notes: Option<String>,
    /// Replaces all aliases (an empty list clears them).
    pub aliases: Option<Vec<String>>,
    /// Any other parameter, sent as given.
    pub extra: Params,
}

impl UserUpdate {
    pub(crate) fn params(&self) -> Params {
        let mut p = Params::new();
        p.push_opt("username", self.username.as_deref());
        p.push_opt("realname", self.realname.as_deref());
        p.push_opt("firstname", self.firstname.as_deref());
        p.push_opt("lastname", self.lastname.as_deref());
        p.push_opt("email", self.email.as_deref());
        p.push_opt("status", self.status.as_ref().map(UserStatus::as_str));
        p.push_opt("notes", self.notes.as_deref());
        if let Some(aliases) = &self.aliases {
            push_aliases(&mut p, aliases);
        }
        p.extend_from(&self.extra);
        p
    }
}

/// Input of `create_phone` and `modify_phone`: only `Some` fields are sent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PhoneSpec {
    /// Number, E.164 recommended (without `+`, Duo assumes +1).
    pub number: Option<String>,
    /// Extension.
    pub extension: Option<String>,
    /// Display name.
    pub name: Option<String>,
    /// `mobile`, `landline` or `unknown`.
    pub phone_type: Option<String>,
    /// e.g. `apple ios`, `google android`, `generic smartphone`.
    pub platform: Option<String>,
    /// Any other parameter (`predelay`, `postdelay`…), sent as given.
    pub extra: Params,
}

impl PhoneSpec {
    /// A phone with just a number.
    pub fn number(number: impl Into<String>) -> Self {
        Self {
            number: Some(number.into()),
            ..Self::default()
        }
    }

    pub(crate) fn params(&self) -> Params {
        let mut p = Params::new();
        p.push_opt("number", self.number.as_deref());
        p.push_opt("extension", self.extension.as_deref());
        p.push_opt("name", self.name.as_deref());
        p.push_opt("type", self.phone_type.as_deref());
        p.push_opt("platform", self.platform.as_deref());
        p.extend_from(&self.extra);
        p
    }
}

/// Input of `create_group`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewGroup {
    /// Required.
    pub name: String,
    /// Description.
    pub desc: Option<String>,
    /// `active`, `bypass` or `disabled`.
    pub status: Option<GroupStatus>,
}

impl NewGroup {
    /// A group with just a name.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }

    pub(crate) fn params(&self) -> Params {
        let mut p = Params::new();
        p.push("name", self.name.as_str());
        p.push_opt("desc", self.desc.as_deref());
        p.push_opt("status", self.status.as_ref().map(GroupStatus::as_str));
        p
    }
}

/// Input of `modify_group`: only `Some` fields are sent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupUpdate {
    /// Renames the group.
    pub name: Option<String>,
    /// Description.
    pub desc: Option<String>,
    /// `active`, `bypass` or `disabled`.
    pub status: Option<GroupStatus>,
}

impl GroupUpdate {
    pub(crate) fn params(&self) -> Params {
        let mut p = Params::new();
        p.push_opt("name", self.name.as_deref());
        p.push_opt("desc", self.desc.as_deref());
        p.push_opt("status", self.status.as_ref().map(GroupStatus::as_str));
        p
    }
}

/// Input of `create_admin`. The role is required here: Duo makes an admin
/// an Owner when none is sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewAdmin {
    /// Email, unique among administrators.
    pub email: String,
    /// Name.
    pub name: String,
    /// Role (always sent).
    pub role: AdminRole,
    /// Phone (E.164); if given it cannot be empty.
    pub phone: Option<String>,
    /// Must be true before the admin can join an administrative unit.
    pub restricted_by_admin_units: Option<bool>,
    /// Email the activation link.
    pub send_email: bool,
    /// Activation link lifetime in days (default 7, at most 31).
    pub valid_days: Option<u32>,
}

impl NewAdmin {
    /// An admin with the given email, name and role.
    pub fn new(email: impl Into<String>, name: impl Into<String>, role: AdminRole) -> Self {
        Self {
            email: email.into(),
            name: name.into(),
            role,
            phone: None,
            restricted_by_admin_units: None,
            send_email: false,
            valid_days: None,
        }
    }

    pub(crate) fn params(&self) -> Params {
        let mut p = Params::new();
        p.push("email", self.email.as_str());
        p.push("name", self.name.as_str());
        p.push("role", self.role.as_str());
        p.push_opt("phone", self.phone.as_deref());
        if let Some(r) = self.restricted_by_admin_units {
            p.push(
                "restricted_by_admin_units",
                if r { "true" } else { "false" },
            );
        }
        if self.send_email {
            p.push("send_email", "1");
        }
        if let Some(d) = self.valid_days {
            p.push("valid_days", d.to_string());
        }
        p
    }
}

/// Input of `modify_admin`: only `Some` fields are sent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AdminUpdate {
    /// Name.
    pub name: Option<String>,
    /// Phone (cannot be empty).
    pub phone: Option<String>,
    /// Role.
    pub role: Option<AdminRole>,
    /// `Active` or `Disabled` (an Owner cannot be disabled).
    pub status: Option<AdminStatus>,
    /// Restricted to administrative units.
    pub restricted_by_admin_units: Option<bool>,
    /// Must change password at next login.
    pub password_change_required: Option<bool>,
}

impl AdminUpdate {
    pub(crate) fn params(&self) -> Params {
        let bool_str = |b: bool| if b { "true" } else { "false" };
        let mut p = Params::new();
        p.push_opt("name", self.name.as_deref());
        p.push_opt("phone", self.phone.as_deref());
        p.push_opt("role", self.role.as_ref().map(AdminRole::as_str));
        p.push_opt("status", self.status.as_ref().map(AdminStatus::as_str));
        p.push_opt(
            "restricted_by_admin_units",
            self.restricted_by_admin_units.map(bool_str),
        );
        p.push_opt(
            "password_change_required",
            self.password_change_required.map(bool_str),
        );
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_parse_any_case_and_keep_unknown_values() {
        assert_eq!(GroupStatus::parse("Active"), GroupStatus::Active);
        assert_eq!(UserStatus::parse("locked out"), UserStatus::LockedOut);
        assert_eq!(AdminRole::parse("Help Desk").as_str(), "Help Desk");
        assert_eq!(
            AdminRole::parse("Galactic Overlord"),
            AdminRole::Other("Galactic Overlord".into())
        );
    }

    #[test]
    fn user_decodes_leniently() {
        let u: User = serde_json::from_str(
            r#"{"user_id":"DU1","username":"a","realname":null,"created":"17","status":"Active",
                "aliases":{"alias2":"b","alias1":"a2"},"groups":[{"group_id":"DG1","name":"g","desc":null,"status":"Active"}],
                "surprise":1}"#,
        )
        .unwrap();
        assert_eq!(u.created, Some(17));
        assert_eq!(u.status, Some(UserStatus::Active));
        assert_eq!(u.alias_list(), vec!["a2".to_owned(), "b".to_owned()]);
        assert_eq!(u.groups[0].status, Some(GroupStatus::Active));
    }

    #[test]
    fn alias_update_clears_unused_legacy_slots() {
        let up = UserUpdate {
            aliases: Some(vec!["x".into()]),
            ..UserUpdate::default()
        };
        let p = up.params();
        assert_eq!(p.get("alias1"), Some("x"));
        assert_eq!(p.get("alias4"), Some(""));
    }
}
