//! The in-memory directory: populations, users, groups, direct memberships
//! and group nesting, with every mutation validated the way PingOne does and
//! recorded as a pending activity event for the change notifications.

use crate::clock;
use crate::error::{Detail, SimError};
use crate::filter::{self, Filter, MemberKind, Subject};
use crate::validate;
use rand::{RngCore, SeedableRng, rngs::StdRng};
use serde_json::{Map, Value, json};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};

/// Behaviour switches of the directory (copied from `SimConfig`).
#[derive(Debug, Clone)]
pub(crate) struct Rules {
    pub require_email: bool,
    pub username_case_insensitive: bool,
    pub enabled_on_create: bool,
    pub username_filter_case_insensitive: bool,
    /// Custom user attributes declared in the environment's schema.
    pub custom_attributes: BTreeSet<String>,
    /// Store attributes missing from the schema (PingOne ignores them).
    pub keep_unknown_attributes: bool,
    /// Leave `count` out of collection envelopes.
    pub omit_count: bool,
    pub uniqueness_status: u16,
    pub users_page_cap: usize,
    pub page_cap: usize,
    pub default_limit: usize,
    /// `include=memberOfGroupIDs|Names` lists direct memberships only, not
    /// nested or dynamic ones (undocumented: a variant).
    pub member_of_ids_direct: bool,
}

pub(crate) struct User {
    pub id: String,
    pub seq: u64,
    pub enabled: bool,
    pub mfa_enabled: bool,
    pub population_id: String,
    pub lifecycle: String,
    pub created_at: String,
    pub updated_at: String,
    /// Writable attributes, custom ones included, in the order received.
    pub attrs: Map<String, Value>,
}

impl User {
    pub fn username(&self) -> &str {
        self.attrs
            .get("username")
            .and_then(Value::as_str)
            .unwrap_or("")
    }
}

pub(crate) struct Group {
    pub id: String,
    pub seq: u64,
    pub name: String,
    pub population_id: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub attrs: Map<String, Value>,
}

pub(crate) struct Population {
    pub id: String,
    pub name: String,
    pub is_default: bool,
    pub created_at: String,
    pub updated_at: String,
    pub attrs: Map<String, Value>,
}

/// Most groups a group may be nested in (levels plus breadth).
const MAX_NESTED: usize = 250;
/// Most groups a user may be a direct member of.
const MAX_GROUPS_PER_USER: usize = 10_000;

pub(crate) struct Directory {
    pub env_id: String,
    pub api_base: String,
    pub rules: Rules,
    rng: StdRng,
    seq: u64,
    pub users: BTreeMap<u64, User>,
    user_seq: HashMap<String, u64>,
    usernames: HashMap<String, String>,
    pub groups: BTreeMap<u64, Group>,
    group_seq: HashMap<String, u64>,
    group_names: HashMap<String, String>,
    pub pops: BTreeMap<u64, Population>,
    pop_seq: HashMap<String, u64>,
    pop_counts: HashMap<String, u64>,
    /// user -> groups it is a direct member of
    pub user_groups: HashMap<String, BTreeSet<String>>,
    /// group -> its direct user members
    group_users: HashMap<String, BTreeSet<String>>,
    /// child group -> parent groups (members of the child are members of the parent)
    pub parents: HashMap<String, BTreeSet<String>>,
    /// parent group -> child groups
    children: HashMap<String, BTreeSet<String>>,
    /// dynamic group -> its parsed `userFilter`
    dynamic: BTreeMap<String, Filter>,
    /// Activity events not yet handed to the notifier.
    pub pending: Vec<Value>,
    /// Whether mutations record activity events.
    pub emit: bool,
}

fn obj(v: &Value) -> Result<&Map<String, Value>, SimError> {
    v.as_object()
        .ok_or_else(|| SimError::bad_request("The request body must be a JSON object."))
}

fn strip(body: &Map<String, Value>, read_only: &[&str]) -> Map<String, Value> {
    body.iter()
        .filter(|(k, _)| !read_only.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn ref_id(body: &Map<String, Value>, key: &str) -> Option<Value> {
    body.get(key).and_then(|p| p.get("id")).cloned()
}

impl Directory {
    pub fn new(env_id: String, rules: Rules, seed: u64) -> Self {
        let mut d = Self {
            env_id,
            api_base: String::new(),
            rules,
            rng: StdRng::seed_from_u64(seed),
            seq: 0,
            users: BTreeMap::new(),
            user_seq: HashMap::new(),
            usernames: HashMap::new(),
            groups: BTreeMap::new(),
            group_seq: HashMap::new(),
            group_names: HashMap::new(),
            pops: BTreeMap::new(),
            pop_seq: HashMap::new(),
            pop_counts: HashMap::new(),
            user_groups: HashMap::new(),
            group_users: HashMap::new(),
            parents: HashMap::new(),
            children: HashMap::new(),
            dynamic: BTreeMap::new(),
            pending: Vec::new(),
            emit: true,
        };
        let id = d.new_id();
        d.insert_population(id, "Default".into(), true, Map::new());
        d
    }

    fn new_id(&mut self) -> String {
        let mut b = [0u8; 16];
        self.rng.fill_bytes(&mut b);
        uuid::Builder::from_random_bytes(b).into_uuid().to_string()
    }

    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    fn username_key(&self, name: &str) -> String {
        if self.rules.username_case_insensitive {
            name.to_lowercase()
        } else {
            name.to_string()
        }
    }

    fn uniqueness(&self, target: &str, existing: &str, what: &str) -> SimError {
        let mut e = SimError::invalid(vec![
            Detail::new(
                "UNIQUENESS_VIOLATION",
                target,
                format!("{target} must be unique: {what} already uses this value"),
            )
            .inner("existingId", existing),
        ]);
        e.status = self.rules.uniqueness_status;
        e
    }

    // ---- lookups ----

    pub fn user(&self, id: &str) -> Result<&User, SimError> {
        self.user_seq
            .get(id)
            .and_then(|s| self.users.get(s))
            .ok_or_else(|| SimError::not_found("user", id))
    }

    fn user_mut(&mut self, id: &str) -> Result<&mut User, SimError> {
        match self.user_seq.get(id) {
            Some(s) => Ok(self.users.get_mut(s).expect("index and map agree")),
            None => Err(SimError::not_found("user", id)),
        }
    }

    pub fn group(&self, id: &str) -> Result<&Group, SimError> {
        self.group_seq
            .get(id)
            .and_then(|s| self.groups.get(s))
            .ok_or_else(|| SimError::not_found("group", id))
    }

    pub fn population(&self, id: &str) -> Result<&Population, SimError> {
        self.pop_seq
            .get(id)
            .and_then(|s| self.pops.get(s))
            .ok_or_else(|| SimError::not_found("population", id))
    }

    pub fn default_population(&self) -> Option<&Population> {
        self.pops.values().find(|p| p.is_default)
    }

    pub fn user_count(&self, pop: &str) -> u64 {
        self.pop_counts.get(pop).copied().unwrap_or(0)
    }

    pub fn group_seq(&self, id: &str) -> Option<u64> {
        self.group_seq.get(id).copied()
    }

    pub fn direct_users(&self, group: &str) -> usize {
        self.group_users.get(group).map_or(0, BTreeSet::len)
    }

    pub fn direct_children(&self, group: &str) -> usize {
        self.children.get(group).map_or(0, BTreeSet::len)
    }

    /// The group and every group nested in it, at any depth.
    pub fn closure_down(&self, group: &str) -> HashSet<String> {
        walk(group, &self.children)
    }

    /// Every group the given group is nested in, at any depth (itself excluded).
    pub fn ancestors(&self, group: &str) -> HashSet<String> {
        let mut s = walk(group, &self.parents);
        s.remove(group);
        s
    }

    /// Distinct users in the group directly or through nesting.
    pub fn total_users(&self, group: &str) -> usize {
        let mut users = HashSet::new();
        for g in self.closure_down(group) {
            if let Some(us) = self.group_users.get(&g) {
                users.extend(us.iter().map(String::as_str));
            }
            if self.dynamic.contains_key(&g) {
                users.extend(
                    self.users
                        .values()
                        .filter(|u| self.matches_dynamic(u, &g))
                        .map(|u| u.id.as_str()),
                );
            }
        }
        users.len()
    }

    /// Whether `user` is a member of the dynamic group `group` (its
    /// `userFilter` matches, and its population if it has one).
    fn matches_dynamic(&self, user: &User, group: &str) -> bool {
        let Some(f) = self.dynamic.get(group) else {
            return false;
        };
        let pop_ok = self
            .group(group)
            .ok()
            .and_then(|g| g.population_id.as_ref())
            .is_none_or(|p| *p == user.population_id);
        pop_ok && f.matches(&UserAttrs(user))
    }

    /// A user's own groups, not counting nesting: direct memberships and the
    /// dynamic groups whose `userFilter` matches the user.
    pub fn own_groups(&self, user: &str) -> Cow<'_, BTreeSet<String>> {
        static NONE: BTreeSet<String> = BTreeSet::new();
        let direct = self.user_groups.get(user).unwrap_or(&NONE);
        let Ok(u) = self.user(user) else {
            return Cow::Borrowed(direct);
        };
        let mut dynamic = self
            .dynamic
            .keys()
            .filter(|g| self.matches_dynamic(u, g))
            .peekable();
        if dynamic.peek().is_none() {
            return Cow::Borrowed(direct);
        }
        let mut all = direct.clone();
        all.extend(dynamic.cloned());
        Cow::Owned(all)
    }

    /// A user's groups, DIRECT and INDIRECT, keyed by group id. A dynamic
    /// membership is INDIRECT: PingOne counts it in the total, not the direct
    /// count, and it cannot be removed.
    pub fn memberships(&self, user: &str) -> BTreeMap<String, &'static str> {
        let mut out = BTreeMap::new();
        let own = self.own_groups(user);
        let direct = self.user_groups.get(user);
        let mut queue: VecDeque<&String> = VecDeque::new();
        for g in own.iter() {
            let d = direct.is_some_and(|d| d.contains(g));
            out.insert(g.clone(), if d { "DIRECT" } else { "INDIRECT" });
            queue.push_back(g);
        }
        while let Some(g) = queue.pop_front() {
            for p in self.parents.get(g).into_iter().flatten() {
                if !out.contains_key(p) {
                    out.insert(p.clone(), "INDIRECT");
                    queue.push_back(p);
                }
            }
        }
        out
    }

    /// A group's parents, DIRECT (nested directly) and INDIRECT (further up).
    pub fn group_parents(&self, group: &str) -> BTreeMap<String, &'static str> {
        let direct = self.parents.get(group).cloned().unwrap_or_default();
        self.ancestors(group)
            .into_iter()
            .map(|g| {
                let t = if direct.contains(&g) {
                    "DIRECT"
                } else {
                    "INDIRECT"
                };
                (g, t)
            })
            .collect()
    }

    pub fn direct_groups(&self, user: &str) -> Option<&BTreeSet<String>> {
        self.user_groups.get(user)
    }

    // ---- events ----

    fn user_resource(&self, u: &User) -> Value {
        json!({
            "type": "USER",
            "id": u.id,
            "name": u.username(),
            "environment": {"id": self.env_id},
            "population": {"id": u.population_id},
            "href": format!("{}/environments/{}/users/{}", self.api_base, self.env_id, u.id),
        })
    }

    fn group_resource(&self, g: &Group) -> Value {
        let mut v = json!({
            "type": "GROUP",
            "id": g.id,
            "name": g.name,
            "environment": {"id": self.env_id},
            "href": format!("{}/environments/{}/groups/{}", self.api_base, self.env_id, g.id),
        });
        if let Some(p) = &g.population_id {
            v["population"] = json!({"id": p});
        }
        v
    }

    fn emit_event(&mut self, action: &str, description: String, resources: Vec<Value>) {
        if !self.emit {
            return;
        }
        let now = clock::now();
        self.pending.push(json!({
            "id": uuid::Uuid::new_v4().to_string(),
            "recordedAt": now,
            "createdAt": now,
            "correlationId": uuid::Uuid::new_v4().to_string(),
            "actors": {"client": {"type": "CLIENT", "name": "pingone-sim", "environment": {"id": self.env_id}}},
            "action": {"type": action, "description": description},
            "resources": resources,
            "result": {"status": "SUCCESS", "description": description},
        }));
    }

    fn emit_user(&mut self, action: &str, verb: &str, id: &str) {
        if let Ok(u) = self.user(id) {
            let r = self.user_resource(u);
            let d = format!("{verb} User {}", u.username());
            self.emit_event(action, d, vec![r]);
        }
    }

    fn emit_group(&mut self, action: &str, verb: &str, id: &str) {
        if let Ok(g) = self.group(id) {
            let r = self.group_resource(g);
            let d = format!("{verb} Group {}", g.name);
            self.emit_event(action, d, vec![r]);
        }
    }

    // ---- populations ----

    fn insert_population(
        &mut self,
        id: String,
        name: String,
        is_default: bool,
        attrs: Map<String, Value>,
    ) {
        let seq = self.next_seq();
        let now = clock::now();
        self.pop_seq.insert(id.clone(), seq);
        self.pops.insert(
            seq,
            Population {
                id,
                name,
                is_default,
                created_at: now.clone(),
                updated_at: now,
                attrs,
            },
        );
    }

    fn population_fields(
        &self,
        body: &Map<String, Value>,
        own: Option<&str>,
    ) -> Result<(String, Option<bool>), SimError> {
        let name = match body.get("name") {
            Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
            Some(Value::String(_)) => {
                return Err(SimError::invalid(vec![Detail::new(
                    "EMPTY_VALUE",
                    "name",
                    "name must not be empty",
                )]));
            }
            None | Some(Value::Null) => {
                return Err(SimError::invalid(vec![Detail::new(
                    "REQUIRED_VALUE",
                    "name",
                    "name is required",
                )]));
            }
            Some(_) => {
                return Err(SimError::invalid(vec![Detail::new(
                    "INVALID_VALUE",
                    "name",
                    "name must be a string",
                )]));
            }
        };
        if let Some(p) = self
            .pops
            .values()
            .find(|p| p.name == name && Some(p.id.as_str()) != own)
        {
            return Err(self.uniqueness("name", &p.id, "another population"));
        }
        let default = match body.get("default") {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                return Err(SimError::invalid(vec![Detail::new(
                    "INVALID_VALUE",
                    "default",
                    "default must be true or false",
                )]));
            }
        };
        Ok((name, default))
    }

    fn make_default(&mut self, id: &str) {
        for p in self.pops.values_mut() {
            p.is_default = p.id == id;
        }
    }

    pub fn create_population(&mut self, body: &Value) -> Result<String, SimError> {
        let body = obj(body)?;
        if self.pops.len() >= 10_000 {
            return Err(SimError::invalid(vec![Detail::new(
                "CONSTRAINT_VIOLATION",
                "population",
                "an environment holds at most 10000 populations",
            )]));
        }
        let (name, default) = self.population_fields(body, None)?;
        let id = self.new_id();
        let attrs = strip(
            body,
            &[
                "_links",
                "id",
                "environment",
                "createdAt",
                "updatedAt",
                "userCount",
                "name",
                "default",
            ],
        );
        self.insert_population(id.clone(), name, false, attrs);
        if default == Some(true) {
            self.make_default(&id);
        }
        Ok(id)
    }

    pub fn replace_population(&mut self, id: &str, body: &Value) -> Result<(), SimError> {
        let body = obj(body)?;
        self.population(id)?;
        let (name, default) = self.population_fields(body, Some(id))?;
        let attrs = strip(
            body,
            &[
                "_links",
                "id",
                "environment",
                "createdAt",
                "updatedAt",
                "userCount",
                "name",
                "default",
            ],
        );
        let seq = self.pop_seq[id];
        let p = self.pops.get_mut(&seq).expect("checked above");
        p.name = name;
        p.attrs = attrs;
        p.updated_at = clock::now();
        match default {
            Some(true) => self.make_default(id),
            Some(false) => self.pops.get_mut(&seq).expect("checked above").is_default = false,
            None => {}
        }
        Ok(())
    }

    pub fn delete_population(&mut self, id: &str) -> Result<(), SimError> {
        let p = self.population(id)?;
        if p.is_default {
            return Err(SimError::invalid(vec![Detail::new(
                "CONSTRAINT_VIOLATION",
                "default",
                "the default population cannot be deleted; make another population the default first",
            )]));
        }
        if self.user_count(id) > 0 {
            return Err(SimError::invalid(vec![Detail::new(
                "CONSTRAINT_VIOLATION",
                "population",
                "the population still has users; move or delete them first",
            )]));
        }
        let seq = self.pop_seq.remove(id).expect("checked above");
        self.pops.remove(&seq);
        Ok(())
    }

    // ---- users ----

    fn check_username(
        &self,
        attrs: &Map<String, Value>,
        own: Option<&str>,
    ) -> Result<(), SimError> {
        if let Some(name) = attrs.get("username").and_then(Value::as_str)
            && let Some(existing) = self.usernames.get(&self.username_key(name))
            && Some(existing.as_str()) != own
        {
            return Err(self.uniqueness("username", existing, "another user"));
        }
        Ok(())
    }

    fn validated(&self, attrs: &Map<String, Value>, own: Option<&str>) -> Result<(), SimError> {
        let details = validate::user(attrs, self.rules.require_email);
        if !details.is_empty() {
            return Err(SimError::invalid(details));
        }
        self.check_username(attrs, own)
    }

    /// POST /users. `import` allows `lifecycle.status` (the import content type).
    pub fn create_user(&mut self, body: &Value, import: bool) -> Result<String, SimError> {
        let body = obj(body)?;
        let attrs = self.in_schema(strip(body, validate::USER_READ_ONLY));
        self.validated(&attrs, None)?;
        let population_id = match ref_id(body, "population") {
            Some(Value::String(p)) => {
                if self.population(&p).is_err() {
                    return Err(SimError::invalid(vec![Detail::new(
                        "INVALID_VALUE",
                        "population.id",
                        format!("population {p} does not exist in this environment"),
                    )]));
                }
                p
            }
            Some(_) => {
                return Err(SimError::invalid(vec![Detail::new(
                    "INVALID_VALUE",
                    "population.id",
                    "population.id must be a string",
                )]));
            }
            None => match self.default_population() {
                Some(p) => p.id.clone(),
                None => {
                    return Err(SimError::invalid(vec![Detail::new(
                        "REQUIRED_VALUE",
                        "population.id",
                        "population.id is required: the environment has no default population",
                    )]));
                }
            },
        };
        // `enabled` is read-only on create (set with PUT /users/{id}/enabled).
        let enabled = !self.rules.enabled_on_create
            || body.get("enabled").and_then(Value::as_bool).unwrap_or(true);
        let mfa_enabled = body
            .get("mfaEnabled")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let lifecycle = if import {
            body.get("lifecycle")
                .and_then(|l| l.get("status"))
                .and_then(Value::as_str)
                .unwrap_or("ACCOUNT_OK")
                .to_string()
        } else {
            "ACCOUNT_OK".to_string()
        };
        let id = self.new_id();
        let seq = self.next_seq();
        let now = clock::now();
        let key = self.username_key(attrs.get("username").and_then(Value::as_str).unwrap_or(""));
        self.usernames.insert(key, id.clone());
        self.user_seq.insert(id.clone(), seq);
        *self.pop_counts.entry(population_id.clone()).or_default() += 1;
        self.users.insert(
            seq,
            User {
                id: id.clone(),
                seq,
                enabled,
                mfa_enabled,
                population_id,
                lifecycle,
                created_at: now.clone(),
                updated_at: now,
                attrs,
            },
        );
        self.emit_user("USER.CREATED", "Created", &id);
        Ok(id)
    }

    /// Drops the attributes the environment's schema does not have, as
    /// PingOne ignores them.
    fn in_schema(&self, mut attrs: Map<String, Value>) -> Map<String, Value> {
        if !self.rules.keep_unknown_attributes {
            attrs.retain(|k, _| {
                validate::USER_SCHEMA.contains(&k.as_str())
                    || self.rules.custom_attributes.contains(k)
            });
        }
        attrs
    }

    fn store_attrs(&mut self, id: &str, attrs: Map<String, Value>) {
        let old_key = self.username_key(self.user(id).map(User::username).unwrap_or(""));
        let new_key =
            self.username_key(attrs.get("username").and_then(Value::as_str).unwrap_or(""));
        if old_key != new_key {
            self.usernames.remove(&old_key);
            self.usernames.insert(new_key, id.to_string());
        }
        if let Ok(u) = self.user_mut(id) {
            u.attrs = attrs;
            u.updated_at = clock::now();
        }
        self.emit_user("USER.UPDATED", "Updated", id);
    }

    /// PUT /users/{id}: attributes left out are removed.
    pub fn replace_user(&mut self, id: &str, body: &Value) -> Result<(), SimError> {
        let body = obj(body)?;
        self.user(id)?;
        let attrs = self.in_schema(strip(body, validate::USER_READ_ONLY));
        self.validated(&attrs, Some(id))?;
        self.store_attrs(id, attrs);
        Ok(())
    }

    /// PATCH /users/{id}: only the attributes sent change (JSON Merge Patch).
    pub fn patch_user(&mut self, id: &str, body: &Value) -> Result<(), SimError> {
        let body = obj(body)?;
        let mut attrs = self.user(id)?.attrs.clone();
        validate::merge_patch(
            &mut attrs,
            &self.in_schema(strip(body, validate::USER_READ_ONLY)),
        );
        self.validated(&attrs, Some(id))?;
        self.store_attrs(id, attrs);
        Ok(())
    }

    pub fn delete_user(&mut self, id: &str) -> Result<(), SimError> {
        let u = self.user(id)?;
        let (seq, pop, key) = (
            u.seq,
            u.population_id.clone(),
            self.username_key(u.username()),
        );
        self.emit_user("USER.DELETED", "Deleted", id);
        for g in self.user_groups.remove(id).unwrap_or_default() {
            if let Some(us) = self.group_users.get_mut(&g) {
                us.remove(id);
            }
        }
        self.usernames.remove(&key);
        self.user_seq.remove(id);
        self.users.remove(&seq);
        if let Some(c) = self.pop_counts.get_mut(&pop) {
            *c = c.saturating_sub(1);
        }
        Ok(())
    }

    pub fn set_enabled(&mut self, id: &str, enabled: bool) -> Result<(), SimError> {
        let u = self.user_mut(id)?;
        if u.enabled != enabled {
            u.enabled = enabled;
            u.updated_at = clock::now();
            self.emit_user("USER.UPDATED", "Updated", id);
        }
        Ok(())
    }

    /// PUT /users/{id}/population; leaves groups scoped to the old population.
    pub fn set_population(&mut self, id: &str, pop: &str) -> Result<(), SimError> {
        self.user(id)?;
        if self.population(pop).is_err() {
            return Err(SimError::invalid(vec![Detail::new(
                "INVALID_VALUE",
                "id",
                format!("population {pop} does not exist in this environment"),
            )]));
        }
        let old = self.user(id)?.population_id.clone();
        if old == pop {
            return Ok(());
        }
        let scoped: Vec<String> = self
            .user_groups
            .get(id)
            .into_iter()
            .flatten()
            .filter(|g| {
                self.group(g)
                    .is_ok_and(|g| g.population_id.as_deref() == Some(old.as_str()))
            })
            .cloned()
            .collect();
        for g in scoped {
            self.remove_member(id, &g)?;
        }
        if let Some(c) = self.pop_counts.get_mut(&old) {
            *c = c.saturating_sub(1);
        }
        *self.pop_counts.entry(pop.to_string()).or_default() += 1;
        let u = self.user_mut(id)?;
        u.population_id = pop.to_string();
        u.updated_at = clock::now();
        self.emit_user("USER.UPDATED", "Updated", id);
        Ok(())
    }

    // ---- groups ----

    fn group_attrs(
        &self,
        body: &Map<String, Value>,
        own: Option<&str>,
    ) -> Result<GroupAttrs, SimError> {
        let attrs = strip(
            body,
            &[
                "_links",
                "_embedded",
                "id",
                "environment",
                "createdAt",
                "updatedAt",
                "name",
                "population",
                "displayName",
                "sourceId",
                "sourceType",
                "directMemberCounts",
                "totalMemberCounts",
            ],
        );
        let mut details = validate::group(&attrs, body.get("name"));
        let dynamic = match attrs.get("userFilter") {
            None | Some(Value::Null) => None,
            Some(Value::String(f)) => match filter::USERS.parse(f) {
                // Membership through a filter on memberships has no fixed point.
                Ok(f) if !f.groups().is_empty() => {
                    details.push(Detail::new(
                        "INVALID_VALUE",
                        "userFilter",
                        "userFilter cannot name memberOfGroups",
                    ));
                    None
                }
                Ok(f) => Some(f),
                Err(e) => {
                    details.push(Detail::new(
                        "INVALID_VALUE",
                        "userFilter",
                        format!("userFilter is not a valid user filter: {}", e.message),
                    ));
                    None
                }
            },
            Some(_) => {
                details.push(Detail::new(
                    "INVALID_VALUE",
                    "userFilter",
                    "userFilter must be a string",
                ));
                None
            }
        };
        if !details.is_empty() {
            return Err(SimError::invalid(details));
        }
        let name = body
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if let Some(existing) = self.group_names.get(&name)
            && Some(existing.as_str()) != own
        {
            return Err(self.uniqueness("name", existing, "another group"));
        }
        Ok((name, attrs, dynamic))
    }

    pub fn create_group(&mut self, body: &Value) -> Result<String, SimError> {
        let body = obj(body)?;
        if self.groups.len() >= 100_000 {
            return Err(SimError::invalid(vec![Detail::new(
                "CONSTRAINT_VIOLATION",
                "group",
                "an environment holds at most 100000 groups",
            )]));
        }
        let (name, attrs, dynamic) = self.group_attrs(body, None)?;
        let population_id = match ref_id(body, "population") {
            None => None,
            Some(Value::String(p)) if self.population(&p).is_ok() => Some(p),
            Some(_) => {
                return Err(SimError::invalid(vec![Detail::new(
                    "INVALID_VALUE",
                    "population.id",
                    "population.id must name a population of this environment",
                )]));
            }
        };
        let id = self.new_id();
        let seq = self.next_seq();
        let now = clock::now();
        self.group_names.insert(name.clone(), id.clone());
        self.group_seq.insert(id.clone(), seq);
        if let Some(f) = dynamic {
            self.dynamic.insert(id.clone(), f);
        }
        self.groups.insert(
            seq,
            Group {
                id: id.clone(),
                seq,
                name,
                population_id,
                created_at: now.clone(),
                updated_at: now,
                attrs,
            },
        );
        self.emit_group("GROUP.CREATED", "Created", &id);
        Ok(id)
    }

    /// PUT /groups/{id}: replaces the writable attributes; the population stays.
    pub fn replace_group(&mut self, id: &str, body: &Value) -> Result<(), SimError> {
        let body = obj(body)?;
        let old = self.group(id)?.name.clone();
        let (name, attrs, dynamic) = self.group_attrs(body, Some(id))?;
        match dynamic {
            Some(f) => self.dynamic.insert(id.to_string(), f),
            None => self.dynamic.remove(id),
        };
        self.group_names.remove(&old);
        self.group_names.insert(name.clone(), id.to_string());
        let seq = self.group_seq[id];
        let g = self.groups.get_mut(&seq).expect("checked above");
        g.name = name;
        g.attrs = attrs;
        g.updated_at = clock::now();
        self.emit_group("GROUP.UPDATED", "Updated", id);
        Ok(())
    }

    pub fn delete_group(&mut self, id: &str) -> Result<(), SimError> {
        let g = self.group(id)?;
        let (seq, name) = (g.seq, g.name.clone());
        self.emit_group("GROUP.DELETED", "Deleted", id);
        for u in self.group_users.remove(id).unwrap_or_default() {
            if let Some(gs) = self.user_groups.get_mut(&u) {
                gs.remove(id);
            }
        }
        for p in self.parents.remove(id).unwrap_or_default() {
            if let Some(cs) = self.children.get_mut(&p) {
                cs.remove(id);
            }
        }
        for c in self.children.remove(id).unwrap_or_default() {
            if let Some(ps) = self.parents.get_mut(&c) {
                ps.remove(id);
            }
        }
        self.group_names.remove(&name);
        self.group_seq.remove(id);
        self.dynamic.remove(id);
        self.groups.remove(&seq);
        Ok(())
    }

    // ---- memberships ----

    fn body_group(&self, body: &Value) -> Result<String, SimError> {
        let gid = match obj(body)?.get("id") {
            Some(Value::String(s)) => s.clone(),
            None | Some(Value::Null) => {
                return Err(SimError::invalid(vec![Detail::new(
                    "REQUIRED_VALUE",
                    "id",
                    "id (the group id) is required",
                )]));
            }
            Some(_) => {
                return Err(SimError::invalid(vec![Detail::new(
                    "INVALID_VALUE",
                    "id",
                    "id must be a string",
                )]));
            }
        };
        if self.group(&gid).is_err() {
            return Err(SimError::invalid(vec![Detail::new(
                "INVALID_VALUE",
                "id",
                format!("group {gid} does not exist in this environment"),
            )]));
        }
        Ok(gid)
    }

    /// POST /users/{id}/memberOfGroups.
    pub fn add_member_body(&mut self, user: &str, body: &Value) -> Result<String, SimError> {
        self.user(user)?;
        let gid = self.body_group(body)?;
        self.add_member(user, &gid)?;
        Ok(gid)
    }

    pub fn add_member(&mut self, user: &str, group: &str) -> Result<(), SimError> {
        let u = self.user(user)?;
        let g = self.group(group)?;
        if let Some(p) = &g.population_id
            && *p != u.population_id
        {
            return Err(SimError::invalid(vec![Detail::new(
                "CONSTRAINT_VIOLATION",
                "id",
                format!("group {group} only takes users of population {p}"),
            )]));
        }
        let direct = self.user_groups.entry(user.to_string()).or_default();
        if direct.contains(group) {
            return Err(self.uniqueness("id", group, "a direct membership of this user"));
        }
        if direct.len() >= MAX_GROUPS_PER_USER {
            return Err(SimError::invalid(vec![Detail::new(
                "CONSTRAINT_VIOLATION",
                "id",
                "a user can be in at most 10000 groups",
            )]));
        }
        direct.insert(group.to_string());
        self.group_users
            .entry(group.to_string())
            .or_default()
            .insert(user.to_string());
        self.emit_membership("GROUP_MEMBERSHIP.CREATED", "Added", user, group);
        Ok(())
    }

    fn emit_membership(&mut self, action: &str, verb: &str, user: &str, group: &str) {
        if let (Ok(u), Ok(g)) = (self.user(user), self.group(group)) {
            let d = format!("{verb} User {} to Group {}", u.username(), g.name);
            let r = vec![self.user_resource(u), self.group_resource(g)];
            self.emit_event(action, d, r);
        }
    }

    /// DELETE /users/{id}/memberOfGroups/{groupId}: direct memberships only.
    pub fn remove_member(&mut self, user: &str, group: &str) -> Result<(), SimError> {
        self.user(user)?;
        self.group(group)?;
        let removed = self
            .user_groups
            .get_mut(user)
            .is_some_and(|s| s.remove(group));
        if !removed {
            if self.memberships(user).contains_key(group) {
                return Err(SimError::invalid(vec![Detail::new(
                    "CONSTRAINT_VIOLATION",
                    "id",
                    format!(
                        "user {user} is in group {group} only through a nested or dynamic group; remove the nesting or change the userFilter instead"
                    ),
                )]));
            }
            return Err(SimError::not_found("group membership", group));
        }
        if let Some(us) = self.group_users.get_mut(group) {
            us.remove(user);
        }
        self.emit_membership("GROUP_MEMBERSHIP.DELETED", "Removed", user, group);
        Ok(())
    }

    /// POST /groups/{child}/memberOfGroups: members of `child` join `parent`.
    pub fn nest_body(&mut self, child: &str, body: &Value) -> Result<String, SimError> {
        self.group(child)?;
        let parent = self.body_group(body)?;
        self.nest(child, &parent)?;
        Ok(parent)
    }

    pub fn nest(&mut self, child: &str, parent: &str) -> Result<(), SimError> {
        self.group(child)?;
        self.group(parent)?;
        if child == parent || self.ancestors(parent).contains(child) {
            return Err(SimError::invalid(vec![Detail::new(
                "CONSTRAINT_VIOLATION",
                "id",
                format!("nesting group {child} in {parent} would make a cycle"),
            )]));
        }
        if self.parents.get(child).is_some_and(|p| p.contains(parent)) {
            return Err(self.uniqueness("id", parent, "a nesting of this group"));
        }
        if self.ancestors(parent).len() + self.closure_down(child).len() > MAX_NESTED {
            return Err(SimError::invalid(vec![Detail::new(
                "CONSTRAINT_VIOLATION",
                "id",
                "a group can have at most 250 nested groups",
            )]));
        }
        self.parents
            .entry(child.to_string())
            .or_default()
            .insert(parent.to_string());
        self.children
            .entry(parent.to_string())
            .or_default()
            .insert(child.to_string());
        let (c, p) = (self.group(child)?, self.group(parent)?);
        let d = format!("Nested Group {} in Group {}", c.name, p.name);
        let r = vec![self.group_resource(c), self.group_resource(p)];
        self.emit_event("GROUP_NESTING.CREATED", d, r);
        Ok(())
    }

    pub fn unnest(&mut self, child: &str, parent: &str) -> Result<(), SimError> {
        self.group(child)?;
        let removed = self
            .parents
            .get_mut(child)
            .is_some_and(|s| s.remove(parent));
        if !removed {
            return Err(SimError::not_found("group nesting", parent));
        }
        if let Some(cs) = self.children.get_mut(parent) {
            cs.remove(child);
        }
        if let (Ok(c), Ok(p)) = (self.group(child), self.group(parent)) {
            let d = format!("Removed Group {} from Group {}", c.name, p.name);
            let r = vec![self.group_resource(c), self.group_resource(p)];
            self.emit_event("GROUP_NESTING.DELETED", d, r);
        }
        Ok(())
    }

    /// Every direct membership as (user id, group id).
    pub fn all_memberships(&self) -> Vec<(String, String)> {
        self.users
            .values()
            .flat_map(|u| {
                self.user_groups
                    .get(&u.id)
                    .into_iter()
                    .flatten()
                    .map(move |g| (u.id.clone(), g.clone()))
            })
            .collect()
    }
}

/// A group body's name, writable attributes and parsed `userFilter`.
type GroupAttrs = (String, Map<String, Value>, Option<Filter>);

/// A user as a dynamic group's `userFilter` sees it: its attributes only.
struct UserAttrs<'a>(&'a User);

impl Subject for UserAttrs<'_> {
    fn attr(&self, path: &str) -> Option<Value> {
        match path {
            "population.id" => Some(Value::String(self.0.population_id.clone())),
            "enabled" => Some(Value::Bool(self.0.enabled)),
            _ => filter::lookup(&self.0.attrs, path).cloned(),
        }
    }
    fn member_of(&self, _: &str, _: MemberKind) -> bool {
        false
    }
}

fn walk(start: &str, edges: &HashMap<String, BTreeSet<String>>) -> HashSet<String> {
    let mut seen = HashSet::from([start.to_string()]);
    let mut queue = VecDeque::from([start.to_string()]);
    while let Some(g) = queue.pop_front() {
        for n in edges.get(&g).into_iter().flatten() {
            if seen.insert(n.clone()) {
                queue.push_back(n.clone());
            }
        }
    }
    seen
}
