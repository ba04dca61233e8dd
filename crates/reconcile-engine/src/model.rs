//! Neutral input records: the attribute schema, desired objects, observed
//! target objects, links and pending intents, stored compactly for scale.
//!
//! Strings live in one text buffer per set and are referenced by
//! `(offset, len)`, so a million objects cost a few allocations, not millions.

use serde::{Deserialize, Serialize};

/// What an object is. Ordering is the order ops are listed within a phase.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A group of users.
    Group,
    /// An end user.
    User,
    /// An administrator account.
    Admin,
}

impl Kind {
    /// Lower-case word used in rendered plans and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Group => "group",
            Kind::User => "user",
            Kind::Admin => "admin",
        }
    }
    /// Users and admins are accounts; groups are not.
    pub fn is_account(self) -> bool {
        !matches!(self, Kind::Group)
    }
}

/// An owned attribute value, as written to the target.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    /// A string.
    Str(String),
    /// A boolean.
    Bool(bool),
    /// An ordered list of strings.
    List(Vec<String>),
}

/// A borrowed attribute value, used to fill the input sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueRef<'a> {
    /// A string.
    Str(&'a str),
    /// A boolean.
    Bool(bool),
    /// An ordered list of strings.
    List(&'a [String]),
}

impl Value {
    /// Borrow this value.
    pub fn as_ref(&self) -> ValueRef<'_> {
        match self {
            Value::Str(s) => ValueRef::Str(s),
            Value::Bool(b) => ValueRef::Bool(*b),
            Value::List(l) => ValueRef::List(l),
        }
    }
}

/// Index of an interned attribute name in a [`Schema`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AttrId(pub u16);

/// What an absent (empty) desired value does to the target value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmptyPolicy {
    /// Leave whatever the target has.
    #[default]
    Keep,
    /// Clear the target value.
    Clear,
}

/// When an attribute is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WritePolicy {
    /// On create and on every update.
    #[default]
    Always,
    /// Only when the object is created.
    OnCreate,
}

/// One attribute the rule manages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttrDef {
    /// Target attribute name.
    pub name: String,
    /// What an empty desired value does.
    pub empty: EmptyPolicy,
    /// When the attribute is written.
    pub when: WritePolicy,
}

/// The managed attributes, interned: objects refer to them by [`AttrId`].
#[derive(Clone, Debug, Default)]
pub struct Schema {
    defs: Vec<AttrDef>,
}

impl Schema {
    /// An empty schema.
    pub fn new() -> Self {
        Self::default()
    }
    /// Define (or redefine) an attribute and return its id.
    pub fn define(&mut self, name: &str, empty: EmptyPolicy, when: WritePolicy) -> AttrId {
        if let Some(id) = self.get(name) {
            self.defs[usize::from(id.0)] = AttrDef {
                name: name.to_owned(),
                empty,
                when,
            };
            return id;
        }
        let id = AttrId(u16::try_from(self.defs.len()).unwrap_or(u16::MAX));
        if self.defs.len() < usize::from(u16::MAX) {
            self.defs.push(AttrDef {
                name: name.to_owned(),
                empty,
                when,
            });
        }
        id
    }
    /// The id of an attribute by name.
    pub fn get(&self, name: &str) -> Option<AttrId> {
        self.defs
            .iter()
            .position(|d| d.name == name)
            .and_then(|i| u16::try_from(i).ok())
            .map(AttrId)
    }
    /// The definition of an attribute.
    pub fn def(&self, id: AttrId) -> Option<&AttrDef> {
        self.defs.get(usize::from(id.0))
    }
    /// Name of an attribute (`?` for an unknown id).
    pub fn name(&self, id: AttrId) -> &str {
        self.def(id).map_or("?", |d| d.name.as_str())
    }
}

/// A string stored in a set's text buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) struct S {
    off: u32,
    len: u32,
}

const NONE_LEN: u32 = u32::MAX;

impl S {
    pub(crate) const NONE: S = S {
        off: 0,
        len: NONE_LEN,
    };
    pub(crate) fn is_none(self) -> bool {
        self.len == NONE_LEN
    }
}

/// A value slot: attribute id plus a tagged payload in the pool.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Slot {
    pub(crate) attr: AttrId,
    tag: u8,
    a: u32,
    b: u32,
}

const T_ABSENT: u8 = 0;
const T_STR: u8 = 1;
const T_BOOL: u8 = 2;
const T_LIST: u8 = 3;

/// A value read back from a pool.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Val<'a> {
    Str(&'a str),
    Bool(bool),
    List(&'a Pool, u32, u32),
}

impl Val<'_> {
    pub(crate) fn to_value(self) -> Value {
        match self {
            Val::Str(s) => Value::Str(s.to_owned()),
            Val::Bool(b) => Value::Bool(b),
            Val::List(p, a, b) => Value::List(p.list(a, b).map(str::to_owned).collect()),
        }
    }
    pub(crate) fn same(self, other: Val<'_>) -> bool {
        match (self, other) {
            (Val::Str(a), Val::Str(b)) => a == b,
            (Val::Bool(a), Val::Bool(b)) => a == b,
            (Val::List(p, a, n), Val::List(q, c, m)) => n == m && p.list(a, n).eq(q.list(c, m)),
            _ => false,
        }
    }
}

/// Returned when a set's text buffer would exceed 4 GiB.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("input set is full: more than 4 GiB of text in one set; split the rule's scope")]
pub struct CapacityError;

/// Text buffer, value slots and list items of one input set.
#[derive(Clone, Debug, Default)]
pub(crate) struct Pool {
    text: String,
    slots: Vec<Slot>,
    items: Vec<S>,
}

impl Pool {
    pub(crate) fn put(&mut self, s: &str) -> Result<S, CapacityError> {
        let off = u32::try_from(self.text.len()).map_err(|_| CapacityError)?;
        let len = u32::try_from(s.len()).map_err(|_| CapacityError)?;
        if len == NONE_LEN || off.checked_add(len).is_none() {
            return Err(CapacityError);
        }
        self.text.push_str(s);
        Ok(S { off, len })
    }
    pub(crate) fn put_opt(&mut self, s: Option<&str>) -> Result<S, CapacityError> {
        s.map_or(Ok(S::NONE), |s| self.put(s))
    }
    pub(crate) fn get(&self, s: S) -> &str {
        if s.is_none() {
            return "";
        }
        let start = s.off as usize;
        self.text.get(start..start + s.len as usize).unwrap_or("")
    }
    pub(crate) fn get_opt(&self, s: S) -> Option<&str> {
        (!s.is_none()).then(|| self.get(s))
    }
    fn list(&self, a: u32, n: u32) -> impl Iterator<Item = &str> {
        let r = self
            .items
            .get(a as usize..(a as usize + n as usize))
            .unwrap_or(&[]);
        r.iter().map(|s| self.get(*s))
    }
    pub(crate) fn put_strs<'s>(
        &mut self,
        it: impl IntoIterator<Item = &'s str>,
    ) -> Result<(u32, u32), CapacityError> {
        let start = u32::try_from(self.items.len()).map_err(|_| CapacityError)?;
        for s in it {
            let s = self.put(s)?;
            self.items.push(s);
        }
        let end = u32::try_from(self.items.len()).map_err(|_| CapacityError)?;
        Ok((start, end - start))
    }
    /// Store attributes sorted by id (first occurrence wins); returns the slot range.
    pub(crate) fn put_attrs(
        &mut self,
        attrs: &[(AttrId, Option<ValueRef<'_>>)],
    ) -> Result<(u32, u32), CapacityError> {
        let start = self.slots.len();
        for (attr, v) in attrs {
            let slot = match v {
                None => Slot {
                    attr: *attr,
                    tag: T_ABSENT,
                    a: 0,
                    b: 0,
                },
                Some(ValueRef::Str(s)) => {
                    let s = self.put(s)?;
                    Slot {
                        attr: *attr,
                        tag: T_STR,
                        a: s.off,
                        b: s.len,
                    }
                }
                Some(ValueRef::Bool(b)) => Slot {
                    attr: *attr,
                    tag: T_BOOL,
                    a: u32::from(*b),
                    b: 0,
                },
                Some(ValueRef::List(l)) => {
                    let (a, b) = self.put_strs(l.iter().map(String::as_str))?;
                    Slot {
                        attr: *attr,
                        tag: T_LIST,
                        a,
                        b,
                    }
                }
            };
            self.slots.push(slot);
        }
        let new = &mut self.slots[start..];
        new.sort_by_key(|s| s.attr);
        // Drop later duplicates of an attribute id (stable sort keeps the first).
        let mut w = start;
        for r in start..self.slots.len() {
            if w == start || self.slots[w - 1].attr != self.slots[r].attr {
                self.slots[w] = self.slots[r];
                w += 1;
            }
        }
        self.slots.truncate(w);
        let s = u32::try_from(start).map_err(|_| CapacityError)?;
        let e = u32::try_from(w).map_err(|_| CapacityError)?;
        Ok((s, e - s))
    }
    pub(crate) fn slots(&self, a: u32, n: u32) -> &[Slot] {
        self.slots
            .get(a as usize..(a as usize + n as usize))
            .unwrap_or(&[])
    }
    pub(crate) fn val(&self, slot: &Slot) -> Option<Val<'_>> {
        match slot.tag {
            T_STR => Some(Val::Str(self.get(S {
                off: slot.a,
                len: slot.b,
            }))),
            T_BOOL => Some(Val::Bool(slot.a != 0)),
            T_LIST => Some(Val::List(self, slot.a, slot.b)),
            _ => None,
        }
    }
}

/// A desired object to add to a [`DesiredSet`].
#[derive(Clone, Copy, Debug)]
pub struct NewDesired<'a> {
    /// User, admin or group.
    pub kind: Kind,
    /// Stable id in the source.
    pub source_id: &'a str,
    /// Match key on the target (username, group name).
    pub key: &'a str,
    /// Managed attributes; `None` is an empty value (see [`EmptyPolicy`]).
    pub attrs: &'a [(AttrId, Option<ValueRef<'a>>)],
    /// Whether the account should be enabled (ignored for groups).
    pub enabled: bool,
    /// The phone number the account should have (E.164), if any.
    pub phone: Option<&'a str>,
    /// Fingerprint of the mapped attributes, computed by the caller.
    pub fingerprint: u64,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct DRec {
    pub(crate) kind: Kind,
    pub(crate) enabled: bool,
    pub(crate) id: S,
    pub(crate) key: S,
    pub(crate) phone: S,
    pub(crate) attrs: (u32, u32),
    pub(crate) fingerprint: u64,
}

/// A desired object that could not be mapped: reported, never planned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// Kind the object would have had.
    pub kind: Kind,
    /// Its source id.
    pub source_id: String,
    /// A name people recognise (e.g. the username); the source id when empty.
    pub name: String,
    /// Why it could not be mapped.
    pub message: String,
    /// The cause without this object's values (e.g. the attribute and the
    /// rule it broke), so many failures of one cause are reported as one;
    /// empty when unknown.
    #[serde(default)]
    pub cause: String,
    /// The first attribute that failed, when the failure is about one.
    #[serde(default)]
    pub attribute: Option<String>,
}

/// What the source says should exist, for one rule.
#[derive(Clone, Debug, Default)]
pub struct DesiredSet {
    pub(crate) pool: Pool,
    pub(crate) objects: Vec<DRec>,
    /// (interned group source id, member source id)
    pub(crate) memberships: Vec<(u32, S)>,
    /// Group source ids named by memberships, interned while filling.
    pub(crate) group_refs: Vec<S>,
    group_ref_index: crate::fx::FxMap<Box<str>, u32>,
    pub(crate) failures: Vec<Failure>,
}

impl DesiredSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }
    /// Add a desired object.
    pub fn push(&mut self, d: NewDesired<'_>) -> Result<(), CapacityError> {
        let id = self.pool.put(d.source_id)?;
        let key = self.pool.put(d.key)?;
        let phone = self.pool.put_opt(d.phone)?;
        let attrs = self.pool.put_attrs(d.attrs)?;
        self.objects.push(DRec {
            kind: d.kind,
            enabled: d.enabled,
            id,
            key,
            phone,
            attrs,
            fingerprint: d.fingerprint,
        });
        Ok(())
    }
    /// Add a desired membership: the account with source id `member`
    /// (a user or an admin) in the group with source id `group`.
    pub fn push_membership(&mut self, group: &str, member: &str) -> Result<(), CapacityError> {
        let g = match self.group_ref_index.get(group) {
            Some(&g) => g,
            None => {
                let g = u32::try_from(self.group_refs.len()).map_err(|_| CapacityError)?;
                let s = self.pool.put(group)?;
                self.group_refs.push(s);
                self.group_ref_index.insert(group.into(), g);
                g
            }
        };
        let m = self.pool.put(member)?;
        self.memberships.push((g, m));
        Ok(())
    }
    /// Interned index of a group source id named by a membership.
    pub(crate) fn group_ref(&self, source_id: &str) -> Option<u32> {
        self.group_ref_index.get(source_id).copied()
    }
    /// Record a source object that could not be mapped.
    pub fn push_failure(&mut self, failure: Failure) {
        self.failures.push(failure);
    }
    /// Number of desired objects.
    pub fn len(&self) -> usize {
        self.objects.len()
    }
    /// True when there is no desired object.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }
}

/// A phone as seen on a target account.
#[derive(Clone, Copy, Debug)]
pub struct PhoneRef<'a> {
    /// Target id of the phone.
    pub id: &'a str,
    /// Its number (E.164).
    pub number: &'a str,
    /// True when a device is activated on it (never removed unless the policy says so).
    pub activated: bool,
}

/// A target object to add to an [`ObservedSet`].
#[derive(Clone, Copy, Debug)]
pub struct NewObserved<'a> {
    /// User, admin or group.
    pub kind: Kind,
    /// Id on the target.
    pub target_id: &'a str,
    /// Match key on the target (username, group name).
    pub key: &'a str,
    /// The target's values of managed attributes (absent ones omitted or `None`).
    pub attrs: &'a [(AttrId, Option<ValueRef<'a>>)],
    /// Whether the account is enabled (groups: true).
    pub enabled: bool,
    /// Phones attached to the account.
    pub phones: &'a [PhoneRef<'a>],
    /// Target ids of the groups the account belongs to.
    pub groups: &'a [&'a str],
    /// Fingerprint of the target's managed attributes, computed with the same
    /// function as the desired fingerprint; equal fingerprints skip the diff.
    pub fingerprint: Option<u64>,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct ORec {
    pub(crate) kind: Kind,
    pub(crate) enabled: bool,
    pub(crate) id: S,
    pub(crate) key: S,
    pub(crate) attrs: (u32, u32),
    pub(crate) phones: (u32, u32),
    pub(crate) groups: (u32, u32),
    pub(crate) fingerprint: Option<u64>,
    /// Why the rule may never adopt or write this object (`None`: it may).
    pub(crate) guard: Option<(Guard, S)>,
    /// Enrollment as the target and the journal know it (`None`: unknown).
    pub(crate) enrollment: Option<Enrollment>,
}

/// Where a target account stands with enrollment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Enrollment {
    /// The account has enrolled (the target says so, e.g. `is_enrolled`).
    pub enrolled: bool,
    /// When the first enrollment email was sent (or its outcome became
    /// unknown), Unix seconds; `None`: never.
    pub sent_at: Option<i64>,
    /// A reminder was sent (or its outcome is unknown).
    pub reminded: bool,
}

/// Why a rule keeps its hands off a target object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Guard {
    /// Never adopted or modified by any rule (e.g. a target's super-administrators,
    /// source accounts outside the rule's reach).
    Protected,
    /// Another rule owns it; this one reports it and writes nothing.
    OwnedElsewhere,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct PRec {
    pub(crate) id: S,
    pub(crate) number: S,
    pub(crate) activated: bool,
}

/// What the target has. Group ids named in memberships are interned while
/// the set is filled, so planning looks them up by index, not by hashing.
#[derive(Clone, Debug, Default)]
pub struct ObservedSet {
    pub(crate) pool: Pool,
    pub(crate) objects: Vec<ORec>,
    pub(crate) phones: Vec<PRec>,
    /// Interned group target ids.
    pub(crate) group_ids: Vec<S>,
    group_index: crate::fx::FxMap<Box<str>, u32>,
    /// Membership lists: indexes into `group_ids`.
    pub(crate) group_items: Vec<u32>,
}

impl ObservedSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }
    /// Add an observed object.
    pub fn push(&mut self, o: NewObserved<'_>) -> Result<(), CapacityError> {
        let id = self.pool.put(o.target_id)?;
        let key = self.pool.put(o.key)?;
        let attrs = self.pool.put_attrs(o.attrs)?;
        let pstart = u32::try_from(self.phones.len()).map_err(|_| CapacityError)?;
        for p in o.phones {
            let id = self.pool.put(p.id)?;
            let number = self.pool.put(p.number)?;
            self.phones.push(PRec {
                id,
                number,
                activated: p.activated,
            });
        }
        let pend = u32::try_from(self.phones.len()).map_err(|_| CapacityError)?;
        let gstart = u32::try_from(self.group_items.len()).map_err(|_| CapacityError)?;
        for g in o.groups {
            let gi = match self.group_index.get(*g) {
                Some(&gi) => gi,
                None => {
                    let gi = u32::try_from(self.group_ids.len()).map_err(|_| CapacityError)?;
                    let s = self.pool.put(g)?;
                    self.group_ids.push(s);
                    self.group_index.insert((*g).into(), gi);
                    gi
                }
            };
            self.group_items.push(gi);
        }
        let gend = u32::try_from(self.group_items.len()).map_err(|_| CapacityError)?;
        let groups = (gstart, gend - gstart);
        self.objects.push(ORec {
            kind: o.kind,
            enabled: o.enabled,
            id,
            key,
            attrs,
            phones: (pstart, pend - pstart),
            groups,
            fingerprint: o.fingerprint,
            guard: None,
            enrollment: None,
        });
        Ok(())
    }
    /// Keep the rule's hands off the object pushed last: it is never adopted
    /// and never written; `reason` says why, for people.
    pub fn guard_last(&mut self, guard: Guard, reason: &str) -> Result<(), CapacityError> {
        let s = self.pool.put(reason)?;
        if let Some(o) = self.objects.last_mut() {
            o.guard = Some((guard, s));
        }
        Ok(())
    }
    /// Say where the account pushed last stands with enrollment.
    pub fn enrollment_last(&mut self, e: Enrollment) {
        if let Some(o) = self.objects.last_mut() {
            o.enrollment = Some(e);
        }
    }
    /// Number of observed objects.
    pub fn len(&self) -> usize {
        self.objects.len()
    }
    /// True when there is no observed object.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }
    /// Interned group indexes of an account's memberships.
    pub(crate) fn groups_of(&self, o: &ORec) -> &[u32] {
        self.group_items
            .get(o.groups.0 as usize..(o.groups.0 + o.groups.1) as usize)
            .unwrap_or(&[])
    }
    /// Interned index of a group target id.
    pub(crate) fn group_index(&self, id: &str) -> Option<u32> {
        self.group_index.get(id).copied()
    }
    pub(crate) fn phones_of(&self, o: &ORec) -> &[PRec] {
        self.phones
            .get(o.phones.0 as usize..(o.phones.0 + o.phones.1) as usize)
            .unwrap_or(&[])
    }
}

/// A link between a source object and the target object the rule manages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    /// Kind of both objects.
    pub kind: Kind,
    /// Source id.
    pub source_id: String,
    /// Target id.
    pub target_id: String,
    /// Fingerprint of the desired attributes last applied.
    pub fingerprint: u64,
    /// Whether the target object existed before the rule linked it: set by
    /// adoptions (`Some(true)`) and creates (`Some(false)`); `None` keeps
    /// what the journal had.
    #[serde(default)]
    pub adopted: Option<bool>,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct LRec {
    pub(crate) kind: Kind,
    pub(crate) source: S,
    pub(crate) target: S,
    pub(crate) fingerprint: u64,
    /// The target object existed before the rule linked it.
    pub(crate) adopted: bool,
}

/// The rule's links, from the state store.
#[derive(Clone, Debug, Default)]
pub struct LinkSet {
    pub(crate) pool: Pool,
    pub(crate) links: Vec<LRec>,
}

impl LinkSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }
    /// Add a link.
    pub fn push(
        &mut self,
        kind: Kind,
        source_id: &str,
        target_id: &str,
        fingerprint: u64,
    ) -> Result<(), CapacityError> {
        self.push_origin(kind, source_id, target_id, fingerprint, false)
    }
    /// Add a link, saying whether its target object was adopted (existed
    /// before the rule) rather than created by it.
    pub fn push_origin(
        &mut self,
        kind: Kind,
        source_id: &str,
        target_id: &str,
        fingerprint: u64,
        adopted: bool,
    ) -> Result<(), CapacityError> {
        let source = self.pool.put(source_id)?;
        let target = self.pool.put(target_id)?;
        self.links.push(LRec {
            kind,
            source,
            target,
            fingerprint,
            adopted,
        });
        Ok(())
    }
    /// Number of links.
    pub fn len(&self) -> usize {
        self.links.len()
    }
    /// True when there is no link.
    pub fn is_empty(&self) -> bool {
        self.links.is_empty()
    }
}

/// A journaled create whose outcome is unknown (timeout after send, crash
/// between intent and outcome). The planner turns a create of this object
/// into a look-up by key first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingIntent {
    /// Kind of the object.
    pub kind: Kind,
    /// Its source id.
    pub source_id: String,
    /// The key it was to be created with.
    pub key: String,
}
