//! The Admin API routes the simulator serves: matching, route templates (for stats), the
//! permission each needs and the rate-limit class it counts against.

use crate::config::Permission;
use crate::ratelimit::LimitClass;

/// One matched endpoint with its path ids (percent-decoded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `GET /admin/v1/info/summary`
    InfoSummary,
    /// `GET /admin/v1/users`
    UsersList,
    /// `POST /admin/v1/users`
    UserCreate,
    /// `GET /admin/v1/users/{user_id}`
    UserGet(String),
    /// `POST /admin/v1/users/bulk_send_to_trash` (`user_id_list`)
    UsersSendToTrash,
    /// `POST /admin/v1/users/bulk_restore` (`user_id_list`)
    UsersRestore,
    /// `POST /admin/v1/users/enroll` (`username`, `email`, `valid_secs`)
    UserEnroll,
    /// `POST /admin/v1/users/bulk_create` (`users`)
    UsersBulkCreate,
    /// `POST /admin/v1/bulk` (`operations`)
    BulkOperations,
    /// `POST /admin/v1/users/{user_id}`
    UserModify(String),
    /// `DELETE /admin/v1/users/{user_id}`
    UserDelete(String),
    /// `GET /admin/v1/users/{user_id}/groups`
    UserGroups(String),
    /// `POST /admin/v1/users/{user_id}/groups`
    UserGroupAdd(String),
    /// `DELETE /admin/v1/users/{user_id}/groups/{group_id}`
    UserGroupRemove(String, String),
    /// `GET /admin/v1/users/{user_id}/phones`
    UserPhones(String),
    /// `POST /admin/v1/users/{user_id}/phones`
    UserPhoneAdd(String),
    /// `DELETE /admin/v1/users/{user_id}/phones/{phone_id}`
    UserPhoneRemove(String, String),
    /// `GET /admin/v1/phones`
    PhonesList,
    /// `POST /admin/v1/phones`
    PhoneCreate,
    /// `GET /admin/v1/phones/{phone_id}`
    PhoneGet(String),
    /// `POST /admin/v1/phones/{phone_id}`
    PhoneModify(String),
    /// `DELETE /admin/v1/phones/{phone_id}`
    PhoneDelete(String),
    /// `GET /admin/v1/groups`
    GroupsList,
    /// `POST /admin/v1/groups`
    GroupCreate,
    /// `GET /admin/v1/groups/{group_id}` (deprecated v1)
    GroupGetV1(String),
    /// `GET /admin/v2/groups/{group_id}`
    GroupGetV2(String),
    /// `POST /admin/v1/groups/{group_id}`
    GroupModify(String),
    /// `DELETE /admin/v1/groups/{group_id}`
    GroupDelete(String),
    /// `GET /admin/v2/groups/{group_id}/users`
    GroupMembersV2(String),
    /// `GET /admin/v1/admins`
    AdminsList,
    /// `POST /admin/v1/admins`
    AdminCreate,
    /// `GET /admin/v1/admins/{admin_id}`
    AdminGet(String),
    /// `POST /admin/v1/admins/{admin_id}`
    AdminModify(String),
    /// `DELETE /admin/v1/admins/{admin_id}`
    AdminDelete(String),
}

fn seg(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// Matches a method and raw path.
pub fn match_route(method: &str, path: &str) -> Option<Route> {
    use Route::*;
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let r = match (method, parts.as_slice()) {
        ("GET", ["admin", "v1", "info", "summary"]) => InfoSummary,
        ("GET", ["admin", "v1", "users"]) => UsersList,
        ("POST", ["admin", "v1", "users"]) => UserCreate,
        ("GET", ["admin", "v1", "users", id]) => UserGet(seg(id)),
        ("POST", ["admin", "v1", "users", "bulk_send_to_trash"]) => UsersSendToTrash,
        ("POST", ["admin", "v1", "users", "bulk_restore"]) => UsersRestore,
        ("POST", ["admin", "v1", "users", "enroll"]) => UserEnroll,
        ("POST", ["admin", "v1", "users", "bulk_create"]) => UsersBulkCreate,
        ("POST", ["admin", "v1", "bulk"]) => BulkOperations,
        ("POST", ["admin", "v1", "users", id]) => UserModify(seg(id)),
        ("DELETE", ["admin", "v1", "users", id]) => UserDelete(seg(id)),
        ("GET", ["admin", "v1", "users", id, "groups"]) => UserGroups(seg(id)),
        ("POST", ["admin", "v1", "users", id, "groups"]) => UserGroupAdd(seg(id)),
        ("DELETE", ["admin", "v1", "users", id, "groups", g]) => UserGroupRemove(seg(id), seg(g)),
        ("GET", ["admin", "v1", "users", id, "phones"]) => UserPhones(seg(id)),
        ("POST", ["admin", "v1", "users", id, "phones"]) => UserPhoneAdd(seg(id)),
        ("DELETE", ["admin", "v1", "users", id, "phones", p]) => UserPhoneRemove(seg(id), seg(p)),
        ("GET", ["admin", "v1", "phones"]) => PhonesList,
        ("POST", ["admin", "v1", "phones"]) => PhoneCreate,
        ("GET", ["admin", "v1", "phones", id]) => PhoneGet(seg(id)),
        ("POST", ["admin", "v1", "phones", id]) => PhoneModify(seg(id)),
        ("DELETE", ["admin", "v1", "phones", id]) => PhoneDelete(seg(id)),
        ("GET", ["admin", "v1", "groups"]) => GroupsList,
        ("POST", ["admin", "v1", "groups"]) => GroupCreate,
        ("GET", ["admin", "v1", "groups", id]) => GroupGetV1(seg(id)),
        ("GET", ["admin", "v2", "groups", id]) => GroupGetV2(seg(id)),
        ("POST", ["admin", "v1", "groups", id]) => GroupModify(seg(id)),
        ("DELETE", ["admin", "v1", "groups", id]) => GroupDelete(seg(id)),
        ("GET", ["admin", "v2", "groups", id, "users"]) => GroupMembersV2(seg(id)),
        ("GET", ["admin", "v1", "admins"]) => AdminsList,
        ("POST", ["admin", "v1", "admins"]) => AdminCreate,
        ("GET", ["admin", "v1", "admins", id]) => AdminGet(seg(id)),
        ("POST", ["admin", "v1", "admins", id]) => AdminModify(seg(id)),
        ("DELETE", ["admin", "v1", "admins", id]) => AdminDelete(seg(id)),
        _ => return None,
    };
    Some(r)
}

impl Route {
    /// The route template used in stats, e.g. `/admin/v1/users/{user_id}`.
    pub fn template(&self) -> &'static str {
        use Route::*;
        match self {
            InfoSummary => "/admin/v1/info/summary",
            UsersList | UserCreate => "/admin/v1/users",
            UserGet(_) | UserModify(_) | UserDelete(_) => "/admin/v1/users/{user_id}",
            UsersSendToTrash => "/admin/v1/users/bulk_send_to_trash",
            UsersRestore => "/admin/v1/users/bulk_restore",
            UserEnroll => "/admin/v1/users/enroll",
            UsersBulkCreate => "/admin/v1/users/bulk_create",
            BulkOperations => "/admin/v1/bulk",
            UserGroups(_) | UserGroupAdd(_) => "/admin/v1/users/{user_id}/groups",
            UserGroupRemove(..) => "/admin/v1/users/{user_id}/groups/{group_id}",
            UserPhones(_) | UserPhoneAdd(_) => "/admin/v1/users/{user_id}/phones",
            UserPhoneRemove(..) => "/admin/v1/users/{user_id}/phones/{phone_id}",
            PhonesList | PhoneCreate => "/admin/v1/phones",
            PhoneGet(_) | PhoneModify(_) | PhoneDelete(_) => "/admin/v1/phones/{phone_id}",
            GroupsList | GroupCreate => "/admin/v1/groups",
            GroupGetV1(_) | GroupModify(_) | GroupDelete(_) => "/admin/v1/groups/{group_id}",
            GroupGetV2(_) => "/admin/v2/groups/{group_id}",
            GroupMembersV2(_) => "/admin/v2/groups/{group_id}/users",
            AdminsList | AdminCreate => "/admin/v1/admins",
            AdminGet(_) | AdminModify(_) | AdminDelete(_) => "/admin/v1/admins/{admin_id}",
        }
    }

    /// The permission the integration needs.
    pub fn permission(&self) -> Permission {
        use Route::*;
        match self {
            InfoSummary => Permission::AdminapiInfo,
            AdminsList | AdminCreate | AdminGet(_) | AdminModify(_) | AdminDelete(_) => {
                Permission::AdminapiAdmins
            }
            UsersList | UserGet(_) | UserGroups(_) | UserPhones(_) | PhonesList | PhoneGet(_)
            | GroupsList | GroupGetV1(_) | GroupGetV2(_) | GroupMembersV2(_) => {
                Permission::AdminapiReadResource
            }
            _ => Permission::AdminapiWriteResource,
        }
    }

    /// Whether an integration with `granted` may call this route: the read-only
    /// administrators grant allows the `/admins` reads, not the writes.
    pub fn permitted(&self, granted: &std::collections::BTreeSet<Permission>) -> bool {
        use Route::*;
        match self {
            AdminsList | AdminGet(_) => {
                granted.contains(&Permission::AdminapiAdmins)
                    || granted.contains(&Permission::AdminapiAdminsRead)
            }
            _ => granted.contains(&self.permission()),
        }
    }

    /// Whether this is one of the bulk endpoints (`users/bulk_create`, `/admin/v1/bulk`).
    pub fn is_bulk(&self) -> bool {
        matches!(self, Route::UsersBulkCreate | Route::BulkOperations)
    }

    /// Whether `/admin/v1/bulk` may carry this operation: create, modify and delete user, add
    /// and remove user group (Duo's Ruby client lists these five).
    pub fn bulk_allowed(&self) -> bool {
        use Route::*;
        matches!(
            self,
            UserCreate | UserModify(_) | UserDelete(_) | UserGroupAdd(_) | UserGroupRemove(..)
        )
    }

    /// The rate-limit class (a bulk call's is decided by `BulkSettings::rate_class`).
    pub fn limit_class(&self) -> LimitClass {
        use Route::*;
        match self {
            UsersList | UserGroups(_) | UserPhones(_) | PhonesList | GroupsList
            | GroupMembersV2(_) | AdminsList => LimitClass::ReadPage,
            InfoSummary | UserGet(_) | PhoneGet(_) | GroupGetV1(_) | GroupGetV2(_)
            | AdminGet(_) => LimitClass::ReadOne,
            _ => LimitClass::Write,
        }
    }
}
