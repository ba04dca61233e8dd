//! What the state database remembers of each rule besides its links: how it
//! was configured (for a removed rule), its last scope, what its names
//! resolved to, and how many memberships it pushed. Typed over the key-value
//! table: a value that cannot be read is an error, never a silent default
//! (an unreadable scope would switch echo protection off).

use crate::config::{Direction, RemoveAction};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use state_store::{Store, StoreError};
use std::collections::BTreeMap;

/// What the state database remembers of a rule, so a rule removed from the
/// config can still be deprovisioned the way it was configured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RuleMemo {
    pub direction: Direction,
    pub deprovision_on_rule_deletion: bool,
    pub remove_action: RemoveAction,
    pub target_population: Option<String>,
}

/// One entry of a rule's state, with its key in the key-value table.
#[derive(Debug, Clone, Copy)]
enum Entry {
    /// [`RuleMemo`].
    Memo,
    /// The PingOne user ids last seen in an outbound rule's scope.
    Scope,
    /// What each scope and push entry of an outbound rule last resolved to.
    Resolved,
    /// How many memberships of pushed groups an outbound rule had at its last
    /// full cycle (the fast path's floor for the membership-removal percentage).
    Memberships,
    /// The last cycle's block, if it was blocked ([`Blocked`]).
    Blocked,
    /// The hash of a blocked plan the operator approved (`p1duo approve`).
    Approval,
}

/// Why a rule's last cycle was blocked by a safety limit: what `status`, the
/// page and the metrics show until a cycle runs again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Blocked {
    /// The blocked plan's hash.
    pub plan_hash: String,
    /// Each limit or guard exceeded, in words.
    pub reasons: Vec<String>,
    /// The destructive changes it would have made (disable, delete, removals).
    pub pending_destructive: u64,
    /// The first of them in words (`disable user alice`), for the page.
    #[serde(default)]
    pub examples: Vec<String>,
    /// When (Unix milliseconds).
    pub at: i64,
}

impl Entry {
    fn key(self, rule: &str) -> String {
        let prefix = match self {
            Entry::Memo => "rule",
            Entry::Scope => "scope",
            Entry::Resolved => "resolved",
            Entry::Memberships => "memberships",
            Entry::Blocked => "blocked",
            Entry::Approval => "approval",
        };
        format!("{prefix}/{rule}")
    }
}

/// A write of a rule's state, made once the cycle runs (a plan writes nothing).
#[derive(Debug, Clone)]
pub(crate) struct StateWrite {
    key: String,
    value: String,
}

impl StateWrite {
    fn new<T: Serialize>(entry: Entry, rule: &str, value: &T) -> StateWrite {
        StateWrite {
            key: entry.key(rule),
            // Our own plain data types: serialising them cannot fail.
            value: serde_json::to_string(value).unwrap_or_default(),
        }
    }
    pub(crate) fn memo(rule: &str, memo: &RuleMemo) -> StateWrite {
        StateWrite::new(Entry::Memo, rule, memo)
    }
    pub(crate) fn scope(rule: &str, ids: &[String]) -> StateWrite {
        StateWrite::new(Entry::Scope, rule, &ids)
    }
    pub(crate) fn resolved(rule: &str, resolved: &BTreeMap<String, String>) -> StateWrite {
        StateWrite::new(Entry::Resolved, rule, resolved)
    }
    pub(crate) fn memberships(rule: &str, n: u64) -> StateWrite {
        StateWrite::new(Entry::Memberships, rule, &n)
    }
    /// The last cycle's block, or `None` to clear it.
    pub(crate) fn blocked(rule: &str, blocked: Option<&Blocked>) -> StateWrite {
        StateWrite::new(Entry::Blocked, rule, &blocked)
    }
    /// The approved plan hash, or `None` once it is used or stale.
    pub(crate) fn approval(rule: &str, plan_hash: Option<&str>) -> StateWrite {
        StateWrite::new(Entry::Approval, rule, &plan_hash)
    }
    pub(crate) fn apply(&self, s: &mut Store) -> state_store::Result<()> {
        s.kv_set(&self.key, &self.value)
    }
}

fn read<T: DeserializeOwned>(
    s: &Store,
    entry: Entry,
    rule: &str,
) -> state_store::Result<Option<T>> {
    read_key(s, &entry.key(rule))
}

fn read_key<T: DeserializeOwned>(s: &Store, key: &str) -> state_store::Result<Option<T>> {
    let Some(text) = s.kv_get(key)? else {
        return Ok(None);
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|_| StoreError::Corrupt {
            table: "kv",
            column: "value",
            // The notifications entry holds the delivery secret: never quoted.
            value: if key == NOTIFICATIONS_KEY {
                format!("{key} = [redacted]")
            } else {
                format!("{key} = {}", text.chars().take(80).collect::<String>())
            },
        })
}

/// How a removed rule was configured (`None`: never recorded).
pub(crate) fn memo(s: &Store, rule: &str) -> state_store::Result<Option<RuleMemo>> {
    read(s, Entry::Memo, rule)
}

/// The PingOne user ids last in an outbound rule's scope (empty before its first cycle).
pub(crate) fn scope(s: &Store, rule: &str) -> state_store::Result<Vec<String>> {
    Ok(read(s, Entry::Scope, rule)?.unwrap_or_default())
}

/// The last [`crate::pingone::PingOneSnapshot::resolved`] of a rule.
pub(crate) fn resolved(s: &Store, rule: &str) -> state_store::Result<BTreeMap<String, String>> {
    Ok(read(s, Entry::Resolved, rule)?.unwrap_or_default())
}

/// The block of the rule's last cycle (`None`: it was not blocked).
pub(crate) fn blocked(s: &Store, rule: &str) -> state_store::Result<Option<Blocked>> {
    Ok(read::<Option<Blocked>>(s, Entry::Blocked, rule)?.flatten())
}

/// The plan hash the operator approved for the rule's next cycle.
pub(crate) fn approval(s: &Store, rule: &str) -> state_store::Result<Option<String>> {
    Ok(read::<Option<String>>(s, Entry::Approval, rule)?.flatten())
}

/// Record the operator's approval of the rule's blocked plan `plan_hash`,
/// refused (with why) when the rule is not blocked or its plan is not that one.
pub(crate) fn approve(
    s: &mut Store,
    rule: &str,
    plan_hash: &str,
) -> state_store::Result<Result<(), String>> {
    let Some(b) = blocked(s, rule)? else {
        return Ok(Err(format!(
            "rule {rule:?} is not blocked: there is nothing to approve"
        )));
    };
    if b.plan_hash != plan_hash {
        return Ok(Err(format!(
            "plan {plan_hash} is not rule {rule:?}'s blocked plan (that is {}): review it with `p1duo plan --rule {rule}` and approve its hash",
            b.plan_hash
        )));
    }
    StateWrite::approval(rule, Some(plan_hash)).apply(s)?;
    Ok(Ok(()))
}

/// The memberships an outbound rule pushed at its last full cycle (0 before).
pub(crate) fn memberships(s: &Store, rule: &str) -> state_store::Result<u64> {
    Ok(read(s, Entry::Memberships, rule)?.unwrap_or(0))
}

/// The key of [`NotificationsMemo`] (agent-wide, not per rule).
const NOTIFICATIONS_KEY: &str = "notifications/subscription";

/// What the agent remembers of its PingOne change subscription across
/// restarts: the secret PingOne sends back in a header of every delivery
/// (generated once per instance), and the id of the subscription it owns,
/// so a restart after a crash updates that one instead of adding another.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct NotificationsMemo {
    pub secret: String,
    pub subscription_id: Option<String>,
}

impl std::fmt::Debug for NotificationsMemo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NotificationsMemo")
            .field("secret", &"[redacted]")
            .field("subscription_id", &self.subscription_id)
            .finish()
    }
}

/// The agent's subscription memo (`None`: never subscribed from this database).
pub(crate) fn notifications(s: &Store) -> state_store::Result<Option<NotificationsMemo>> {
    read_key(s, NOTIFICATIONS_KEY)
}

/// Records the agent's subscription memo.
pub(crate) fn set_notifications(
    s: &mut Store,
    memo: &NotificationsMemo,
) -> state_store::Result<()> {
    // Our own plain data type: serialising it cannot fail.
    s.kv_set(
        NOTIFICATIONS_KEY,
        &serde_json::to_string(memo).unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_and_an_unreadable_value_is_an_error_naming_its_key() {
        let mut s = Store::open_in_memory().unwrap();
        assert!(
            scope(&s, "r").unwrap().is_empty(),
            "nothing before the first cycle"
        );
        StateWrite::scope("r", &["u1".to_owned()])
            .apply(&mut s)
            .unwrap();
        StateWrite::memberships("r", 7).apply(&mut s).unwrap();
        assert_eq!(scope(&s, "r").unwrap(), ["u1"]);
        assert_eq!(memberships(&s, "r").unwrap(), 7);
        s.kv_set("scope/r", "{not json").unwrap();
        let e = scope(&s, "r").unwrap_err().to_string();
        assert!(e.contains("kv.value") && e.contains("scope/r"), "{e}");
    }

    #[test]
    fn the_subscription_memo_round_trips_and_an_unreadable_one_is_an_error_without_its_secret() {
        let mut s = Store::open_in_memory().unwrap();
        assert_eq!(notifications(&s).unwrap(), None);
        let memo = NotificationsMemo {
            secret: "sekrit-value".into(),
            subscription_id: Some("sub-1".into()),
        };
        set_notifications(&mut s, &memo).unwrap();
        assert_eq!(notifications(&s).unwrap(), Some(memo.clone()));
        assert!(!format!("{memo:?}").contains("sekrit"));
        s.kv_set(NOTIFICATIONS_KEY, "{\"secret\":\"sekrit-value\"")
            .unwrap();
        let e = notifications(&s).unwrap_err().to_string();
        assert!(
            e.contains(NOTIFICATIONS_KEY) && !e.contains("sekrit"),
            "{e}"
        );
    }
}
