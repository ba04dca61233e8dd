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
use state_store::{ObjectKey, ObjectKind};
use std::fmt::Write as _;
use std::sync::Arc;

/// How many of an object's latest applied operations `explain` shows.
const HISTORY: u32 = 10;

/// The explanation as text.
pub async fn explain(c: &Config, user: &str) -> Result<String, AgentError> {
    let db = StateDb::open_read_only(&c.state_path).await?;
    let agent = Agent::new(Arc::new(c.clone()), db.clone(), Arc::new(Metrics::new()))?;
    let mut s = String::new();
    // Find the user on both sides, by username or id.
    let p1_users = crate::pingone::list_users(&agent.p1).await?;
    let p1u = p1_users
        .iter()
        .find(|u| u.id == user || u.username.eq_ignore_ascii_case(user));
    let pops = crate::pingone::list_populations(&agent.p1).await?;
    let pop_name = |id: &str| {
        pops.iter()
            .find(|p| p.id == id)
            .map_or_else(|| id.to_owned(), |p| format!("{} ({id})", p.name))
    };
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
    let _ = writeln!(s, "user {}", safe(user));
    let p1_line = p1u.map_or_else(
        || "no user with this username or id".to_owned(),
        |u| {
            format!(
                "id {}, username {}, population {}, enabled {}",
                safe(&u.id),
                safe(&u.username),
                u.population_id().map_or_else(|| "?".to_owned(), pop_name),
                u.enabled.unwrap_or(true)
            )
        },
    );
    let duo_line = duou.map_or_else(
        || "no user with this username or id".to_owned(),
        |u| {
            format!(
                "user id {}, username {}, status {}, {} phone(s), {} group(s)",
                safe(&u.user_id),
                safe(&u.username),
                u.status.as_ref().map_or("?", |st| st.as_str()),
                u.phones.len(),
                u.groups.len()
            )
        },
    );
    let _ = writeln!(s, "  PingOne: {p1_line}");
    let _ = writeln!(s, "  Duo: {duo_line}");
    for r in agent.rules(None).await? {
        let source_id = match r.direction() {
            Direction::Outbound => p1u.map(|u| u.id.clone()),
            Direction::Inbound => duou.map(|u| u.user_id.clone()),
        };
        let _ = writeln!(s, "rule {} ({}):", r.name(), r.direction());
        let Some(src) = source_id else {
            let _ = writeln!(
                s,
                "  not in scope: the user does not exist on this rule's source side"
            );
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
            let how = if v.included {
                "in scope"
            } else {
                "not in scope"
            };
            let _ = writeln!(s, "  {how}: {}", safe(&v.because));
        } else if in_scope {
            let _ = writeln!(s, "  in scope");
        } else if let RuleRef::Configured(rc) = &r {
            let _ = writeln!(
                s,
                "  not in scope: the rule takes users of populations {:?} and groups {:?}{}",
                rc.outbound().scope_populations,
                rc.outbound().scope_groups,
                if rc.direction() == Direction::Inbound {
                    " (inbound: Duo users not provisioned by an outbound rule)"
                } else {
                    ""
                }
            );
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
                if let Some(l) = link {
                    let _ = writeln!(
                        s,
                        "  linked {} → {} ({}, first synced {}, last synced {})",
                        kind,
                        l.target_id,
                        l.origin,
                        fmt_time(l.first_synced),
                        fmt_time(l.last_synced)
                    );
                    let _ = writeln!(s, "  last synced values: {}", l.attrs);
                }
                for a in &history {
                    let run = a
                        .run_id
                        .map(|r| format!(" (run {})", r.0))
                        .unwrap_or_default();
                    let _ = writeln!(
                        s,
                        "  applied {} {}{run}: {} → {}",
                        fmt_time(a.at),
                        a.op,
                        a.before,
                        a.after
                    );
                }
                if let Some(st) = st {
                    let err = st
                        .last_error
                        .map(|e| format!(" — last error {}: {}", e.code, e.message))
                        .unwrap_or_default();
                    let _ = writeln!(s, "  status: {} (attempts {}){err}", st.status, st.attempts);
                }
            }
        }
        let ops: Vec<_> = p
            .plan
            .ops
            .iter()
            .filter(|o| o.source_id.as_deref() == Some(&src))
            .collect();
        let problems: Vec<_> = p
            .plan
            .problems
            .iter()
            .filter(|pr| pr.source_id == src)
            .collect();
        if ops.is_empty() && problems.is_empty() {
            let _ = writeln!(s, "  next cycle: nothing to do");
        }
        for o in ops {
            let _ = writeln!(
                s,
                "  next cycle: {} {} {}",
                o.action.verb(),
                o.kind.as_str(),
                o.name
            );
        }
        for pr in problems {
            let _ = writeln!(s, "  problem ({:?}): {}", pr.code, pr.message);
        }
    }
    Ok(s)
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
