//! The in-memory database: users, groups, phones, administrators and their links, with Duo's
//! uniqueness rules and one-to-many limits, and JSON rendering of each object.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Value, json};

use crate::config::{UsernameCase, Variants};
use crate::error::ApiError;
use crate::model::{Admin, Group, Membership, Phone, PhoneAssociation, SimState, User};
use crate::params::{Params, normalize_phone, page_metadata, percent_decode};

/// At most this many phones or groups per user, and users per phone.
pub const ONE_TO_MANY_LIMIT: usize = 100;
/// Roles Duo documents (case-sensitive; JohnDuprey `New-DuoAdmin.md`, a duo.com copy).
pub const ADMIN_ROLES: &[&str] = &[
    "Owner",
    "Administrator",
    "Application Manager",
    "User Manager",
    "Help Desk",
    "Billing",
    "Phishing Manager",
    "Read-only",
];
/// A role only third-party code names (the `security_analyst_role` variant accepts it).
pub const UNCONFIRMED_ROLE: &str = "Security Analyst";
/// Simulated days after which a phone left without users by a user's deletion is purged
/// (Duo: "will not delete phones associated only with that user right away"; when, it does
/// not say).
pub const ORPHAN_PHONE_DAYS: u64 = 1;
const SETTABLE_STATUS: &[&str] = &["active", "bypass", "disabled"];

/// An ordered table: id → object, plus insertion order for offset paging. Removal leaves a
/// tombstone in `order` (compacted once they are half of it), so deletes are O(1) amortised and
/// a page is a slice when there are none.
struct Table<T> {
    map: HashMap<String, T>,
    order: Vec<String>,
}

impl<T> Default for Table<T> {
    fn default() -> Self {
        Table {
            map: HashMap::new(),
            order: Vec::new(),
        }
    }
}

impl<T> Table<T> {
    fn insert(&mut self, id: String, v: T) {
        self.order.push(id.clone());
        self.map.insert(id, v);
    }
    fn remove(&mut self, id: &str) -> Option<T> {
        let v = self.map.remove(id)?;
        if self.order.len() > 2 * self.map.len() + 16 {
            let map = &self.map;
            self.order.retain(|x| map.contains_key(x));
        }
        Some(v)
    }
    fn len(&self) -> usize {
        self.map.len()
    }
    fn iter(&self) -> impl Iterator<Item = &T> {
        self.order.iter().filter_map(|id| self.map.get(id))
    }
    fn page(&self, limit: usize, offset: usize) -> Box<dyn Iterator<Item = &T> + '_> {
        if self.order.len() == self.map.len() {
            let start = offset.min(self.order.len());
            Box::new(
                self.order[start..]
                    .iter()
                    .take(limit)
                    .filter_map(|id| self.map.get(id)),
            )
        } else {
            Box::new(self.iter().skip(offset).take(limit))
        }
    }
}

/// Deterministic 20-character ids: prefix, a counter and seeded noise.
struct IdGen {
    seed: u64,
    counter: u64,
}

impl IdGen {
    fn next(&mut self, prefix: &str) -> String {
        const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
        self.counter += 1;
        let mut x = self.seed ^ self.counter.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        x ^= x >> 31;
        let mut id = String::with_capacity(20);
        id.push_str(prefix);
        let mut c = self.counter;
        for _ in 0..7 {
            id.push(ALPHABET[(c % 36) as usize] as char);
            c /= 36;
        }
        while id.len() < 20 {
            id.push(ALPHABET[(x % 36) as usize] as char);
            x /= 36;
        }
        id
    }
}

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

/// The whole database.
pub(crate) struct Store {
    case: UsernameCase,
    ids: IdGen,
    users: Table<User>,
    /// Normalised username or alias → user id.
    names: HashMap<String, String>,
    groups: Table<Group>,
    group_names: HashMap<String, String>,
    phones: Table<Phone>,
    /// (number, extension) → phone id, for phones with a number.
    numbers: HashMap<(String, String), String>,
    admins: Table<Admin>,
    admin_emails: HashMap<String, String>,
    pub(crate) integration_count: usize,
    pub(crate) telephony_credits: u64,
    /// Days a trashed user stays restorable.
    pub(crate) pending_deletion_days: u64,
    /// The simulated day (advanced by `POST /__sim/days`).
    day: u64,
    pub(crate) variants: Variants,
    /// Phones left without users by a user's deletion → the day it happened.
    orphans: HashMap<String, u64>,
    /// Enrollment emails sent (`POST /admin/v1/users/enroll`), in order.
    pub(crate) enrollments: Vec<crate::enroll::EnrollEmail>,
    /// The next this many enroll requests are applied, then left unanswered.
    pub(crate) enroll_drops: u32,
}

/// The status of a user in Duo's trash.
pub const PENDING_DELETION: &str = "pending deletion";

/// A paged listing: rendered items plus metadata.
pub(crate) type Page = (Vec<Value>, Value);

impl Store {
    pub(crate) fn new(case: UsernameCase, seed: u64) -> Self {
        Store {
            case,
            ids: IdGen { seed, counter: 0 },
            users: Table::default(),
            names: HashMap::new(),
            groups: Table::default(),
            group_names: HashMap::new(),
            phones: Table::default(),
            numbers: HashMap::new(),
            admins: Table::default(),
            admin_emails: HashMap::new(),
            integration_count: 1,
            telephony_credits: 1000,
            pending_deletion_days: 7,
            day: 0,
            variants: Variants::default(),
            orphans: HashMap::new(),
            enrollments: Vec::new(),
            enroll_drops: 0,
        }
    }

    /// The key a group name is unique under.
    fn group_key(&self, name: &str) -> String {
        if self.variants.group_name_case_insensitive {
            name.to_lowercase()
        } else {
            name.to_owned()
        }
    }

    /// An association naming an unknown group or phone: 400 / 40002 naming the parameter
    /// (or 404 / 40401 in the `unknown_id_404` variant).
    fn unknown_ref(&self, param: &str) -> ApiError {
        let e = if self.variants.unknown_id_404 {
            ApiError::not_found()
        } else {
            ApiError::invalid(param)
        };
        ApiError {
            detail: Some(param.into()),
            ..e
        }
    }

    /// An association that exists already: 200, or 40003 in the `association_exists_40003`
    /// variant.
    fn existing_association(&self, param: &str) -> Result<(), ApiError> {
        if self.variants.association_exists_40003 {
            Err(ApiError::duplicate(param))
        } else {
            Ok(())
        }
    }

    /// DELETE of an unknown group or administrator: 200 as Duo's text says, or 404 in the
    /// `delete_unknown_404` variant.
    fn unknown_delete(&self) -> Result<(), ApiError> {
        if self.variants.delete_unknown_404 {
            Err(ApiError::not_found())
        } else {
            Ok(())
        }
    }

    /// Locks a user out, as failed attempts or an administrator would (status `locked out`).
    pub(crate) fn lock_out_user(&mut self, id: &str) -> Result<(), ApiError> {
        let u = self.users.map.get_mut(id).ok_or_else(ApiError::not_found)?;
        u.status = "locked out".into();
        Ok(())
    }

    /// Lets an administrator's activation link expire (status `Expired`).
    pub(crate) fn expire_admin(&mut self, id: &str) -> Result<(), ApiError> {
        let a = self
            .admins
            .map
            .get_mut(id)
            .ok_or_else(ApiError::not_found)?;
        a.status = "Expired".into();
        Ok(())
    }

    fn norm(&self, name: &str) -> String {
        match self.case {
            UsernameCase::Insensitive => name.to_lowercase(),
            UsernameCase::Sensitive => name.to_owned(),
        }
    }

    // ---------------------------------------------------------------- users

    pub(crate) fn user(&self, id: &str) -> Result<&User, ApiError> {
        self.users.map.get(id).ok_or_else(ApiError::not_found)
    }

    /// Username or alias lookup.
    pub(crate) fn user_by_name(&self, name: &str) -> Option<&User> {
        self.names
            .get(&self.norm(name))
            .and_then(|id| self.users.map.get(id))
    }

    /// The alias changes requested by `p`: position → new value (empty clears).
    fn alias_updates(p: &Params) -> Result<BTreeMap<u8, String>, ApiError> {
        let legacy: Vec<u8> = (1..=4).filter(|i| p.has(&format!("alias{i}"))).collect();
        let mut out = BTreeMap::new();
        if let Some(raw) = p.get("aliases") {
            if !legacy.is_empty() {
                return Err(ApiError::invalid("aliases"));
            }
            // A JSON object is accepted too; otherwise `alias1=a&alias2=b`, URL-encoded.
            let pairs: Vec<(String, String)> =
                match serde_json::from_str::<serde_json::Map<String, Value>>(raw) {
                    Ok(obj) => obj
                        .into_iter()
                        .map(|(k, v)| (k, v.as_str().map(str::to_owned).unwrap_or_default()))
                        .collect(),
                    Err(_) => raw
                        .split('&')
                        .filter(|s| !s.is_empty())
                        .map(|kv| {
                            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                            (percent_decode(k), percent_decode(v))
                        })
                        .collect(),
                };
            for (k, v) in pairs {
                let pos = k
                    .strip_prefix("alias")
                    .and_then(|n| n.parse::<u8>().ok())
                    .filter(|n| (1..=8).contains(n))
                    .ok_or_else(|| ApiError::invalid("aliases"))?;
                out.insert(pos, v);
            }
        } else {
            for i in legacy {
                out.insert(
                    i,
                    p.get(&format!("alias{i}")).unwrap_or_default().to_owned(),
                );
            }
        }
        Ok(out)
    }

    /// Applies create/modify fields to `u` after checking them; `existing` is the stored user
    /// being modified (its own names do not count as clashes).
    fn apply_user_fields(
        &self,
        u: &mut User,
        p: &Params,
        existing: Option<&str>,
    ) -> Result<(), ApiError> {
        let clash = |name: &str| -> bool {
            self.names
                .get(&self.norm(name))
                .is_some_and(|owner| Some(owner.as_str()) != existing)
        };
        if let Some(username) = p.get("username") {
            if username.is_empty() {
                return Err(ApiError::invalid("username"));
            }
            if clash(username) {
                return Err(ApiError::duplicate("username"));
            }
            u.username = username.to_owned();
        }
        for (key, field) in [
            ("realname", &mut u.realname),
            ("firstname", &mut u.firstname),
            ("lastname", &mut u.lastname),
            ("notes", &mut u.notes),
        ] {
            if let Some(v) = p.get(key) {
                *field = v.to_owned();
            }
        }
        if let Some(email) = p.get("email") {
            if !email.is_empty() && !email.contains('@') {
                return Err(ApiError::invalid("email"));
            }
            u.email = email.to_owned();
        }
        if let Some(status) = p.get("status") {
            if !SETTABLE_STATUS.contains(&status) {
                return Err(ApiError::invalid("status"));
            }
            u.status = status.to_owned();
        }
        for (pos, v) in Self::alias_updates(p)? {
            if v.is_empty() {
                u.aliases.remove(&pos);
            } else {
                u.aliases.insert(pos, v);
            }
        }
        // Aliases: unique amongst users, distinct from each other and from the username.
        let mut seen = vec![self.norm(&u.username)];
        for a in u.aliases.values() {
            let n = self.norm(a);
            if seen.contains(&n) {
                return Err(ApiError::invalid("aliases"));
            }
            if clash(a) {
                return Err(ApiError::duplicate("aliases"));
            }
            seen.push(n);
        }
        Ok(())
    }

    fn index_user(&mut self, u: &User) {
        self.names.insert(self.norm(&u.username), u.user_id.clone());
        for a in u.aliases.values() {
            self.names.insert(self.norm(a), u.user_id.clone());
        }
    }

    fn unindex_user(&mut self, u: &User) {
        self.names.remove(&self.norm(&u.username));
        for a in u.aliases.values() {
            self.names.remove(&self.norm(a));
        }
    }

    pub(crate) fn create_user(&mut self, p: &Params) -> Result<&User, ApiError> {
        p.required("username")?;
        let mut u = User {
            user_id: String::new(),
            username: String::new(),
            realname: String::new(),
            firstname: String::new(),
            lastname: String::new(),
            email: String::new(),
            status: "active".into(),
            notes: String::new(),
            aliases: BTreeMap::new(),
            created: now_unix(),
            groups: Vec::new(),
            phones: Vec::new(),
            trashed_on_day: None,
            status_before_trash: None,
        };
        self.apply_user_fields(&mut u, p, None)?;
        u.user_id = self.ids.next("DU");
        self.index_user(&u);
        let id = u.user_id.clone();
        self.users.insert(id.clone(), u);
        Ok(&self.users.map[&id])
    }

    pub(crate) fn modify_user(&mut self, id: &str, p: &Params) -> Result<&User, ApiError> {
        if self.user(id)?.trashed_on_day.is_some() {
            // Duo staff: a modify of a trashed user "is returning an 200 ok but still the user
            // is shown in trash" (community.duo.com/t/5758): nothing changes.
            return self.user(id);
        }
        let mut u = self.user(id)?.clone();
        self.apply_user_fields(&mut u, p, Some(id))?;
        let old = self.users.map.get(id).cloned().expect("checked above");
        self.unindex_user(&old);
        self.index_user(&u);
        self.users.map.insert(id.to_owned(), u);
        Ok(&self.users.map[id])
    }

    /// Permanent delete; unknown ids are a no-op (as Duo documents).
    pub(crate) fn delete_user(&mut self, id: &str) {
        let Some(u) = self.users.remove(id) else {
            return;
        };
        self.unindex_user(&u);
        for g in &u.groups {
            if let Some(g) = self.groups.map.get_mut(g) {
                g.members.retain(|m| m != id);
            }
        }
        for ph in &u.phones {
            if let Some(p) = self.phones.map.get_mut(ph) {
                p.users.retain(|m| m != id);
                if p.users.is_empty() {
                    self.orphans.insert(ph.clone(), self.day);
                }
            }
        }
    }

    /// `users/bulk_create`: `users`, a JSON array of user objects (sent as a JSON string, or a
    /// native array in a JSON body). More than `max` is 400 / 40002 naming `users`. Atomic: the
    /// first bad user's error fails the call and nothing stays created; otherwise the bad users
    /// are skipped. Answers the created users, in order.
    pub(crate) fn bulk_create(
        &mut self,
        p: &Params,
        max: usize,
        atomic: bool,
    ) -> Result<Value, ApiError> {
        let raw = p.required("users")?;
        let users: Vec<serde_json::Map<String, Value>> =
            serde_json::from_str(raw).map_err(|_| ApiError::invalid("users"))?;
        if users.is_empty() || users.len() > max {
            return Err(ApiError::invalid("users"));
        }
        let mut created: Vec<String> = Vec::with_capacity(users.len());
        for obj in &users {
            let mut up = Params::default();
            up.extend_json(obj);
            match self.create_user(&up) {
                Ok(u) => created.push(u.user_id.clone()),
                Err(e) if atomic => {
                    for id in &created {
                        self.delete_user(id);
                    }
                    return Err(e);
                }
                Err(_) => {}
            }
        }
        Ok(Value::Array(
            created
                .iter()
                .map(|id| self.user_json(&self.users.map[id]))
                .collect(),
        ))
    }

    /// `bulk_send_to_trash` (`trash`) or `bulk_restore`: `user_id_list`, a JSON string array
    /// of at most 100 ids; one `{"success", "user_id"}` per id (an unknown id, or restoring a
    /// user not in the trash, is `success: false`).
    pub(crate) fn bulk_trash(&mut self, p: &Params, trash: bool) -> Result<Value, ApiError> {
        p.required("user_id_list")?;
        let ids = p.id_list("user_id_list")?.unwrap_or_default();
        let day = self.day;
        let results: Vec<Value> = ids
            .iter()
            .map(|id| {
                let success = match self.users.map.get_mut(id) {
                    None => false,
                    Some(u) if trash => {
                        if u.trashed_on_day.is_none() {
                            u.status_before_trash = Some(std::mem::replace(
                                &mut u.status,
                                PENDING_DELETION.to_owned(),
                            ));
                            u.trashed_on_day = Some(day);
                        }
                        true
                    }
                    Some(u) => match u.trashed_on_day.take() {
                        Some(_) => {
                            u.status = u
                                .status_before_trash
                                .take()
                                .unwrap_or_else(|| "active".to_owned());
                            true
                        }
                        None => false,
                    },
                };
                json!({"success": success, "user_id": id})
            })
            .collect();
        Ok(Value::Array(results))
    }

    /// `days` simulated days pass; trashed users past `pending_deletion_days` are purged
    /// (permanently deleted). Returns their ids.
    pub(crate) fn advance_days(&mut self, days: u64) -> Vec<String> {
        self.day = self.day.saturating_add(days);
        let (day, keep) = (self.day, self.pending_deletion_days);
        let due: Vec<String> = self
            .users
            .iter()
            .filter(|u| {
                u.trashed_on_day
                    .is_some_and(|t| day.saturating_sub(t) >= keep)
            })
            .map(|u| u.user_id.clone())
            .collect();
        for id in &due {
            self.delete_user(id);
        }
        let orphans: Vec<String> = self
            .orphans
            .iter()
            .filter(|(_, d)| day.saturating_sub(**d) >= ORPHAN_PHONE_DAYS)
            .map(|(p, _)| p.clone())
            .collect();
        for p in orphans {
            self.orphans.remove(&p);
            if self
                .phones
                .map
                .get(&p)
                .is_some_and(|ph| ph.users.is_empty())
            {
                self.delete_phone(&p);
            }
        }
        due
    }

    pub(crate) fn list_users(&self, p: &Params) -> Result<Page, ApiError> {
        let ids = p.id_list("user_id_list")?;
        let names = p.id_list("username_list")?;
        let filter = p.get("username").or(p.get("email"));
        if (ids.is_some() || names.is_some())
            && (filter.is_some() || (ids.is_some() && names.is_some()))
        {
            return Err(ApiError::invalid(if ids.is_some() {
                "user_id_list"
            } else {
                "username_list"
            }));
        }
        let chosen: Option<Vec<&User>> = if let Some(ids) = ids {
            Some(ids.iter().filter_map(|id| self.users.map.get(id)).collect())
        } else if let Some(names) = names {
            Some(names.iter().filter_map(|n| self.user_by_name(n)).collect())
        } else if let Some(name) = p.get("username") {
            Some(self.user_by_name(name).into_iter().collect())
        } else {
            p.get("email").map(|email| {
                self.users
                    .iter()
                    .filter(|u| u.email.eq_ignore_ascii_case(email))
                    .collect()
            })
        };
        if let Some(list) = chosen {
            let n = list.len();
            return Ok((
                list.into_iter().map(|u| self.user_json(u)).collect(),
                json!({"total_objects": n}),
            ));
        }
        let (limit, offset) = p.paging(300)?;
        let items: Vec<Value> = self
            .users
            .page(limit, offset)
            .map(|u| self.user_json(u))
            .collect();
        let meta = page_metadata(self.users.len(), limit, offset, items.len());
        Ok((items, meta))
    }

    pub(crate) fn user_json(&self, u: &User) -> Value {
        let alias = |i: u8| {
            u.aliases
                .get(&i)
                .map_or(Value::Null, |a| Value::String(a.clone()))
        };
        let aliases: serde_json::Map<String, Value> = u
            .aliases
            .iter()
            .map(|(k, v)| (format!("alias{k}"), Value::String(v.clone())))
            .collect();
        json!({
            "user_id": u.user_id,
            "username": u.username,
            "realname": u.realname,
            "firstname": u.firstname,
            "lastname": u.lastname,
            "email": u.email,
            "status": u.status,
            "notes": u.notes,
            "alias1": alias(1), "alias2": alias(2), "alias3": alias(3), "alias4": alias(4),
            "aliases": if aliases.is_empty() && self.variants.null_lists { Value::Null } else { Value::Object(aliases) },
            "created": u.created,
            "last_login": null,
            "last_directory_sync": null,
            "is_enrolled": !u.phones.is_empty(),
            "lockout_reason": null,
            "enable_auto_prompt": true,
            "groups": self.list_or_null(u.groups.iter().filter_map(|g| self.groups.map.get(g)).map(|g| self.group_json(g, true)).collect()),
            "phones": self.list_or_null(u.phones.iter().filter_map(|ph| self.phones.map.get(ph)).map(|ph| self.embedded_phone_json(ph)).collect()),
            "tokens": [],
            "u2ftokens": [],
            "webauthncredentials": [],
        })
    }

    /// A list, or `null` when empty under the `null_lists` variant.
    fn list_or_null(&self, items: Vec<Value>) -> Value {
        if items.is_empty() && self.variants.null_lists {
            Value::Null
        } else {
            Value::Array(items)
        }
    }

    /// A phone embedded in a user: `+E.164`, or without `+` under `phone_without_plus`.
    fn embedded_phone_json(&self, ph: &Phone) -> Value {
        let mut v = self.phone_json(ph, false);
        if self.variants.phone_without_plus
            && let Some(n) = ph.number.strip_prefix('+')
        {
            v["number"] = n.into();
        }
        v
    }

    fn user_summary(&self, u: &User) -> Value {
        json!({
            "user_id": u.user_id, "username": u.username, "realname": u.realname,
            "email": u.email, "status": u.status,
        })
    }

    // ---------------------------------------------------------------- groups

    pub(crate) fn group(&self, id: &str) -> Result<&Group, ApiError> {
        self.groups.map.get(id).ok_or_else(ApiError::not_found)
    }

    fn apply_group_fields(
        &self,
        g: &mut Group,
        p: &Params,
        existing: Option<&str>,
    ) -> Result<(), ApiError> {
        if let Some(name) = p.get("name") {
            if name.is_empty() {
                return Err(ApiError::invalid("name"));
            }
            if self
                .group_names
                .get(&self.group_key(name))
                .is_some_and(|o| Some(o.as_str()) != existing)
            {
                return Err(ApiError::duplicate("name"));
            }
            g.name = name.to_owned();
        }
        if let Some(d) = p.get("desc") {
            g.desc = d.to_owned();
        }
        if let Some(s) = p.get("status") {
            if !SETTABLE_STATUS.contains(&s) {
                return Err(ApiError::invalid("status"));
            }
            g.status = s.to_owned();
        }
        for (key, field) in [
            ("push_enabled", &mut g.push_enabled),
            ("sms_enabled", &mut g.sms_enabled),
            ("voice_enabled", &mut g.voice_enabled),
            ("mobile_otp_enabled", &mut g.mobile_otp_enabled),
        ] {
            if let Some(b) = p.bool(key)? {
                *field = b;
            }
        }
        Ok(())
    }

    pub(crate) fn create_group(&mut self, p: &Params) -> Result<&Group, ApiError> {
        p.required("name")?;
        let mut g = Group {
            group_id: String::new(),
            name: String::new(),
            desc: String::new(),
            status: "active".into(),
            push_enabled: true,
            sms_enabled: true,
            voice_enabled: true,
            mobile_otp_enabled: true,
            members: Vec::new(),
        };
        self.apply_group_fields(&mut g, p, None)?;
        g.group_id = self.ids.next("DG");
        let id = g.group_id.clone();
        self.group_names.insert(self.group_key(&g.name), id.clone());
        self.groups.insert(id.clone(), g);
        Ok(&self.groups.map[&id])
    }

    pub(crate) fn modify_group(&mut self, id: &str, p: &Params) -> Result<&Group, ApiError> {
        let mut g = self.group(id)?.clone();
        self.apply_group_fields(&mut g, p, Some(id))?;
        let old_name = self.groups.map[id].name.clone();
        self.group_names.remove(&self.group_key(&old_name));
        self.group_names
            .insert(self.group_key(&g.name), id.to_owned());
        self.groups.map.insert(id.to_owned(), g);
        Ok(&self.groups.map[id])
    }

    pub(crate) fn delete_group(&mut self, id: &str) -> Result<(), ApiError> {
        let Some(g) = self.groups.remove(id) else {
            return self.unknown_delete();
        };
        self.group_names.remove(&self.group_key(&g.name));
        for m in &g.members {
            if let Some(u) = self.users.map.get_mut(m) {
                u.groups.retain(|x| x != id);
            }
        }
        Ok(())
    }

    pub(crate) fn list_groups(&self, p: &Params) -> Result<Page, ApiError> {
        if let Some(ids) = p.id_list("group_id_list")? {
            let items: Vec<Value> = ids
                .iter()
                .filter_map(|id| self.groups.map.get(id))
                .map(|g| self.group_json(g, true))
                .collect();
            let n = items.len();
            return Ok((items, json!({"total_objects": n})));
        }
        let (limit, offset) = p.paging(500)?;
        let items: Vec<Value> = self
            .groups
            .page(limit, offset)
            .map(|g| self.group_json(g, true))
            .collect();
        let meta = page_metadata(self.groups.len(), limit, offset, items.len());
        Ok((items, meta))
    }

    pub(crate) fn group_json(&self, g: &Group, legacy_flags: bool) -> Value {
        let mut v = json!({
            "group_id": g.group_id, "name": g.name, "desc": g.desc, "status": capitalize(&g.status),
        });
        if legacy_flags {
            v["push_enabled"] = g.push_enabled.into();
            v["sms_enabled"] = g.sms_enabled.into();
            v["voice_enabled"] = g.voice_enabled.into();
            v["mobile_otp_enabled"] = g.mobile_otp_enabled.into();
        }
        v
    }

    pub(crate) fn group_members(&self, id: &str, p: &Params) -> Result<Page, ApiError> {
        let g = self.group(id)?;
        let (limit, offset) = p.paging(500)?;
        let items: Vec<Value> = g
            .members
            .iter()
            .skip(offset)
            .take(limit)
            .filter_map(|m| self.users.map.get(m))
            .map(|u| json!({"user_id": u.user_id, "username": u.username}))
            .collect();
        let meta = page_metadata(g.members.len(), limit, offset, items.len());
        Ok((items, meta))
    }

    // ---------------------------------------------------------------- memberships

    pub(crate) fn user_groups(&self, id: &str, p: &Params) -> Result<Page, ApiError> {
        let u = self.user(id)?;
        let (limit, offset) = p.paging(500)?;
        let items: Vec<Value> = u
            .groups
            .iter()
            .skip(offset)
            .take(limit)
            .filter_map(|g| self.groups.map.get(g))
            .map(|g| self.group_json(g, true))
            .collect();
        let meta = page_metadata(u.groups.len(), limit, offset, items.len());
        Ok((items, meta))
    }

    pub(crate) fn add_user_group(&mut self, uid: &str, p: &Params) -> Result<(), ApiError> {
        let gid = p.required("group_id")?.to_owned();
        let u = self.user(uid)?;
        if self.group(&gid).is_err() {
            return Err(self.unknown_ref("group_id"));
        }
        if u.groups.contains(&gid) {
            return self.existing_association("group_id");
        }
        if u.groups.len() >= ONE_TO_MANY_LIMIT {
            return Err(ApiError::limit_exceeded());
        }
        self.users
            .map
            .get_mut(uid)
            .expect("checked")
            .groups
            .push(gid.clone());
        self.groups
            .map
            .get_mut(&gid)
            .expect("checked")
            .members
            .push(uid.to_owned());
        Ok(())
    }

    /// 200 even when the user was not a member.
    pub(crate) fn remove_user_group(&mut self, uid: &str, gid: &str) -> Result<(), ApiError> {
        self.user(uid)?;
        self.users
            .map
            .get_mut(uid)
            .expect("checked")
            .groups
            .retain(|g| g != gid);
        if let Some(g) = self.groups.map.get_mut(gid) {
            g.members.retain(|m| m != uid);
        }
        Ok(())
    }

    pub(crate) fn user_phones(&self, id: &str, p: &Params) -> Result<Page, ApiError> {
        let u = self.user(id)?;
        let (limit, offset) = p.paging(500)?;
        let items: Vec<Value> = u
            .phones
            .iter()
            .skip(offset)
            .take(limit)
            .filter_map(|ph| self.phones.map.get(ph))
            .map(|ph| self.phone_json(ph, false))
            .collect();
        let meta = page_metadata(u.phones.len(), limit, offset, items.len());
        Ok((items, meta))
    }

    pub(crate) fn add_user_phone(&mut self, uid: &str, p: &Params) -> Result<(), ApiError> {
        let pid = p.required("phone_id")?.to_owned();
        let u = self.user(uid)?;
        let Ok(ph) = self.phone(&pid) else {
            return Err(self.unknown_ref("phone_id"));
        };
        if u.phones.contains(&pid) {
            return self.existing_association("phone_id");
        }
        if u.phones.len() >= ONE_TO_MANY_LIMIT || ph.users.len() >= ONE_TO_MANY_LIMIT {
            return Err(ApiError::limit_exceeded());
        }
        self.users
            .map
            .get_mut(uid)
            .expect("checked")
            .phones
            .push(pid.clone());
        self.orphans.remove(&pid);
        self.phones
            .map
            .get_mut(&pid)
            .expect("checked")
            .users
            .push(uid.to_owned());
        Ok(())
    }

    /// 200 even when no association existed; the phone itself stays.
    pub(crate) fn remove_user_phone(&mut self, uid: &str, pid: &str) -> Result<(), ApiError> {
        self.user(uid)?;
        self.users
            .map
            .get_mut(uid)
            .expect("checked")
            .phones
            .retain(|x| x != pid);
        if let Some(ph) = self.phones.map.get_mut(pid) {
            ph.users.retain(|m| m != uid);
        }
        Ok(())
    }

    // ---------------------------------------------------------------- phones

    pub(crate) fn phone(&self, id: &str) -> Result<&Phone, ApiError> {
        self.phones.map.get(id).ok_or_else(ApiError::not_found)
    }

    fn apply_phone_fields(
        &self,
        ph: &mut Phone,
        p: &Params,
        existing: Option<&str>,
    ) -> Result<(), ApiError> {
        if let Some(n) = p.get("number") {
            ph.number = if n.is_empty() {
                String::new()
            } else {
                normalize_phone(n).map_err(|_| ApiError::invalid("number"))?
            };
        }
        if let Some(e) = p.get("extension") {
            if !e
                .bytes()
                .all(|b| b.is_ascii_digit() || b == b'#' || b == b'*')
            {
                return Err(ApiError::invalid("extension"));
            }
            e.clone_into(&mut ph.extension);
        }
        if let Some(n) = p.get("name") {
            n.clone_into(&mut ph.name);
        }
        if let Some(t) = p.get("type") {
            ph.r#type = match t.to_ascii_lowercase().as_str() {
                "unknown" => "Unknown",
                "mobile" => "Mobile",
                "landline" => "Landline",
                _ => return Err(ApiError::invalid("type")),
            }
            .into();
        }
        if let Some(pl) = p.get("platform") {
            ph.platform = match pl.to_ascii_lowercase().as_str() {
                "unknown" => "Unknown",
                "google android" => "Google Android",
                "apple ios" => "Apple iOS",
                "windows phone 7" | "windows phone" => "Windows Phone",
                "rim blackberry" => "RIM BlackBerry",
                "java j2me" => "Java J2ME",
                "palm webos" => "Palm WebOS",
                "symbian os" => "Symbian OS",
                "windows mobile" => "Windows Mobile",
                "generic smartphone" => "Generic Smartphone",
                _ => return Err(ApiError::invalid("platform")),
            }
            .into();
        }
        if let Some(d) = p.int("predelay")? {
            ph.predelay = Some(d);
        }
        if let Some(d) = p.int("postdelay")? {
            ph.postdelay = Some(d);
        }
        if !ph.number.is_empty()
            && self
                .numbers
                .get(&(ph.number.clone(), ph.extension.clone()))
                .is_some_and(|o| Some(o.as_str()) != existing)
        {
            return Err(ApiError::duplicate("number"));
        }
        Ok(())
    }

    pub(crate) fn create_phone(&mut self, p: &Params) -> Result<&Phone, ApiError> {
        let mut ph = Phone {
            phone_id: String::new(),
            number: String::new(),
            extension: String::new(),
            name: String::new(),
            r#type: "Unknown".into(),
            platform: "Unknown".into(),
            predelay: None,
            postdelay: None,
            users: Vec::new(),
        };
        self.apply_phone_fields(&mut ph, p, None)?;
        ph.phone_id = self.ids.next("DP");
        let id = ph.phone_id.clone();
        if !ph.number.is_empty() {
            self.numbers
                .insert((ph.number.clone(), ph.extension.clone()), id.clone());
        }
        self.phones.insert(id.clone(), ph);
        Ok(&self.phones.map[&id])
    }

    pub(crate) fn modify_phone(&mut self, id: &str, p: &Params) -> Result<&Phone, ApiError> {
        let mut ph = self.phone(id)?.clone();
        self.apply_phone_fields(&mut ph, p, Some(id))?;
        let old = &self.phones.map[id];
        let old_key = (old.number.clone(), old.extension.clone());
        if self.numbers.get(&old_key).is_some_and(|o| o == id) {
            self.numbers.remove(&old_key);
        }
        if !ph.number.is_empty() {
            self.numbers
                .insert((ph.number.clone(), ph.extension.clone()), id.to_owned());
        }
        self.phones.map.insert(id.to_owned(), ph);
        Ok(&self.phones.map[id])
    }

    /// Succeeds even when the phone is already gone.
    pub(crate) fn delete_phone(&mut self, id: &str) {
        let Some(ph) = self.phones.remove(id) else {
            return;
        };
        let key = (ph.number.clone(), ph.extension.clone());
        if self.numbers.get(&key).is_some_and(|o| o == id) {
            self.numbers.remove(&key);
        }
        for u in &ph.users {
            if let Some(u) = self.users.map.get_mut(u) {
                u.phones.retain(|x| x != id);
            }
        }
    }

    pub(crate) fn list_phones(&self, p: &Params) -> Result<Page, ApiError> {
        if let Some(n) = p.get("number") {
            let number = normalize_phone(n).map_err(|_| ApiError::invalid("number"))?;
            let ext = p.get("extension").unwrap_or_default().to_owned();
            let items: Vec<Value> = self
                .numbers
                .get(&(number, ext))
                .and_then(|id| self.phones.map.get(id))
                .map(|ph| self.phone_json(ph, true))
                .into_iter()
                .collect();
            let n = items.len();
            return Ok((items, json!({"total_objects": n})));
        }
        let (limit, offset) = p.paging(500)?;
        let items: Vec<Value> = self
            .phones
            .page(limit, offset)
            .map(|ph| self.phone_json(ph, true))
            .collect();
        let meta = page_metadata(self.phones.len(), limit, offset, items.len());
        Ok((items, meta))
    }

    pub(crate) fn phone_json(&self, ph: &Phone, with_users: bool) -> Value {
        let mut v = json!({
            "phone_id": ph.phone_id, "number": ph.number, "extension": ph.extension, "name": ph.name,
            "type": ph.r#type, "platform": ph.platform, "predelay": ph.predelay, "postdelay": ph.postdelay,
            "activated": false, "capabilities": self.list_or_null(Vec::new()), "encrypted": "", "fingerprint": "", "screenlock": "",
            "tampered": "", "model": "Unknown", "sms_passcodes_sent": false, "last_seen": "",
        });
        if with_users {
            v["users"] = ph
                .users
                .iter()
                .filter_map(|u| self.users.map.get(u))
                .map(|u| self.user_summary(u))
                .collect::<Vec<_>>()
                .into();
        }
        v
    }

    // ---------------------------------------------------------------- admins

    pub(crate) fn admin(&self, id: &str) -> Result<&Admin, ApiError> {
        self.admins.map.get(id).ok_or_else(ApiError::not_found)
    }

    fn apply_admin_fields(&self, a: &mut Admin, p: &Params) -> Result<(), ApiError> {
        if let Some(n) = p.get("name") {
            if n.is_empty() {
                return Err(ApiError::invalid("name"));
            }
            n.clone_into(&mut a.name);
        }
        if let Some(ph) = p.get("phone") {
            // "If this parameter is specified it cannot be empty."
            a.phone = normalize_phone(ph).map_err(|_| ApiError::invalid("phone"))?;
        }
        if let Some(r) = p.get("role") {
            let unconfirmed = r == UNCONFIRMED_ROLE && self.variants.security_analyst_role;
            if !ADMIN_ROLES.contains(&r) && !unconfirmed {
                return Err(ApiError::invalid("role"));
            }
            r.clone_into(&mut a.role);
        }
        if let Some(b) = p.bool("restricted_by_admin_units")? {
            a.restricted_by_admin_units = b;
        }
        if let Some(b) = p.bool("password_change_required")? {
            a.password_change_required = b;
        }
        if a.restricted_by_admin_units && a.role == "Owner" {
            return Err(ApiError::invalid("restricted_by_admin_units"));
        }
        if let Some(d) = p.int("valid_days")?
            && !(1..=31).contains(&d)
        {
            return Err(ApiError::invalid("valid_days"));
        }
        p.bool("send_email")?;
        Ok(())
    }

    pub(crate) fn create_admin(&mut self, p: &Params) -> Result<&Admin, ApiError> {
        let email = p.required("email")?;
        p.required("name")?;
        if !email.contains('@') {
            return Err(ApiError::invalid("email"));
        }
        if self.admin_emails.contains_key(&email.to_lowercase()) {
            return Err(ApiError::duplicate("email"));
        }
        let mut a = Admin {
            admin_id: String::new(),
            name: String::new(),
            email: email.to_owned(),
            phone: String::new(),
            role: "Owner".into(),
            status: "Pending Activation".into(),
            restricted_by_admin_units: false,
            password_change_required: false,
            created: now_unix(),
        };
        self.apply_admin_fields(&mut a, p)?;
        a.admin_id = self.ids.next("DE");
        let id = a.admin_id.clone();
        self.admin_emails.insert(a.email.to_lowercase(), id.clone());
        self.admins.insert(id.clone(), a);
        Ok(&self.admins.map[&id])
    }

    pub(crate) fn modify_admin(&mut self, id: &str, p: &Params) -> Result<&Admin, ApiError> {
        let mut a = self.admin(id)?.clone();
        self.apply_admin_fields(&mut a, p)?;
        if let Some(s) = p.get("status") {
            match s {
                "Active" | "Disabled" => a.status = s.to_owned(),
                _ => return Err(ApiError::invalid("status")),
            }
        }
        if a.role == "Owner" && a.status == "Disabled" {
            return Err(ApiError::invalid("status"));
        }
        self.admins.map.insert(id.to_owned(), a);
        Ok(&self.admins.map[id])
    }

    pub(crate) fn delete_admin(&mut self, id: &str) -> Result<(), ApiError> {
        let Some(a) = self.admins.remove(id) else {
            return self.unknown_delete();
        };
        self.admin_emails.remove(&a.email.to_lowercase());
        Ok(())
    }

    pub(crate) fn list_admins(&self, p: &Params) -> Result<Page, ApiError> {
        let (limit, offset) = p.paging(300)?;
        let items: Vec<Value> = self
            .admins
            .page(limit, offset)
            .map(Self::admin_json)
            .collect();
        let meta = page_metadata(self.admins.len(), limit, offset, items.len());
        Ok((items, meta))
    }

    pub(crate) fn admin_json(a: &Admin) -> Value {
        json!({
            "admin_id": a.admin_id, "name": a.name, "email": a.email, "phone": a.phone, "role": a.role,
            "status": a.status, "restricted_by_admin_units": a.restricted_by_admin_units, "admin_units": [],
            "password_change_required": a.password_change_required, "hardtoken": null, "last_login": null,
            "last_directory_sync": null, "created": a.created,
        })
    }

    // ---------------------------------------------------------------- info, state

    pub(crate) fn summary(&self) -> Value {
        json!({
            "admin_count": self.admins.len(),
            "integration_count": self.integration_count,
            "telephony_credits_remaining": self.telephony_credits,
            "user_count": self.users.len(),
            "user_pending_deletion_count": self.users.iter().filter(|u| u.trashed_on_day.is_some()).count(),
        })
    }

    pub(crate) fn snapshot(&self) -> SimState {
        let users: Vec<User> = self.users.iter().cloned().collect();
        let memberships = users
            .iter()
            .flat_map(|u| {
                u.groups.iter().map(|g| Membership {
                    user_id: u.user_id.clone(),
                    group_id: g.clone(),
                })
            })
            .collect();
        let phone_associations = users
            .iter()
            .flat_map(|u| {
                u.phones.iter().map(|p| PhoneAssociation {
                    user_id: u.user_id.clone(),
                    phone_id: p.clone(),
                })
            })
            .collect();
        SimState {
            groups: self.groups.iter().cloned().collect(),
            phones: self.phones.iter().cloned().collect(),
            admins: self.admins.iter().cloned().collect(),
            users,
            memberships,
            phone_associations,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(page: &Page) -> Vec<String> {
        page.0
            .iter()
            .map(|u| u["username"].as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn paging_stays_in_creation_order_across_deletes() {
        let mut st = Store::new(UsernameCase::Insensitive, 9);
        let ids: Vec<String> = (0..100)
            .map(|i| {
                st.create_user(&Params::from_pairs([("username", format!("u{i:03}"))]))
                    .unwrap()
                    .user_id
                    .clone()
            })
            .collect();
        for id in ids.iter().step_by(2) {
            st.delete_user(id);
        }
        let p = Params::from_pairs([("limit", "10"), ("offset", "45")]);
        let page = st.list_users(&p).unwrap();
        assert_eq!(names(&page), ["u091", "u093", "u095", "u097", "u099"]);
        assert_eq!(page.1["total_objects"], 50);
        assert_eq!(
            page.1["next_offset"],
            Value::Null,
            "last page: explicit null"
        );
        assert_eq!(page.1["prev_offset"], 35);
        // A deleted username is free again, and a new user goes last.
        st.create_user(&Params::from_pairs([("username", "U000")]))
            .unwrap();
        let page = st
            .list_users(&Params::from_pairs([("limit", "1"), ("offset", "50")]))
            .unwrap();
        assert_eq!(names(&page), ["U000"]);
    }

    #[test]
    fn ids_are_deterministic_per_seed_and_unique() {
        let gen_ids = |seed| {
            let mut g = IdGen { seed, counter: 0 };
            (0..1000).map(|_| g.next("DU")).collect::<Vec<_>>()
        };
        let a = gen_ids(1);
        assert_eq!(a, gen_ids(1));
        assert_ne!(a, gen_ids(2));
        assert!(a.iter().all(|id| id.len() == 20 && id.starts_with("DU")));
        assert_eq!(
            a.iter().collect::<std::collections::HashSet<_>>().len(),
            1000
        );
    }
}
