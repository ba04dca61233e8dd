//! Collection reads: query parameters (`limit`, `cursor`, `filter`,
//! `expand`), opaque cursors, filter subjects and the HAL envelope with
//! `_links.self/next`, `_embedded`, `count` and `size`.

use crate::directory::{Directory, Group, Population, User};
use crate::error::SimError;
use crate::filter::{self, Filter, MemberKind, Subject};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};
use std::collections::{HashMap, HashSet};
use std::ops::Bound;

/// The query string of a request, raw (for links) and decoded.
pub(crate) struct ListQuery {
    pub path: String,
    pub raw: Option<String>,
    pub pairs: Vec<(String, String)>,
}

impl ListQuery {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Where a page starts and how long it is.
pub(crate) struct PageParams {
    pub after: Option<u64>,
    pub count: Option<u64>,
    pub limit: usize,
}

const CURSOR_TAG: &str = "p1sim";

fn encode_cursor(after: u64, count: u64) -> String {
    URL_SAFE_NO_PAD.encode(format!("{CURSOR_TAG}:{after}:{count}"))
}

fn decode_cursor(c: &str) -> Option<(u64, u64)> {
    let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(c).ok()?).ok()?;
    let mut it = raw.split(':');
    if it.next()? != CURSOR_TAG {
        return None;
    }
    let after = it.next()?.parse().ok()?;
    let count = it.next()?.parse().ok()?;
    it.next().is_none().then_some((after, count))
}

/// Reads `limit` (1..=1000, capped at `cap`) and `cursor`.
pub(crate) fn page_params(
    q: &ListQuery,
    cap: usize,
    default: usize,
) -> Result<PageParams, SimError> {
    let limit = match q.get("limit") {
        None => default,
        Some(l) => match l.parse::<usize>() {
            Ok(n) if (1..=1000).contains(&n) => n,
            _ => {
                return Err(SimError::invalid(vec![
                    crate::error::Detail::new(
                        "INVALID_PARAMETER",
                        "limit",
                        format!("limit must be a whole number from 1 to 1000, not {l:?}"),
                    )
                    .inner("rangeMinimumValue", 1)
                    .inner("rangeMaximumValue", 1000),
                ]));
            }
        },
    };
    let (after, count) = match q.get("cursor") {
        None => (None, None),
        Some(c) => match decode_cursor(c) {
            Some((a, n)) => (Some(a), Some(n)),
            None => {
                return Err(SimError::invalid_parameter(
                    "cursor",
                    "cursor is not one this server issued; follow _links.next.href verbatim",
                ));
            }
        },
    };
    Ok(PageParams {
        after,
        count,
        limit: limit.min(cap),
    })
}

/// Builds the HAL collection envelope.
pub(crate) fn envelope(
    dir: &Directory,
    q: &ListQuery,
    key: &str,
    items: Vec<Value>,
    next_after: Option<u64>,
    count: u64,
) -> Value {
    let origin = dir.api_base.strip_suffix("/v1").unwrap_or(&dir.api_base);
    let self_href = match &q.raw {
        Some(r) if !r.is_empty() => format!("{origin}{}?{r}", q.path),
        _ => format!("{origin}{}", q.path),
    };
    let mut links = Map::new();
    links.insert("self".into(), json!({ "href": self_href }));
    if let Some(after) = next_after {
        let mut parts: Vec<&str> = q
            .raw
            .as_deref()
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty() && !p.starts_with("cursor="))
            .collect();
        let c = format!("cursor={}", encode_cursor(after, count));
        parts.push(&c);
        links.insert(
            "next".into(),
            json!({ "href": format!("{origin}{}?{}", q.path, parts.join("&")) }),
        );
    }
    let size = items.len();
    let mut v = json!({
        "_links": links,
        "_embedded": { key: items },
        "count": count,
        "size": size,
    });
    // PingOne may leave `count` out for very large collections.
    if dir.rules.omit_count
        && let Some(o) = v.as_object_mut()
    {
        o.remove("count");
    }
    v
}

/// Takes one page from an ascending `(seq, item)` sequence already past the cursor.
fn take_page<'a, T: 'a>(
    mut it: impl Iterator<Item = (u64, T)>,
    limit: usize,
) -> (Vec<(u64, T)>, Option<u64>) {
    let items: Vec<(u64, T)> = it.by_ref().take(limit).collect();
    let more = it.next().is_some();
    let next = if more {
        items.last().map(|(s, _)| *s)
    } else {
        None
    };
    (items, next)
}

fn parse_filter(schema: &filter::Schema, q: &ListQuery) -> Result<Option<Filter>, SimError> {
    q.get("filter")
        .map(|f| schema.parse(f))
        .transpose()
        .map_err(|e| SimError::invalid_filter(&e.message))
}

/// For each group named in the filter: the group and all groups nested in it.
fn closures(dir: &Directory, f: Option<&Filter>) -> HashMap<String, HashSet<String>> {
    f.map(Filter::groups)
        .unwrap_or_default()
        .into_iter()
        .map(|g| (g.to_string(), dir.closure_down(g)))
        .collect()
}

struct UserView<'a> {
    u: &'a User,
    dir: &'a Directory,
    closures: &'a HashMap<String, HashSet<String>>,
}

impl Subject for UserView<'_> {
    fn attr(&self, path: &str) -> Option<Value> {
        match path {
            "population.id" => Some(Value::String(self.u.population_id.clone())),
            "username" if self.dir.rules.username_filter_case_insensitive => {
                Some(Value::String(self.u.username().to_lowercase()))
            }
            "enabled" => Some(Value::Bool(self.u.enabled)),
            _ => filter::lookup(&self.u.attrs, path).cloned(),
        }
    }
    fn member_of(&self, group: &str, kind: MemberKind) -> bool {
        // Own groups: direct and dynamic memberships (a dynamic one is not DIRECT).
        let own = self.dir.own_groups(&self.u.id);
        let is_direct = self
            .dir
            .direct_groups(&self.u.id)
            .is_some_and(|d| d.contains(group));
        let any = own.contains(group)
            || self
                .closures
                .get(group)
                .is_some_and(|c| own.iter().any(|d| c.contains(d)));
        match kind {
            MemberKind::Any => any,
            MemberKind::Direct => is_direct,
            MemberKind::Indirect => any && !is_direct,
        }
    }
}

struct GroupView<'a> {
    g: &'a Group,
    dir: &'a Directory,
    closures: &'a HashMap<String, HashSet<String>>,
}

impl Subject for GroupView<'_> {
    fn attr(&self, path: &str) -> Option<Value> {
        match path {
            "id" => Some(Value::String(self.g.id.clone())),
            "name" => Some(Value::String(self.g.name.clone())),
            "population.id" => self.g.population_id.clone().map(Value::String),
            _ => filter::lookup(&self.g.attrs, path).cloned(),
        }
    }
    fn member_of(&self, parent: &str, kind: MemberKind) -> bool {
        let is_direct = self
            .dir
            .parents
            .get(&self.g.id)
            .is_some_and(|p| p.contains(parent));
        let any = self.g.id != parent
            && self
                .closures
                .get(parent)
                .is_some_and(|c| c.contains(&self.g.id));
        match kind {
            MemberKind::Any => any,
            MemberKind::Direct => is_direct,
            MemberKind::Indirect => any && !is_direct,
        }
    }
}

struct PopView<'a>(&'a Population);

impl Subject for PopView<'_> {
    fn attr(&self, path: &str) -> Option<Value> {
        match path {
            "id" => Some(Value::String(self.0.id.clone())),
            "name" => Some(Value::String(self.0.name.clone())),
            _ => None,
        }
    }
    fn member_of(&self, _: &str, _: MemberKind) -> bool {
        false
    }
}

fn start(p: &PageParams) -> (Bound<u64>, Bound<u64>) {
    (
        p.after.map_or(Bound::Unbounded, Bound::Excluded),
        Bound::Unbounded,
    )
}

/// GET /users.
pub(crate) fn users(dir: &Directory, q: &ListQuery) -> Result<Value, SimError> {
    let p = page_params(q, dir.rules.users_page_cap, dir.rules.default_limit)?;
    let mut f = parse_filter(&filter::USERS, q)?;
    if dir.rules.username_filter_case_insensitive {
        f = f.map(Filter::fold_username);
    }
    let expand = match q.get("expand") {
        None | Some("") => false,
        Some("population") => true,
        Some(other) => {
            return Err(SimError::invalid_parameter(
                "expand",
                format!("users can only expand population, not {other:?}"),
            ));
        }
    };
    let cl = closures(dir, f.as_ref());
    let keep = |u: &User| {
        f.as_ref().is_none_or(|f| {
            f.matches(&UserView {
                u,
                dir,
                closures: &cl,
            })
        })
    };
    let count = match (&f, p.count) {
        (None, _) => dir.users.len() as u64,
        (Some(_), Some(c)) => c,
        (Some(_), None) => dir.users.values().filter(|u| keep(u)).count() as u64,
    };
    let it = dir
        .users
        .range(start(&p))
        .filter(|(_, u)| keep(u))
        .map(|(s, u)| (*s, u));
    let (items, next) = take_page(it, p.limit);
    let items = items
        .into_iter()
        .map(|(_, u)| dir.render_user(u, None, expand))
        .collect();
    Ok(envelope(dir, q, "users", items, next, count))
}

/// GET /groups.
pub(crate) fn groups(dir: &Directory, q: &ListQuery) -> Result<Value, SimError> {
    let p = page_params(q, dir.rules.page_cap, dir.rules.default_limit)?;
    let f = parse_filter(&filter::GROUPS, q)?;
    let cl = closures(dir, f.as_ref());
    let keep = |g: &Group| {
        f.as_ref().is_none_or(|f| {
            f.matches(&GroupView {
                g,
                dir,
                closures: &cl,
            })
        })
    };
    let count = match (&f, p.count) {
        (None, _) => dir.groups.len() as u64,
        (Some(_), Some(c)) => c,
        (Some(_), None) => dir.groups.values().filter(|g| keep(g)).count() as u64,
    };
    let it = dir
        .groups
        .range(start(&p))
        .filter(|(_, g)| keep(g))
        .map(|(s, g)| (*s, g));
    let (items, next) = take_page(it, p.limit);
    let items = items
        .into_iter()
        .map(|(_, g)| dir.render_group(g, false))
        .collect();
    Ok(envelope(dir, q, "groups", items, next, count))
}

/// GET /populations.
pub(crate) fn populations(dir: &Directory, q: &ListQuery) -> Result<Value, SimError> {
    let p = page_params(q, dir.rules.page_cap, dir.rules.default_limit)?;
    let f = parse_filter(&filter::POPULATIONS, q)?;
    let keep = |x: &Population| f.as_ref().is_none_or(|f| f.matches(&PopView(x)));
    let count = dir.pops.values().filter(|x| keep(x)).count() as u64;
    let it = dir
        .pops
        .range(start(&p))
        .filter(|(_, x)| keep(x))
        .map(|(s, x)| (*s, x));
    let (items, next) = take_page(it, p.limit);
    let items = items
        .into_iter()
        .map(|(_, x)| dir.render_population(x))
        .collect();
    Ok(envelope(dir, q, "populations", items, next, count))
}

/// GET /users/{id}/memberOfGroups: DIRECT and INDIRECT memberships.
pub(crate) fn user_memberships(
    dir: &Directory,
    user: &str,
    q: &ListQuery,
) -> Result<Value, SimError> {
    dir.user(user)?;
    let p = page_params(q, dir.rules.page_cap, dir.rules.default_limit)?;
    let expand = expand_group(q)?;
    let kind = type_filter(q)?;
    let mut all: Vec<(u64, &Group, &str)> = dir
        .memberships(user)
        .into_iter()
        .filter(|(_, t)| kind.is_none_or(|k| k == *t))
        .filter_map(|(g, t)| dir.group(&g).ok().map(|g| (g.seq, g, t)))
        .collect();
    all.sort_by_key(|(s, _, _)| *s);
    let count = all.len() as u64;
    let it = all
        .into_iter()
        .filter(|(s, _, _)| p.after.is_none_or(|a| *s > a))
        .map(|(s, g, t)| (s, (g, t)));
    let (items, next) = take_page(it, p.limit);
    let items = items
        .into_iter()
        .map(|(_, (g, t))| dir.render_membership(user, g, t, expand))
        .collect();
    Ok(envelope(dir, q, "groupMemberships", items, next, count))
}

/// GET /groups/{id}/memberOfGroups: the groups this group is nested in.
pub(crate) fn group_parents(
    dir: &Directory,
    group: &str,
    q: &ListQuery,
) -> Result<Value, SimError> {
    dir.group(group)?;
    let p = page_params(q, dir.rules.page_cap, dir.rules.default_limit)?;
    let kind = type_filter(q)?;
    let mut all: Vec<(u64, String, &str)> = dir
        .group_parents(group)
        .into_iter()
        .filter(|(_, t)| kind.is_none_or(|k| k == *t))
        // Direct parents first, then the indirect ancestors (each by creation):
        // clients take the first entry for the parent. The key is also the cursor.
        .filter_map(|(g, t)| {
            let indirect = u64::from(t != "DIRECT") << 62;
            dir.group_seq(&g).map(|s| (indirect | s, g, t))
        })
        .collect();
    all.sort_by_key(|(s, _, _)| *s);
    let count = all.len() as u64;
    let it = all
        .into_iter()
        .filter(|(s, _, _)| p.after.is_none_or(|a| *s > a))
        .map(|(s, g, t)| (s, (g, t)));
    let (items, next) = take_page(it, p.limit);
    let items = items
        .into_iter()
        .map(|(_, (g, t))| dir.render_nesting(group, &g, t))
        .collect();
    Ok(envelope(dir, q, "groupMemberships", items, next, count))
}

pub(crate) fn expand_group(q: &ListQuery) -> Result<bool, SimError> {
    match q.get("expand") {
        None | Some("") => Ok(false),
        Some("group") => Ok(true),
        Some(other) => Err(SimError::invalid_parameter(
            "expand",
            format!("memberships can only expand group, not {other:?}"),
        )),
    }
}

/// Membership lists accept `type eq "DIRECT"` / `type eq "INDIRECT"` as their filter.
fn type_filter(q: &ListQuery) -> Result<Option<&'static str>, SimError> {
    let Some(f) = q.get("filter") else {
        return Ok(None);
    };
    match filter::parse(f).map_err(|e| SimError::invalid_filter(&e.message))? {
        Filter::Cmp {
            attr,
            op: filter::Op::Eq,
            value: filter::Literal::Str(v),
        } if attr == "type" => match v.as_str() {
            "DIRECT" => Ok(Some("DIRECT")),
            "INDIRECT" => Ok(Some("INDIRECT")),
            _ => Err(SimError::invalid_filter("type is DIRECT or INDIRECT")),
        },
        _ => Err(SimError::invalid_filter(
            "membership lists filter only on type eq \"DIRECT\" or \"INDIRECT\"",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_forgeries() {
        assert_eq!(decode_cursor(&encode_cursor(42, 7)), Some((42, 7)));
        assert_eq!(decode_cursor("bm9wZQ"), None);
        assert_eq!(decode_cursor("!!"), None);
    }
}
