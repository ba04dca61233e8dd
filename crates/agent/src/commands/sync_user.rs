//! `p1duo sync --user NAME`: provision one user now and show each step in
//! PingOne's words: the scope verdict with the condition that decided, the
//! matching or adoption, the attribute changes, the calls made and the
//! resulting status. Runs here, or, while the agent runs and holds the state
//! database, inside the agent (asked over its loopback server).

use crate::config::{Config, Direction, Rule};
use crate::cycle::Agent;
use crate::metrics::Metrics;
use crate::state::StateDb;
use crate::{AgentError, Outcome};
use reconcile_engine::terminal_safe as safe;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::sync::Arc;

/// What `sync --user` did for one user under one rule.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserSync {
    pub rule: String,
    pub direction: Direction,
    /// The user as asked for (username or id).
    pub user: String,
    /// The user's id on the rule's source side, when found.
    pub source_id: Option<String>,
    /// In scope, and the condition that decided.
    pub in_scope: Option<bool>,
    pub scope: String,
    /// The plan for this user, one line per step (`adopt`, `create`, `update` with the changes ...).
    pub steps: Vec<String>,
    /// Calls made to the target.
    pub calls: u64,
    /// PingOne's status word: Success, Unsynced, Partially synced, Failed; or Blocked.
    pub status: String,
    /// Why, when not Success.
    pub messages: Vec<String>,
}

impl UserSync {
    fn outcome(&self) -> Outcome {
        match self.status.as_str() {
            "Success" | "Not in scope" => Outcome::InStep,
            "Blocked" => Outcome::Blocked,
            _ => Outcome::SomeFailed,
        }
    }

    /// The steps as text.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "user {} — rule {} ({})",
            safe(&self.user),
            self.rule,
            self.direction
        );
        let (from, to) = match self.direction {
            Direction::Outbound => ("PingOne", "Duo"),
            Direction::Inbound => ("Duo", "PingOne"),
        };
        match &self.source_id {
            Some(id) => {
                let _ = writeln!(s, "  1. read: {from} user {}", safe(id));
            }
            None => {
                let _ = writeln!(s, "  1. read: no {from} user has this username or id");
            }
        }
        let verdict = match self.in_scope {
            Some(true) => "in scope",
            Some(false) => "not in scope",
            None => "scope",
        };
        let _ = writeln!(s, "  2. scope: {verdict}: {}", safe(&self.scope));
        if self.steps.is_empty() {
            let _ = writeln!(s, "  3. {to}: nothing to change");
        } else {
            let _ = writeln!(s, "  3. {to}:");
            for st in &self.steps {
                let _ = writeln!(s, "     {}", safe(st));
            }
        }
        let _ = writeln!(s, "  4. calls made: {}", self.calls);
        let _ = writeln!(s, "  5. status: {}", self.status);
        for m in &self.messages {
            let _ = writeln!(s, "     {}", safe(m));
        }
        s
    }
}

/// Finds the user on the rule's source side: by id, by username, or (gone
/// at the source) through the link to its target account.
async fn source_id(agent: &Agent, rule: &Rule, user: &str) -> Result<Option<String>, AgentError> {
    match rule.direction() {
        Direction::Outbound => {
            if looks_like_id(user) {
                match agent.p1.get_user(user).await {
                    Ok(u) => return Ok(Some(u.id)),
                    Err(e) if e.is_not_found() => {}
                    Err(e) => return Err(AgentError::pingone(format!("reading user {user}"), e)),
                }
            }
            if let Some(u) = crate::pingone::users_named(&agent.p1, user)
                .await?
                .into_iter()
                .find(|u| u.username.eq_ignore_ascii_case(user))
            {
                return Ok(Some(u.id));
            }
            // Deleted in PingOne: the Duo account it was linked to.
            let duo = match agent.duo.get_user_by_username(user).await {
                Ok(Some(u)) => Some(u.user_id),
                _ => None,
            };
            linked_source(agent, rule, duo.as_deref().unwrap_or(user)).await
        }
        Direction::Inbound => {
            // Not an id (or not one of Duo's): looked up by username below.
            if let Ok(u) = agent.duo.get_user(user).await {
                return Ok(Some(u.user_id));
            }
            if let Some(u) = agent
                .duo
                .get_user_by_username(user)
                .await
                .map_err(|e| AgentError::duo(format!("looking up Duo user {user:?}"), e))?
            {
                return Ok(Some(u.user_id));
            }
            let p1 = crate::pingone::users_named(&agent.p1, user)
                .await?
                .into_iter()
                .next()
                .map(|u| u.id);
            linked_source(agent, rule, p1.as_deref().unwrap_or(user)).await
        }
    }
}

fn looks_like_id(s: &str) -> bool {
    s.len() == 36 && s.chars().filter(|c| *c == '-').count() == 4
}

async fn linked_source(
    agent: &Agent,
    rule: &Rule,
    target_id: &str,
) -> Result<Option<String>, AgentError> {
    let Some(db) = &agent.db else {
        return Ok(None);
    };
    let (r, t) = (rule.name.clone(), target_id.to_owned());
    db.call(move |s| {
        for kind in [
            state_store::ObjectKind::User,
            state_store::ObjectKind::Admin,
        ] {
            if let Some(l) = s.links_to_target(&r, kind, &t)?.into_iter().next() {
                return Ok(Some(l.source_id));
            }
        }
        Ok(None)
    })
    .await
}

/// `sync --user` with an agent over this config and database: every named
/// user under every selected rule.
pub(crate) async fn run_with_agent(
    agent: &Agent,
    rule: Option<&str>,
    users: &[String],
    allow_deletes: bool,
) -> Result<Vec<UserSync>, AgentError> {
    let rules: Vec<Rule> = agent
        .config
        .select_rules(rule)
        .map_err(AgentError::Usage)?
        .into_iter()
        .cloned()
        .collect();
    let mut out = Vec::new();
    for user in users {
        let mut ordered = rules.clone();
        ordered.sort_by_key(|r| r.direction() == Direction::Inbound);
        for r in &ordered {
            out.push(one(agent, r, user, allow_deletes).await?);
        }
    }
    Ok(out)
}

async fn one(
    agent: &Agent,
    rule: &Rule,
    user: &str,
    allow_deletes: bool,
) -> Result<UserSync, AgentError> {
    let mut rep = UserSync {
        rule: rule.name.clone(),
        direction: rule.direction(),
        user: user.to_owned(),
        source_id: None,
        in_scope: None,
        scope: String::new(),
        steps: Vec::new(),
        calls: 0,
        status: "Not in scope".into(),
        messages: Vec::new(),
    };
    let Some(src) = source_id(agent, rule, user).await? else {
        rep.scope = "the user does not exist on this rule's source side, and no account of this rule is linked to it".into();
        return Ok(rep);
    };
    rep.source_id = Some(src.clone());
    let (plan, verdict, report) = agent.sync_one(rule, &src, allow_deletes).await?;
    match verdict {
        Some((_, v)) => {
            rep.in_scope = Some(v.included);
            rep.scope = v.because;
        }
        None => {
            rep.in_scope = Some(false);
            rep.scope = "deleted at the source or not readable".into();
        }
    }
    let rendered = plan.render();
    rep.steps = rendered
        .lines()
        .filter(|l| !l.starts_with("Plan for rule") && !l.starts_with("hash "))
        .map(str::to_owned)
        .collect();
    rep.calls = report.writes;
    rep.status = if !report.blocked.is_empty() {
        rep.messages = report.blocked.clone();
        "Blocked".into()
    } else if let Some((_, _, status, _)) = report.problems.first() {
        rep.messages = report
            .problems
            .iter()
            .map(|(k, n, _, m)| format!("{k} {n}: {m}"))
            .collect();
        status.clone()
    } else if rep.in_scope == Some(false) && rep.steps.is_empty() {
        "Not in scope".into()
    } else {
        "Success".into()
    };
    Ok(rep)
}

/// `p1duo sync --user`: here, or inside the running agent.
pub async fn sync_users(
    c: &Config,
    rule: Option<&str>,
    users: &[String],
    allow_deletes: bool,
    json: bool,
    out: &mut dyn std::io::Write,
) -> Result<Outcome, AgentError> {
    c.select_rules(rule).map_err(AgentError::Usage)?;
    let reps = match StateDb::open(&c.state_path).await {
        Ok(db) => {
            db.call(|s| s.close_interrupted_runs(state_store::now_millis()))
                .await?;
            let agent = Agent::new(Arc::new(c.clone()), Some(db), Arc::new(Metrics::new()))?;
            run_with_agent(&agent, rule, users, allow_deletes).await?
        }
        Err(AgentError::StateLocked(_)) => ask_agent(c, rule, users, allow_deletes).await?,
        Err(e) => return Err(e),
    };
    let io = |e: std::io::Error| AgentError::Other(format!("writing the output: {e}"));
    if json {
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "users": reps })).unwrap_or_default()
        )
        .map_err(io)?;
    } else {
        for r in &reps {
            write!(out, "{}", r.render()).map_err(io)?;
        }
    }
    Ok(reps
        .iter()
        .map(UserSync::outcome)
        .fold(Outcome::InStep, Outcome::worst))
}

/// The request the CLI sends the running agent (`POST /sync-user`).
#[derive(Debug, Serialize, Deserialize)]
pub struct SyncUserRequest {
    pub rule: Option<String>,
    pub users: Vec<String>,
    pub allow_deletes: bool,
}

/// `POST /sync-user` to the running agent on its loopback server; the answer
/// is the reports as JSON.
async fn ask_agent(
    c: &Config,
    rule: Option<&str>,
    users: &[String],
    allow_deletes: bool,
) -> Result<Vec<UserSync>, AgentError> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = c.agent.listen;
    let unreachable = |e: std::io::Error| {
        AgentError::Other(format!(
            "the state database is held by a running agent, but its server at {addr} (agent.listen) did not answer: {e}"
        ))
    };
    let body = serde_json::to_string(&SyncUserRequest {
        rule: rule.map(str::to_owned),
        users: users.to_vec(),
        allow_deletes,
    })
    .unwrap_or_default();
    let mut conn = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(unreachable)?;
    let req = format!(
        "POST /sync-user HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    conn.write_all(req.as_bytes()).await.map_err(unreachable)?;
    let mut answer = String::new();
    conn.take(16 * 1024 * 1024)
        .read_to_string(&mut answer)
        .await
        .map_err(unreachable)?;
    let body = answer.split_once("\r\n\r\n").map_or("", |(_, b)| b).trim();
    if answer.starts_with("HTTP/1.1 200") {
        serde_json::from_str(body)
            .map_err(|e| AgentError::Other(format!("the agent's answer is not readable: {e}")))
    } else {
        Err(AgentError::Usage(body.to_owned()))
    }
}
