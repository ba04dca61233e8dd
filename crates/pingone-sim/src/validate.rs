//! User attribute validation: required values, sizes and character sets from
//! the User schema, reported as `REQUIRED_VALUE` / `INVALID_VALUE` details
//! naming the attribute.

use crate::error::Detail;
use serde_json::{Map, Value};

/// Keys a client cannot write through POST/PUT/PATCH of a user; they are
/// computed, set through their own endpoints, or write-only.
pub(crate) const USER_READ_ONLY: &[&str] = &[
    "_links",
    "_embedded",
    "id",
    "environment",
    "createdAt",
    "updatedAt",
    "enabled",
    "population",
    "memberOfGroupIDs",
    "memberOfGroupNames",
    "emailVerified",
    "lastSignOn",
    "account",
    "identityProvider",
    "mfaEnabled",
    "lifecycle",
    "password",
    "verifyStatus",
];

/// The User schema's own attributes (`pingone-schemas.json`); anything else
/// must be a custom attribute declared in the environment's schema, or
/// PingOne ignores it.
pub(crate) const USER_SCHEMA: &[&str] = &[
    "account",
    "address",
    "email",
    "externalId",
    "locale",
    "mobilePhone",
    "name",
    "nickname",
    "photo",
    "preferredLanguage",
    "primaryPhone",
    "timezone",
    "title",
    "type",
    "username",
];

/// The largest profile PingOne stores (16 KB).
pub(crate) const MAX_PROFILE_BYTES: usize = 16 * 1024;

fn range(target: &str, min: usize, max: usize) -> Detail {
    Detail::new(
        "INVALID_VALUE",
        target,
        format!("{target} must be between {min} and {max} characters long"),
    )
    .inner("rangeMinimumValue", min as u64)
    .inner("rangeMaximumValue", max as u64)
}

fn pattern(target: &str, allowed: &str, what: &str) -> Detail {
    Detail::new("INVALID_VALUE", target, format!("{target} {what}"))
        .inner("allowedPattern", allowed)
}

/// A character rule: the check, the allowed pattern to report, and what is wrong.
type Rule<'a> = (&'a dyn Fn(&str) -> bool, &'a str, &'a str);

/// Checks a string attribute if present: type, length and an optional character rule.
fn check_str(
    out: &mut Vec<Detail>,
    obj: &Map<String, Value>,
    key: &str,
    target: &str,
    (min, max): (usize, usize),
    rule: Option<Rule<'_>>,
) {
    match obj.get(key) {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => {
            let n = s.chars().count();
            if n < min || n > max {
                out.push(range(target, min, max));
            } else if let Some((ok, allowed, what)) = rule
                && !ok(s)
            {
                out.push(pattern(target, allowed, what));
            }
        }
        Some(_) => out.push(Detail::new(
            "INVALID_VALUE",
            target,
            format!("{target} must be a string"),
        )),
    }
}

fn printable(s: &str) -> bool {
    !s.chars().any(char::is_control)
}

fn family_chars(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_alphanumeric() || matches!(c, ' ' | '.' | '\'' | '-'))
}

fn phone(s: &str) -> bool {
    s.chars().any(|c| c.is_ascii_digit())
}

fn email_ok(s: &str) -> bool {
    let mut parts = s.split('@');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(local), Some(domain), None) => {
            !local.is_empty() && !domain.is_empty() && !s.chars().any(char::is_whitespace)
        }
        _ => false,
    }
}

fn country(s: &str) -> bool {
    s.len() == 2 && s.chars().all(|c| c.is_ascii_uppercase())
}

fn timezone(s: &str) -> bool {
    let word = |p: &str| !p.is_empty() && p.chars().all(|c| c.is_alphanumeric() || c == '_');
    matches!(s.split_once('/'), Some((a, b)) if word(a) && word(b))
}

/// Validates the writable attributes of a user; empty when valid.
pub(crate) fn user(attrs: &Map<String, Value>, require_email: bool) -> Vec<Detail> {
    let mut out = Vec::new();
    match attrs.get("username") {
        None | Some(Value::Null) => out.push(Detail::new(
            "REQUIRED_VALUE",
            "username",
            "username is required",
        )),
        Some(_) => check_str(
            &mut out,
            attrs,
            "username",
            "username",
            (1, 128),
            Some((
                &printable,
                "^[\\p{L}\\p{M}\\p{Zs}\\p{S}\\p{N}\\p{P}]*$",
                "contains characters that are not allowed",
            )),
        ),
    }
    match attrs.get("email") {
        None | Some(Value::Null) if require_email => {
            out.push(Detail::new("REQUIRED_VALUE", "email", "email is required"));
        }
        _ => check_str(
            &mut out,
            attrs,
            "email",
            "email",
            (1, 256),
            Some((
                &email_ok,
                "RFC 2822 address",
                "must be a valid email address",
            )),
        ),
    }
    let simple: &[(&str, usize, usize)] = &[
        ("title", 1, 256),
        ("type", 1, 256),
        ("nickname", 1, 256),
        ("locale", 1, 256),
        ("externalId", 1, 1024),
        ("accountId", 1, 1024),
        ("preferredLanguage", 1, 256),
    ];
    for (key, min, max) in simple {
        check_str(
            &mut out,
            attrs,
            key,
            key,
            (*min, *max),
            Some((
                &printable,
                "printable characters",
                "contains control characters",
            )),
        );
    }
    for key in ["primaryPhone", "mobilePhone"] {
        check_str(
            &mut out,
            attrs,
            key,
            key,
            (1, 32),
            Some((
                &phone,
                "at least one digit",
                "must contain at least one digit",
            )),
        );
    }
    check_str(
        &mut out,
        attrs,
        "timezone",
        "timezone",
        (1, 256),
        Some((&timezone, "^\\w+\\/\\w+$", "must be an IANA Area/City name")),
    );
    match attrs.get("name") {
        None | Some(Value::Null) => {}
        Some(Value::Object(name)) => {
            for key in ["given", "middle", "honorificPrefix", "honorificSuffix"] {
                check_str(
                    &mut out,
                    name,
                    key,
                    &format!("name.{key}"),
                    (1, 256),
                    Some((
                        &printable,
                        "printable characters",
                        "contains control characters",
                    )),
                );
            }
            for key in ["family", "formatted"] {
                check_str(
                    &mut out,
                    name,
                    key,
                    &format!("name.{key}"),
                    (1, 256),
                    Some((
                        &family_chars,
                        "^[\\p{L}\\p{M}\\p{N}' .-]*$",
                        "may contain only letters, digits, spaces and . ' -",
                    )),
                );
            }
        }
        Some(_) => out.push(Detail::new(
            "INVALID_VALUE",
            "name",
            "name must be an object",
        )),
    }
    match attrs.get("address") {
        None | Some(Value::Null) => {}
        Some(Value::Object(a)) => {
            for (key, max) in [
                ("streetAddress", 256),
                ("locality", 256),
                ("region", 256),
                ("postalCode", 40),
            ] {
                check_str(
                    &mut out,
                    a,
                    key,
                    &format!("address.{key}"),
                    (1, max),
                    Some((
                        &|s: &str| !s.chars().any(|c| c.is_control() && c != '\n' && c != '\r'),
                        "printable characters",
                        "contains control characters",
                    )),
                );
            }
            check_str(
                &mut out,
                a,
                "countryCode",
                "address.countryCode",
                (2, 2),
                Some((&country, "[A-Z]{2}", "must be an ISO 3166-1 alpha-2 code")),
            );
        }
        Some(_) => out.push(Detail::new(
            "INVALID_VALUE",
            "address",
            "address must be an object",
        )),
    }
    if let Some(p) = attrs.get("photo")
        && !p.is_null()
        && !p.get("href").is_some_and(Value::is_string)
    {
        out.push(Detail::new(
            "REQUIRED_VALUE",
            "photo.href",
            "photo.href is required when photo is given",
        ));
    }
    let size = serde_json::to_vec(attrs).map(|v| v.len()).unwrap_or(0);
    if size > MAX_PROFILE_BYTES {
        out.push(
            Detail::new(
                "SIZE_LIMIT_EXCEEDED",
                "user",
                format!("the user profile is {size} bytes; the limit is {MAX_PROFILE_BYTES}"),
            )
            .inner("maximumValue", MAX_PROFILE_BYTES as u64),
        );
    }
    out
}

/// Validates a group's name.
pub(crate) fn group(attrs: &Map<String, Value>, name: Option<&Value>) -> Vec<Detail> {
    let mut out = Vec::new();
    match name {
        None | Some(Value::Null) => {
            out.push(Detail::new("REQUIRED_VALUE", "name", "name is required"));
        }
        Some(Value::String(s)) if s.trim().is_empty() => {
            out.push(Detail::new("EMPTY_VALUE", "name", "name must not be empty"));
        }
        Some(Value::String(s)) if s.chars().count() > 256 => out.push(range("name", 1, 256)),
        Some(Value::String(_)) => {}
        Some(_) => out.push(Detail::new(
            "INVALID_VALUE",
            "name",
            "name must be a string",
        )),
    }
    if let Some(c) = attrs.get("customData")
        && !c.is_object()
        && !c.is_null()
    {
        out.push(Detail::new(
            "INVALID_VALUE",
            "customData",
            "customData must be a JSON object",
        ));
    }
    out
}

/// RFC 7396 JSON Merge Patch: objects merge, `null` removes, anything else replaces.
pub(crate) fn merge_patch(target: &mut Map<String, Value>, patch: &Map<String, Value>) {
    for (k, v) in patch {
        match v {
            Value::Null => {
                target.remove(k);
            }
            Value::Object(p) => {
                let slot = target
                    .entry(k.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
                if !slot.is_object() {
                    *slot = Value::Object(Map::new());
                }
                if let Value::Object(t) = slot {
                    merge_patch(t, p);
                }
            }
            other => {
                target.insert(k.clone(), other.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn merge_patch_follows_rfc_7396() {
        let mut t = obj(json!({"a": {"b": 1, "c": 2}, "d": [1, 2], "e": 1}));
        merge_patch(
            &mut t,
            &obj(json!({"a": {"b": null, "x": 3}, "d": [3], "e": null})),
        );
        assert_eq!(Value::Object(t), json!({"a": {"c": 2, "x": 3}, "d": [3]}));
    }

    #[test]
    fn details_name_the_target() {
        let d = user(
            &obj(json!({"email": "nope", "name": {"family": "Sm!th"}, "mobilePhone": "abc"})),
            true,
        );
        let targets: Vec<_> = d
            .iter()
            .map(|d| (d.code.as_str(), d.target.clone().unwrap()))
            .collect();
        assert_eq!(
            targets,
            vec![
                ("REQUIRED_VALUE", "username".to_string()),
                ("INVALID_VALUE", "email".to_string()),
                ("INVALID_VALUE", "mobilePhone".to_string()),
                ("INVALID_VALUE", "name.family".to_string()),
            ]
        );
    }
}
