//! The target attributes of each direction, their rules, and the conversion of an evaluated
//! value into a checked attribute value.

use serde_json::Value;

use crate::error::{AttrError, quote, quote_json};
use crate::eval::{as_text, is_empty};
use crate::phone;
use crate::record::AttrValue;

/// How a target's value is read and checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Text with a character set and a maximum length in characters.
    Text(Chars, usize),
    /// Outbound `phones`: normalized to E.164 with the default region.
    E164,
    /// Outbound `enabled`: a boolean written as Duo `status` active/disabled.
    Enabled,
    /// Outbound `status`: active, bypass or disabled.
    Status,
    /// Outbound `userType`: exactly `user` or `admin`.
    UserType,
    /// Outbound `adminRole`: one of Duo's administrator roles.
    AdminRole,
    /// Inbound `enabled`: a boolean, read from Duo's status words too.
    Bool,
}

/// Character rules for text targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Chars {
    /// Any printable text: no control or invisible formatting characters.
    Printable,
    /// PingOne `name.family` / `name.formatted`: letters, marks, digits, space, `.`, `'`, `-`.
    Name,
    /// An email address.
    Email,
    /// PingOne phone attributes: printable, at least one digit.
    PhoneLike,
}

/// A target attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Target {
    /// The name written in the mapping table.
    pub name: &'static str,
    /// The attribute name in the mapped record (differs for outbound `enabled` → `status`).
    pub key: &'static str,
    pub kind: Kind,
    /// Must be mapped, and must not be empty.
    pub required: bool,
}

const fn t(name: &'static str, kind: Kind) -> Target {
    Target {
        name,
        key: name,
        kind,
        required: false,
    }
}

const fn req(name: &'static str, kind: Kind) -> Target {
    Target {
        name,
        key: name,
        kind,
        required: true,
    }
}

use Chars::*;
use Kind::*;

/// Duo publishes no length limits; these are p1duo's (see docs/mapping.md).
pub(crate) const OUTBOUND: &[Target] = &[
    req("username", Text(Printable, 255)),
    t("email", Text(Email, 254)),
    t("realname", Text(Printable, 255)),
    t("firstname", Text(Printable, 255)),
    t("lastname", Text(Printable, 255)),
    t("notes", Text(Printable, 1024)),
    t("alias1", Text(Printable, 255)),
    t("alias2", Text(Printable, 255)),
    t("alias3", Text(Printable, 255)),
    t("alias4", Text(Printable, 255)),
    t("phones", E164),
    Target {
        name: "enabled",
        key: "status",
        kind: Enabled,
        required: false,
    },
    t("status", Status),
    t("userType", UserType),
    t("adminRole", AdminRole),
];

/// Limits from PingOne's published user schema.
pub(crate) const INBOUND: &[Target] = &[
    req("username", Text(Printable, 128)),
    t("email", Text(Email, 254)),
    t("name.given", Text(Printable, 256)),
    t("name.family", Text(Name, 256)),
    t("name.formatted", Text(Name, 256)),
    t("primaryPhone", Text(PhoneLike, 32)),
    t("mobilePhone", Text(PhoneLike, 32)),
    t("enabled", Bool),
    t("title", Text(Printable, 256)),
    t("locale", Text(Printable, 256)),
    t("externalId", Text(Printable, 1024)),
];

/// Inbound custom attributes: `custom.<name>` writes PingOne's top-level `<name>`.
pub(crate) const CUSTOM_PREFIX: &str = "custom.";
/// A custom STRING attribute; PingOne caps the whole profile at 16 KB.
pub(crate) const CUSTOM_KIND: Kind = Text(Printable, 16_384);

/// Duo group from a PingOne group.
pub(crate) const GROUP: &[Target] = &[
    req("name", Text(Printable, 255)),
    t("desc", Text(Printable, 1024)),
];

/// PingOne user attributes a custom attribute may not shadow.
pub(crate) const PINGONE_RESERVED: &[&str] = &[
    "id",
    "username",
    "email",
    "name",
    "primaryPhone",
    "mobilePhone",
    "enabled",
    "title",
    "locale",
    "externalId",
    "population",
    "account",
    "address",
    "lifecycle",
    "identityProvider",
    "mfaEnabled",
    "nickname",
    "photo",
    "preferredLanguage",
    "timezone",
    "type",
    "accountId",
    "createdAt",
    "updatedAt",
    "environment",
    "password",
];

/// Duo's administrator roles (case-sensitive), safest first. `Security Analyst` is listed by
/// some sources only.
pub const ADMIN_ROLES: &[&str] = &[
    "Read-only",
    "Help Desk",
    "Billing",
    "Phishing Manager",
    "Security Analyst",
    "User Manager",
    "Application Manager",
    "Administrator",
    "Owner",
];

/// Convert an evaluated value for a text-like target; `Ok(None)` means empty.
pub(crate) fn convert(
    target: &str,
    kind: Kind,
    v: &Value,
    region: &str,
) -> Result<Option<AttrValue>, AttrError> {
    let err = |value: Option<String>, rule: String| AttrError::new(target, value, rule);
    let what = "this attribute";
    if is_empty(v) {
        return Ok(None);
    }
    match kind {
        Text(chars, max) => {
            let s = as_text(v, what)
                .map_err(|e| err(e.value, e.rule))?
                .unwrap_or_default();
            check_text(&s, chars, max).map_err(|rule| err(Some(quote(&s)), rule))?;
            Ok(Some(AttrValue::Text(s.into_owned())))
        }
        E164 => {
            let s = as_text(v, what)
                .map_err(|e| err(e.value, e.rule))?
                .unwrap_or_default();
            phone::to_e164(&s, region)
                .map(|p| Some(AttrValue::Text(p)))
                .map_err(|rule| err(Some(quote(&s)), rule))
        }
        Enabled => match read_bool(v) {
            Some(b) => Ok(Some(AttrValue::Text(
                if b { "active" } else { "disabled" }.to_owned(),
            ))),
            None => Err(err(
                Some(quote_json(v)),
                "must be true or false (it sets Duo status active or disabled)".to_owned(),
            )),
        },
        Status => {
            let s = as_text(v, what)
                .map_err(|e| err(e.value, e.rule))?
                .unwrap_or_default();
            let lower = s.trim().to_ascii_lowercase();
            match lower.as_str() {
                "active" | "bypass" | "disabled" => Ok(Some(AttrValue::Text(lower))),
                _ => Err(err(
                    Some(quote(&s)),
                    "must be one of \"active\", \"bypass\", \"disabled\"".to_owned(),
                )),
            }
        }
        Bool => {
            if let Some(b) = read_bool(v) {
                return Ok(Some(AttrValue::Bool(b)));
            }
            match v.as_str().map(|s| s.trim().to_ascii_lowercase()).as_deref() {
                Some("active" | "bypass") => Ok(Some(AttrValue::Bool(true))),
                Some("disabled" | "pending deletion") => Ok(Some(AttrValue::Bool(false))),
                // A lockout is temporary and PingOne has its own lock: leave `enabled` alone.
                Some("locked out") => Ok(None),
                _ => Err(AttrError::new(
                    target,
                    Some(quote_json(v)),
                    "must be true or false, or a Duo status (active, bypass, disabled, locked out, pending deletion)",
                )),
            }
        }
        // Read in `mapping.rs`: they set the record's user type and role, not an attribute.
        UserType | AdminRole => Ok(None),
    }
}

fn read_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// Check a text value against a character rule and a maximum length.
pub(crate) fn check_text(s: &str, chars: Chars, max: usize) -> Result<(), String> {
    let n = s.chars().count();
    if n > max {
        return Err(format!("must be at most {max} characters (found {n})"));
    }
    if let Some((i, c)) = s.chars().enumerate().find(|(_, c)| invisible(*c)) {
        return Err(format!(
            "must not contain control or invisible formatting characters (found U+{:04X} at character {})",
            u32::from(c),
            i + 1
        ));
    }
    match chars {
        Printable => Ok(()),
        Name => match s
            .chars()
            .enumerate()
            .find(|(_, c)| !(c.is_alphanumeric() || is_mark(*c) || " .'-".contains(*c)))
        {
            Some((i, c)) => Err(format!(
                "may contain only letters, digits, spaces and . ' - (found `{c}` at character {})",
                i + 1
            )),
            None => Ok(()),
        },
        PhoneLike => {
            if s.chars().any(|c| c.is_ascii_digit()) {
                Ok(())
            } else {
                Err("must contain at least one digit".to_owned())
            }
        }
        Email => {
            if email_shaped(s) {
                Ok(())
            } else {
                Err("must be an email address such as name@example.com".to_owned())
            }
        }
    }
}

/// Control characters and the invisible format characters that hide text (zero-width, bidi).
pub(crate) fn invisible(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{00AD}' | '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}')
}

/// Combining marks not already counted as alphabetic (the common combining blocks).
fn is_mark(c: char) -> bool {
    matches!(c, '\u{0300}'..='\u{036F}' | '\u{1AB0}'..='\u{1AFF}' | '\u{1DC0}'..='\u{1DFF}'
        | '\u{20D0}'..='\u{20FF}' | '\u{FE20}'..='\u{FE2F}')
}

/// `local@domain.tld`: one `@`, no spaces, a dotted domain of letters, digits and hyphens.
fn email_shaped(s: &str) -> bool {
    let Some((local, domain)) = s.rsplit_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local.chars().count() <= 64
        && !local.contains('@')
        && !local.chars().any(char::is_whitespace);
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        });
    local_ok && domain_ok
}
