//! Outbound (PingOne → Duo): reading the PingOne users in scope and the groups
//! to push, reading Duo's users, administrators and groups, turning both into
//! the engine's neutral records, and the engine `Target` over the Duo client.

use crate::AgentError;
use crate::config::Rule;
use crate::records::{Inputs, attr_pairs, engine_empty, engine_when};
use duo_client::{
    AdminRole, AdminStatus, AdminUpdate, DuoClient, DuoError, GroupUpdate, NewAdmin, NewGroup,
    NewUser, PhoneSpec, UserStatus, UserUpdate,
};
use futures::TryStreamExt;
use mapping::{Mapping, UserType};
use pingone_client::PingOneClient;
use reconcile_engine::{
    self as engine, AttrChange, ErrorClass, Failure, Found, Kind, NewDesired, NewObserved,
    PhoneRef, TResult, Target, TargetError, Value, ValueRef,
};
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
}

/// What Duo has.
#[derive(Debug, Default)]
pub struct DuoSnapshot {
    pub users: Vec<duo_client::User>,
    pub admins: Vec<duo_client::Admin>,
    pub groups: Vec<duo_client::Group>,
}

fn p1err(what: &str, e: pingone_client::Error) -> AgentError {
    AgentError::PingOne(format!("{what}: {e}"))
}

fn duoerr(what: &str, e: DuoError) -> AgentError {
    AgentError::Duo(format!("{what}: {e}"))
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

/// Read the PingOne side of an outbound rule; `resolved_before` is the last
/// [`PingOneSnapshot::resolved`].
pub async fn read_pingone(
    p1: &PingOneClient,
    rule: &Rule,
    resolved_before: &BTreeMap<String, String>,
) -> Result<PingOneSnapshot, AgentError> {
    let mut snap = PingOneSnapshot::default();
    let pops: Vec<pingone_client::Population> = p1
        .list_populations()
        .try_collect::<Vec<_>>()
        .await
        .map_err(|e| p1err("listing populations", e))?
        .into_iter()
        .flat_map(|p| p.items)
        .collect();
    let pop_names: HashMap<String, String> = pops
        .iter()
        .map(|p| (p.id.clone(), p.name.clone()))
        .collect();
    let known_pops = known_populations(&pops);
    let need_groups = !rule.scope_groups.is_empty() || !rule.push_groups.is_empty();
    let groups: Vec<pingone_client::Group> = if need_groups {
        p1.list_groups(&Default::default())
            .try_collect::<Vec<_>>()
            .await
            .map_err(|e| p1err("listing groups", e))?
            .into_iter()
            .flat_map(|p| p.items)
            .collect()
    } else {
        Vec::new()
    };
    let known_groups = known_groups(&groups);
    let mut resolved = BTreeMap::new();
    let follow = |list, wanted: &[String], known: &[(String, String)], now: &mut _| {
        resolve_followed(&rule.name, list, wanted, known, resolved_before, now)
    };
    let pop_ids = follow(
        NamedList::ScopePopulations,
        &rule.scope_populations,
        &known_pops,
        &mut resolved,
    )?;
    let scope_group_ids = follow(
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
    snap.resolved = resolved;

    // Members of the scope groups (any kind of membership counts).
    let mut in_groups: Option<HashSet<String>> = None;
    for gid in &scope_group_ids {
        let pages: Vec<_> = p1
            .list_group_members(gid, pingone_client::MemberKind::Any)
            .try_collect()
            .await
            .map_err(|e| p1err(&format!("listing the members of scope group {gid}"), e))?;
        snap.calls += pages.len() as u64;
        in_groups
            .get_or_insert_with(HashSet::new)
            .extend(pages.into_iter().flat_map(|p| p.items).map(|u| u.id));
    }
    // Populations are filtered by PingOne (fewer pages to read); both conditions
    // are still checked here, so a filter PingOne ignored cannot widen the scope.
    let query = population_filter(&pop_ids)
        .map(pingone_client::UserQuery::filtered)
        .unwrap_or_default();
    let in_scope = |u: &pingone_client::User| {
        (pop_ids.is_empty()
            || u.population_id()
                .is_some_and(|p| pop_ids.iter().any(|x| x == p)))
            && in_groups.as_ref().is_none_or(|g| g.contains(&u.id))
    };
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
        .map_err(|e| p1err(&format!("listing the users of rule {:?}", rule.name), e))?
    {
        snap.calls += 1;
        for u in page.items.into_iter().filter(|u| in_scope(u)) {
            let mut json = serde_json::to_value(&u).unwrap_or_default();
            if let Some(obj) = json.as_object_mut() {
                // Rebuilt rather than retained: `retain` keeps the capacity.
                *obj = std::mem::take(obj)
                    .into_iter()
                    .filter(|(k, _)| read.contains(k))
                    .collect();
            }
            if let (Some(pid), Some(obj)) = (
                u.population_id(),
                json.get_mut("population").and_then(|p| p.as_object_mut()),
            ) && let Some(name) = pop_names.get(pid)
            {
                obj.insert("name".into(), serde_json::Value::String(name.clone()));
            }
            snap.users.push((u.id.clone(), u.username.clone(), json));
        }
    }
    for gid in push_ids {
        let Some(g) = groups.iter().find(|g| g.id == gid) else {
            continue;
        };
        let members: Vec<_> = p1
            .list_group_members(&gid, pingone_client::MemberKind::Any)
            .try_collect()
            .await
            .map_err(|e| p1err(&format!("listing the members of group {:?}", g.name), e))?;
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

/// Read Duo: users (with their groups and phones), groups, and administrators when managed.
pub async fn read_duo(duo: &DuoClient, admins: bool) -> Result<DuoSnapshot, AgentError> {
    let (users, groups) = tokio::try_join!(
        async {
            duo.list_users()
                .await
                .map_err(|e| duoerr("listing users", e))
        },
        async {
            duo.list_groups()
                .await
                .map_err(|e| duoerr("listing groups", e))
        },
    )?;
    let admins = if admins {
        duo.list_admins()
            .await
            .map_err(|e| duoerr("listing administrators", e))?
    } else {
        Vec::new()
    };
    Ok(DuoSnapshot {
        users,
        admins,
        groups,
    })
}

/// Duo user attributes a mapping may manage (besides username, status, phones).
const USER_ATTRS: &[&str] = &[
    "email",
    "realname",
    "firstname",
    "lastname",
    "notes",
    "alias1",
    "alias2",
    "alias3",
    "alias4",
];

fn nonempty(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|v| !v.is_empty())
}

fn duo_user_attr<'a>(u: &'a duo_client::User, name: &str) -> Option<&'a str> {
    match name {
        "email" => nonempty(&u.email),
        "realname" => nonempty(&u.realname),
        "firstname" => nonempty(&u.firstname),
        "lastname" => nonempty(&u.lastname),
        "notes" => nonempty(&u.notes),
        "alias1" => nonempty(&u.alias1),
        "alias2" => nonempty(&u.alias2),
        "alias3" => nonempty(&u.alias3),
        "alias4" => nonempty(&u.alias4),
        _ => None,
    }
}

/// Build the engine inputs of an outbound rule.
pub fn build(
    rule: &Rule,
    p1: &PingOneSnapshot,
    duo: &DuoSnapshot,
    excluded_sources: &HashSet<String>,
    manages_admins: bool,
    foreign: &crate::records::Foreign,
) -> Result<Inputs, AgentError> {
    let mut inp = Inputs::default();
    let cap = |_| {
        AgentError::Other(format!(
            "rule {:?}: the snapshot is too large for one rule; split its scope",
            rule.name
        ))
    };
    // Schema: the mapped Duo attributes with their policies, plus admin and group ones.
    for (target, spec) in &rule.mapping.spec().0 {
        if USER_ATTRS.contains(&target.as_str()) {
            let (empty, when) = match spec {
                mapping::AttrSpec::Expr(_) => (mapping::EmptyPolicy::Keep, mapping::When::Always),
                mapping::AttrSpec::Full { empty, when, .. } => (*empty, *when),
            };
            inp.schema
                .define(target, engine_empty(empty), engine_when(when));
        }
    }
    let a_name = inp.schema.define(
        "name",
        engine::EmptyPolicy::Keep,
        engine::WritePolicy::Always,
    );
    let a_role = inp.schema.define(
        "role",
        engine::EmptyPolicy::Keep,
        engine::WritePolicy::Always,
    );
    let a_desc = inp.schema.define(
        "desc",
        engine::EmptyPolicy::Keep,
        engine::WritePolicy::Always,
    );
    let group_mapping = Mapping::default_group();
    let mut desired_users: HashSet<&str> = HashSet::new();

    for (id, username, json) in &p1.users {
        if excluded_sources.contains(id) {
            continue;
        }
        match rule.mapping.apply(json) {
            Err(errs) => {
                let msg = errs
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ");
                inp.desired.push_failure(Failure {
                    kind: Kind::User,
                    source_id: id.clone(),
                    name: username.clone(),
                    message: format!("user {username:?} (rule {:?}): {msg}", rule.name),
                    cause: crate::records::cause_of(&errs),
                });
                inp.names.insert(id.clone(), username.clone());
            }
            Ok(rec) => {
                let admin = rec.user_type == Some(UserType::Admin);
                if admin && !manages_admins {
                    continue;
                }
                let enabled = rec.text("status") != Some("disabled");
                let mut attrs: Vec<(String, Option<engine::Value>)> = Vec::new();
                let key;
                let mut phone = None;
                let kind;
                if admin {
                    kind = Kind::Admin;
                    key = rec.text("email").unwrap_or_default().to_owned();
                    let name = rec.text("realname").unwrap_or(username).to_owned();
                    attrs.push(("name".into(), Some(Value::Str(name))));
                    attrs.push((
                        "role".into(),
                        rec.admin_role
                            .as_ref()
                            .map(|r| Value::Str(r.as_str().to_owned())),
                    ));
                } else {
                    kind = Kind::User;
                    key = rec.text("username").unwrap_or(username).to_owned();
                    for (k, a) in &rec.attrs {
                        if USER_ATTRS.contains(&k.as_str()) {
                            attrs.push((
                                k.clone(),
                                a.value
                                    .as_ref()
                                    .and_then(|v| v.as_str())
                                    .map(|s| Value::Str(s.to_owned())),
                            ));
                        }
                    }
                    phone = rec.text("phones").map(str::to_owned);
                    desired_users.insert(id.as_str());
                }
                inp.attrs_json
                    .insert((kind, id.clone()), crate::records::last_values(&rec));
                let pairs = attr_pairs(&inp.schema, &attrs);
                inp.desired
                    .push(NewDesired {
                        kind,
                        source_id: id,
                        key: &key,
                        attrs: &pairs
                            .iter()
                            .map(|(a, v)| (*a, v.as_ref().map(Value::as_ref)))
                            .collect::<Vec<_>>(),
                        enabled,
                        phone: phone.as_deref(),
                        fingerprint: rec.fingerprint(),
                    })
                    .map_err(cap)?;
                inp.names.insert(id.clone(), key);
            }
        }
    }
    for (gid, json) in &p1.groups {
        let gname = json
            .get("name")
            .and_then(|n| n.as_str())
            .unwrap_or(gid)
            .to_owned();
        match group_mapping.apply(json) {
            Err(errs) => {
                let msg = errs
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ");
                inp.desired.push_failure(Failure {
                    kind: Kind::Group,
                    source_id: gid.clone(),
                    name: gname.clone(),
                    message: format!("group {gname:?}: {msg}"),
                    cause: crate::records::cause_of(&errs),
                });
            }
            Ok(rec) => {
                let key = rec.text("name").unwrap_or(&gname).to_owned();
                let desc = rec.text("desc").map(|s| Value::Str(s.to_owned()));
                let pairs = [(a_desc, desc.as_ref().map(Value::as_ref))];
                inp.desired
                    .push(NewDesired {
                        kind: Kind::Group,
                        source_id: gid,
                        key: &key,
                        attrs: &pairs,
                        enabled: true,
                        phone: None,
                        fingerprint: rec.fingerprint(),
                    })
                    .map_err(cap)?;
                inp.names.insert(gid.clone(), key);
                for m in p1.members.get(gid).into_iter().flatten() {
                    if desired_users.contains(m.as_str()) {
                        inp.desired.push_membership(gid, m).map_err(cap)?;
                    }
                }
            }
        }
    }
    // Observed: every Duo user, group and (when managed) administrator.
    let user_attr_ids: Vec<(reconcile_engine::AttrId, &str)> = USER_ATTRS
        .iter()
        .filter_map(|n| inp.schema.get(n).map(|id| (id, *n)))
        .collect();
    for u in &duo.users {
        let attrs: Vec<(reconcile_engine::AttrId, Option<ValueRef<'_>>)> = user_attr_ids
            .iter()
            .map(|(id, n)| (*id, duo_user_attr(u, n).map(ValueRef::Str)))
            .collect();
        let phones: Vec<PhoneRef<'_>> = u
            .phones
            .iter()
            .filter_map(|p| {
                Some(PhoneRef {
                    id: &p.phone_id,
                    number: p.number.as_deref()?,
                    activated: p.activated.unwrap_or(false),
                })
            })
            .collect();
        let groups: Vec<&str> = u.groups.iter().map(|g| g.group_id.as_str()).collect();
        inp.observed
            .push(NewObserved {
                kind: Kind::User,
                target_id: &u.user_id,
                key: &u.username,
                attrs: &attrs,
                enabled: !matches!(u.status, Some(UserStatus::Disabled)),
                phones: &phones,
                groups: &groups,
                fingerprint: None,
            })
            .map_err(cap)?;
        foreign.guard(&mut inp.observed, &u.user_id).map_err(cap)?;
    }
    for a in &duo.admins {
        let role = a.role.as_ref().map(|r| r.as_str());
        let attrs = [
            (a_name, Some(ValueRef::Str(&a.name))),
            (a_role, role.map(ValueRef::Str)),
        ];
        inp.observed
            .push(NewObserved {
                kind: Kind::Admin,
                target_id: &a.admin_id,
                key: &a.email,
                attrs: &attrs,
                enabled: !matches!(a.status, Some(AdminStatus::Disabled)),
                phones: &[],
                groups: &[],
                fingerprint: None,
            })
            .map_err(cap)?;
        if matches!(a.role, Some(duo_client::AdminRole::Owner)) {
            inp.observed
                .guard_last(
                    engine::Guard::Protected,
                    "is a Duo administrator with the Owner role, which p1duo never adopts or modifies",
                )
                .map_err(cap)?;
        } else {
            foreign.guard(&mut inp.observed, &a.admin_id).map_err(cap)?;
        }
    }
    for g in &duo.groups {
        let attrs = [(
            a_desc,
            Some(g.desc.as_str())
                .filter(|d| !d.is_empty())
                .map(ValueRef::Str),
        )];
        inp.observed
            .push(NewObserved {
                kind: Kind::Group,
                target_id: &g.group_id,
                key: &g.name,
                attrs: &attrs,
                enabled: true,
                phones: &[],
                groups: &[],
                fingerprint: None,
            })
            .map_err(cap)?;
        foreign.guard(&mut inp.observed, &g.group_id).map_err(cap)?;
    }
    Ok(inp)
}

/// The engine's `Target` over the Duo Admin API.
pub struct DuoTarget {
    pub duo: DuoClient,
}

/// Sort a Duo error into the engine's classes, keeping its text.
fn terr(what: String, e: DuoError) -> TargetError {
    let class = if e.is_outcome_unknown() {
        ErrorClass::OutcomeUnknown
    } else if e.is_transient() {
        ErrorClass::Transient
    } else {
        ErrorClass::Permanent
    };
    TargetError {
        class,
        message: format!("{what}: {e}"),
    }
}

fn unsupported(what: &str) -> TargetError {
    TargetError {
        class: ErrorClass::Permanent,
        message: format!("{what} is not supported by Duo's Admin API"),
    }
}

fn text_of(changes: &[AttrChange], name: &str) -> Option<Option<String>> {
    changes
        .iter()
        .find(|c| c.attr == name)
        .map(|c| match &c.after {
            Some(Value::Str(s)) => Some(s.clone()),
            Some(Value::Bool(b)) => Some(b.to_string()),
            Some(Value::List(l)) => Some(l.join(",")),
            None => None,
        })
}

/// Cleared text is written as "" (Duo keeps the field, empty).
fn set(changes: &[AttrChange], name: &str) -> Option<String> {
    text_of(changes, name).map(Option::unwrap_or_default)
}

fn user_update(changes: &[AttrChange]) -> UserUpdate {
    let mut u = UserUpdate {
        email: set(changes, "email"),
        realname: set(changes, "realname"),
        firstname: set(changes, "firstname"),
        lastname: set(changes, "lastname"),
        notes: set(changes, "notes"),
        ..UserUpdate::default()
    };
    let aliases: BTreeMap<usize, String> = (1..=4)
        .filter_map(|i| set(changes, &format!("alias{i}")).map(|v| (i, v)))
        .collect();
    if !aliases.is_empty() {
        u.extra = duo_client::Params::new();
        for (i, v) in aliases {
            u.extra.push(format!("alias{i}"), v);
        }
    }
    u
}

impl Target for DuoTarget {
    async fn create(
        &self,
        kind: Kind,
        key: &str,
        attrs: &[AttrChange],
        enabled: bool,
    ) -> TResult<String> {
        match kind {
            Kind::User => {
                let up = user_update(attrs);
                let mut u = NewUser::new(key);
                u.email = up.email.filter(|s| !s.is_empty());
                u.realname = up.realname.filter(|s| !s.is_empty());
                u.firstname = up.firstname.filter(|s| !s.is_empty());
                u.lastname = up.lastname.filter(|s| !s.is_empty());
                u.notes = up.notes.filter(|s| !s.is_empty());
                u.extra = up.extra;
                u.status = Some(if enabled {
                    UserStatus::Active
                } else {
                    UserStatus::Disabled
                });
                let created = self
                    .duo
                    .create_user(&u)
                    .await
                    .map_err(|e| terr(format!("creating Duo user {key:?}"), e))?;
                Ok(created.user_id)
            }
            Kind::Admin => {
                let name = set(attrs, "name")
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| key.to_owned());
                // Never Owner by accident: the mapping already refuses it; default to Read-only.
                let role = AdminRole::parse(
                    &set(attrs, "role")
                        .filter(|s| !s.is_empty())
                        .unwrap_or_else(|| "Read-only".into()),
                );
                let a = NewAdmin::new(key, name, role);
                let created = self
                    .duo
                    .create_admin(&a)
                    .await
                    .map_err(|e| terr(format!("creating Duo administrator {key:?}"), e))?;
                if !enabled {
                    let up = AdminUpdate {
                        status: Some(AdminStatus::Disabled),
                        ..AdminUpdate::default()
                    };
                    self.duo
                        .modify_admin(&created.admin_id, &up)
                        .await
                        .map_err(|e| terr(format!("disabling Duo administrator {key:?}"), e))?;
                }
                Ok(created.admin_id)
            }
            Kind::Group => {
                let mut g = NewGroup::new(key);
                g.desc = set(attrs, "desc").filter(|s| !s.is_empty());
                let created = self
                    .duo
                    .create_group(&g)
                    .await
                    .map_err(|e| terr(format!("creating Duo group {key:?}"), e))?;
                Ok(created.group_id)
            }
        }
    }

    async fn update(&self, kind: Kind, id: &str, changes: &[AttrChange]) -> TResult<()> {
        match kind {
            Kind::User => {
                self.duo
                    .modify_user(id, &user_update(changes))
                    .await
                    .map_err(|e| terr(format!("updating Duo user {id}"), e))?;
            }
            Kind::Admin => {
                let up = AdminUpdate {
                    name: set(changes, "name"),
                    role: set(changes, "role")
                        .filter(|s| !s.is_empty())
                        .map(|r| AdminRole::parse(&r)),
                    ..AdminUpdate::default()
                };
                self.duo
                    .modify_admin(id, &up)
                    .await
                    .map_err(|e| terr(format!("updating Duo administrator {id}"), e))?;
            }
            Kind::Group => {
                let up = GroupUpdate {
                    desc: set(changes, "desc"),
                    ..GroupUpdate::default()
                };
                self.duo
                    .modify_group(id, &up)
                    .await
                    .map_err(|e| terr(format!("updating Duo group {id}"), e))?;
            }
        }
        Ok(())
    }

    async fn rename(&self, kind: Kind, id: &str, new_key: &str) -> TResult<()> {
        match kind {
            Kind::User => {
                let up = UserUpdate {
                    username: Some(new_key.to_owned()),
                    ..UserUpdate::default()
                };
                self.duo
                    .modify_user(id, &up)
                    .await
                    .map_err(|e| terr(format!("renaming Duo user {id} to {new_key:?}"), e))?;
            }
            Kind::Group => {
                let up = GroupUpdate {
                    name: Some(new_key.to_owned()),
                    ..GroupUpdate::default()
                };
                self.duo
                    .modify_group(id, &up)
                    .await
                    .map_err(|e| terr(format!("renaming Duo group {id} to {new_key:?}"), e))?;
            }
            Kind::Admin => return Err(unsupported("changing a Duo administrator's email")),
        }
        Ok(())
    }

    async fn set_enabled(&self, kind: Kind, id: &str, enabled: bool) -> TResult<()> {
        match kind {
            Kind::User => {
                let up = UserUpdate {
                    status: Some(if enabled {
                        UserStatus::Active
                    } else {
                        UserStatus::Disabled
                    }),
                    ..UserUpdate::default()
                };
                self.duo
                    .modify_user(id, &up)
                    .await
                    .map_err(|e| terr(format!("setting the status of Duo user {id}"), e))?;
            }
            Kind::Admin => {
                let up = AdminUpdate {
                    status: Some(if enabled {
                        AdminStatus::Active
                    } else {
                        AdminStatus::Disabled
                    }),
                    ..AdminUpdate::default()
                };
                self.duo.modify_admin(id, &up).await.map_err(|e| {
                    terr(format!("setting the status of Duo administrator {id}"), e)
                })?;
            }
            Kind::Group => return Err(unsupported("disabling a group")),
        }
        Ok(())
    }

    async fn delete(&self, kind: Kind, id: &str) -> TResult<()> {
        let r = match kind {
            Kind::User => self.duo.delete_user(id).await,
            Kind::Admin => self.duo.delete_admin(id).await,
            Kind::Group => self.duo.delete_group(id).await,
        };
        match r {
            Err(e) if e.is_not_found() => Ok(()),
            r => r.map_err(|e| terr(format!("deleting Duo {} {id}", kind.as_str()), e)),
        }
    }

    async fn add_member(&self, group_id: &str, member_kind: Kind, member_id: &str) -> TResult<()> {
        if member_kind != Kind::User {
            return Err(unsupported("putting an administrator in a group"));
        }
        self.duo
            .add_user_to_group(member_id, group_id)
            .await
            .map_err(|e| {
                terr(
                    format!("adding Duo user {member_id} to group {group_id}"),
                    e,
                )
            })
    }

    async fn remove_member(
        &self,
        group_id: &str,
        member_kind: Kind,
        member_id: &str,
    ) -> TResult<()> {
        if member_kind != Kind::User {
            return Ok(());
        }
        self.duo
            .remove_user_from_group(member_id, group_id)
            .await
            .map_err(|e| {
                terr(
                    format!("removing Duo user {member_id} from group {group_id}"),
                    e,
                )
            })
    }

    async fn find_phone(&self, number: &str) -> TResult<Option<String>> {
        let p = self
            .duo
            .find_phone_by_number(number, None)
            .await
            .map_err(|e| terr(format!("looking up phone {number}"), e))?;
        Ok(p.map(|p| p.phone_id))
    }

    async fn create_phone(&self, number: &str) -> TResult<String> {
        let p = self
            .duo
            .create_phone(&PhoneSpec::number(number))
            .await
            .map_err(|e| terr(format!("creating phone {number}"), e))?;
        Ok(p.phone_id)
    }

    async fn attach_phone(&self, kind: Kind, account_id: &str, phone_id: &str) -> TResult<()> {
        if kind != Kind::User {
            return Err(unsupported("attaching a phone to an administrator"));
        }
        self.duo
            .associate_phone(account_id, phone_id)
            .await
            .map_err(|e| {
                terr(
                    format!("attaching phone {phone_id} to Duo user {account_id}"),
                    e,
                )
            })
    }

    async fn detach_phone(&self, kind: Kind, account_id: &str, phone_id: &str) -> TResult<()> {
        if kind != Kind::User {
            return Ok(());
        }
        self.duo
            .disassociate_phone(account_id, phone_id)
            .await
            .map_err(|e| {
                terr(
                    format!("detaching phone {phone_id} from Duo user {account_id}"),
                    e,
                )
            })
    }

    async fn delete_phone(&self, phone_id: &str) -> TResult<()> {
        match self.duo.delete_phone(phone_id).await {
            Err(e) if e.is_not_found() => Ok(()),
            r => r.map_err(|e| terr(format!("deleting phone {phone_id}"), e)),
        }
    }

    async fn find_by_key(&self, kind: Kind, key: &str) -> TResult<Option<Found>> {
        match kind {
            Kind::User => {
                let u = self
                    .duo
                    .get_user_by_username(key)
                    .await
                    .map_err(|e| terr(format!("looking up Duo user {key:?}"), e))?;
                Ok(u.map(|u| Found {
                    target_id: u.user_id,
                    key: u.username,
                }))
            }
            Kind::Admin => {
                let all = self
                    .duo
                    .list_admins()
                    .await
                    .map_err(|e| terr(format!("looking up Duo administrator {key:?}"), e))?;
                Ok(all
                    .into_iter()
                    .find(|a| a.email.eq_ignore_ascii_case(key))
                    .map(|a| Found {
                        target_id: a.admin_id,
                        key: a.email,
                    }))
            }
            Kind::Group => {
                let all = self
                    .duo
                    .list_groups()
                    .await
                    .map_err(|e| terr(format!("looking up Duo group {key:?}"), e))?;
                Ok(all.into_iter().find(|g| g.name == key).map(|g| Found {
                    target_id: g.group_id,
                    key: g.name,
                }))
            }
        }
    }
}

/// `population.id eq "a" or population.id eq "b"`, or `None` when the scope names no population.
fn population_filter(pop_ids: &[String]) -> Option<pingone_client::Filter> {
    pop_ids
        .iter()
        .filter_map(|id| pingone_client::Filter::eq("population.id", id.as_str()).ok())
        .reduce(pingone_client::Filter::or)
}
