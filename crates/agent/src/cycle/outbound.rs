//! Outbound records: the PingOne snapshot mapped into desired Duo objects, the
//! Duo snapshot into observed ones (with the guards this rule must respect).

use crate::AgentError;
use crate::config::Rule;
use crate::cycle::records::{Inputs, attr_pairs, engine_empty, engine_when, mapping_failure};
use crate::duo::{DuoSnapshot, USER_ATTRS, duo_user_attr};
use crate::pingone::PingOneSnapshot;
use duo_client::{AdminStatus, UserStatus};
use mapping::{Mapping, UserType};
use reconcile_engine::{self as engine, Kind, NewDesired, NewObserved, PhoneRef, Value, ValueRef};
use std::collections::HashSet;

/// Why a trashed Duo user is neither written nor re-created (a per-object problem).
const TRASHED: &str = "is in Duo's trash (status \"pending deletion\"; Duo purges it after its retention period, 7 days by default): restore it in the Duo Admin Panel (Users > Trash), or set `restore_trashed = true` under [rules.actions] to let p1duo restore it";

/// A number Duo shows for a user's phone, in E.164 with `+` (`15555550100` → `+15555550100`).
fn observed_e164(n: &str) -> std::borrow::Cow<'_, str> {
    let t = n.trim();
    if !t.starts_with('+') && !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        std::borrow::Cow::Owned(format!("+{t}"))
    } else {
        std::borrow::Cow::Borrowed(n)
    }
}

/// Build the engine inputs of an outbound rule.
/// Enrollment emails journaled per lower-case username: (first, Unix
/// seconds; how many).
pub type EnrollSent = std::collections::HashMap<String, (i64, u64)>;

pub fn build(
    rule: &Rule,
    p1: &PingOneSnapshot,
    duo: &DuoSnapshot,
    excluded_sources: &HashSet<String>,
    enroll_sent: &EnrollSent,
    manages_admins: bool,
    foreign: &crate::cycle::records::Foreign,
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
                let what = format!("user {username:?} (rule {:?})", rule.name);
                let f = mapping_failure(Kind::User, id, username, &what, &errs);
                inp.desired.push_failure(f);
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
                    .insert((kind, id.clone()), crate::cycle::records::last_values(&rec));
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
                let what = format!("group {gname:?}");
                let f = mapping_failure(Kind::Group, gid, &gname, &what, &errs);
                inp.desired.push_failure(f);
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
        // Observed numbers in E.164 with `+`: some copies of Duo's examples show users'
        // embedded numbers without it, and the engine compares numbers exactly.
        let numbers: Vec<Option<std::borrow::Cow<'_, str>>> = u
            .phones
            .iter()
            .map(|p| p.number.as_deref().map(observed_e164))
            .collect();
        let phones: Vec<PhoneRef<'_>> = u
            .phones
            .iter()
            .zip(&numbers)
            .filter_map(|(p, n)| {
                Some(PhoneRef {
                    id: &p.phone_id,
                    number: n.as_deref()?,
                    activated: p.activated.unwrap_or(false),
                })
            })
            .collect();
        let trashed = matches!(u.status, Some(UserStatus::PendingDeletion));
        let groups: Vec<&str> = u.groups.iter().map(|g| g.group_id.as_str()).collect();
        inp.observed
            .push(NewObserved {
                kind: Kind::User,
                target_id: &u.user_id,
                key: &u.username,
                attrs: &attrs,
                // A trashed user is not present-and-enabled: restoring it is an enable.
                enabled: !trashed && !matches!(u.status, Some(UserStatus::Disabled)),
                phones: &phones,
                groups: &groups,
                fingerprint: None,
            })
            .map_err(cap)?;
        if trashed && !rule.actions.restore_trashed {
            inp.observed
                .guard_last(engine::Guard::Protected, TRASHED)
                .map_err(cap)?;
        }
        if rule.enroll.is_some()
            && let Some(enrolled) = u.is_enrolled
        {
            let sent = enroll_sent.get(&u.username.to_lowercase());
            inp.observed.enrollment_last(engine::Enrollment {
                enrolled,
                sent_at: sent.map(|s| s.0),
                reminded: sent.is_some_and(|s| s.1 >= 2),
            });
        }
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
