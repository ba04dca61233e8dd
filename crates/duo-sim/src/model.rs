//! The simulator's stored objects and the state snapshot (`GET /__sim/state`, `DuoSim::state`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A Duo user as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    /// `DU…` id.
    pub user_id: String,
    /// Unique username (case kept as given).
    pub username: String,
    /// Full name.
    pub realname: String,
    /// First name.
    pub firstname: String,
    /// Last name.
    pub lastname: String,
    /// Email (not unique).
    pub email: String,
    /// `active`, `bypass`, `disabled` (settable), `locked out`, `pending deletion`.
    pub status: String,
    /// Notes.
    pub notes: String,
    /// Aliases by position (1..=8).
    pub aliases: BTreeMap<u8, String>,
    /// Unix seconds.
    pub created: i64,
    /// Group ids, in the order added.
    pub groups: Vec<String>,
    /// Phone ids, in the order associated.
    pub phones: Vec<String>,
    /// The simulated day the user was sent to the trash (status `pending deletion`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trashed_on_day: Option<u64>,
    /// The status before the trash, given back by `bulk_restore`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_before_trash: Option<String>,
}

/// A Duo group as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    /// `DG…` id.
    pub group_id: String,
    /// Unique, case-sensitive name.
    pub name: String,
    /// Description.
    pub desc: String,
    /// `active`, `bypass` or `disabled` (shown capitalised in responses).
    pub status: String,
    /// Legacy flags.
    pub push_enabled: bool,
    /// Legacy flags.
    pub sms_enabled: bool,
    /// Legacy flags.
    pub voice_enabled: bool,
    /// Legacy flags.
    pub mobile_otp_enabled: bool,
    /// Member user ids, in the order added.
    pub members: Vec<String>,
}

/// A Duo phone as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Phone {
    /// `DP…` id.
    pub phone_id: String,
    /// E.164 number, or empty for a tablet.
    pub number: String,
    /// Extension.
    pub extension: String,
    /// Name.
    pub name: String,
    /// `Unknown`, `Mobile` or `Landline`.
    pub r#type: String,
    /// Display-case platform, e.g. `Apple iOS`.
    pub platform: String,
    /// Seconds before dialling the extension.
    pub predelay: Option<i64>,
    /// Seconds after dialling the extension.
    pub postdelay: Option<i64>,
    /// Associated user ids.
    pub users: Vec<String>,
}

/// A Duo administrator as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Admin {
    /// `DE…` id.
    pub admin_id: String,
    /// Name.
    pub name: String,
    /// Unique email (case-insensitive).
    pub email: String,
    /// E.164 phone or empty.
    pub phone: String,
    /// Role, e.g. `Owner`.
    pub role: String,
    /// `Active`, `Disabled`, `Pending Activation`.
    pub status: String,
    /// Restricted to administrative units.
    pub restricted_by_admin_units: bool,
    /// Must change password at next login.
    pub password_change_required: bool,
    /// Unix seconds.
    pub created: i64,
}

/// A user-in-group membership.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    /// User id.
    pub user_id: String,
    /// Group id.
    pub group_id: String,
}

/// A phone associated with a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhoneAssociation {
    /// User id.
    pub user_id: String,
    /// Phone id.
    pub phone_id: String,
}

/// Everything the simulator holds, in listing order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SimState {
    /// Users.
    pub users: Vec<User>,
    /// Groups.
    pub groups: Vec<Group>,
    /// Phones.
    pub phones: Vec<Phone>,
    /// Administrators.
    pub admins: Vec<Admin>,
    /// Group memberships.
    pub memberships: Vec<Membership>,
    /// User-phone associations.
    pub phone_associations: Vec<PhoneAssociation>,
}
