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
use std::collections::{BTreeSet, HashMap, HashSet};

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
    let scope = crate::pingone::scope::Scope::new(rule, pop_ids, scope_groups.clone(), &groups)?;

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
        let (members, reads) = list_members(p1, g).await?;
        pingone_reads += reads;
        ids.extend(members);
    }
    // A dynamic group's update may change who is in it (its `userFilter`): a
    // pushed one's members are re-listed, and so are the users its Duo group
    // holds (they may have left); a dynamic scope group, or one nested in one
    // of the rule's groups, leaves the rule no narrower set to read. A static
    // group's update (a rename) changes no membership; one that stopped being
    // dynamic is left to the next full cycle.
    let mut nested_in_rule: Option<HashSet<String>> = None;
    for g in &changes.groups {
        let group = groups.iter().find(|x| &x.id == g);
        let linked = st
            .links
            .iter()
            .find(|l| l.kind == ObjectKind::Group && &l.source_id == g);
        // A pushed group's deletion is handled below like its rename; any
        // other deleted group may have been nested in a pushed one, and only
        // a full cycle knows whose memberships that changed.
        let Some(group) = group else {
            if linked.is_none() {
                return Ok(Err(format!(
                    "group {g} was deleted and is not one of the rule's pushed groups"
                )));
            }
            continue;
        };
        if group.user_filter.is_none() {
            continue;
        }
        if scope_groups.contains(g) {
            return Ok(Err(format!(
                "scope group {g} changed: its members may have changed"
            )));
        }
        if push_ids.contains(g) {
            let (members, reads) = list_members(p1, g).await?;
            pingone_reads += reads;
            ids.extend(members);
            if let Some(l) = linked {
                let held = agent.duo.group_members(&l.target_id).await.map_err(|e| {
                    AgentError::duo(
                        format!("listing the members of Duo group {}", l.target_id),
                        e,
                    )
                })?;
                ids.extend(held.iter().filter_map(|m| {
                    st.links
                        .iter()
                        .find(|l| {
                            matches!(l.kind, ObjectKind::User | ObjectKind::Admin)
                                && l.target_id == m.user_id
                        })
                        .map(|l| l.source_id.clone())
                }));
            }
            continue;
        }
        if nested_in_rule.is_none() {
            let (inner, reads) = nested_in(p1, scope_groups.iter().chain(&push_ids)).await?;
            pingone_reads += reads;
            nested_in_rule = Some(inner);
        }
        if nested_in_rule.as_ref().is_some_and(|n| n.contains(g)) {
            return Ok(Err(format!(
                "dynamic group {g} nested in one of the rule's groups changed its members"
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

    // PingOne: each changed user (gone = deleted).
    let mut read_users = Vec::new();
    for id in ids {
        match p1.get_user(id).await {
            Ok(u) => read_users.push(u),
            Err(e) if e.is_not_found() => continue,
            Err(e) => return Err(AgentError::pingone(format!("reading PingOne user {id}"), e)),
        }
    }
    let usernames: HashMap<String, String> = read_users
        .iter()
        .map(|u| (u.id.clone(), u.username.clone()))
        .collect();
    // Their memberships of the scope and pushed groups, from the filter the
    // full cycle reads (`memberOfGroups[id eq G]`), never from the user's
    // `memberOfGroupIDs`: whether that lists nested and dynamic groups is
    // undocumented, and two sources that disagree flap.
    // The groups `scope.filter` names count too (its `memberOfGroups[...]`).
    let mut member_of: HashMap<String, HashSet<String>> = HashMap::new();
    let rule_groups: BTreeSet<String> = scope_groups
        .iter()
        .chain(&push_ids)
        .cloned()
        .chain(scope.membership_lists().into_iter().map(|(g, _)| g))
        .collect();
    let names: Vec<&String> = read_users.iter().map(|u| &u.username).collect();
    for g in &rule_groups {
        let Some((members, reads)) = members_among(p1, g, &names).await? else {
            return Ok(Err(format!(
                "a changed user's username cannot be put in a PingOne filter (group {g})"
            )));
        };
        pingone_reads += reads;
        for m in members {
            member_of.entry(g.clone()).or_default().insert(m);
        }
    }
    let is_member = |g: &str, u: &str| member_of.get(g).is_some_and(|m| m.contains(u));

    let mut snap = PingOneSnapshot::default();
    let mut verdicts = std::collections::BTreeMap::new();
    for u in read_users {
        let known: crate::pingone::scope::Memberships = member_of
            .iter()
            .filter(|(_, m)| m.contains(&u.id))
            .map(|(g, _)| (g.clone(), mapping::scope::Membership::Any))
            .collect();
        let (json, verdict, calls) =
            crate::pingone::scope::judge(p1, &scope, &pops, &u, Some(&known)).await?;
        pingone_reads += calls;
        verdicts.insert(u.id.clone(), (u.username.clone(), verdict.clone()));
        if !verdict.included {
            continue;
        }
        for g in &push_ids {
            if is_member(g, &u.id) {
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
        &st.enroll_sent,
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

/// Ids of a group's members (direct, nested or dynamic), and the pages read.
async fn list_members(
    p1: &pingone_client::PingOneClient,
    group: &str,
) -> Result<(Vec<String>, u64), AgentError> {
    let filter = pingone_client::Filter::member_of(group)
        .map_err(|e| AgentError::Other(format!("group id {group:?}: {e}")))?;
    users_matching(p1, filter, &format!("listing the members of group {group}")).await
}

/// Which of `usernames` are members of `group` (direct, nested or dynamic),
/// by the full cycle's filter narrowed to them, a chunk at a time; `None`
/// when a username cannot be put in a filter.
async fn members_among(
    p1: &pingone_client::PingOneClient,
    group: &str,
    usernames: &[&String],
) -> Result<Option<(Vec<String>, u64)>, AgentError> {
    let (mut ids, mut reads) = (Vec::new(), 0);
    for chunk in usernames.chunks(USERNAMES_PER_FILTER) {
        let Ok(names) = chunk
            .iter()
            .map(|n| pingone_client::Filter::eq("username", n.as_str()))
            .collect::<Result<Vec<_>, _>>()
        else {
            return Ok(None);
        };
        let Some(any) = names.into_iter().reduce(pingone_client::Filter::or) else {
            continue;
        };
        let filter = pingone_client::Filter::member_of(group)
            .map_err(|e| AgentError::Other(format!("group id {group:?}: {e}")))?
            .and(any);
        let (found, r) =
            users_matching(p1, filter, &format!("reading the members of group {group}")).await?;
        ids.extend(found);
        reads += r;
    }
    Ok(Some((ids, reads)))
}

/// A filter of 50 usernames stays far below any URL length limit.
const USERNAMES_PER_FILTER: usize = 50;

/// Ids of the users a filter matches, and the pages read.
async fn users_matching(
    p1: &pingone_client::PingOneClient,
    filter: pingone_client::Filter,
    what: &str,
) -> Result<(Vec<String>, u64), AgentError> {
    let pages: Vec<_> = p1
        .list_users(&pingone_client::UserQuery::filtered(filter))
        .try_collect()
        .await
        .map_err(|e| AgentError::pingone(what, e))?;
    let reads = pages.len() as u64;
    Ok((
        pages
            .into_iter()
            .flat_map(|p| p.items)
            .map(|u| u.id)
            .collect(),
        reads,
    ))
}

/// Ids of the groups nested, at any depth, in any of `parents`, and the pages read.
async fn nested_in<'a>(
    p1: &pingone_client::PingOneClient,
    parents: impl Iterator<Item = &'a String>,
) -> Result<(HashSet<String>, u64), AgentError> {
    let groups = parents
        .map(|p| {
            pingone_client::Filter::member_of(p)
                .map_err(|e| AgentError::Other(format!("group id {p:?}: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let Some(filter) = groups.into_iter().reduce(pingone_client::Filter::or) else {
        return Ok((HashSet::new(), 0));
    };
    let query = pingone_client::GroupQuery {
        filter: Some(filter),
        limit: None,
    };
    let pages: Vec<_> =
        p1.list_groups(&query).try_collect().await.map_err(|e| {
            AgentError::pingone("listing the groups nested in the rule's groups", e)
        })?;
    let reads = pages.len() as u64;
    Ok((
        pages
            .into_iter()
            .flat_map(|p| p.items)
            .map(|g| g.id)
            .collect(),
        reads,
    ))
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
