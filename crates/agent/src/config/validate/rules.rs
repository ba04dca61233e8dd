//! Phase two for one `[[rules]]` entry: scope, actions, groups, target,
//! mapping, safety limits and adoption policy.

use super::super::raw::*;
use super::super::*;
use super::Checker;
use std::collections::BTreeSet;

/// One rule, typed; problems are collected with their keys.
pub(super) fn rule(r: RawRule, key: &str, c: &mut Checker<'_>) -> Rule {
    if r.name.trim().is_empty()
        || !r
            .name
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '-' | '_' | '.'))
    {
        c.problem(
            format!("{key}.name"),
            format!(
                "expected a name of letters, digits, '-', '_' or '.', got {:?}",
                r.name
            ),
        );
    }
    let direction = match r.direction.as_str() {
        "outbound" => Direction::Outbound,
        "inbound" => Direction::Inbound,
        other => {
            c.problem(
                format!("{key}.direction"),
                format!("expected \"outbound\" (PingOne -> Duo) or \"inbound\" (Duo -> PingOne), got {other:?}"),
            );
            Direction::Outbound
        }
    };
    let scope = r.scope.unwrap_or_default();
    let push_groups = r.groups.map(|g| g.push).unwrap_or_default();
    let target_population = r.target.and_then(|t| t.population);
    for (list, what) in [
        (&scope.populations, "scope.populations"),
        (&scope.groups, "scope.groups"),
        (&push_groups, "groups.push"),
    ] {
        let mut seen = BTreeSet::new();
        for (i, v) in list.iter().enumerate() {
            if v.trim().is_empty() {
                c.problem(
                    format!("{key}.{what}[{i}]"),
                    "expected a name or an id, got an empty string",
                );
            } else if !seen.insert(v) {
                c.problem(
                    format!("{key}.{what}[{i}]"),
                    format!("{v:?} is listed twice"),
                );
            }
        }
    }
    match direction {
        Direction::Outbound => {
            if target_population.is_some() {
                c.problem(
                    format!("{key}.target.population"),
                    "only inbound rules have a target population; outbound rules choose users with [rules.scope]",
                );
            }
        }
        Direction::Inbound => {
            if !scope.populations.is_empty() || !scope.groups.is_empty() {
                c.problem(
                    format!("{key}.scope"),
                    "inbound rules read every Duo user not provisioned by an outbound rule; narrow them with scope.filter on Duo's user attributes, not populations or groups",
                );
            }
            if !push_groups.is_empty() {
                c.problem(
                    format!("{key}.groups.push"),
                    "inbound group provisioning is not supported (as in PingOne's Duo connection); remove groups.push",
                );
            }
            match &target_population {
                None => c.problem(
                    format!("{key}.target.population"),
                    "inbound rules need the population (name or id) where new PingOne users are created",
                ),
                Some(p) if p.trim().is_empty() => {
                    c.problem(format!("{key}.target.population"), "expected a population name or id, got an empty string");
                }
                Some(_) => {}
            }
        }
    }
    let filter = scope.filter.as_deref().and_then(|text| {
        let dialect = match direction {
            Direction::Outbound => mapping::scope::Dialect::PingOne,
            Direction::Inbound => mapping::scope::Dialect::Duo,
        };
        mapping::scope::ScopeFilter::parse(text, dialect)
            .map_err(|e| c.problem(format!("{key}.scope.filter"), e.to_string()))
            .ok()
    });
    let a = r.actions;
    let d = Actions::default();
    let remove_action = match a.remove_action.as_deref() {
        None | Some("disable") => RemoveAction::Disable,
        Some("delete") => RemoveAction::Delete,
        Some("purge") => RemoveAction::Purge,
        Some(other) => {
            c.problem(
                format!("{key}.actions.remove_action"),
                format!("expected \"disable\", \"delete\" or \"purge\", got {other:?}"),
            );
            RemoveAction::Disable
        }
    };
    let actions = Actions {
        create: a.create.unwrap_or(d.create),
        update: a.update.unwrap_or(d.update),
        disable: a.disable.unwrap_or(d.disable),
        deprovision: a.deprovision.unwrap_or(d.deprovision),
        remove_action,
        deprovision_on_rule_deletion: a
            .deprovision_on_rule_deletion
            .unwrap_or(d.deprovision_on_rule_deletion),
        remove_unused_phones: a.remove_unused_phones.unwrap_or(d.remove_unused_phones),
        restore_trashed: a.restore_trashed.unwrap_or(d.restore_trashed),
    };
    let s = r.safety;
    let ds = Safety::default();
    let count = |c: &mut Checker<'_>, k: &str, v: Option<i64>, def: u64| match v {
        None => def,
        Some(n) if n >= 0 => n as u64,
        Some(n) => {
            c.problem(
                format!("{key}.safety.{k}"),
                format!("expected a count of 0 or more, got {n}"),
            );
            def
        }
    };
    let pct = |c: &mut Checker<'_>, k: &str, v: Option<f64>, def: Option<f64>| match v {
        None => def,
        Some(p) if (0.0..=100.0).contains(&p) => Some(p),
        Some(p) => {
            c.problem(
                format!("{key}.safety.{k}"),
                format!("expected a percentage from 0 to 100, got {p}"),
            );
            None
        }
    };
    let safety = Safety {
        max_deletes: count(c, "max_deletes", s.max_deletes, ds.max_deletes),
        max_delete_percent: pct(
            c,
            "max_delete_percent",
            s.max_delete_percent,
            ds.max_delete_percent,
        ),
        max_disables: count(c, "max_disables", s.max_disables, ds.max_disables),
        max_disable_percent: pct(
            c,
            "max_disable_percent",
            s.max_disable_percent,
            ds.max_disable_percent,
        ),
        max_membership_removals: count(
            c,
            "max_membership_removals",
            s.max_membership_removals,
            ds.max_membership_removals,
        ),
        max_membership_removal_percent: pct(
            c,
            "max_membership_removal_percent",
            s.max_membership_removal_percent,
            ds.max_membership_removal_percent,
        ),
        percent_floor: count(c, "percent_floor", s.percent_floor, ds.percent_floor),
        min_source_percent: pct(
            c,
            "min_source_percent",
            s.min_source_percent,
            ds.min_source_percent,
        ),
    };
    let da = Adopt::default();
    let adopt = Adopt {
        accounts: r.adopt.accounts.unwrap_or(da.accounts),
        groups: r.adopt.groups.unwrap_or(da.groups),
        exact_key: r.adopt.exact_key.unwrap_or(da.exact_key),
        confirm: r.adopt.confirm.unwrap_or(da.confirm),
        confirm_admins: r.adopt.confirm_admins.unwrap_or(da.confirm_admins),
    };
    let enroll = match r.enroll {
        Some(e) if e.enabled.unwrap_or(false) => {
            let k = format!("{key}.enroll");
            if direction == Direction::Inbound {
                c.problem(
                    format!("{k}.enabled"),
                    "enrollment emails are sent by Duo: only an outbound rule can enroll",
                );
            }
            // Duo's default is 30 days; 0 never expires (Duo's Python client).
            let valid_secs = match e.valid_secs {
                None => 2_592_000,
                Some(v) if (0..=31_622_400).contains(&v) => v as u64,
                Some(_) => {
                    c.problem(
                        format!("{k}.valid_secs"),
                        "expected 0 (never expires) to 31622400 (366 days) seconds",
                    );
                    2_592_000
                }
            };
            let remind_after = e.remind_after.as_deref().map(|v| {
                c.duration(
                    &format!("{k}.remind_after"),
                    Some(v),
                    std::time::Duration::ZERO,
                )
            });
            Some(crate::config::Enroll {
                valid_secs,
                remind_after,
            })
        }
        _ => None,
    };
    let defaults = mapping::Options::default();
    let options = r
        .mapping_options
        .map_or(defaults.clone(), |o| mapping::Options {
            default_region: o.default_region.unwrap_or(defaults.default_region),
            allow_owner: o.allow_owner.unwrap_or(defaults.allow_owner),
        });
    let mapping = crate::mapping_spec::compile(
        direction,
        r.mapping.as_ref(),
        &format!("{key}.mapping"),
        &options,
        &mut |k, m| c.problem(k, m),
    )
    .unwrap_or_else(mapping::Mapping::default_outbound);
    let flow = match direction {
        Direction::Outbound => Flow::Outbound(Outbound {
            scope_populations: scope.populations,
            scope_groups: scope.groups,
            push_groups,
            filter,
        }),
        Direction::Inbound => Flow::Inbound(Inbound {
            target_population: target_population.unwrap_or_default(),
            filter,
        }),
    };
    Rule {
        name: r.name,
        flow,
        enabled: r.enabled.unwrap_or(true),
        actions,
        mapping,
        safety,
        adopt,
        enroll,
    }
}
