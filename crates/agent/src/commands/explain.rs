//! `p1duo explain USER`: why a user is or is not in a rule's scope, its link,
//! last synced values, the changes applied to it, its last error, and what
//! the next cycle would do to it.

use crate::AgentError;
use crate::config::{Config, Direction};
use crate::cycle::{Agent, Preparation, Prepared, RuleRef, Selection};
use crate::metrics::Metrics;
use crate::state::StateDb;
use crate::status::fmt_time;
use reconcile_engine::terminal_safe as safe;
use serde::Serialize;
use state_store::{ObjectKey, ObjectKind};
use std::fmt::Write as _;
use std::sync::Arc;

/// How many of an object's latest applied operations `explain` shows.
const HISTORY: u32 = 10;

/// What `explain` found about one user (`explain --json` prints it as is).
#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    /// The version of this JSON (see `commands::JSON_VERSION`).
    pub version: u32,
    /// The username or id asked about.
    pub query: String,
    pub pingone: Option<PingOneSide>,
    pub duo: Option<DuoSide>,
    pub rules: Vec<RuleExplanation>,
}

/// The PingOne user found.
#[derive(Debug, Clone, Serialize)]
pub struct PingOneSide {
    pub id: String,
    pub username: String,
    pub population_id: Option<String>,
    pub population: Option<String>,
    pub enabled: bool,
}

/// The Duo user found.
#[derive(Debug, Clone, Serialize)]
pub struct DuoSide {
    pub user_id: String,
    pub username: String,
    pub status: Option<String>,
    pub phones: usize,
    pub groups: usize,
}

/// One rule's view of the user.
#[derive(Debug, Clone, Serialize)]
pub struct RuleExplanation {
    pub rule: String,
    pub direction: Direction,
    /// `in_scope`, `not_in_scope`, or `no_source` (no user on the rule's source side).
    pub scope: &'static str,
    /// The condition that decided, or why not in scope (text for people).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope_note: Option<String>,
    /// The rule's records of the user, per kind (user, admin).
    pub objects: Vec<ObjectRecord>,
    /// What the next cycle would do to it.
    pub next: Vec<NextChange>,
    /// Why the next cycle would fail it.
    pub problems: Vec<Problem>,
}

/// The state database's record of the user as one kind of object.
#[derive(Debug, Clone, Serialize)]
pub struct ObjectRecord {
    pub kind: String,
    pub link: Option<LinkRecord>,
    pub history: Vec<Applied>,
    pub status: Option<StatusRecord>,
}

/// A link to the target object.
#[derive(Debug, Clone, Serialize)]
pub struct LinkRecord {
    pub target_id: String,
    pub origin: String,
    pub first_synced: String,
    pub last_synced: String,
    /// The attribute values last synced.
    pub attrs: serde_json::Value,
}

/// A change applied to the object.
#[derive(Debug, Clone, Serialize)]
pub struct Applied {
    pub at: String,
    pub op: String,
    pub run: Option<i64>,
    pub before: serde_json::Value,
    pub after: serde_json::Value,
}

/// The object's last sync status.
#[derive(Debug, Clone, Serialize)]
pub struct StatusRecord {
    pub status: String,
    pub attempts: u32,
    pub last_error: Option<ErrorRecord>,
}

/// An error as recorded.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorRecord {
    pub code: String,
    pub message: String,
}

/// A change the next cycle would make.
#[derive(Debug, Clone, Serialize)]
pub struct NextChange {
    pub action: String,
    pub kind: String,
    pub name: String,
}

/// A problem the next cycle would record.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    pub code: String,
    pub message: String,
}

/// What is known about `user` on both sides and in every rule.
pub async fn explanation(c: &Config, user: &str) -> Result<Explanation, AgentError> {
    let db = StateDb::open_read_only(&c.state_path).await?;
    let agent = Agent::new(Arc::new(c.clone()), db.clone(), Arc::new(Metrics::new()))?;
    // Find the user on both sides, by username or id.
    let p1_users = crate::pingone::list_users(&agent.p1).await?;
    let p1u = p1_users
        .iter()
        .find(|u| u.id == user || u.username.eq_ignore_ascii_case(user));
    let pops = crate::pingone::list_populations(&agent.p1).await?;
    let pop_name = |id: &str| pops.iter().find(|p| p.id == id).map(|p| p.name.clone());
    let duo_users = agent
        .duo
        .list_users()
        .await
        .map_err(|e| AgentError::duo("listing users", e))?;
    let mut duou = duo_users
        .iter()
        .find(|u| u.user_id == user || u.username.eq_ignore_ascii_case(user));
    // The linked counterpart wins over a namesake: found by either side's id
    // or name, the other side is the object the rules link it to.
    let mut p1u = p1u;
    if let Some(db) = &db {
        let (p1_id, duo_id) = (p1u.map(|u| u.id.clone()), duou.map(|u| u.user_id.clone()));
        let (p1_linked, duo_linked) = db
            .call(move |st| counterparts(st, p1_id.as_deref(), duo_id.as_deref()))
            .await?;
        if let Some(id) = duo_linked
            && let Some(u) = duo_users.iter().find(|u| u.user_id == id)
        {
            duou = Some(u);
        }
        if let Some(id) = p1_linked
            && let Some(u) = p1_users.iter().find(|u| u.id == id)
        {
            p1u = Some(u);
        }
    }
    if p1u.is_none() && duou.is_none() {
        return Err(AgentError::Usage(format!(
            "no PingOne or Duo user has the username or id {user:?}; check the spelling (usernames compare ignoring case)"
        )));
    }
    let mut e = Explanation {
        version: super::JSON_VERSION,
        query: user.to_owned(),
        pingone: p1u.map(|u| PingOneSide {
            id: u.id.clone(),
            username: u.username.clone(),
            population_id: u.population_id().map(str::to_owned),
            population: u.population_id().and_then(pop_name),
            enabled: u.enabled.unwrap_or(true),
        }),
        duo: duou.map(|u| DuoSide {
            user_id: u.user_id.clone(),
            username: u.username.clone(),
            status: u.status.as_ref().map(|st| st.as_str().to_owned()),
            phones: u.phones.len(),
            groups: u.groups.len(),
        }),
        rules: Vec::new(),
    };
    for r in agent.rules(None).await? {
        let source_id = match r.direction() {
            Direction::Outbound => p1u.map(|u| u.id.clone()),
            Direction::Inbound => duou.map(|u| u.user_id.clone()),
        };
        let mut rx = RuleExplanation {
            rule: r.name().to_owned(),
            direction: r.direction(),
            scope: "no_source",
            scope_note: None,
            objects: Vec::new(),
            next: Vec::new(),
            problems: Vec::new(),
        };
        let Some(src) = source_id else {
            e.rules.push(rx);
            continue;
        };
        let p = plan_for(&agent, &r, &src).await?;
        let in_scope = p.inputs.names.contains_key(&src)
            && p.inputs.attrs_json.keys().any(|(_, id)| *id == src)
            || p.plan.problems.iter().any(|pr| pr.source_id == src);
        // The condition that decided, when the user was judged by itself.
        let verdict = p
            .verdicts
            .get(&src)
            .map(|(_, v)| v.clone())
            .or_else(|| match &r {
                RuleRef::Configured(rc) if rc.direction() == Direction::Inbound => {
                    duou.and_then(|u| crate::cycle::inbound::scope_verdict(rc, u))
                }
                _ => None,
            });
        if let Some(v) = verdict {
            rx.scope = if v.included {
                "in_scope"
            } else {
                "not_in_scope"
            };
            rx.scope_note = Some(v.because.clone());
        } else if in_scope {
            rx.scope = "in_scope";
        } else {
            rx.scope = "not_in_scope";
            if let RuleRef::Configured(rc) = &r {
                rx.scope_note = Some(format!(
                    "the rule takes users of populations {:?} and groups {:?}{}",
                    rc.outbound().scope_populations,
                    rc.outbound().scope_groups,
                    if rc.direction() == Direction::Inbound {
                        " (inbound: Duo users not provisioned by an outbound rule)"
                    } else {
                        ""
                    }
                ));
            }
        }
        if let Some(db) = &db {
            for kind in [ObjectKind::User, ObjectKind::Admin] {
                let key = ObjectKey::new(r.name(), kind, src.clone());
                let k2 = key.clone();
                let k3 = key.clone();
                let (link, st, history) = db
                    .call(move |st| {
                        Ok((
                            st.get_link(&key)?,
                            st.get_status(&k2)?,
                            st.audit_for_object(&k3, HISTORY)?,
                        ))
                    })
                    .await?;
                let record = ObjectRecord {
                    kind: kind.to_string(),
                    link: link.map(|l| LinkRecord {
                        target_id: l.target_id,
                        origin: l.origin.to_string(),
                        first_synced: fmt_time(l.first_synced),
                        last_synced: fmt_time(l.last_synced),
                        attrs: l.attrs,
                    }),
                    history: history
                        .into_iter()
                        .map(|a| Applied {
                            at: fmt_time(a.at),
                            op: a.op.to_string(),
                            run: a.run_id.map(|r| r.0),
                            before: a.before,
                            after: a.after,
                        })
                        .collect(),
                    status: st.map(|st| StatusRecord {
                        status: st.status.to_string(),
                        attempts: st.attempts,
                        last_error: st.last_error.map(|e| ErrorRecord {
                            code: e.code,
                            message: e.message,
                        }),
                    }),
                };
                if record.link.is_some() || !record.history.is_empty() || record.status.is_some() {
                    rx.objects.push(record);
                }
            }
        }
        rx.next = p
            .plan
            .ops
            .iter()
            .filter(|o| o.source_id.as_deref() == Some(&src))
            .map(|o| NextChange {
                action: o.action.verb().to_owned(),
                kind: o.kind.as_str().to_owned(),
                name: o.name.clone(),
            })
            .collect();
        rx.problems = p
            .plan
            .problems
            .iter()
            .filter(|pr| pr.source_id == src)
            .map(|pr| Problem {
                code: format!("{:?}", pr.code),
                message: pr.message.clone(),
            })
            .collect();
        e.rules.push(rx);
    }
    Ok(e)
}

/// The explanation for a terminal: every directory value escaped.
pub fn render(e: &Explanation) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "user {}", safe(&e.query));
    let p1_line = e.pingone.as_ref().map_or_else(
        || "no user with this username or id".to_owned(),
        |u| {
            let pop = match (&u.population, &u.population_id) {
                (Some(name), Some(id)) => format!("{} ({})", safe(name), safe(id)),
                (None, Some(id)) => safe(id).into_owned(),
                _ => "?".to_owned(),
            };
            format!(
                "id {}, username {}, population {pop}, enabled {}",
                safe(&u.id),
                safe(&u.username),
                u.enabled
            )
        },
    );
    let duo_line = e.duo.as_ref().map_or_else(
        || "no user with this username or id".to_owned(),
        |u| {
            format!(
                "user id {}, username {}, status {}, {} phone(s), {} group(s)",
                safe(&u.user_id),
                safe(&u.username),
                u.status.as_deref().map_or("?".into(), safe),
                u.phones,
                u.groups
            )
        },
    );
    let _ = writeln!(s, "  PingOne: {p1_line}");
    let _ = writeln!(s, "  Duo: {duo_line}");
    for r in &e.rules {
        let _ = writeln!(s, "rule {} ({}):", r.rule, r.direction);
        match r.scope {
            "no_source" => {
                let _ = writeln!(
                    s,
                    "  not in scope: the user does not exist on this rule's source side"
                );
                continue;
            }
            "in_scope" => match &r.scope_note {
                Some(note) => {
                    let _ = writeln!(s, "  in scope: {}", safe(note));
                }
                None => {
                    let _ = writeln!(s, "  in scope");
                }
            },
            _ => {
                if let Some(note) = &r.scope_note {
                    let _ = writeln!(s, "  not in scope: {}", safe(note));
                }
            }
        }
        for o in &r.objects {
            if let Some(l) = &o.link {
                let _ = writeln!(
                    s,
                    "  linked {} → {} ({}, first synced {}, last synced {})",
                    o.kind,
                    safe(&l.target_id),
                    l.origin,
                    l.first_synced,
                    l.last_synced
                );
                let _ = writeln!(s, "  last synced values: {}", safe(&l.attrs.to_string()));
            }
            for a in &o.history {
                let run = a.run.map(|r| format!(" (run {r})")).unwrap_or_default();
                let _ = writeln!(
                    s,
                    "  applied {} {}{run}: {} → {}",
                    a.at,
                    a.op,
                    safe(&a.before.to_string()),
                    safe(&a.after.to_string())
                );
            }
            if let Some(st) = &o.status {
                let err = st
                    .last_error
                    .as_ref()
                    .map(|e| format!(" — last error {}: {}", safe(&e.code), safe(&e.message)))
                    .unwrap_or_default();
                let _ = writeln!(s, "  status: {} (attempts {}){err}", st.status, st.attempts);
            }
        }
        if r.next.is_empty() && r.problems.is_empty() {
            let _ = writeln!(s, "  next cycle: nothing to do");
        }
        for o in &r.next {
            let _ = writeln!(s, "  next cycle: {} {} {}", o.action, o.kind, safe(&o.name));
        }
        for pr in &r.problems {
            let _ = writeln!(s, "  problem ({}): {}", pr.code, safe(&pr.message));
        }
    }
    s
}

/// The plan of one rule as it concerns one source user: outbound rules read
/// only that user (as a fast cycle does); others, or when only a full read
/// can tell, the whole rule.
async fn plan_for(agent: &Agent, r: &RuleRef, src: &str) -> Result<Prepared, AgentError> {
    if matches!(r, RuleRef::Configured(rc) if rc.direction() == Direction::Outbound) {
        let one = crate::run::Changes {
            users: [src.to_owned()].into(),
            ..Default::default()
        };
        if let Preparation::Ready(p) = agent
            .prepare_selected(r, Selection::Changes(&one), false)
            .await?
        {
            return Ok(*p);
        }
    }
    agent.prepare(r, false).await
}

/// The Duo id linked to a PingOne user, and the PingOne id linked to a Duo
/// user, by any rule in either direction.
fn counterparts(
    st: &state_store::Store,
    p1_id: Option<&str>,
    duo_id: Option<&str>,
) -> state_store::Result<(Option<String>, Option<String>)> {
    let (mut p1, mut duo) = (None, None);
    for rule in st.link_rules()? {
        for kind in [ObjectKind::User, ObjectKind::Admin] {
            // Outbound links go PingOne -> Duo, inbound ones Duo -> PingOne.
            for (source, target) in [(p1_id, duo_id), (duo_id, p1_id)] {
                if let Some(src) = source
                    && let Some(l) = st.get_link(&ObjectKey::new(rule.as_str(), kind, src))?
                {
                    if Some(src) == p1_id {
                        duo = duo.or(Some(l.target_id));
                    } else {
                        p1 = p1.or(Some(l.target_id));
                    }
                }
                if let Some(t) = target
                    && let Some(l) = st.links_to_target(&rule, kind, t)?.into_iter().next()
                {
                    if Some(t) == duo_id {
                        p1 = p1.or(Some(l.source_id));
                    } else {
                        duo = duo.or(Some(l.source_id));
                    }
                }
            }
        }
    }
    Ok((p1, duo))
}
