//! The fast path of `run`: after PingOne reports changes to some users, plan
//! and execute just those users (their Duo accounts, phones and pushed-group
//! memberships). Only their links are given to the planner, so nothing else
//! can be touched; the periodic full cycle remains the safety net.

use crate::AgentError;
use crate::config::Rule;
use crate::cycle::{Agent, Prepared, RuleRef, TargetSide, policy};
use crate::journal::engine_kind;
use crate::outbound::{self, DuoSnapshot, PingOneSnapshot};
use futures::TryStreamExt;
use reconcile_engine::{self as engine, Kind};
use state_store::{ObjectKind, Origin};
use std::collections::{HashMap, HashSet};

fn p1err(what: &str, e: pingone_client::Error) -> AgentError {
    AgentError::PingOne(format!("{what}: {e}"))
}

fn duoerr(what: &str, e: duo_client::DuoError) -> AgentError {
    AgentError::Duo(format!("{what}: {e}"))
}

/// Read, map and plan an outbound rule for the PingOne users `ids` only.
pub async fn prepare_users(
    agent: &Agent,
    rule: &Rule,
    ids: &HashSet<String>,
) -> Result<Prepared, AgentError> {
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
    let (links, pending, excluded) = db
        .call(move |s| {
            let links = s.links_for_rule(&n)?;
            let pending = s.pending_intents(&n)?;
            let mut excluded = HashSet::new();
            for o in &others {
                for l in s.links_for_rule(o)? {
                    excluded.insert(l.target_id);
                }
            }
            Ok((links, pending, excluded))
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
    let known_pops: Vec<(String, String)> = pops
        .iter()
        .map(|p| (p.id.clone(), p.name.clone()))
        .collect();
    let known_groups: Vec<(String, String)> = groups
        .iter()
        .map(|g| (g.id.clone(), g.name.clone()))
        .collect();
    let pop_ids = outbound::resolve(
        &rule.scope_populations,
        &known_pops,
        "population",
        &format!("rule {:?} scope.populations", name),
    )?;
    let scope_groups = outbound::resolve(
        &rule.scope_groups,
        &known_groups,
        "group",
        &format!("rule {:?} scope.groups", name),
    )?;
    let push_ids = outbound::resolve(
        &rule.push_groups,
        &known_groups,
        "group",
        &format!("rule {:?} groups.push", name),
    )?;

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

    let mut inputs = outbound::build(rule, &snap, &duo_snap, &excluded, manages_admins)?;
    let mut origins = HashMap::new();
    for l in &links {
        let Some(k) = engine_kind(l.kind) else {
            continue;
        };
        // Only the changed users' links (and the groups', which are all desired here).
        if k == Kind::Group || ids.contains(&l.source_id) {
            inputs
                .links
                .push(k, &l.source_id, &l.target_id, l.fingerprint)
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
    let pol = policy(&rref, false);
    let plan = engine::plan(&engine::Inputs {
        rule: &name,
        rule_deleted: false,
        schema: &inputs.schema,
        desired: &inputs.desired,
        observed: &inputs.observed,
        links: &inputs.links,
        pending: &inputs.pending,
        policy: &pol,
    });
    for op in &plan.ops {
        if let Some(src) = &op.source_id {
            match op.action {
                engine::Action::Create { .. } => {
                    origins.insert((op.kind, src.clone()), Origin::Source);
                }
                engine::Action::Adopt => {
                    origins.insert((op.kind, src.clone()), Origin::Adopted);
                }
                _ => {}
            }
        }
    }
    let in_scope_accounts = snap.users.len() as u64;
    Ok(Prepared {
        rule: rref,
        plan,
        inputs,
        in_scope_accounts,
        in_scope_groups: 0,
        scope_ids: Vec::new(),
        partial: true,
        pingone_reads: ids.len() as u64,
        target: TargetSide::Duo,
        origins,
    })
}
