//! The engine policy of a rule, and the stub of a rule removed from the config.

use super::*;
use crate::config::{Direction, Flow, Inbound, RemoveAction, Rule};
use reconcile_engine::{self as engine, Limit, Limits, Policy};

/// A rule stub for a rule removed from the config.
pub(crate) fn stub_rule(name: &str, memo: &RuleMemo) -> Rule {
    let mapping = match memo.direction {
        Direction::Outbound => mapping::Mapping::default_outbound(),
        Direction::Inbound => mapping::Mapping::default_inbound(),
    };
    Rule {
        name: name.to_owned(),
        flow: match memo.direction {
            Direction::Outbound => Flow::Outbound(Default::default()),
            Direction::Inbound => Flow::Inbound(Inbound {
                target_population: memo.target_population.clone().unwrap_or_default(),
                filter: None,
            }),
        },
        enabled: false,
        actions: crate::config::Actions {
            deprovision: true,
            remove_action: memo.remove_action,
            deprovision_on_rule_deletion: memo.deprovision_on_rule_deletion,
            ..Default::default()
        },
        mapping,
        safety: Default::default(),
        adopt: Default::default(),
        enroll: None,
    }
}

fn limit(count: u64, pct: Option<f64>, floor: u64) -> Limit {
    Limit {
        max_count: Some(count),
        max_percent: pct.map(|p| p.round().clamp(0.0, 100.0) as u32),
        floor,
    }
}

/// The engine policy of a rule.
pub fn policy(rule: &RuleRef, allow_destructive: bool) -> Policy {
    let (a, s, adopt, enroll) = match rule {
        RuleRef::Configured(r) => (r.actions, r.safety, r.adopt.clone(), r.enroll),
        RuleRef::Deleted { name, memo } => {
            let r = stub_rule(name, memo);
            (r.actions, r.safety, r.adopt, None)
        }
    };
    let deletes = limit(s.max_deletes, s.max_delete_percent, s.percent_floor);
    let disables = limit(s.max_disables, s.max_disable_percent, s.percent_floor);
    Policy {
        create: a.create,
        update: a.update,
        disable: a.disable,
        deprovision: a.deprovision,
        remove_action: match a.remove_action {
            RemoveAction::Delete | RemoveAction::Purge => engine::RemoveAction::Delete,
            RemoveAction::Disable => engine::RemoveAction::Disable,
        },
        deprovision_on_rule_deletion: a.deprovision_on_rule_deletion,
        phone_cleanup: if a.remove_unused_phones {
            engine::PhoneCleanup::RemoveUnused
        } else {
            engine::PhoneCleanup::Keep
        },
        group_push: rule.direction() == Direction::Outbound,
        key_compare: engine::KeyCompare::CaseInsensitive,
        limits: Limits {
            user_delete: deletes,
            user_disable: disables,
            admin_delete: deletes,
            admin_disable: disables,
            group_delete: deletes,
            membership_removal: limit(
                s.max_membership_removals,
                s.max_membership_removal_percent,
                s.percent_floor.saturating_mul(4),
            ),
        },
        allow_destructive,
        empty_source_guard: Some(10),
        managed_floor: Default::default(),
        adoption: engine::Adoption {
            accounts: adopt.accounts,
            groups: adopt.groups,
            exact_key: adopt.exact_key,
            confirm_users: adopt.confirm,
            confirm_admins: adopt.confirm_admins,
        },
        shrink_guard_percent: s
            .min_source_percent
            .map(|p| p.round().clamp(0.0, 100.0) as u32),
        enroll: enroll.map(|e| engine::Enroll {
            valid_secs: e.valid_secs,
            remind_after_secs: e.remind_after.map(|d| d.as_secs()),
            email_attr: "email".to_owned(),
            now_secs: state_store::now_millis() / 1000,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_follows_the_rule_actions_and_safety_limits() {
        let env = |n: &str| n.starts_with("P1DUO_").then(|| "s3cr3t".to_owned());
        let text = crate::config::EXAMPLE
            .replace("remove_action = \"disable\"", "remove_action = \"delete\"")
            .replace("deprovision = false", "deprovision = true")
            .replace("max_deletes = 50", "max_deletes = 7");
        let c = Config::from_str_at(&text, std::path::Path::new("/x/p1duo.toml"), &env).unwrap();
        let out = policy(&RuleRef::Configured(Box::new(c.rules[0].clone())), false);
        assert!(out.create && out.update && out.disable && out.deprovision && out.group_push);
        assert_eq!(out.remove_action, engine::RemoveAction::Delete);
        assert_eq!(
            out.limits.user_delete,
            Limit {
                max_count: Some(7),
                max_percent: Some(10),
                floor: 5,
            }
        );
        assert_eq!(out.limits.user_disable.max_count, Some(100));
        assert!(!out.allow_destructive);
        let inb = policy(&RuleRef::Configured(Box::new(c.rules[1].clone())), true);
        assert!(!inb.deprovision, "deprovision is off unless configured");
        assert!(!inb.group_push, "inbound rules never push groups");
        assert!(inb.allow_destructive);
        // A removed rule is deprovisioned the way it was configured.
        let memo = RuleMemo {
            direction: Direction::Outbound,
            deprovision_on_rule_deletion: true,
            remove_action: RemoveAction::Delete,
            target_population: None,
        };
        let gone = policy(
            &RuleRef::Deleted {
                name: "old".into(),
                memo,
            },
            false,
        );
        assert!(gone.deprovision_on_rule_deletion && gone.deprovision);
        assert_eq!(gone.remove_action, engine::RemoveAction::Delete);
    }
}
