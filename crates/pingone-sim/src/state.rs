//! A typed, serialisable snapshot of the directory (`GET /__sim/state`,
//! `PingOneSim::state`).

use crate::directory::Directory;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Everything the simulator holds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SimState {
    /// Populations in creation order.
    pub populations: Vec<PopulationState>,
    /// Users in creation order.
    pub users: Vec<UserState>,
    /// Groups in creation order.
    pub groups: Vec<GroupState>,
    /// Direct user memberships.
    pub memberships: Vec<MembershipState>,
    /// Group nestings (members of `group_id` are members of `parent_id`).
    pub nestings: Vec<NestingState>,
}

/// One population.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PopulationState {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Whether new users without a population land here.
    pub default: bool,
    /// Users in it.
    pub user_count: u64,
}

/// One user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserState {
    /// Id.
    pub id: String,
    /// Username.
    pub username: String,
    /// Whether the user is enabled.
    pub enabled: bool,
    /// Population id.
    pub population_id: String,
    /// The writable attributes, custom ones included (username too).
    pub attributes: Map<String, Value>,
}

/// One group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupState {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Population of a population-scoped group.
    pub population_id: Option<String>,
    /// Other attributes (description, externalId, customData, ...).
    pub attributes: Map<String, Value>,
}

/// A direct membership.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MembershipState {
    /// The user.
    pub user_id: String,
    /// The group.
    pub group_id: String,
}

/// A nesting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NestingState {
    /// The nested (child) group.
    pub group_id: String,
    /// The group it is nested in.
    pub parent_id: String,
}

pub(crate) fn snapshot(d: &Directory) -> SimState {
    let mut nestings: Vec<NestingState> = d
        .parents
        .iter()
        .flat_map(|(c, ps)| {
            ps.iter().map(move |p| NestingState {
                group_id: c.clone(),
                parent_id: p.clone(),
            })
        })
        .collect();
    nestings.sort_by(|a, b| (&a.group_id, &a.parent_id).cmp(&(&b.group_id, &b.parent_id)));
    SimState {
        populations: d
            .pops
            .values()
            .map(|p| PopulationState {
                id: p.id.clone(),
                name: p.name.clone(),
                default: p.is_default,
                user_count: d.user_count(&p.id),
            })
            .collect(),
        users: d
            .users
            .values()
            .map(|u| UserState {
                id: u.id.clone(),
                username: u.username().to_string(),
                enabled: u.enabled,
                population_id: u.population_id.clone(),
                attributes: u.attrs.clone(),
            })
            .collect(),
        groups: d
            .groups
            .values()
            .map(|g| GroupState {
                id: g.id.clone(),
                name: g.name.clone(),
                population_id: g.population_id.clone(),
                attributes: g.attrs.clone(),
            })
            .collect(),
        memberships: d
            .all_memberships()
            .into_iter()
            .map(|(user_id, group_id)| MembershipState { user_id, group_id })
            .collect(),
        nestings,
    }
}
