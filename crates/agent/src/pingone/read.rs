//! Reading PingOne: an outbound rule's users in scope and groups to push (with
//! names followed through renames), and an inbound rule's users and target population.

use crate::AgentError;
use crate::config::Rule;
use futures::TryStreamExt;
use mapping::scope::Membership;
use pingone_client::PingOneClient;
use std::collections::{BTreeMap, HashMap, HashSet};

/// What PingOne says for one outbound rule.
#[derive(Debug, Default)]
pub struct PingOneSnapshot {
    /// Users in scope, with `population.name` resolved into the JSON.
    pub users: Vec<(String, String, serde_json::Value)>,
    /// Groups to push: (id, JSON).
    pub groups: Vec<(String, serde_json::Value)>,
    /// Group id → ids of its members (any kind of membership).
    pub members: HashMap<String, Vec<String>>,
    /// API calls made.
    pub calls: u64,
    /// `"<list>:<entry>"` of the rule's scope and push lists → the PingOne id
    /// it resolved to (kept so a rename in PingOne is followed).
    pub resolved: BTreeMap<String, String>,
    /// The scope the users were chosen by, and the populations it was read with.
    pub(crate) scope: Option<(super::scope::Scope, Vec<pingone_client::Population>)>,
}

/// `(id, name)` of every population, for [`resolve`].
pub(crate) fn known_populations(pops: &[pingone_client::Population]) -> Vec<(String, String)> {
    pops.iter()
        .map(|p| (p.id.clone(), p.name.clone()))
        .collect()
}

/// `(id, name)` of every group, for [`resolve`].
pub(crate) fn known_groups(groups: &[pingone_client::Group]) -> Vec<(String, String)> {
    groups
        .iter()
        .map(|g| (g.id.clone(), g.name.clone()))
        .collect()
}

/// Resolve names or ids against `(id, name)` pairs; unknown ones are an error naming the key.
pub(crate) fn resolve(
    wanted: &[String],
    known: &[(String, String)],
    what: &str,
    key: &str,
) -> Result<Vec<String>, AgentError> {
    let mut ids = Vec::new();
    for w in wanted {
        match known.iter().find(|(id, name)| id == w || name == w) {
            Some((id, _)) => ids.push(id.clone()),
            None => {
                return Err(AgentError::PingOne(format!(
                    "{what} {w:?} named in {key} does not exist in the PingOne environment; fix the name (names are case-sensitive) or create it"
                )));
            }
        }
    }
    Ok(ids)
}

/// A list of PingOne names in a rule's config.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NamedList {
    ScopePopulations,
    ScopeGroups,
    PushGroups,
}

impl NamedList {
    fn key(self) -> &'static str {
        match self {
            NamedList::ScopePopulations => "scope.populations",
            NamedList::ScopeGroups => "scope.groups",
            NamedList::PushGroups => "groups.push",
        }
    }
    fn what(self) -> &'static str {
        match self {
            NamedList::ScopePopulations => "population",
            NamedList::ScopeGroups | NamedList::PushGroups => "group",
        }
    }
}

/// Resolves a config list like [`resolve`], except that an entry which no
/// longer matches is followed through the id it resolved to before
/// (`remembered`, keyed `"<list>:<entry>"`): renamed in PingOne, it keeps
/// working under its new name (with a warning to update the config). Deleted,
/// a pushed group leaves the push list, so its Duo group goes the way of one
/// removed from it; a scope population or group stops the rule rather than
/// empty its scope. What each entry resolves to now goes into `now`.
pub(crate) fn resolve_followed(
    rule: &str,
    list: NamedList,
    wanted: &[String],
    known: &[(String, String)],
    remembered: &BTreeMap<String, String>,
    now: &mut BTreeMap<String, String>,
) -> Result<Vec<String>, AgentError> {
    let (key, what) = (format!("rule {rule:?} {}", list.key()), list.what());
    let mut ids = Vec::new();
    for w in wanted {
        let memo = format!("{}:{w}", list.key());
        if let Some((id, _)) = known.iter().find(|(id, name)| id == w || name == w) {
            ids.push(id.clone());
            now.insert(memo, id.clone());
            continue;
        }
        let Some(before) = remembered.get(&memo) else {
            // Never seen: a typo or something not created yet.
            resolve(std::slice::from_ref(w), known, what, &key)?;
            continue;
        };
        match known.iter().find(|(id, _)| id == before) {
            Some((id, name)) => {
                tracing::warn!(rule, entry = %w, id = %id, new_name = %name, "a {what} named in {key} was renamed in PingOne; it is followed under its new name: put {name:?} in {key}");
                ids.push(id.clone());
                now.insert(memo, id.clone());
            }
            None if list == NamedList::PushGroups => {
                tracing::warn!(rule, group = %w, id = %before, "a pushed group was deleted in PingOne; its Duo group is handled like one removed from {key}: take it out of the list");
            }
            None => {
                return Err(AgentError::PingOne(format!(
                    "{what} {w:?} named in {key} was deleted in PingOne (it was {before}); the rule stops rather than empty its scope: fix {key}"
                )));
            }
        }
    }
    Ok(ids)
}

/// Every population of the environment.
pub(crate) async fn list_populations(
    p1: &PingOneClient,
) -> Result<Vec<pingone_client::Population>, AgentError> {
    all_items(p1.list_populations(), "listing populations").await
}

/// Every group of the environment.
pub(crate) async fn list_groups(
    p1: &PingOneClient,
) -> Result<Vec<pingone_client::Group>, AgentError> {
    all_items(p1.list_groups(&Default::default()), "listing groups").await
}

/// The ids an outbound rule's scope and push names resolve to now, followed
/// through renames (see [`resolve_followed`]).
pub(crate) struct RuleNames {
    pub populations: Vec<String>,
    pub scope_groups: Vec<String>,
    pub push: Vec<String>,
    /// What each entry resolves to now, to remember.
    pub resolved: BTreeMap<String, String>,
}

impl RuleNames {
    pub(crate) fn resolve(
        rule: &Rule,
        pops: &[pingone_client::Population],
        groups: &[pingone_client::Group],
        before: &BTreeMap<String, String>,
    ) -> Result<RuleNames, AgentError> {
        let (known_pops, known_groups) = (known_populations(pops), known_groups(groups));
        let mut resolved = BTreeMap::new();
        let mut follow = |list, wanted: &[String], known: &[(String, String)]| {
            resolve_followed(&rule.name, list, wanted, known, before, &mut resolved)
        };
        let populations = follow(
            NamedList::ScopePopulations,
            &rule.outbound().scope_populations,
            &known_pops,
        )?;
        let scope_groups = follow(
            NamedList::ScopeGroups,
            &rule.outbound().scope_groups,
            &known_groups,
        )?;
        let push = follow(
            NamedList::PushGroups,
            &rule.outbound().push_groups,
            &known_groups,
        )?;
        Ok(RuleNames {
            populations,
            scope_groups,
            push,
            resolved,
        })
    }
}

/// Read the PingOne side of an outbound rule; `resolved_before` is the last
/// [`PingOneSnapshot::resolved`].
pub async fn read_pingone(
    p1: &PingOneClient,
    rule: &Rule,
    resolved_before: &BTreeMap<String, String>,
) -> Result<PingOneSnapshot, AgentError> {
    let mut snap = PingOneSnapshot::default();
    let pops = list_populations(p1).await?;
    let pop_names: HashMap<String, String> = pops
        .iter()
        .map(|p| (p.id.clone(), p.name.clone()))
        .collect();
    let need_groups = !rule.outbound().scope_groups.is_empty()
        || !rule.outbound().push_groups.is_empty()
        || super::scope::Scope::needs_groups(rule);
    let groups = if need_groups {
        list_groups(p1).await?
    } else {
        Vec::new()
    };
    let RuleNames {
        populations: pop_ids,
        scope_groups: scope_group_ids,
        push: push_ids,
        resolved,
    } = RuleNames::resolve(rule, &pops, &groups, resolved_before)?;
    snap.resolved = resolved;
    let scope = super::scope::Scope::new(rule, pop_ids, scope_group_ids, &groups)?;

    // Members of the scope groups (any kind of membership counts) and of the
    // groups the filter names (the kind it asks for).
    let mut lists: Vec<(String, Membership)> = scope
        .groups
        .iter()
        .map(|g| (g.clone(), Membership::Any))
        .chain(scope.membership_lists())
        .collect();
    lists.sort();
    lists.dedup();
    let mut memberships: HashMap<String, super::scope::Memberships> = HashMap::new();
    for (gid, kind) in lists {
        let read =
            |k: pingone_client::MemberKind| p1.list_group_members(&gid, k).try_collect::<Vec<_>>();
        let pages = read(match kind {
            Membership::Direct => pingone_client::MemberKind::Direct,
            _ => pingone_client::MemberKind::Any,
        })
        .await
        .map_err(|e| AgentError::pingone(format!("listing the members of scope group {gid}"), e))?;
        snap.calls += pages.len() as u64;
        let mut ids: HashSet<String> = pages
            .into_iter()
            .flat_map(|p| p.items)
            .map(|u| u.id)
            .collect();
        if kind == Membership::Indirect {
            let direct = read(pingone_client::MemberKind::Direct)
                .await
                .map_err(|e| {
                    AgentError::pingone(format!("listing the members of scope group {gid}"), e)
                })?;
            snap.calls += direct.len() as u64;
            for u in direct.into_iter().flat_map(|p| p.items) {
                ids.remove(&u.id);
            }
        }
        for id in ids {
            memberships
                .entry(id)
                .or_default()
                .insert((gid.clone(), kind));
        }
    }
    // PingOne filters what it can (fewer pages to read); the verdict is still
    // made here on every user read, so a filter PingOne ignored or evaluated
    // differently cannot widen the scope.
    let query = scope
        .pushdown()
        .map(pingone_client::UserQuery::filtered)
        .unwrap_or_default();
    let none = super::scope::Memberships::new();
    // Only the top-level attributes the mapping reads are kept: a whole
    // PingOne user as a JSON value was most of a sync's memory.
    let read: HashSet<String> = rule
        .mapping
        .source_paths()
        .iter()
        .filter_map(|p| p.split('.').next())
        .map(str::to_owned)
        .collect();
    // Page by page: a typed page is dropped once its users are converted, so
    // only the kept attributes of the whole directory are held at once.
    let mut pages = std::pin::pin!(p1.list_users(&query));
    while let Some(page) = pages
        .try_next()
        .await
        .map_err(|e| AgentError::pingone(format!("listing the users of rule {:?}", rule.name), e))?
    {
        snap.calls += 1;
        for u in page.items {
            let mut json = serde_json::to_value(&u).unwrap_or_default();
            let pop_name = u.population_id().and_then(|pid| pop_names.get(pid));
            if let (Some(name), Some(obj)) = (
                pop_name,
                json.get_mut("population").and_then(|p| p.as_object_mut()),
            ) {
                obj.insert("name".into(), serde_json::Value::String(name.clone()));
            }
            let m = memberships.get(&u.id).unwrap_or(&none);
            if !scope
                .verdict(&json, u.population_id(), pop_name.map(String::as_str), m)
                .included
            {
                continue;
            }
            if let Some(obj) = json.as_object_mut() {
                // Rebuilt rather than retained: `retain` keeps the capacity.
                *obj = std::mem::take(obj)
                    .into_iter()
                    .filter(|(k, _)| read.contains(k))
                    .collect();
            }
            snap.users.push((u.id.clone(), u.username.clone(), json));
        }
    }
    snap.scope = Some((scope, pops));
    for gid in push_ids {
        let Some(g) = groups.iter().find(|g| g.id == gid) else {
            continue;
        };
        let members: Vec<_> = p1
            .list_group_members(&gid, pingone_client::MemberKind::Any)
            .try_collect()
            .await
            .map_err(|e| {
                AgentError::pingone(format!("listing the members of group {:?}", g.name), e)
            })?;
        snap.calls += members.len() as u64;
        snap.members.insert(
            gid.clone(),
            members
                .into_iter()
                .flat_map(|p| p.items)
                .map(|u| u.id)
                .collect(),
        );
        snap.groups
            .push((gid, serde_json::to_value(g).unwrap_or_default()));
    }
    Ok(snap)
}

/// What PingOne has: every user (usernames are unique per environment) and
/// the id of the rule's target population.
#[derive(Debug, Default)]
pub struct PingOneUsers {
    pub users: Vec<pingone_client::User>,
    pub population_id: String,
    /// The User schema's attributes (`None`: unknown, none is left out).
    pub schema: Option<HashSet<String>>,
}

/// The id of an inbound rule's target population.
pub(crate) async fn target_population(
    p1: &PingOneClient,
    rule: &Rule,
) -> Result<String, AgentError> {
    let want = rule.target_population().unwrap_or_default();
    let pops = list_populations(p1).await?;
    match pops.iter().find(|p| p.id == want || p.name == want) {
        Some(p) => Ok(p.id.clone()),
        None => Err(AgentError::PingOne(format!(
            "population {want:?} named in rule {:?} target.population does not exist in the PingOne environment; fix the name or create it",
            rule.name
        ))),
    }
}

/// PingOne users with this username (`username eq`; at most one, but a
/// filter PingOne compares case-insensitively may find more).
pub(crate) async fn users_named(
    p1: &PingOneClient,
    username: &str,
) -> Result<Vec<pingone_client::User>, AgentError> {
    let f = pingone_client::Filter::eq("username", username)
        .map_err(|e| AgentError::Usage(format!("username {username:?}: {e}")))?;
    all_items(
        p1.list_users(&pingone_client::UserQuery::filtered(f)),
        "looking up a user by username",
    )
    .await
}

/// Read PingOne's users and resolve the target population.
pub async fn read_inbound(p1: &PingOneClient, rule: &Rule) -> Result<PingOneUsers, AgentError> {
    let want = rule.target_population().unwrap_or_default().to_owned();
    let pops: Vec<_> = p1
        .list_populations()
        .try_collect::<Vec<_>>()
        .await
        .map_err(|e| AgentError::pingone("listing populations", e))?
        .into_iter()
        .flat_map(|p| p.items)
        .collect();
    let Some(pop) = pops.iter().find(|p| p.id == want || p.name == want) else {
        return Err(AgentError::PingOne(format!(
            "population {want:?} named in rule {:?} target.population does not exist in the PingOne environment; fix the name or create it",
            rule.name
        )));
    };
    Ok(PingOneUsers {
        users: list_users(p1).await?,
        population_id: pop.id.clone(),
        schema: user_schema(p1).await,
    })
}

/// The User schema's attribute names; `None` when unreadable, which only
/// costs the check of mapping targets, never the cycle.
pub(crate) async fn user_schema(p1: &PingOneClient) -> Option<HashSet<String>> {
    match p1.user_schema_attributes().await {
        Ok(a) if !a.is_empty() => Some(a.into_iter().collect()),
        Ok(_) => None,
        Err(e) => {
            tracing::debug!(error = %e, "cannot read PingOne's User schema; mapping targets not checked");
            None
        }
    }
}

/// Every user of the environment (usernames are unique per environment).
pub async fn list_users(p1: &PingOneClient) -> Result<Vec<pingone_client::User>, AgentError> {
    all_items(p1.list_users(&Default::default()), "listing users").await
}

/// Every item of a paged listing; `what` names it in an error.
async fn all_items<T>(
    pages: pingone_client::PageStream<T>,
    what: &str,
) -> Result<Vec<T>, AgentError> {
    Ok(pages
        .try_collect::<Vec<_>>()
        .await
        .map_err(|e| AgentError::pingone(what, e))?
        .into_iter()
        .flat_map(|p| p.items)
        .collect())
}
