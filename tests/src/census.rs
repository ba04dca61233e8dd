//! Counting what the Duo side holds: duplicates of any kind, and the
//! differences from the state a PingOne directory and an outbound rule ask for.
//! Works on the simulators' `/__sim/state` JSON, in-process or standalone.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap_or("")
}

fn arr<'a>(v: &'a Value, k: &str) -> &'a [Value] {
    v[k].as_array().map(Vec::as_slice).unwrap_or(&[])
}

/// Every duplicate in a Duo state: users by username (ignoring case), groups
/// by name, phones by number and extension, administrators by email (ignoring
/// case), and repeated memberships or phone associations. Empty when none.
pub fn duo_duplicates(duo: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut dup = |what: &str, keys: Vec<String>| {
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        for k in keys {
            *seen.entry(k).or_default() += 1;
        }
        for (k, n) in seen {
            if n > 1 {
                out.push(format!("{n} {what} {k:?}"));
            }
        }
    };
    dup(
        "users named",
        arr(duo, "users")
            .iter()
            .map(|u| s(u, "username").to_lowercase())
            .collect(),
    );
    dup(
        "groups named",
        arr(duo, "groups")
            .iter()
            .map(|g| s(g, "name").to_owned())
            .collect(),
    );
    dup(
        "phones numbered",
        arr(duo, "phones")
            .iter()
            .map(|p| format!("{} x{}", s(p, "number"), s(p, "extension")))
            .collect(),
    );
    dup(
        "admins with email",
        arr(duo, "admins")
            .iter()
            .map(|a| s(a, "email").to_lowercase())
            .collect(),
    );
    dup(
        "memberships",
        arr(duo, "memberships")
            .iter()
            .map(|m| format!("{}/{}", s(m, "user_id"), s(m, "group_id")))
            .collect(),
    );
    dup(
        "phone associations",
        arr(duo, "phone_associations")
            .iter()
            .map(|m| format!("{}/{}", s(m, "user_id"), s(m, "phone_id")))
            .collect(),
    );
    for u in arr(duo, "users") {
        let groups: Vec<String> = arr(u, "groups")
            .iter()
            .filter_map(|g| g.as_str().map(str::to_owned))
            .collect();
        let set: BTreeSet<&String> = groups.iter().collect();
        if set.len() != groups.len() {
            out.push(format!("user {} lists a group twice", s(u, "username")));
        }
    }
    out
}

/// What one Duo user should look like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WantUser {
    pub username: String,
    pub email: String,
    pub realname: String,
    pub active: bool,
    /// E.164 digits with `+`, when the user has a phone.
    pub phone: Option<String>,
}

/// The Duo state an outbound rule with the suites' mapping (username, email,
/// phones = primaryPhone, enabled, realname = name.given) asks for.
#[derive(Debug, Clone, Default)]
pub struct Want {
    /// By lower-cased username.
    pub users: BTreeMap<String, WantUser>,
    /// Pushed group name → lower-cased usernames of its in-scope members.
    pub groups: BTreeMap<String, BTreeSet<String>>,
}

/// Digits of a phone number with a leading `+` (`+1 734-555` → `+1734555`).
pub fn e164(number: &str) -> String {
    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
    if number.trim_start().starts_with('+') {
        format!("+{digits}")
    } else {
        format!("+1{digits}")
    }
}

/// The wanted Duo state from a PingOne state: users of `population` (by id),
/// and the `pushed` groups (by name) with their direct in-scope members.
/// Users whose username is in `skip` (known-bad records) are left out.
pub fn want_from_pingone(p1: &Value, population: &str, pushed: &[&str], skip: &[&str]) -> Want {
    let mut want = Want::default();
    let mut by_id: HashMap<&str, String> = HashMap::new();
    for u in arr(p1, "users") {
        if s(u, "population_id") != population {
            continue;
        }
        let a = &u["attributes"];
        let username = s(a, "username").to_owned();
        if skip.contains(&username.as_str()) {
            continue;
        }
        by_id.insert(s(u, "id"), username.to_lowercase());
        want.users.insert(
            username.to_lowercase(),
            WantUser {
                username: username.clone(),
                email: s(a, "email").to_owned(),
                realname: a["name"]["given"].as_str().unwrap_or("").to_owned(),
                active: u["enabled"].as_bool().unwrap_or(true),
                phone: a["primaryPhone"].as_str().map(e164),
            },
        );
    }
    let mut gname: HashMap<&str, &str> = HashMap::new();
    for g in arr(p1, "groups") {
        if pushed.contains(&s(g, "name")) {
            gname.insert(s(g, "id"), s(g, "name"));
            want.groups.entry(s(g, "name").to_owned()).or_default();
        }
    }
    for m in arr(p1, "memberships") {
        if let (Some(g), Some(u)) = (gname.get(s(m, "group_id")), by_id.get(s(m, "user_id"))) {
            want.groups
                .entry((*g).to_owned())
                .or_default()
                .insert(u.clone());
        }
    }
    want
}

/// Every difference between `want` and the Duo state, users Duo has that are
/// not wanted included; Duo users named in `ignore` (ignoring case, e.g. users
/// deprovisioned by disabling) are left out. Empty when Duo is exactly as wanted.
pub fn duo_differences(want: &Want, duo: &Value, ignore: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    let phones: HashMap<&str, &str> = arr(duo, "phones")
        .iter()
        .map(|p| (s(p, "phone_id"), s(p, "number")))
        .collect();
    let gnames: HashMap<&str, &str> = arr(duo, "groups")
        .iter()
        .map(|g| (s(g, "group_id"), s(g, "name")))
        .collect();
    let mut seen = BTreeSet::new();
    let mut members: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for u in arr(duo, "users") {
        let key = s(u, "username").to_lowercase();
        if ignore.iter().any(|i| i.eq_ignore_ascii_case(&key)) {
            continue;
        }
        for g in arr(u, "groups") {
            if let Some(n) = g.as_str().and_then(|g| gnames.get(g)) {
                members
                    .entry((*n).to_owned())
                    .or_default()
                    .insert(key.clone());
            }
        }
        let Some(w) = want.users.get(&key) else {
            out.push(format!("Duo has unexpected user {:?}", s(u, "username")));
            continue;
        };
        seen.insert(key.clone());
        let status = s(u, "status");
        let want_status = if w.active { "active" } else { "disabled" };
        if s(u, "email") != w.email {
            out.push(format!(
                "{}: email {:?} != {:?}",
                w.username,
                s(u, "email"),
                w.email
            ));
        }
        if s(u, "realname") != w.realname {
            out.push(format!(
                "{}: realname {:?} != {:?}",
                w.username,
                s(u, "realname"),
                w.realname
            ));
        }
        if status != want_status {
            out.push(format!(
                "{}: status {status:?} != {want_status:?}",
                w.username
            ));
        }
        let has: Vec<&str> = arr(u, "phones")
            .iter()
            .filter_map(|p| p.as_str().and_then(|p| phones.get(p).copied()))
            .collect();
        let wants: Vec<&str> = w.phone.iter().map(String::as_str).collect();
        if has != wants {
            out.push(format!("{}: phones {has:?} != {wants:?}", w.username));
        }
    }
    for (k, w) in &want.users {
        if !seen.contains(k) {
            out.push(format!("Duo lacks user {:?}", w.username));
        }
    }
    for (g, want_members) in &want.groups {
        if !gnames.values().any(|n| n == g) {
            out.push(format!("Duo lacks group {g:?}"));
            continue;
        }
        let empty = BTreeSet::new();
        let got = members.get(g).unwrap_or(&empty);
        if got != want_members {
            let missing: Vec<_> = want_members.difference(got).take(5).collect();
            let extra: Vec<_> = got.difference(want_members).take(5).collect();
            out.push(format!(
                "group {g}: {} members, want {} (missing {missing:?}, extra {extra:?})",
                got.len(),
                want_members.len()
            ));
        }
    }
    out
}
