//! The pure planner: desired, observed, links, pending intents and a policy
//! in; a deterministic `Plan` out. No IO, no async, no panics on data.
//!
//! [`plan`] runs the steps `docs/engine.md` describes, in order
//! (`Planner::run`). Each step lives in a sibling file: `planner_index.rs`
//! (links to observed objects, failures), `planner_matching.rs` (pair linked
//! objects, match or create unlinked ones), `planner_accounts.rs` (diff,
//! phones, deprovision), `planner_groups.rs` (memberships, teardown),
//! `planner_finish.rs` (order, ids and deps, summary, limits and guards).
//! The files are flat, not a folder, because `tests/tidy.rs` reads only the
//! files directly in `src/`.

use std::collections::BTreeSet;

use crate::fx::FxMap;
use crate::model::{DesiredSet, Kind, LinkSet, ObservedSet, PendingIntent, S, Schema};
use crate::plan::{Action, Op, Plan, Problem, ProblemCode, TargetRef};
use crate::policy::{Destructive, KeyCompare, Policy};

mod accounts;
mod enroll;
mod finish;
mod groups;
mod index;
mod matching;

/// Everything the planner looks at, for one rule.
#[derive(Clone, Copy, Debug)]
pub struct Inputs<'a> {
    /// Rule name (shown in the plan and hashed).
    pub rule: &'a str,
    /// The rule was deleted: nothing is desired any more.
    pub rule_deleted: bool,
    /// Managed attributes and their policies.
    pub schema: &'a Schema,
    /// What the source says should exist.
    pub desired: &'a DesiredSet,
    /// What the target has.
    pub observed: &'a ObservedSet,
    /// The rule's links.
    pub links: &'a LinkSet,
    /// Creates whose outcome is unknown (from the journal).
    pub pending: &'a [PendingIntent],
    /// The rule's policy.
    pub policy: &'a Policy,
}

/// "No index" in the dense `u32` index vectors (half the size of `Option<u32>`).
const NONE: u32 = u32::MAX;

/// When an op runs: ops sort by phase first, in the order of the "Op order"
/// table of `docs/engine.md`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    Adopt,
    /// Frees keys before creates.
    Rename,
    CreateGroup,
    CreateAccount,
    Update,
    Enable,
    AddPhone,
    AddMember,
    /// Once the account exists with its phone and groups.
    Enroll,
    /// Before any group delete.
    RemoveMember,
    RemovePhone,
    /// Before any delete.
    Disable,
    DeleteAccount,
    DeleteGroup,
    /// Journal only, last.
    RelinkUnlink,
}

/// The object an op changes. Ops on one object each depend on the previous
/// one, so one change per object is in flight. No kind: each index
/// names objects of one kind only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum ObjectRef {
    /// An observed target object, by observed index.
    Observed(u32),
    /// The object a create of this plan makes, by desired index.
    New(u32),
    /// A link with no target object to write (gone or guarded), by link index.
    Link(u32),
}

/// Where a desired object is on the target after matching.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Resolution {
    Unresolved,
    /// An observed object, by observed index.
    Existing(u32),
    /// Created by the draft with this index.
    Created(u32),
}

/// Who an op is about, as the plan shows it; [`Subject::op`] adds what it does.
#[derive(Clone, Copy)]
struct Subject<'s> {
    kind: Kind,
    name: &'s str,
    source_id: Option<&'s str>,
    /// `None` only for a create.
    target: Option<TargetAt<'s>>,
    fingerprint: Option<u64>,
}

/// A borrowed [`TargetRef`]: most paired objects get no op, so the id is
/// copied only when an op is made.
#[derive(Clone, Copy)]
enum TargetAt<'s> {
    Existing(&'s str),
    /// Made by the draft with this index.
    Created(u32),
}

impl Subject<'_> {
    fn op(&self, action: Action) -> Op {
        Op {
            id: 0,
            kind: self.kind,
            name: self.name.to_owned(),
            source_id: self.source_id.map(str::to_owned),
            target: self.target.map(|t| match t {
                TargetAt::Existing(id) => TargetRef::Existing(id.to_owned()),
                TargetAt::Created(c) => TargetRef::Created(c),
            }),
            fingerprint: self.fingerprint,
            action,
            deps: Vec::new(),
        }
    }
}

/// An op before ordering: its phase, object and explicit deps. Built with
/// `Draft::new(phase, op)` and the optional `.on`, `.after`, `.detail`.
struct Draft {
    op: Op,
    phase: Phase,
    /// `None`: ordered by explicit deps only (membership ops).
    object: Option<ObjectRef>,
    /// Draft indices that must run first.
    deps: Vec<u32>,
    /// Last sort key: tells apart ops of one phase on one object (phone, member).
    detail: String,
}

impl Draft {
    fn new(phase: Phase, op: Op) -> Self {
        Draft {
            op,
            phase,
            object: None,
            deps: Vec::new(),
            detail: String::new(),
        }
    }
    fn on(mut self, object: ObjectRef) -> Self {
        self.object = Some(object);
        self
    }
    fn after(mut self, deps: Vec<u32>) -> Self {
        self.deps = deps;
        self
    }
    fn detail(mut self, detail: String) -> Self {
        self.detail = detail;
        self
    }
}

/// A count per destructive class (limits need the ops and the managed objects).
#[derive(Clone, Copy, Debug, Default)]
struct PerClass([u64; Destructive::ALL.len()]);

impl PerClass {
    fn slot(class: Destructive) -> usize {
        Destructive::ALL
            .iter()
            .position(|x| *x == class)
            .unwrap_or(0)
    }
    fn add(&mut self, class: Destructive, n: u64) {
        self.0[Self::slot(class)] += n;
    }
    fn get(&self, class: Destructive) -> u64 {
        self.0[Self::slot(class)]
    }
}

/// The disable class of an account kind.
fn disable_class(kind: Kind) -> Destructive {
    if kind == Kind::Admin {
        Destructive::AdminDisable
    } else {
        Destructive::UserDisable
    }
}

/// True when two keys name the same object on the target.
pub fn key_eq(a: &str, b: &str, mode: KeyCompare) -> bool {
    match mode {
        KeyCompare::Exact => a == b,
        KeyCompare::CaseInsensitive => {
            if a.is_ascii() && b.is_ascii() {
                a.eq_ignore_ascii_case(b)
            } else {
                a.chars()
                    .flat_map(char::to_lowercase)
                    .eq(b.chars().flat_map(char::to_lowercase))
            }
        }
    }
}

/// Plan one rule. Pure and deterministic: the same inputs give the same
/// plan, byte for byte. Never panics on data; bad records become problems.
pub fn plan(inputs: &Inputs<'_>) -> Plan {
    Planner::new(inputs).run()
}

/// Phone ids by number and how many accounts hold each, built on first use.
struct PhoneIndex<'a> {
    /// The smallest phone id with each number.
    id_by_number: FxMap<&'a str, &'a str>,
    /// How many accounts hold each phone id.
    holders: FxMap<&'a str, u32>,
    /// Numbers some desired account wants (never deleted).
    wanted: FxMap<&'a str, ()>,
}

/// The planner's state while the steps run.
struct Planner<'a> {
    inputs: Inputs<'a>,
    desired: &'a DesiredSet,
    observed: &'a ObservedSet,
    links: &'a LinkSet,
    drafts: Vec<Draft>,
    problems: Vec<Problem>,
    /// Link index -> the observed object it names (NONE: missing).
    link_target: Vec<u32>,
    /// Observed index -> link index owning it (NONE: unowned).
    owner: Vec<u32>,
    /// Observed objects adopted by a desired object this plan.
    claimed: Vec<bool>,
    /// Links whose source object is still desired (or that are duplicates):
    /// the others are deprovisioned.
    link_kept: Vec<bool>,
    /// Destructive ops planned.
    destructive: PerClass,
    /// Objects the rule manages, for percentage limits.
    managed: PerClass,
    phone_index: Option<PhoneIndex<'a>>,
    /// Observed objects renamed away from their key -> the rename draft.
    renaming: FxMap<u32, u32>,
    /// Keys claimed by creates and renames of this plan (hash -> desired idx).
    new_keys: FxMap<u64, Vec<u32>>,
    /// Accounts linked to an existing target object (for the empty-source guard).
    linked_accounts: u64,
    /// Source objects that failed (mapping, validation): their links are held.
    failed: BTreeSet<(Kind, &'a str)>,
    /// Linked objects held because their source failed.
    held: u64,
    /// Accounts deprovisioned by disabling: they leave the pushed groups.
    leaving: Vec<u32>,
    /// Notes for the reviewer (`Plan::notes`).
    notes: Vec<String>,
}

impl<'a> Planner<'a> {
    fn new(inputs: &Inputs<'a>) -> Self {
        let (observed, links) = (inputs.observed, inputs.links);
        Planner {
            inputs: *inputs,
            desired: inputs.desired,
            observed,
            links,
            drafts: Vec::new(),
            problems: Vec::new(),
            link_target: vec![NONE; links.links.len()],
            owner: vec![NONE; observed.objects.len()],
            claimed: vec![false; observed.objects.len()],
            link_kept: vec![false; links.links.len()],
            destructive: PerClass::default(),
            managed: PerClass::default(),
            phone_index: None,
            renaming: FxMap::default(),
            new_keys: FxMap::default(),
            linked_accounts: 0,
            failed: BTreeSet::new(),
            held: 0,
            leaving: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// The steps of `docs/engine.md`, in order; the order matters (a rename
    /// must be planned before a create that waits for its key, a group
    /// delete before the teardown that feeds it).
    fn run(mut self) -> Plan {
        let rule_deleted = self.inputs.rule_deleted;
        self.index_links();
        self.report_failures();
        let desired_order = self.desired_order();
        let mut resolution = vec![Resolution::Unresolved; self.desired.objects.len()];
        if !rule_deleted {
            let unlinked = self.pair_linked(&desired_order, &mut resolution);
            self.match_or_create_unlinked(&unlinked, &mut resolution);
        }
        let group_deletes = self.deprovision_departed();
        if self.policy().group_push && !rule_deleted {
            self.memberships(&resolution, &desired_order);
            self.leavers_memberships(&resolution);
        }
        if !rule_deleted {
            self.enrollments(&resolution);
        }
        if !group_deletes.is_empty() {
            self.group_teardown(&group_deletes);
        }
        self.count_managed();
        self.finish()
    }

    fn policy(&self) -> &'a Policy {
        self.inputs.policy
    }
    fn desired_str(&self, s: S) -> &'a str {
        self.desired.pool.get(s)
    }
    fn observed_str(&self, s: S) -> &'a str {
        self.observed.pool.get(s)
    }
    fn link_str(&self, s: S) -> &'a str {
        self.links.pool.get(s)
    }
    /// Groups are the rule's only when it pushes them.
    fn managed_kind(&self, k: Kind) -> bool {
        k.is_account() || self.policy().group_push
    }

    /// Add an op to the plan; returns its draft index.
    fn push(&mut self, draft: Draft) -> u32 {
        let id = u32::try_from(self.drafts.len()).unwrap_or(NONE);
        self.drafts.push(draft);
        id
    }

    fn problem(&mut self, kind: Kind, source_id: &str, name: &str, code: ProblemCode, msg: String) {
        self.problems.push(Problem {
            kind,
            source_id: source_id.to_owned(),
            name: name.to_owned(),
            code,
            message: msg,
            attribute: None,
            other_source: None,
        });
    }

    /// Structured detail for the problem just reported.
    fn last_problem(&mut self) -> Option<&mut Problem> {
        self.problems.last_mut()
    }
}
