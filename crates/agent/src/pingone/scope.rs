//! An outbound rule's scope as one value: its populations, groups and filter
//! resolved to PingOne ids; the weaker filter PingOne is sent (pushdown) and
//! the local verdict, with the condition that decided, which is the truth.

use crate::AgentError;
use crate::config::Rule;
use mapping::scope::{CmpOp, Leaf, Lit, Membership, ScopeFilter, Verdict};
use pingone_client::{Filter, FilterResource};
use std::collections::{HashMap, HashSet};

/// What decides whether a PingOne user is in an outbound rule's scope.
#[derive(Debug)]
pub(crate) struct Scope {
    pub populations: Vec<String>,
    pub groups: Vec<String>,
    pub filter: Option<ScopeFilter>,
    /// `memberOfGroups[id eq "X"]`: X as written → the group id.
    pub filter_groups: HashMap<String, String>,
}

/// A user's memberships, as far as the scope needs them: `(group id, kind)`.
pub(crate) type Memberships = HashSet<(String, Membership)>;

impl Scope {
    /// `populations` and `groups` are already resolved ids; the filter's groups
    /// are resolved here by name or id.
    pub(crate) fn new(
        rule: &Rule,
        populations: Vec<String>,
        groups: Vec<String>,
        known_groups: &[pingone_client::Group],
    ) -> Result<Scope, AgentError> {
        let filter = rule.outbound().filter.clone();
        let mut filter_groups = HashMap::new();
        for (g, _) in filter.iter().flat_map(|f| f.groups()) {
            match known_groups.iter().find(|k| k.id == g || k.name == g) {
                Some(k) => {
                    filter_groups.insert(g.to_owned(), k.id.clone());
                }
                None => {
                    return Err(AgentError::PingOne(format!(
                        "group {g:?} named in rule {:?} scope.filter does not exist in the PingOne environment; fix the name (names are case-sensitive) or create it",
                        rule.name
                    )));
                }
            }
        }
        Ok(Scope {
            populations,
            groups,
            filter,
            filter_groups,
        })
    }

    /// Whether the filter names groups (so the group list must be read).
    pub(crate) fn needs_groups(rule: &Rule) -> bool {
        rule.outbound()
            .filter
            .as_ref()
            .is_some_and(|f| !f.groups().is_empty())
    }

    /// `(group id, kind)` pairs whose members the filter asks about.
    pub(crate) fn membership_lists(&self) -> Vec<(String, Membership)> {
        let mut out: Vec<(String, Membership)> = self
            .filter
            .iter()
            .flat_map(|f| f.groups())
            .filter_map(|(g, k)| self.filter_groups.get(g).map(|id| (id.clone(), k)))
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// What PingOne is asked to filter the user listing on: the populations,
    /// and every part of the filter it can evaluate (eq and sw on attributes it
    /// filters, group membership). Every user in scope passes it; the local
    /// verdict decides.
    pub(crate) fn pushdown(&self) -> Option<Filter> {
        let pops = self
            .populations
            .iter()
            .filter_map(|id| Filter::eq("population.id", id.as_str()).ok())
            .reduce(Filter::or);
        let mut leaf = |l: Leaf<'_>| -> Option<Filter> {
            let f = match l {
                Leaf::Cmp {
                    path,
                    op: op @ (CmpOp::Eq | CmpOp::Sw),
                    lit,
                } => {
                    let v: pingone_client::FilterValue = match lit {
                        Lit::Str(s) => s.as_str().into(),
                        Lit::Bool(b) if op == CmpOp::Eq => (*b).into(),
                        _ => return None,
                    };
                    match op {
                        CmpOp::Eq => Filter::eq(path, v).ok()?,
                        _ => Filter::sw(path, v).ok()?,
                    }
                }
                Leaf::MemberOf { group, kind } => {
                    let id = self.filter_groups.get(group)?;
                    match kind {
                        Membership::Direct => Filter::direct_member_of(id).ok()?,
                        // Indirect: any membership is a superset.
                        _ => Filter::member_of(id).ok()?,
                    }
                }
                _ => return None,
            };
            f.check_for(FilterResource::Users).ok().map(|_| f)
        };
        let pushed = self
            .filter
            .as_ref()
            .and_then(|f| f.pushdown(&mut leaf, &Filter::and, &Filter::or));
        match (pops, pushed) {
            (Some(a), Some(b)) => Some(a.and(b)),
            (a, b) => a.or(b),
        }
    }

    /// The verdict on one user: `json` is the user as read (with
    /// `population.name` filled in), `member_of` its memberships.
    pub(crate) fn verdict(
        &self,
        json: &serde_json::Value,
        population_id: Option<&str>,
        population_name: Option<&str>,
        member_of: &Memberships,
    ) -> Verdict {
        let pop_shown = population_name.or(population_id).unwrap_or("(none)");
        if !self.populations.is_empty()
            && !population_id.is_some_and(|p| self.populations.iter().any(|x| x == p))
        {
            return Verdict {
                included: false,
                because: format!("population {pop_shown:?} is not in scope.populations"),
            };
        }
        let mut why = Vec::new();
        if !self.populations.is_empty() {
            why.push(format!("population {pop_shown:?} is in scope.populations"));
        }
        if !self.groups.is_empty() {
            match self
                .groups
                .iter()
                .find(|g| member_of.contains(&((*g).clone(), Membership::Any)))
            {
                Some(g) => why.push(format!("a member of scope group {g}")),
                None => {
                    return Verdict {
                        included: false,
                        because: "a member of none of scope.groups".into(),
                    };
                }
            }
        }
        if let Some(f) = &self.filter {
            let subject = mapping::scope::JsonSubject {
                json,
                member_of: |g: &str, k| {
                    self.filter_groups
                        .get(g)
                        .is_some_and(|id| member_of.contains(&(id.clone(), k)))
                },
            };
            let v = f.evaluate(&subject);
            if !v.included {
                return Verdict {
                    included: false,
                    because: format!("scope.filter: {}", v.because),
                };
            }
            why.push(format!("scope.filter: {}", v.because));
        }
        Verdict {
            included: true,
            because: if why.is_empty() {
                "the rule has no scope conditions (every user)".into()
            } else {
                why.join("; ")
            },
        }
    }
}

/// One user's memberships from its groups (`GET /users/{id}/memberOfGroups`):
/// `(id, Any)` for each, `(id, Direct)` or `(id, Indirect)` by type.
pub(crate) fn memberships_of(groups: &[pingone_client::GroupMembership]) -> Memberships {
    let mut out = Memberships::new();
    for g in groups {
        out.insert((g.id.clone(), Membership::Any));
        let kind = match g.membership_type {
            Some(pingone_client::MembershipType::Direct) => Membership::Direct,
            _ => Membership::Indirect,
        };
        out.insert((g.id.clone(), kind));
    }
    out
}

/// One user read by itself: its JSON (with `population.name`), and the
/// verdict. `known` holds the user's memberships of the rule's groups as the
/// `memberOfGroups[...]` filter answers them (the fast cycle reads them that
/// way, like the full cycle); without it they are read from the user's
/// groups. Those are read as well when the filter asks for direct or indirect
/// membership, which only they tell. Returns the calls made.
pub(crate) async fn judge(
    p1: &pingone_client::PingOneClient,
    scope: &Scope,
    pops: &[pingone_client::Population],
    u: &pingone_client::User,
    known: Option<&Memberships>,
) -> Result<(serde_json::Value, Verdict, u64), AgentError> {
    use futures::TryStreamExt;
    let mut calls = 0;
    let kinds_needed = scope
        .membership_lists()
        .iter()
        .any(|(_, k)| *k != Membership::Any);
    let any_needed = !scope.groups.is_empty() || !scope.membership_lists().is_empty();
    let mut memberships = known.cloned().unwrap_or_default();
    if kinds_needed || (known.is_none() && any_needed) {
        let pages: Vec<_> = p1
            .list_user_groups(&u.id)
            .try_collect()
            .await
            .map_err(|e| AgentError::pingone(format!("reading the groups of user {}", u.id), e))?;
        calls += pages.len() as u64;
        let all: Vec<_> = pages.into_iter().flat_map(|p| p.items).collect();
        // With `known`, plain membership stays the filter's answer (one source).
        memberships.extend(
            memberships_of(&all)
                .into_iter()
                .filter(|(_, k)| known.is_none() || *k != Membership::Any),
        );
    }
    let mut json = serde_json::to_value(u).unwrap_or_default();
    let pop_name = u
        .population_id()
        .and_then(|pid| pops.iter().find(|p| p.id == pid))
        .map(|p| p.name.clone());
    if let (Some(name), Some(obj)) = (
        &pop_name,
        json.get_mut("population").and_then(|p| p.as_object_mut()),
    ) {
        obj.insert("name".into(), serde_json::Value::String(name.clone()));
    }
    let v = scope.verdict(&json, u.population_id(), pop_name.as_deref(), &memberships);
    Ok((json, v, calls))
}
