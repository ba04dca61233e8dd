//! The fast path of `run`: after PingOne reports changes to some users or
//! groups, plan and execute just those users (their Duo accounts, phones and
//! pushed-group memberships) and the pushed groups themselves (create, rename,
//! delete). Only those users' links are given to the planner, so no other user
//! can be touched; the periodic full cycle remains the safety net.

use crate::AgentError;
use crate::config::Rule;
use crate::cycle::journal::engine_kind;
use crate::cycle::outbound;
use crate::cycle::{Agent, Prepared, RuleRef, TargetSide, policy};
use crate::duo::DuoSnapshot;
use crate::pingone::{self, NamedList, PingOneSnapshot};
use futures::TryStreamExt;
use reconcile_engine::{self as engine, Destructive, Kind};
use state_store::{ObjectKind, Origin};
use std::collections::{BTreeMap, HashMap, HashSet};

/// What PingOne change notifications reported since a rule's last cycle.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Changes {
    /// Users created, updated or deleted, or whose direct memberships changed.
    pub users: HashSet<String>,
    /// Groups created, renamed or deleted.
    pub groups: HashSet<String>,
    /// Groups nested into or out of another: their members' effective
    /// (indirect) memberships changed.
    pub nested: HashSet<String>,
    /// An event the fast path cannot narrow down: the next cycle is a full one.
    pub full: bool,
}

impl Changes {
    /// Adds what one notification changed.
    pub fn note(&mut self, ev: &crate::run::ChangeEvent) {
        let of = |kind: &str| -> Vec<String> {
            ev.resources
                .iter()
                .filter(|(t, _)| t == kind)
                .map(|(_, id)| id.clone())
                .collect()
        };
        let (set, ids) = match ev.action.split('.').next().unwrap_or_default() {
            "USER" | "GROUP_MEMBERSHIP" => (&mut self.users, of("USER")),
            "GROUP" => (&mut self.groups, of("GROUP")),
            "GROUP_NESTING" => (&mut self.nested, of("GROUP")),
            _ => {
                self.full = true;
                return;
            }
        };
        // An event without the resource it is about tells us only that something changed.
        self.full |= ids.is_empty();
        set.extend(ids);
    }

    pub fn is_empty(&self) -> bool {
        !self.full && self.users.is_empty() && self.groups.is_empty() && self.nested.is_empty()
    }
}

/// What the fast path made of the changes.
pub enum FastPlan {
    Ready(Box<Prepared>),
    /// Only a full cycle can handle these changes (the reason is logged).
    NeedsFull(String),
}

/// Reading `n` users one at a time costs two calls each (PingOne and Duo);
/// a full cycle reads everything in pages of 200 (PingOne) and 300 (Duo).
/// The fast path is taken while it is the cheaper of the two.
pub fn fast_is_cheaper(changed_users: usize, linked_users: usize) -> bool {
    let full_reads = linked_users.div_ceil(200) + linked_users.div_ceil(300) + 8;
    2 * changed_users <= full_reads
}

fn p1err(what: &str, e: pingone_client::Error) -> AgentError {
    AgentError::PingOne(format!("{what}: {e}"))
}

fn duoerr(what: &str, e: duo_client::DuoError) -> AgentError {
    AgentError::Duo(format!("{what}: {e}"))
}

/// Read, map and plan an outbound rule for the changed users and groups only,
/// or say why a full cycle is needed instead.
pub async fn prepare_changes(
    agent: &Agent,
    rule: &Rule,
    changes: &Changes,
) -> Result<FastPlan, AgentError> {
    let db = agent
        .db
        .clone()
        .ok_or_else(|| AgentError::State("a fast cycle needs the state database".into()))?;
    let name = rule.name.clone();
    let others: Vec<String> = agent
        .config
        .rules
        .iter()
        .filter(|r| r.direction != rule.direction)
        .map(|r| r.name.clone())
        .collect();
    let n = name.clone();
    let all = agent.rule_directions();
    let (links, pending, excluded, resolved_before, memberships, foreign) = db
        .call(move |s| {
            let links = s.link_heads(&n)?;
            let foreign = crate::cycle::records::Foreign::read(
                s,
                &all,
                &n,
                crate::config::Direction::Outbound,
                &links,
            )?;
            let pending = s.pending_intents(&n)?;
            let resolved_before = crate::cycle::resolved_before(s, &n)?;
            let memberships: u64 = s
                .kv_get(&crate::cycle::memberships_key(&n))?
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            let mut excluded = HashSet::new();
            for o in &others {
                for l in s.link_heads(o)? {
                    excluded.insert(l.target_id);
                }
            }
            Ok((
                links,
                pending,
                excluded,
                resolved_before,
                memberships,
                foreign,
            ))
        })
        .await?;
    let p1 = &agent.p1;
    let pops: Vec<pingone_client::Population> = p1
        .list_populations()
        .try_collect::<Vec<_>>()
        .await
        .map_err(|e| p1err("listing populations", e))?
        .into_iter()
        .flat_map(|p| p.items)
        .collect();
    let groups: Vec<pingone_client::Group> = p1
        .list_groups(&Default::default())
        .try_collect::<Vec<_>>()
        .await
        .map_err(|e| p1err("listing groups", e))?
        .into_iter()
        .flat_map(|p| p.items)
        .collect();
    let known_pops = pingone::known_populations(&pops);
    let known_groups = pingone::known_groups(&groups);
    // Renames are followed as in a full cycle; what they resolve to now is
    // saved by the next full cycle.
    let mut resolved = BTreeMap::new();
    let follow = |list, wanted: &[String], known: &[(String, String)], now: &mut _| {
        pingone::resolve_followed(&name, list, wanted, known, &resolved_before, now)
    };
    let pop_ids = follow(
        NamedList::ScopePopulations,
        &rule.scope_populations,
        &known_pops,
        &mut resolved,
    )?;
    let scope_groups = follow(
        NamedList::ScopeGroups,
        &rule.scope_groups,
        &known_groups,
        &mut resolved,
    )?;
    let push_ids = follow(
        NamedList::PushGroups,
        &rule.push_groups,
        &known_groups,
        &mut resolved,
    )?;

    // Which users to read: the changed ones, and the members of a group that
    // was nested or un-nested (their indirect memberships changed).
    let mut ids = changes.users.clone();
    let mut pingone_reads = 0;
    for g in &changes.nested {
        if !groups.iter().any(|x| &x.id == g) {
            return Ok(FastPlan::NeedsFull(format!(
                "group {g} changed its nesting and no longer exists"
            )));
        }
        let filter = pingone_client::Filter::member_of(g)
            .map_err(|e| AgentError::Other(format!("group id {g:?}: {e}")))?;
        let pages: Vec<_> = p1
            .list_users(&pingone_client::UserQuery::filtered(filter))
            .try_collect()
            .await
            .map_err(|e| p1err(&format!("listing the members of group {g}"), e))?;
        pingone_reads += pages.len() as u64;
        ids.extend(pages.into_iter().flat_map(|p| p.items).map(|u| u.id));
    }
    for g in &changes.groups {
        let exists = groups.iter().any(|x| &x.id == g);
        let linked = links
            .iter()
            .any(|l| l.kind == ObjectKind::Group && &l.source_id == g);
        // A pushed group's deletion is handled below like its rename; any
        // other deleted group may have been nested in a pushed one, and only
        // a full cycle knows whose memberships that changed.
        if !exists && !linked {
            return Ok(FastPlan::NeedsFull(format!(
                "group {g} was deleted and is not one of the rule's pushed groups"
            )));
        }
    }
    let linked_users = links
        .iter()
        .filter(|l| matches!(l.kind, ObjectKind::User | ObjectKind::Admin))
        .count();
    if !fast_is_cheaper(ids.len(), linked_users) {
        return Ok(FastPlan::NeedsFull(format!(
            "{} changed users: one full read is cheaper than reading them one by one",
            ids.len()
        )));
    }
    let ids = &ids;

    // PingOne: each changed user (gone = deleted), with its groups (direct and indirect).
    let mut snap = PingOneSnapshot::default();
    let mut usernames: HashMap<String, String> = HashMap::new();
    for id in ids {
        let u = match p1.get_user(id).await {
            Ok(u) => u,
            Err(e) if e.is_not_found() => continue,
            Err(e) => return Err(p1err(&format!("reading PingOne user {id}"), e)),
        };
        usernames.insert(u.id.clone(), u.username.clone());
        let member_of: HashSet<String> = u
            .member_of_group_ids
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect();
        let in_scope = (pop_ids.is_empty()
            || u.population_id()
                .is_some_and(|p| pop_ids.iter().any(|x| x == p)))
            && (scope_groups.is_empty() || scope_groups.iter().any(|g| member_of.contains(g)));
        if !in_scope {
            continue;
        }
        for g in &push_ids {
            if member_of.contains(g) {
                snap.members
                    .entry(g.clone())
                    .or_default()
                    .push(u.id.clone());
            }
        }
        let mut json = serde_json::to_value(&u).unwrap_or_default();
        if let (Some(pid), Some(obj)) = (
            u.population_id(),
            json.get_mut("population").and_then(|p| p.as_object_mut()),
        ) && let Some(p) = pops.iter().find(|p| p.id == pid)
        {
            obj.insert("name".into(), serde_json::Value::String(p.name.clone()));
        }
        snap.users.push((u.id.clone(), u.username.clone(), json));
    }
    for g in &push_ids {
        if let Some(grp) = groups.iter().find(|x| &x.id == g) {
            snap.groups
                .push((g.clone(), serde_json::to_value(grp).unwrap_or_default()));
        }
    }

    // Duo: the accounts those users are linked to, or would match by username.
    let manages_admins = rule.mapping.spec().0.contains_key("userType")
        || links.iter().any(|l| l.kind == ObjectKind::Admin);
    let duo = &agent.duo;
    let mut duo_snap = DuoSnapshot {
        groups: duo
            .list_groups()
            .await
            .map_err(|e| duoerr("listing groups", e))?,
        ..Default::default()
    };
    if manages_admins {
        duo_snap.admins = duo
            .list_admins()
            .await
            .map_err(|e| duoerr("listing administrators", e))?;
    }
    let mut seen = HashSet::new();
    for id in ids {
        let linked = links
            .iter()
            .find(|l| &l.source_id == id && l.kind == ObjectKind::User);
        let user = match linked {
            Some(l) => match duo.get_user(&l.target_id).await {
                Ok(u) => Some(u),
                Err(e) if e.is_not_found() => None,
                Err(e) => return Err(duoerr(&format!("reading Duo user {}", l.target_id), e)),
            },
            None => match usernames.get(id) {
                Some(un) => duo
                    .get_user_by_username(un)
                    .await
                    .map_err(|e| duoerr(&format!("looking up Duo user {un:?}"), e))?,
                None => None,
            },
        };
        if let Some(u) = user
            && seen.insert(u.user_id.clone())
        {
            duo_snap.users.push(u);
        }
    }

    let mut inputs = outbound::build(rule, &snap, &duo_snap, &excluded, manages_admins, &foreign)?;
    let mut origins = HashMap::new();
    for l in &links {
        let Some(k) = engine_kind(l.kind) else {
            continue;
        };
        // Only the changed users' links (and the groups', which are all desired here).
        if k == Kind::Group || ids.contains(&l.source_id) {
            inputs
                .links
                .push_origin(
                    k,
                    &l.source_id,
                    &l.target_id,
                    l.fingerprint,
                    l.origin == Origin::Adopted,
                )
                .map_err(|_| AgentError::Other("too many links".into()))?;
            origins.insert((k, l.source_id.clone()), l.origin);
        }
    }
    for p in pending {
        if p.op == state_store::Op::Create
            && ids.contains(&p.source_id)
            && let Some(kind) = engine_kind(p.kind)
        {
            inputs.pending.push(engine::PendingIntent {
                kind,
                source_id: p.source_id,
                key: p.key,
            });
        }
    }
    let rref = RuleRef::Configured(Box::new(rule.clone()));
    let mut pol = policy(&rref, false);
    // Percentage limits are of what the whole rule manages, not of this handful.
    let count = |k: ObjectKind| links.iter().filter(|l| l.kind == k).count() as u64;
    let (users, admins, groups) = (
        count(ObjectKind::User),
        count(ObjectKind::Admin),
        count(ObjectKind::Group),
    );
    pol.managed_floor = [
        (Destructive::UserDelete, users),
        (Destructive::UserDisable, users),
        (Destructive::AdminDelete, admins),
        (Destructive::AdminDisable, admins),
        (Destructive::GroupDelete, groups),
        (Destructive::MembershipRemoval, memberships),
    ]
    .into_iter()
    .collect();
    let mut plan = engine::plan(&engine::Inputs {
        rule: &name,
        rule_deleted: false,
        schema: &inputs.schema,
        desired: &inputs.desired,
        observed: &inputs.observed,
        links: &inputs.links,
        pending: &inputs.pending,
        policy: &pol,
    });
    crate::cycle::records::name_key_clashes(&mut plan, &inputs.names);
    for op in &plan.ops {
        if let Some(src) = &op.source_id {
            match op.action {
                engine::Action::Create { .. } => {
                    origins.insert((op.kind, src.clone()), Origin::Source);
                }
                engine::Action::Adopt { .. } => {
                    origins.insert((op.kind, src.clone()), Origin::Adopted);
                }
                _ => {}
            }
        }
    }
    let in_scope_accounts = snap.users.len() as u64;
    Ok(FastPlan::Ready(Box::new(Prepared {
        rule: rref,
        plan,
        inputs,
        in_scope_accounts,
        in_scope_groups: 0,
        scope_ids: Vec::new(),
        partial: true,
        pingone_reads: pingone_reads + ids.len() as u64,
        target: TargetSide::Duo,
        origins,
        kv_writes: Vec::new(),
    })))
}

#[cfg(test)]
mod tests {
    use super::{Changes, fast_is_cheaper};
    use crate::run::ChangeEvent;

    fn ev(action: &str, resources: &[(&str, &str)]) -> ChangeEvent {
        ChangeEvent {
            action: action.into(),
            resources: resources
                .iter()
                .map(|(t, id)| ((*t).into(), (*id).into()))
                .collect(),
        }
    }

    fn set(ids: &[&str]) -> std::collections::HashSet<String> {
        ids.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn notifications_narrow_the_next_cycle_to_what_they_name() {
        let mut c = Changes::default();
        assert!(c.is_empty());
        c.note(&ev("USER.UPDATED", &[("USER", "u1")]));
        c.note(&ev(
            "GROUP_MEMBERSHIP.CREATED",
            &[("USER", "u2"), ("GROUP", "g9")],
        ));
        c.note(&ev("GROUP.UPDATED", &[("GROUP", "g1")]));
        c.note(&ev("GROUP.DELETED", &[("GROUP", "g2")]));
        c.note(&ev(
            "GROUP_NESTING.CREATED",
            &[("GROUP", "g3"), ("GROUP", "g4")],
        ));
        assert_eq!(
            c,
            Changes {
                users: set(&["u1", "u2"]),
                groups: set(&["g1", "g2"]),
                nested: set(&["g3", "g4"]),
                full: false,
            }
        );
        assert!(!c.is_empty());
    }

    #[test]
    fn an_event_the_fast_path_cannot_narrow_asks_for_a_full_cycle() {
        for e in [
            ev("USER.UPDATED", &[]),
            ev("GROUP.UPDATED", &[("USER", "u1")]),
            ev("POPULATION.UPDATED", &[("POPULATION", "p1")]),
        ] {
            let mut c = Changes::default();
            c.note(&e);
            assert!(c.full, "{e:?}");
        }
    }

    #[test]
    fn the_fast_path_is_taken_while_reading_users_one_by_one_is_cheaper() {
        // 10 linked users: a full cycle is 10 reads, so up to 5 changed users.
        assert!(fast_is_cheaper(5, 10));
        assert!(!fast_is_cheaper(6, 10));
        // 100,000 linked users: 500 + 334 pages + 8.
        assert!(fast_is_cheaper(421, 100_000));
        assert!(!fast_is_cheaper(422, 100_000));
    }
}
