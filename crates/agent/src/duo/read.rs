//! Reading Duo: users (with their groups and phones), groups and administrators.

use crate::AgentError;
use duo_client::DuoClient;

/// What Duo has.
#[derive(Debug, Default)]
pub struct DuoSnapshot {
    pub users: Vec<duo_client::User>,
    pub admins: Vec<duo_client::Admin>,
    pub groups: Vec<duo_client::Group>,
}

/// Read Duo: users (with their groups and phones), groups, and administrators when managed.
pub async fn read_duo(duo: &DuoClient, admins: bool) -> Result<DuoSnapshot, AgentError> {
    let (users, groups) = tokio::try_join!(
        async {
            duo.list_users()
                .await
                .map_err(|e| AgentError::duo("listing users", e))
        },
        async {
            duo.list_groups()
                .await
                .map_err(|e| AgentError::duo("listing groups", e))
        },
    )?;
    let admins = if admins {
        duo.list_admins()
            .await
            .map_err(|e| AgentError::duo("listing administrators", e))?
    } else {
        Vec::new()
    };
    Ok(DuoSnapshot {
        users,
        admins,
        groups,
    })
}

/// Duo user attributes a mapping may manage (besides username, status, phones).
pub(crate) const USER_ATTRS: &[&str] = &[
    "email",
    "realname",
    "firstname",
    "lastname",
    "notes",
    "alias1",
    "alias2",
    "alias3",
    "alias4",
];

fn nonempty(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|v| !v.is_empty())
}

pub(crate) fn duo_user_attr<'a>(u: &'a duo_client::User, name: &str) -> Option<&'a str> {
    match name {
        "email" => nonempty(&u.email),
        "realname" => nonempty(&u.realname),
        "firstname" => nonempty(&u.firstname),
        "lastname" => nonempty(&u.lastname),
        "notes" => nonempty(&u.notes),
        "alias1" => nonempty(&u.alias1),
        "alias2" => nonempty(&u.alias2),
        "alias3" => nonempty(&u.alias3),
        "alias4" => nonempty(&u.alias4),
        _ => None,
    }
}
