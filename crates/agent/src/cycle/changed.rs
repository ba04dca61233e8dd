//! Reads for a fast cycle of an outbound rule: only the users and groups
//! PingOne change notifications named (each user on both sides, with its
//! groups), and the pushed groups themselves; or why only a full cycle can
//! handle the changes. The periodic full cycle remains the safety net.

use super::TargetSide;
use super::outbound;
use super::prepare::{Reading, RuleState};
use crate::AgentError;
use crate::config::Rule;
use crate::duo::DuoSnapshot;
use crate::pingone::{self, PingOneSnapshot, RuleNames};
use crate::run::Changes;
use futures::TryStreamExt;
use state_store::ObjectKind;
use std::collections::{HashMap, HashSet};

/// Reading `n` users one at a time costs two calls each (PingOne and Duo);
/// a full cycle reads everything in pages of 200 (PingOne) and 300 (Duo).
/// The fast path is taken while it is the cheaper of the two.
pub fn fast_is_cheaper(changed_users: usize, linked_users: usize) -> bool {
    let full_reads = linked_users.div_ceil(200) + linked_users.div_ceil(300) + 8;
    2 * changed_users <= full_reads
}

/// Read the changed users and the pushed groups of an outbound rule, or say
/// (`Err`) why a full cycle is needed instead.
pub(crate) async fn read(
    agent: &super::Agent,
    rule: &Rule,
    st: &RuleState,
    changes: &Changes,
    manages_admins: bool,
) -> Result<Result<Reading, String>, AgentError> {
    let p1 = &agent.p1;
    let pops = pingone::list_populations(p1).await?;
    let groups = pingone::list_groups(p1).await?;
    // Renames are followed as in a full cycle; what they resolve to now is
    // saved by the next full cycle.
    let RuleNames {
        populations: pop_ids,
        scope_groups,
        push: push_ids,
        ..
    } = RuleNames::resolve(rule, &pops, &groups, &st.resolved_before)?;
    let scope = crate::pingone::scope::Scope::new(rule, pop_ids, scope_groups, &groups)?;

    // Which users to read: the changed ones, and the members of a group that
    // was nested or un-nested (their indirect memberships changed).
    let mut ids = changes.users.clone();
    let mut pingone_reads = 0;
    for g in &changes.nested {
        if !groups.iter().any(|x| &x.id == g) {
            return Ok(Err(format!(
                "group {g} changed its nesting and no longer exists"
            )));
        }
        let filter = pingone_client::Filter::member_of(g)
            .map_err(|e| AgentError::Other(format!("group id {g:?}: {e}")))?;
        let pages: Vec<_> = p1
            .list_users(&pingone_client::UserQuery::filtered(filter))
            .try_collect()
            .await
            .map_err(|e| AgentError::pingone(format!("listing the members of group {g}"), e))?;
        pingone_reads += pages.len() as u64;
        ids.extend(pages.into_iter().flat_map(|p| p.items).map(|u| u.id));
    }
    for g in &changes.groups {
        let exists = groups.iter().any(|x| &x.id == g);
        let linked = st
            .links
            .iter()
            .any(|l| l.kind == ObjectKind::Group && &l.source_id == g);
        // A pushed group's deletion is handled below like its rename; any
        // other deleted group may have been nested in a pushed one, and only
        // a full cycle knows whose memberships that changed.
        if !exists && !linked {
            return Ok(Err(format!(
                "group {g} was deleted and is not one of the rule's pushed groups"
            )));
        }
    }
    let linked_users = st
        .links
        .iter()
        .filter(|l| matches!(l.kind, ObjectKind::User | ObjectKind::Admin))
        .count();
    if !fast_is_cheaper(ids.len(), linked_users) {
        return Ok(Err(format!(
            "{} changed users: one full read is cheaper than reading them one by one",
            ids.len()
        )));
    }
    let ids = &ids;

    // PingOne: each changed user (gone = deleted), with its groups (direct and indirect).
    let mut snap = PingOneSnapshot::default();
    let mut usernames: HashMap<String, String> = HashMap::new();
    let mut verdicts = std::collections::BTreeMap::new();
    for id in ids {
        let u = match p1.get_user(id).await {
            Ok(u) => u,
            Err(e) if e.is_not_found() => continue,
            Err(e) => return Err(AgentError::pingone(format!("reading PingOne user {id}"), e)),
        };
        usernames.insert(u.id.clone(), u.username.clone());
        let member_of: HashSet<String> = u
            .member_of_group_ids
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect();
        let (json, verdict, calls) = crate::pingone::scope::judge(p1, &scope, &pops, &u).await?;
        pingone_reads += calls;
        verdicts.insert(u.id.clone(), (u.username.clone(), verdict.clone()));
        if !verdict.included {
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
        snap.users.push((u.id.clone(), u.username.clone(), json));
    }
    for g in &push_ids {
        if let Some(grp) = groups.iter().find(|x| &x.id == g) {
            snap.groups
                .push((g.clone(), serde_json::to_value(grp).unwrap_or_default()));
        }
    }

    // Duo: the accounts those users are linked to, or would match by username.
    let duo = &agent.duo;
    let mut duo_snap = DuoSnapshot {
        groups: duo
            .list_groups()
            .await
            .map_err(|e| AgentError::duo("listing groups", e))?,
        ..Default::default()
    };
    if manages_admins {
        duo_snap.admins = duo
            .list_admins()
            .await
            .map_err(|e| AgentError::duo("listing administrators", e))?;
    }
    let mut seen = HashSet::new();
    for id in ids {
        let linked = st
            .links
            .iter()
            .find(|l| &l.source_id == id && l.kind == ObjectKind::User);
        let user = match linked {
            Some(l) => match duo.get_user(&l.target_id).await {
                Ok(u) => Some(u),
                Err(e) if e.is_not_found() => None,
                Err(e) => {
                    return Err(AgentError::duo(
                        format!("reading Duo user {}", l.target_id),
                        e,
                    ));
                }
            },
            None => match usernames.get(id) {
                Some(un) => duo
                    .get_user_by_username(un)
                    .await
                    .map_err(|e| AgentError::duo(format!("looking up Duo user {un:?}"), e))?,
                None => None,
            },
        };
        if let Some(u) = user
            && seen.insert(u.user_id.clone())
        {
            duo_snap.users.push(u);
        }
    }

    let inputs = outbound::build(
        rule,
        &snap,
        &duo_snap,
        &st.echo.sources,
        manages_admins,
        &st.foreign,
    )?;
    Ok(Ok(Reading {
        inputs,
        target: TargetSide::Duo,
        in_scope_accounts: snap.users.len() as u64,
        in_scope_groups: 0,
        scope_ids: Vec::new(),
        pingone_reads: pingone_reads + ids.len() as u64,
        writes: Vec::new(),
        only: Some(ids.iter().cloned().collect()),
        verdicts,
    }))
}

#[cfg(test)]
mod tests {
    use super::fast_is_cheaper;

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
