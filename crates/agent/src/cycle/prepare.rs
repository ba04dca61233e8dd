//! One preparation for full cycles, fast cycles, `plan` and `explain`: the
//! rule's state from the database, both sides read (every user, or only the
//! ones change notifications named), records built, the plan made. Writes
//! nothing.

use super::journal::engine_kind;
use super::policy::stub_rule;
use super::records::{Foreign, Inputs};
use super::state::{self, StateWrite};
use super::*;
use crate::AgentError;
use crate::config::{Direction, Rule};
use crate::duo;
use crate::pingone;
use crate::run::Changes;
use reconcile_engine::{self as engine, Destructive};
use state_store::{Intent, LinkHead, ObjectKind, Origin, Store};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Linked users that left the scope, read one by one to say why; beyond
/// this many the plan says how many more (a mass exit is blocked by the
/// safety limits anyway).
const LEAVERS_EXPLAINED: usize = 25;

/// Which source users a preparation covers.
#[derive(Clone, Copy)]
pub(crate) enum Selection<'a> {
    /// Every user of the rule: a full cycle, `plan`, `explain`.
    All,
    /// Only what PingOne change notifications named (an outbound rule's fast
    /// cycle): those users' links alone reach the planner, so no other user
    /// can be touched.
    Changes(&'a Changes),
}

/// A preparation, or why only a full cycle can handle the changes.
pub(crate) enum Preparation {
    Ready(Box<Prepared>),
    NeedsFull(String),
}

/// Objects of the other direction's rules, which are never this rule's
/// sources (no echo).
#[derive(Debug, Default)]
pub(crate) struct Echo {
    /// Source-side ids that a rule of the other direction created.
    pub sources: HashSet<String>,
    /// Inbound rules: PingOne user ids an outbound rule provisions or has in
    /// scope (their Duo accounts are never written back to PingOne).
    pub outbound_owned: HashSet<String>,
}

impl Echo {
    /// What an outbound rule's sync adds: the PingOne users it scopes and
    /// links, and the Duo users it links (created ones do not exist yet).
    pub(crate) fn note_outbound(&mut self, p: &Prepared) {
        self.outbound_owned.extend(p.scope_ids.iter().cloned());
        for op in &p.plan.ops {
            if let (Some(src), Some(engine::TargetRef::Existing(t))) = (&op.source_id, &op.target)
                && op.kind.is_account()
            {
                self.outbound_owned.insert(src.clone());
                self.sources.insert(t.clone());
            }
        }
    }
}

/// What the state database holds for a rule before it is planned.
#[derive(Default)]
pub(crate) struct RuleState {
    pub links: Vec<LinkHead>,
    pub pending: Vec<Intent>,
    pub echo: Echo,
    pub foreign: Foreign,
    /// What the rule's scope and push names resolved to at its last full cycle.
    pub resolved_before: BTreeMap<String, String>,
    /// Memberships it pushed at its last full cycle.
    pub memberships: u64,
    /// Enrollment emails journaled, by lower-case username.
    pub enroll_sent: outbound::EnrollSent,
}

impl RuleState {
    fn read(
        s: &Store,
        me: &str,
        direction: Direction,
        rules: &[(String, Direction)],
    ) -> state_store::Result<RuleState> {
        let links = s.link_heads(me)?;
        let mut echo = Echo::default();
        for (other, _) in rules.iter().filter(|(n, d)| *d != direction && n != me) {
            for l in s.link_heads(other)? {
                echo.sources.insert(l.target_id);
                if direction == Direction::Inbound {
                    echo.outbound_owned.insert(l.source_id);
                }
            }
            if direction == Direction::Inbound {
                echo.outbound_owned.extend(state::scope(s, other)?);
            }
        }
        Ok(RuleState {
            pending: s.pending_intents(me)?,
            foreign: Foreign::read(s, rules, me, direction, &links)?,
            resolved_before: state::resolved(s, me)?,
            memberships: state::memberships(s, me)?,
            enroll_sent: s
                .enroll_sent(me)?
                .into_iter()
                .map(|e| (e.key.to_lowercase(), (e.first / 1000, e.count)))
                .collect(),
            echo,
            links,
        })
    }
}

/// What reading both sides produced, before the links and the plan.
pub(crate) struct Reading {
    pub inputs: Inputs,
    pub target: TargetSide,
    pub in_scope_accounts: u64,
    pub in_scope_groups: u64,
    /// Outbound full cycles: the PingOne user ids in scope.
    pub scope_ids: Vec<String>,
    pub pingone_reads: u64,
    pub writes: Vec<StateWrite>,
    /// `Some`: only these source users were read (a fast cycle).
    pub only: Option<HashSet<String>>,
    /// Source user id → whether it is in scope and why (the users read one by one).
    pub verdicts: BTreeMap<String, (String, mapping::scope::Verdict)>,
}

impl Agent {
    /// Read, map and plan every user of one rule. Writes nothing.
    pub async fn prepare(
        &self,
        rule: &RuleRef,
        allow_destructive: bool,
    ) -> Result<Prepared, AgentError> {
        self.prepare_after(rule, allow_destructive, &Echo::default())
            .await
    }

    /// [`Agent::prepare`] as if the rules planned before it had run: `before`
    /// holds what their sync would add to the no-echo sets, so `plan` shows
    /// what `sync` does (which runs them in this order).
    pub(crate) async fn prepare_after(
        &self,
        rule: &RuleRef,
        allow_destructive: bool,
        before: &Echo,
    ) -> Result<Prepared, AgentError> {
        let mut st = self.rule_state(rule).await?;
        if rule.direction() == Direction::Inbound {
            st.echo.sources.extend(before.sources.iter().cloned());
            st.echo
                .outbound_owned
                .extend(before.outbound_owned.iter().cloned());
        }
        match self
            .prepare_from(rule, st, Selection::All, allow_destructive)
            .await?
        {
            Preparation::Ready(p) => Ok(*p),
            // A full selection always reads everything.
            Preparation::NeedsFull(why) => Err(AgentError::Other(why)),
        }
    }

    /// The rule's state from the database (empty without one).
    async fn rule_state(&self, rule: &RuleRef) -> Result<RuleState, AgentError> {
        let Some(db) = &self.db else {
            return Ok(RuleState::default());
        };
        let (me, direction, rules) = (
            rule.name().to_owned(),
            rule.direction(),
            self.rule_directions(),
        );
        db.call(move |s| RuleState::read(s, &me, direction, &rules))
            .await
    }

    /// Read, map and plan one rule for a selection of its users. Writes nothing.
    pub(crate) async fn prepare_selected(
        &self,
        rule: &RuleRef,
        selection: Selection<'_>,
        allow_destructive: bool,
    ) -> Result<Preparation, AgentError> {
        let st = self.rule_state(rule).await?;
        self.prepare_from(rule, st, selection, allow_destructive)
            .await
    }

    async fn prepare_from(
        &self,
        rule: &RuleRef,
        st: RuleState,
        selection: Selection<'_>,
        allow_destructive: bool,
    ) -> Result<Preparation, AgentError> {
        let manages_admins = st.links.iter().any(|l| l.kind == ObjectKind::Admin)
            || matches!(rule, RuleRef::Configured(r) if r.mapping.spec().0.contains_key("userType"));
        let reading = match (rule, selection) {
            (RuleRef::Configured(r), Selection::All) if r.direction() == Direction::Outbound => {
                self.read_outbound(r, &st, manages_admins).await?
            }
            (RuleRef::Configured(r), Selection::Changes(c))
                if r.direction() == Direction::Outbound =>
            {
                match super::changed::read(self, r, &st, c, manages_admins).await? {
                    Ok(reading) => reading,
                    Err(why) => return Ok(Preparation::NeedsFull(why)),
                }
            }
            (RuleRef::Configured(r), Selection::Changes(c)) => {
                self.read_inbound_selected(r, &st, c).await?
            }
            (RuleRef::Configured(r), _) => self.read_inbound(r, &st).await?,
            (RuleRef::Deleted { name, memo }, _) => {
                self.read_removed(&stub_rule(name, memo), &st, manages_admins)
                    .await?
            }
        };
        let prepared = plan(rule, st, reading, allow_destructive)?;
        Ok(Preparation::Ready(Box::new(prepared)))
    }

    async fn read_outbound(
        &self,
        r: &Rule,
        st: &RuleState,
        manages_admins: bool,
    ) -> Result<Reading, AgentError> {
        let (p1s, duos) = tokio::try_join!(
            pingone::read_pingone(&self.p1, r, &st.resolved_before),
            duo::read_duo(&self.duo, manages_admins)
        )?;
        let inputs = outbound::build(
            r,
            &p1s,
            &duos,
            &st.echo.sources,
            &st.enroll_sent,
            manages_admins,
            &st.foreign,
        )?;
        let scope_ids: Vec<String> = p1s
            .users
            .iter()
            .filter(|(id, _, _)| !st.echo.sources.contains(id))
            .map(|(id, _, _)| id.clone())
            .collect();
        let mut writes = Vec::new();
        if p1s.resolved != st.resolved_before {
            writes.push(StateWrite::resolved(&r.name, &p1s.resolved));
        }
        let memberships: usize = p1s.members.values().map(Vec::len).sum();
        writes.push(StateWrite::memberships(&r.name, memberships as u64));
        let (verdicts, calls) = self.leavers(st, &p1s).await?;
        Ok(Reading {
            inputs,
            target: TargetSide::Duo,
            in_scope_accounts: scope_ids.len() as u64,
            in_scope_groups: p1s.groups.len() as u64,
            scope_ids,
            pingone_reads: p1s.calls + calls,
            writes,
            only: None,
            verdicts,
        })
    }

    /// Why linked users are no longer in scope (the condition that excludes
    /// them, or their deletion), for `plan` and the cycle's report: each read
    /// by itself, the first [`LEAVERS_EXPLAINED`] only.
    async fn leavers(
        &self,
        st: &RuleState,
        p1s: &pingone::PingOneSnapshot,
    ) -> Result<(BTreeMap<String, (String, mapping::scope::Verdict)>, u64), AgentError> {
        let mut out = BTreeMap::new();
        let mut calls = 0;
        let Some((scope, pops)) = &p1s.scope else {
            return Ok((out, calls));
        };
        let read: HashSet<&str> = p1s.users.iter().map(|(id, _, _)| id.as_str()).collect();
        let gone = st.links.iter().filter(|l| {
            matches!(l.kind, ObjectKind::User | ObjectKind::Admin)
                && !read.contains(l.source_id.as_str())
                && !st.echo.sources.contains(&l.source_id)
        });
        for l in gone.take(LEAVERS_EXPLAINED) {
            calls += 1;
            let v = match self.p1.get_user(&l.source_id).await {
                Ok(u) => {
                    let (_, v, c) = pingone::scope::judge(&self.p1, scope, pops, &u, None).await?;
                    calls += c;
                    (u.username, v)
                }
                Err(e) if e.is_not_found() => (
                    l.source_id.clone(),
                    mapping::scope::Verdict {
                        included: false,
                        because: "deleted in PingOne".into(),
                    },
                ),
                Err(e) => {
                    return Err(AgentError::pingone(
                        format!("reading PingOne user {}", l.source_id),
                        e,
                    ));
                }
            };
            out.insert(l.source_id.clone(), v);
        }
        Ok((out, calls))
    }

    async fn read_inbound(&self, r: &Rule, st: &RuleState) -> Result<Reading, AgentError> {
        let (duos, p1u) = tokio::try_join!(
            duo::read_duo(&self.duo, false),
            pingone::read_inbound(&self.p1, r)
        )?;
        let inputs = inbound::build(
            r,
            &duos,
            &p1u,
            &st.echo.sources,
            &st.echo.outbound_owned,
            &st.foreign,
        )?;
        let accounts = duos
            .users
            .iter()
            .filter(|u| !st.echo.sources.contains(&u.user_id))
            .filter(|u| inbound::scope_verdict(r, u).is_none_or(|v| v.included))
            .count() as u64;
        Ok(Reading {
            inputs,
            target: TargetSide::PingOne {
                population_id: p1u.population_id,
            },
            in_scope_accounts: accounts,
            in_scope_groups: 0,
            scope_ids: Vec::new(),
            pingone_reads: 0,
            writes: Vec::new(),
            only: None,
            verdicts: BTreeMap::new(),
        })
    }

    /// An inbound rule for the named Duo users only (`sync --user`): each
    /// read by id, with the PingOne user it is linked to and its namesake.
    async fn read_inbound_selected(
        &self,
        r: &Rule,
        st: &RuleState,
        changes: &Changes,
    ) -> Result<Reading, AgentError> {
        let mut duos = duo::DuoSnapshot::default();
        for id in &changes.users {
            match self.duo.get_user(id).await {
                Ok(u) => duos.users.push(u),
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(AgentError::duo(format!("reading Duo user {id}"), e)),
            }
        }
        let population_id = pingone::target_population(&self.p1, r).await?;
        let mut users: Vec<pingone_client::User> = Vec::new();
        let mut calls = 1;
        let linked = st
            .links
            .iter()
            .filter(|l| changes.users.contains(&l.source_id));
        for l in linked {
            calls += 1;
            match self.p1.get_user(&l.target_id).await {
                Ok(u) => users.push(u),
                Err(e) if e.is_not_found() => {}
                Err(e) => {
                    return Err(AgentError::pingone(
                        format!("reading PingOne user {}", l.target_id),
                        e,
                    ));
                }
            }
        }
        for u in &duos.users {
            calls += 1;
            for p in pingone::users_named(&self.p1, &u.username).await? {
                if !users.iter().any(|x| x.id == p.id) {
                    users.push(p);
                }
            }
        }
        let verdicts = duos
            .users
            .iter()
            .map(|u| {
                let v = inbound::scope_verdict(r, u).unwrap_or(mapping::scope::Verdict {
                    included: true,
                    because: "the rule has no scope.filter (every Duo user not provisioned by an outbound rule)".into(),
                });
                (u.user_id.clone(), (u.username.clone(), v))
            })
            .collect();
        calls += 1;
        let p1u = pingone::PingOneUsers {
            users,
            population_id,
            schema: pingone::user_schema(&self.p1).await,
        };
        let inputs = inbound::build(
            r,
            &duos,
            &p1u,
            &st.echo.sources,
            &st.echo.outbound_owned,
            &st.foreign,
        )?;
        Ok(Reading {
            inputs,
            target: TargetSide::PingOne {
                population_id: p1u.population_id,
            },
            in_scope_accounts: duos.users.len() as u64,
            in_scope_groups: 0,
            scope_ids: Vec::new(),
            pingone_reads: calls,
            writes: Vec::new(),
            only: Some(changes.users.clone()),
            verdicts,
        })
    }

    /// A rule only the database remembers: nothing is desired; only its
    /// target side is read.
    async fn read_removed(
        &self,
        stub: &Rule,
        st: &RuleState,
        manages_admins: bool,
    ) -> Result<Reading, AgentError> {
        let (inputs, target) = match stub.direction() {
            Direction::Outbound => {
                let duos = duo::read_duo(&self.duo, manages_admins).await?;
                let inputs = outbound::build(
                    stub,
                    &Default::default(),
                    &duos,
                    &st.echo.sources,
                    &st.enroll_sent,
                    manages_admins,
                    &st.foreign,
                )?;
                (inputs, TargetSide::Duo)
            }
            Direction::Inbound => {
                let p1u = pingone::PingOneUsers {
                    users: pingone::list_users(&self.p1).await?,
                    population_id: String::new(),
                    schema: None,
                };
                let inputs = inbound::build(
                    stub,
                    &Default::default(),
                    &p1u,
                    &st.echo.sources,
                    &HashSet::new(),
                    &st.foreign,
                )?;
                let target = TargetSide::PingOne {
                    population_id: String::new(),
                };
                (inputs, target)
            }
        };
        Ok(Reading {
            inputs,
            target,
            in_scope_accounts: 0,
            in_scope_groups: 0,
            scope_ids: Vec::new(),
            pingone_reads: 0,
            writes: Vec::new(),
            only: None,
            verdicts: BTreeMap::new(),
        })
    }
}

/// Links, pending creates and the policy joined to what was read; the plan.
fn plan(
    rule: &RuleRef,
    st: RuleState,
    reading: Reading,
    allow_destructive: bool,
) -> Result<Prepared, AgentError> {
    let Reading {
        mut inputs,
        target,
        in_scope_accounts,
        in_scope_groups,
        scope_ids,
        pingone_reads,
        writes,
        only,
        verdicts,
    } = reading;
    let selected = |kind: ObjectKind, source: &str| {
        only.as_ref()
            .is_none_or(|ids| kind == ObjectKind::Group || ids.contains(source))
    };
    let mut origins = HashMap::new();
    for l in st.links.iter().filter(|l| selected(l.kind, &l.source_id)) {
        let Some(k) = engine_kind(l.kind) else {
            continue;
        };
        inputs
            .links
            .push_origin(
                k,
                &l.source_id,
                &l.target_id,
                l.fingerprint,
                l.origin == Origin::Adopted,
            )
            .map_err(|_| AgentError::Other("too many links".into()))?;
        origins.insert((k, l.source_id.clone()), l.origin);
        inputs
            .names
            .entry(l.source_id.clone())
            .or_insert_with(|| l.source_id.clone());
    }
    for p in st.pending {
        if p.op == state_store::Op::Create
            && selected(p.kind, &p.source_id)
            && let Some(kind) = engine_kind(p.kind)
        {
            inputs.pending.push(engine::PendingIntent {
                kind,
                source_id: p.source_id,
                key: p.key,
            });
        }
    }
    let mut policy = policy(rule, allow_destructive);
    if only.is_some() {
        // Percentage limits are of what the whole rule manages, not of this handful.
        let count = |k: ObjectKind| st.links.iter().filter(|l| l.kind == k).count() as u64;
        let (users, admins, groups) = (
            count(ObjectKind::User),
            count(ObjectKind::Admin),
            count(ObjectKind::Group),
        );
        policy.managed_floor = [
            (Destructive::UserDelete, users),
            (Destructive::UserDisable, users),
            (Destructive::AdminDelete, admins),
            (Destructive::AdminDisable, admins),
            (Destructive::GroupDelete, groups),
            (Destructive::MembershipRemoval, st.memberships),
        ]
        .into_iter()
        .collect();
    }
    let name = rule.name();
    let mut plan = engine::plan(&engine::Inputs {
        rule: name,
        rule_deleted: matches!(rule, RuleRef::Deleted { .. }),
        schema: &inputs.schema,
        desired: &inputs.desired,
        observed: &inputs.observed,
        links: &inputs.links,
        pending: &inputs.pending,
        policy: &policy,
    });
    records::name_key_clashes(&mut plan, &inputs.names);
    for op in &plan.ops {
        if let Some(src) = &op.source_id {
            match op.action {
                engine::Action::Create { .. } => {
                    origins.insert((op.kind, src.clone()), Origin::Source);
                }
                engine::Action::Adopt { .. } => {
                    origins.insert((op.kind, src.clone()), Origin::Adopted);
                }
                _ => {}
            }
        }
    }
    Ok(Prepared {
        rule: rule.clone(),
        plan,
        inputs,
        in_scope_accounts,
        in_scope_groups,
        scope_ids,
        partial: only.is_some(),
        verdicts,
        pingone_reads,
        target,
        origins,
        writes,
    })
}
