//! Planner's last steps: managed counts, then finish: order the ops, give
//! them ids and deps, summarize, and apply the limits and guards.

use super::{Draft, NONE, ObjectRef, Phase, Planner};
use crate::fx::FxMap;
use crate::model::{Failure, Kind};
use crate::plan::{
    Action, Block, CommonFailure, Op, PLAN_SCHEMA_VERSION, Plan, Summary, TargetRef,
};
use crate::policy::Destructive;

impl Planner<'_> {
    /// Managed counts: the objects the rule owns, per class, for percentage limits.
    pub(super) fn count_managed(&mut self) {
        for (oi, r) in self.observed.objects.iter().enumerate() {
            if self.owner[oi] != NONE || self.claimed[oi] {
                let classes: &[Destructive] = match r.kind {
                    Kind::User => &[Destructive::UserDelete, Destructive::UserDisable],
                    Kind::Admin => &[Destructive::AdminDelete, Destructive::AdminDisable],
                    Kind::Group => &[Destructive::GroupDelete],
                };
                for c in classes {
                    self.managed.add(*c, 1);
                }
            }
        }
    }

    /// Finish: order, ids and deps, summary, limits and guards, hash.
    pub(super) fn finish(mut self) -> Plan {
        let order = self.op_order();
        let ops = number_ops(std::mem::take(&mut self.drafts), &order);
        let mut summary = summarize(&ops);
        self.problems.sort();
        self.problems.dedup();
        summary.problems = self.problems.len() as u64;
        summary.held = self.held;
        let blocked = self.blocks();
        let mut plan = Plan {
            version: PLAN_SCHEMA_VERSION,
            rule: self.inputs.rule.to_owned(),
            hash: String::new(),
            blocked,
            summary,
            ops,
            problems: self.problems,
            common_failures: common_failures(&self.desired.failures),
            notes: std::mem::take(&mut self.notes),
        };
        plan.hash = plan.compute_hash();
        plan
    }

    /// Draft indices in plan order: phase, kind, name, source id, target,
    /// detail; full ties (odd data only) by the op's content, so the order
    /// never depends on the input order.
    fn op_order(&self) -> Vec<u32> {
        let drafts = &self.drafts;
        let mut order: Vec<u32> = (0..drafts.len() as u32).collect();
        order.sort_by(|a, b| {
            let (x, y) = (&drafts[*a as usize], &drafts[*b as usize]);
            x.sort_key()
                .cmp(&y.sort_key())
                .then_with(|| (&x.op.action, &x.op.target).cmp(&(&y.op.action, &y.op.target)))
        });
        order
    }

    /// The safety blocks: the per-class limits, the shrink guard and the
    /// empty-source guard (none with `allow_destructive`).
    fn blocks(&self) -> Vec<Block> {
        let policy = self.policy();
        let desired = self.desired;
        let mut blocked = Vec::new();
        if policy.allow_destructive {
            return blocked;
        }
        for class in Destructive::ALL {
            let floor = policy.managed_floor.get(&class).copied().unwrap_or(0);
            let (count, managed) = (
                self.destructive.get(class),
                self.managed.get(class).max(floor),
            );
            if count == 0 {
                continue;
            }
            let why = policy.limits.get(class).exceeded(count, managed);
            if !why.is_empty() {
                blocked.push(Block {
                    class: Some(class),
                    count,
                    managed,
                    reason: format!(
                        "{count} {} exceed the limit ({}); review the plan and run again with allow_destructive to proceed",
                        class.describe(),
                        why.join(", ")
                    ),
                });
            }
        }
        let accounts_out: u64 = [
            Destructive::UserDelete,
            Destructive::UserDisable,
            Destructive::AdminDelete,
            Destructive::AdminDisable,
        ]
        .iter()
        .map(|c| self.destructive.get(*c))
        .sum();
        let source_accounts = desired
            .objects
            .iter()
            .filter(|r| r.kind.is_account())
            .count() as u64
            + desired
                .failures
                .iter()
                .filter(|f| f.kind.is_account())
                .count() as u64;
        let linked = self.linked_accounts;
        let rule_deleted = self.inputs.rule_deleted;
        if let Some(pct) = policy.shrink_guard_percent
            && accounts_out > 0
            && policy.managed_floor.is_empty()
            && !rule_deleted
            && source_accounts > 0
            && linked >= policy.empty_source_guard.unwrap_or(10).max(1)
            && u128::from(source_accounts) * 100 < u128::from(pct) * u128::from(linked)
        {
            blocked.push(Block {
                class: None,
                count: accounts_out,
                managed: linked,
                reason: format!(
                    "the source holds {source_accounts} accounts while {linked} are linked (under {pct}%), and {accounts_out} would be disabled or deleted; check the source and the rule's scope, or run again with allow_destructive"
                ),
            });
        }
        if let Some(min) = policy.empty_source_guard
            && !rule_deleted
            && desired.objects.iter().all(|r| !r.kind.is_account())
            && desired.failures.is_empty()
            && linked >= min
            && linked > 0
        {
            blocked.push(Block {
                class: None,
                count: linked,
                managed: linked,
                reason: format!(
                    "the source returned no account while {linked} accounts are linked (guard: {min}); check the source and the rule's scope, or run again with allow_destructive"
                ),
            });
        }
        blocked
    }
}

impl Draft {
    /// Plan order before ties: phase, kind, name, source id, target, detail.
    fn sort_key(&self) -> (Phase, Kind, &str, &str, &str, &str) {
        let target = match &self.op.target {
            Some(TargetRef::Existing(s)) => s.as_str(),
            _ => "",
        };
        (
            self.phase,
            self.op.kind,
            self.op.name.as_str(),
            self.op.source_id.as_deref().unwrap_or(""),
            target,
            self.detail.as_str(),
        )
    }
}

/// Ids and deps: number the ops in plan order and turn draft indices into
/// op ids. Refs to created objects are deps too, and each op depends on the
/// previous op of its object (one in-flight change per object).
fn number_ops(drafts: Vec<Draft>, order: &[u32]) -> Vec<Op> {
    let mut new_id = vec![0u32; drafts.len()];
    for (n, &old) in order.iter().enumerate() {
        new_id[old as usize] = n as u32;
    }
    let remap = |r: &mut TargetRef| {
        if let TargetRef::Created(c) = r {
            *c = new_id.get(*c as usize).copied().unwrap_or(*c);
        }
    };
    let mut drafts: Vec<Option<Draft>> = drafts.into_iter().map(Some).collect();
    let mut ops: Vec<Op> = Vec::with_capacity(drafts.len());
    let mut last_op_of: FxMap<ObjectRef, u32> = FxMap::default();
    for (n, &old) in order.iter().enumerate() {
        let Some(mut draft) = drafts[old as usize].take() else {
            continue;
        };
        let mut deps: Vec<u32> = draft.deps.iter().map(|d| new_id[*d as usize]).collect();
        let mut refs: Vec<&mut TargetRef> = Vec::new();
        if let Some(t) = draft.op.target.as_mut() {
            refs.push(t);
        }
        if let Action::AddMember { member, .. } | Action::RemoveMember { member, .. } =
            &mut draft.op.action
        {
            refs.push(member);
        }
        for r in refs {
            remap(r);
            if let TargetRef::Created(c) = r {
                deps.push(*c);
            }
        }
        if let Some(object) = draft.object
            && let Some(prev) = last_op_of.insert(object, n as u32)
        {
            deps.push(prev);
        }
        deps.retain(|&d| (d as usize) < n);
        deps.sort_unstable();
        deps.dedup();
        draft.op.id = n as u32;
        draft.op.deps = deps;
        ops.push(draft.op);
    }
    ops
}

/// The summary's op counts (problems and held are added by the caller).
fn summarize(ops: &[Op]) -> Summary {
    let mut summary = Summary::default();
    for op in ops {
        let c = match op.action {
            Action::Create { .. } => &mut summary.create,
            Action::Adopt { .. } => &mut summary.adopt,
            Action::Rename { .. } => &mut summary.rename,
            Action::Update { .. } => &mut summary.update,
            Action::Enable => &mut summary.enable,
            Action::Disable => &mut summary.disable,
            Action::Delete => &mut summary.delete,
            Action::AddPhone { .. } => &mut summary.add_phone,
            Action::RemovePhone { .. } => &mut summary.remove_phone,
            Action::AddMember { .. } => &mut summary.add_member,
            Action::RemoveMember { .. } => &mut summary.remove_member,
            Action::Relink | Action::Unlink => &mut summary.link,
            Action::Enroll { .. } => &mut summary.enroll,
        };
        *c += 1;
    }
    summary
}

/// Failure causes shared by two or more source objects, most common first.
fn common_failures(failures: &[Failure]) -> Vec<CommonFailure> {
    let mut by: std::collections::BTreeMap<(Kind, &str), u64> = Default::default();
    for f in failures.iter().filter(|f| !f.cause.is_empty()) {
        *by.entry((f.kind, f.cause.as_str())).or_default() += 1;
    }
    let mut out: Vec<CommonFailure> = by
        .into_iter()
        .filter(|(_, n)| *n >= 2)
        .map(|((kind, cause), count)| CommonFailure {
            kind,
            count,
            cause: cause.to_owned(),
        })
        .collect();
    out.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| (a.kind, &a.cause).cmp(&(b.kind, &b.cause)))
    });
    out
}
