//! The rule's policy: user actions, remove action, phones, groups, key
//! comparison and the safety limits on destructive ops.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What deprovisioning does to a target account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RemoveAction {
    /// Delete the account.
    #[default]
    Delete,
    /// Disable the account and keep it linked.
    Disable,
}

/// How match keys compare on the target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyCompare {
    /// `Alice` and `alice` are the same key.
    #[default]
    CaseInsensitive,
    /// Keys compare byte for byte.
    Exact,
}

/// What happens to phones a managed account no longer needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhoneCleanup {
    /// Never remove a phone.
    #[default]
    Keep,
    /// Remove phones without an activated device.
    RemoveUnused,
    /// Remove unused phones even with an activated device.
    RemoveUnusedIncludingActivated,
}

/// A class of destructive op with its own safety limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Destructive {
    /// Deleting users.
    UserDelete,
    /// Disabling users.
    UserDisable,
    /// Deleting admins.
    AdminDelete,
    /// Disabling admins.
    AdminDisable,
    /// Deleting groups.
    GroupDelete,
    /// Removing a member from a group.
    MembershipRemoval,
}

impl Destructive {
    /// All classes, in report order.
    pub const ALL: [Destructive; 6] = [
        Destructive::UserDelete,
        Destructive::UserDisable,
        Destructive::AdminDelete,
        Destructive::AdminDisable,
        Destructive::GroupDelete,
        Destructive::MembershipRemoval,
    ];
    /// Words used in messages.
    pub fn describe(self) -> &'static str {
        match self {
            Destructive::UserDelete => "user deletes",
            Destructive::UserDisable => "user disables",
            Destructive::AdminDelete => "admin deletes",
            Destructive::AdminDisable => "admin disables",
            Destructive::GroupDelete => "group deletes",
            Destructive::MembershipRemoval => "membership removals",
        }
    }
}

/// A limit on one destructive class: the plan is blocked when the count
/// exceeds `max_count` or `max_percent` of the objects the rule manages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limit {
    /// Most ops allowed in one plan.
    pub max_count: Option<u64>,
    /// Most ops allowed, in percent of the managed objects of that class.
    pub max_percent: Option<u32>,
    /// The percentage never blocks this many ops or fewer, so a handful of
    /// changes in a tiny rule goes through.
    #[serde(default)]
    pub floor: u64,
}

impl Limit {
    /// No limit.
    pub const NONE: Limit = Limit {
        max_count: None,
        max_percent: None,
        floor: 0,
    };
    /// True when `count` ops out of `managed` exceed this limit; the reasons.
    pub fn exceeded(&self, count: u64, managed: u64) -> Vec<String> {
        let mut why = Vec::new();
        if let Some(m) = self.max_count
            && count > m
        {
            why.push(format!("more than {m}"));
        }
        if let Some(pct) = self.max_percent
            && count > self.floor
            && u128::from(count) * 100 > u128::from(pct) * u128::from(managed)
        {
            why.push(format!("more than {pct}% of {managed} managed"));
        }
        why
    }
}

/// The safety limits, per class.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Users deleted.
    pub user_delete: Limit,
    /// Users disabled.
    pub user_disable: Limit,
    /// Admins deleted.
    pub admin_delete: Limit,
    /// Admins disabled.
    pub admin_disable: Limit,
    /// Groups deleted.
    pub group_delete: Limit,
    /// Memberships removed.
    pub membership_removal: Limit,
}

impl Default for Limits {
    /// 50 ops or 10 % of the managed objects, whichever trips first;
    /// admins: 5 or 10 %; the percentage never blocks 5 ops or fewer
    /// (memberships: 20).
    fn default() -> Self {
        let l = Limit {
            max_count: Some(50),
            max_percent: Some(10),
            floor: 5,
        };
        Limits {
            user_delete: l,
            user_disable: l,
            admin_delete: Limit {
                max_count: Some(5),
                max_percent: Some(10),
                floor: 5,
            },
            admin_disable: Limit {
                max_count: Some(5),
                max_percent: Some(10),
                floor: 5,
            },
            group_delete: l,
            membership_removal: Limit {
                max_count: Some(500),
                max_percent: Some(10),
                floor: 20,
            },
        }
    }
}

impl Limits {
    /// No limit at all.
    pub fn none() -> Self {
        Limits {
            user_delete: Limit::NONE,
            user_disable: Limit::NONE,
            admin_delete: Limit::NONE,
            admin_disable: Limit::NONE,
            group_delete: Limit::NONE,
            membership_removal: Limit::NONE,
        }
    }
    /// The limit of one class.
    pub fn get(&self, class: Destructive) -> Limit {
        match class {
            Destructive::UserDelete => self.user_delete,
            Destructive::UserDisable => self.user_disable,
            Destructive::AdminDelete => self.admin_delete,
            Destructive::AdminDisable => self.admin_disable,
            Destructive::GroupDelete => self.group_delete,
            Destructive::MembershipRemoval => self.membership_removal,
        }
    }
}

/// When the planner may link a target object it did not create (adoption).
/// A candidate that fails the policy is an `adopt_refused` problem: nothing is
/// written to it and nothing is created in its place.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Adoption {
    /// Adopt existing accounts (users, admins) whose key matches.
    pub accounts: bool,
    /// Adopt existing groups whose name matches a pushed group's. An adopted
    /// group is only unlinked, never deleted, when it leaves the rule.
    pub groups: bool,
    /// The key must match byte for byte (no case folding), even when keys
    /// otherwise compare ignoring case.
    pub exact_key: bool,
    /// Users: attributes whose desired value must be present and equal to
    /// the target's for an adoption (besides the key).
    pub confirm_users: Vec<String>,
    /// Admins: likewise (their key is already the email).
    pub confirm_admins: Vec<String>,
}

impl Default for Adoption {
    fn default() -> Self {
        Adoption {
            accounts: true,
            groups: false,
            exact_key: true,
            confirm_users: vec!["email".to_owned()],
            confirm_admins: vec!["name".to_owned()],
        }
    }
}

impl Adoption {
    /// Adopt on a case-insensitive key alone (the old behaviour; tests and
    /// explicit operator choice only).
    pub fn lenient() -> Self {
        Adoption {
            accounts: true,
            groups: true,
            exact_key: false,
            confirm_users: Vec::new(),
            confirm_admins: Vec::new(),
        }
    }
}

/// The rule's policy. `Default` is the cautious choice: everything on,
/// remove action delete, phones kept, default limits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// Create accounts that are desired but missing.
    pub create: bool,
    /// Update attributes, keys and enabled state of linked accounts.
    pub update: bool,
    /// Disable accounts whose source is disabled (needs `update`).
    pub disable: bool,
    /// Deprovision accounts whose source object is gone.
    pub deprovision: bool,
    /// What deprovisioning does.
    pub remove_action: RemoveAction,
    /// When the rule is deleted, deprovision every linked object (else only unlink).
    pub deprovision_on_rule_deletion: bool,
    /// Phones no longer needed by a managed account.
    pub phone_cleanup: PhoneCleanup,
    /// Push groups and memberships.
    pub group_push: bool,
    /// How match keys compare on the target.
    pub key_compare: KeyCompare,
    /// Safety limits on destructive ops.
    pub limits: Limits,
    /// Plan past every limit and guard (the caller's explicit consent).
    pub allow_destructive: bool,
    /// Block the plan when the source has no account while at least this
    /// many accounts are linked (`None`: no guard).
    pub empty_source_guard: Option<u64>,
    /// For a plan over part of a rule (the agent's fast path): how many
    /// objects of each class the whole rule manages. A percentage limit is
    /// taken of the larger of this and what the inputs hold, so a plan over
    /// three users cannot trip "10 % of 3".
    #[serde(default)]
    pub managed_floor: BTreeMap<Destructive, u64>,
    /// Which existing target objects may be linked without being created.
    #[serde(default)]
    pub adoption: Adoption,
    /// Block a full plan that disables or deletes accounts when the source
    /// holds fewer than this percentage of the accounts linked (at least
    /// `empty_source_guard` of them); `None`: no guard.
    #[serde(default)]
    pub shrink_guard_percent: Option<u32>,
    /// Send new, unenrolled users an enrollment email (`None`: never).
    #[serde(default)]
    pub enroll: Option<Enroll>,
}

/// The enrollment action: each linked or created user that is not enrolled
/// and has an email gets one enrollment email, and at most one reminder.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enroll {
    /// Seconds the enrollment link stays valid (0: never expires).
    pub valid_secs: u64,
    /// Seconds after the first email when a still-unenrolled user gets one
    /// reminder (`None`: no reminder).
    pub remind_after_secs: Option<u64>,
    /// The target attribute holding the email address.
    pub email_attr: String,
    /// The time the plan is made (Unix seconds): reminders fall due against it.
    pub now_secs: i64,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            create: true,
            update: true,
            disable: true,
            deprovision: true,
            remove_action: RemoveAction::Delete,
            deprovision_on_rule_deletion: false,
            phone_cleanup: PhoneCleanup::Keep,
            group_push: true,
            key_compare: KeyCompare::CaseInsensitive,
            limits: Limits::default(),
            allow_destructive: false,
            empty_source_guard: Some(10),
            managed_floor: BTreeMap::new(),
            adoption: Adoption::default(),
            shrink_guard_percent: Some(50),
            enroll: None,
        }
    }
}
