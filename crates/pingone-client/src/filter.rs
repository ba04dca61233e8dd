//! A small SCIM filter builder for PingOne's `filter` parameter: `eq` and `sw`, `and`/`or`,
//! group membership brackets; values quoted and escaped; what PingOne cannot filter on is
//! refused with a typed error before any request is sent.

use std::fmt;

/// What a filter is used on; the attribute sets differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterResource {
    /// `GET /users`.
    Users,
    /// `GET /groups`.
    Groups,
}

impl fmt::Display for FilterResource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FilterResource::Users => "users",
            FilterResource::Groups => "groups",
        })
    }
}

/// Standard user attributes PingOne filters on (its SDK/Terraform list).
pub const USER_ATTRIBUTES: &[&str] = &[
    "accountId",
    "address.streetAddress",
    "address.locality",
    "address.region",
    "address.postalCode",
    "address.countryCode",
    "email",
    "enabled",
    "externalId",
    "locale",
    "mobilePhone",
    "name.formatted",
    "name.given",
    "name.middle",
    "name.family",
    "name.honorificPrefix",
    "name.honorificSuffix",
    "nickname",
    "population.id",
    "photo.href",
    "preferredLanguage",
    "primaryPhone",
    "timezone",
    "title",
    "type",
    "username",
];

/// Group attributes PingOne filters on.
pub const GROUP_ATTRIBUTES: &[&str] = &["id", "name", "population.id", "externalId"];

/// User attributes PingOne documents as not filterable (custom names may not shadow them).
const USER_UNFILTERABLE: &[&str] = &[
    "id",
    "createdAt",
    "updatedAt",
    "lifecycle",
    "account",
    "identityProvider",
    "mfaEnabled",
    "verifyStatus",
    "emailVerified",
    "lastSignOn",
    "memberOfGroupIDs",
    "memberOfGroupNames",
    "environment",
    "password",
];

/// A comparison operator PingOne supports on every filterable attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Equals (case-sensitive).
    Eq,
    /// Starts with.
    Sw,
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "eq",
            Op::Sw => "sw",
        }
    }
}

/// A comparison value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterValue {
    /// A string, rendered quoted and escaped.
    Str(String),
    /// A boolean (only `enabled`), rendered bare.
    Bool(bool),
}

impl From<&str> for FilterValue {
    fn from(s: &str) -> Self {
        FilterValue::Str(s.to_owned())
    }
}
impl From<String> for FilterValue {
    fn from(s: String) -> Self {
        FilterValue::Str(s)
    }
}
impl From<&String> for FilterValue {
    fn from(s: &String) -> Self {
        FilterValue::Str(s.clone())
    }
}
impl From<bool> for FilterValue {
    fn from(b: bool) -> Self {
        FilterValue::Bool(b)
    }
}

/// A filter PingOne can evaluate. Build with [`Filter::eq`], [`Filter::sw`],
/// [`Filter::member_of`], [`Filter::and`], [`Filter::or`]; render with `to_string()`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    /// `attr op value`.
    Compare {
        /// Attribute path, e.g. `name.family` or a custom attribute name.
        attr: String,
        /// Operator.
        op: Op,
        /// Value.
        value: FilterValue,
    },
    /// `memberOfGroups[id eq "G"]`, or with `and type eq "DIRECT"` when `direct_only`.
    MemberOf {
        /// The group id.
        group_id: String,
        /// Only direct members.
        direct_only: bool,
    },
    /// Both.
    And(Box<Filter>, Box<Filter>),
    /// Either.
    Or(Box<Filter>, Box<Filter>),
}

/// Why the builder refused a filter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    /// The attribute name is not a SCIM attribute path.
    #[error(
        "filter attribute `{attribute}` is not an attribute name: use letters, digits and `_`, with `.` between parts (e.g. `name.family`)"
    )]
    InvalidAttribute {
        /// The attribute.
        attribute: String,
    },
    /// PingOne cannot filter on this attribute.
    #[error("PingOne cannot filter {resource} on `{attribute}`: {fix}")]
    NotFilterable {
        /// The attribute.
        attribute: String,
        /// Users or groups.
        resource: FilterResource,
        /// What to do instead.
        fix: String,
    },
    /// PingOne does not support this operator on this attribute.
    #[error("PingOne supports only `eq` on `{attribute}`, not `{op}`")]
    UnsupportedOperator {
        /// The attribute.
        attribute: String,
        /// The operator asked for.
        op: &'static str,
    },
    /// The value cannot be sent (wrong type, or control characters).
    #[error("filter value for `{attribute}` is not usable: {reason}")]
    InvalidValue {
        /// The attribute.
        attribute: String,
        /// Why.
        reason: &'static str,
    },
}

impl Filter {
    /// `attr eq value`.
    pub fn eq(attr: &str, value: impl Into<FilterValue>) -> Result<Filter, FilterError> {
        Self::compare(attr, Op::Eq, value.into())
    }

    /// `attr sw value` (starts with).
    pub fn sw(attr: &str, value: impl Into<FilterValue>) -> Result<Filter, FilterError> {
        Self::compare(attr, Op::Sw, value.into())
    }

    /// Members of a group, direct, nested or dynamic: `memberOfGroups[id eq "G"]`.
    pub fn member_of(group_id: &str) -> Result<Filter, FilterError> {
        check_string("memberOfGroups.id", group_id)?;
        Ok(Filter::MemberOf {
            group_id: group_id.to_owned(),
            direct_only: false,
        })
    }

    /// Direct members only: `memberOfGroups[id eq "G" and type eq "DIRECT"]`.
    pub fn direct_member_of(group_id: &str) -> Result<Filter, FilterError> {
        check_string("memberOfGroups.id", group_id)?;
        Ok(Filter::MemberOf {
            group_id: group_id.to_owned(),
            direct_only: true,
        })
    }

    /// Both this and `other`.
    pub fn and(self, other: Filter) -> Filter {
        Filter::And(Box::new(self), Box::new(other))
    }

    /// This or `other`.
    pub fn or(self, other: Filter) -> Filter {
        Filter::Or(Box::new(self), Box::new(other))
    }

    fn compare(attr: &str, op: Op, value: FilterValue) -> Result<Filter, FilterError> {
        check_attribute_syntax(attr)?;
        if matches!(attr, "population.id" | "id") && op != Op::Eq {
            return Err(FilterError::UnsupportedOperator {
                attribute: attr.to_owned(),
                op: op.as_str(),
            });
        }
        match (&value, attr) {
            (FilterValue::Bool(_), "enabled") => {
                if op != Op::Eq {
                    return Err(FilterError::UnsupportedOperator {
                        attribute: attr.to_owned(),
                        op: op.as_str(),
                    });
                }
            }
            (FilterValue::Bool(_), _) => {
                return Err(FilterError::InvalidValue {
                    attribute: attr.to_owned(),
                    reason: "only `enabled` takes true/false; give a string",
                });
            }
            (FilterValue::Str(_), "enabled") => {
                return Err(FilterError::InvalidValue {
                    attribute: attr.to_owned(),
                    reason: "`enabled` takes true or false, not a string",
                });
            }
            (FilterValue::Str(s), _) => check_string(attr, s)?,
        }
        Ok(Filter::Compare {
            attr: attr.to_owned(),
            op,
            value,
        })
    }

    /// Checks every attribute against what PingOne filters `resource` on.
    pub fn check_for(&self, resource: FilterResource) -> Result<(), FilterError> {
        match self {
            Filter::And(a, b) | Filter::Or(a, b) => {
                a.check_for(resource)?;
                b.check_for(resource)
            }
            Filter::MemberOf { .. } => Ok(()),
            Filter::Compare { attr, .. } => check_attribute_for(attr, resource),
        }
    }
}

fn check_attribute_syntax(attr: &str) -> Result<(), FilterError> {
    let ok = !attr.is_empty()
        && attr.split('.').all(|part| {
            let mut chars = part.chars();
            matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        });
    // Words of the filter grammar would be read as operators, not names.
    let keyword = ["and", "or", "not", "eq", "sw", "memberOfGroups"]
        .iter()
        .any(|k| attr.eq_ignore_ascii_case(k));
    if ok && !keyword {
        Ok(())
    } else {
        Err(FilterError::InvalidAttribute {
            attribute: attr.to_owned(),
        })
    }
}

fn check_attribute_for(attr: &str, resource: FilterResource) -> Result<(), FilterError> {
    let refuse = |fix: &str| {
        Err(FilterError::NotFilterable {
            attribute: attr.to_owned(),
            resource,
            fix: fix.to_owned(),
        })
    };
    match resource {
        FilterResource::Groups => {
            if GROUP_ATTRIBUTES.contains(&attr) {
                Ok(())
            } else {
                refuse("groups filter only on id, name, population.id and externalId")
            }
        }
        FilterResource::Users => {
            if USER_ATTRIBUTES.contains(&attr) {
                return Ok(());
            }
            let head = attr.split('.').next().unwrap_or(attr);
            if USER_UNFILTERABLE.contains(&head) {
                return refuse(
                    "PingOne offers no filter on it (no changed-since or status filter); list and compare instead",
                );
            }
            if attr.contains('.') {
                return refuse(
                    "only the documented sub-attributes (address.*, name.*, population.id, photo.href) are filterable",
                );
            }
            // A single-part unknown name is taken as a STRING custom attribute.
            Ok(())
        }
    }
}

fn check_string(attr: &str, s: &str) -> Result<(), FilterError> {
    if s.chars().any(char::is_control) {
        return Err(FilterError::InvalidValue {
            attribute: attr.to_owned(),
            reason: "it contains control characters",
        });
    }
    Ok(())
}

/// Writes `s` as a quoted filter string: `"` and `\` are escaped with a backslash, as in
/// a JSON string (RFC 7644 §3.4.2.2).
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Filter::Compare { attr, op, value } => {
                write!(f, "{attr} {} ", op.as_str())?;
                match value {
                    FilterValue::Str(s) => f.write_str(&quote(s)),
                    FilterValue::Bool(b) => write!(f, "{b}"),
                }
            }
            Filter::MemberOf {
                group_id,
                direct_only,
            } => {
                write!(f, "memberOfGroups[id eq {}", quote(group_id))?;
                if *direct_only {
                    f.write_str(" and type eq \"DIRECT\"")?;
                }
                f.write_str("]")
            }
            Filter::And(a, b) => write!(f, "{} and {}", Operand(a), Operand(b)),
            Filter::Or(a, b) => write!(f, "{} or {}", Operand(a), Operand(b)),
        }
    }
}

/// Parenthesises compound operands so `and`/`or` precedence never matters.
struct Operand<'a>(&'a Filter);

impl fmt::Display for Operand<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Filter::And(..) | Filter::Or(..) => write!(f, "({})", self.0),
            other => write!(f, "{other}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::expect;

    #[test]
    fn renders_the_documented_shapes() {
        let f = Filter::eq("name.family", "Smith")
            .unwrap()
            .and(Filter::sw("name.given", "W").unwrap());
        expect![[r#"name.family eq "Smith" and name.given sw "W""#]].assert_eq(&f.to_string());
        let g = Filter::member_of("g1")
            .unwrap()
            .or(Filter::direct_member_of("g2").unwrap())
            .and(Filter::eq("enabled", true).unwrap());
        expect![[r#"(memberOfGroups[id eq "g1"] or memberOfGroups[id eq "g2" and type eq "DIRECT"]) and enabled eq true"#]]
            .assert_eq(&g.to_string());
    }

    #[test]
    fn quotes_and_backslashes_are_escaped() {
        let f = Filter::eq("username", r#"a"b\c"#).unwrap();
        expect![[r#"username eq "a\"b\\c""#]].assert_eq(&f.to_string());
    }

    #[test]
    fn refuses_what_pingone_cannot_filter_on() {
        let users = FilterResource::Users;
        for attr in [
            "updatedAt",
            "createdAt",
            "lifecycle.status",
            "account.status",
            "identityProvider.type",
            "id",
        ] {
            let f = Filter::eq(attr, "x").unwrap();
            assert!(
                matches!(f.check_for(users), Err(FilterError::NotFilterable { .. })),
                "{attr} was accepted"
            );
        }
        assert!(matches!(
            Filter::sw("population.id", "p"),
            Err(FilterError::UnsupportedOperator { .. })
        ));
        assert!(matches!(
            Filter::eq("title", true),
            Err(FilterError::InvalidValue { .. })
        ));
        assert!(matches!(
            Filter::eq("username", "a\nb"),
            Err(FilterError::InvalidValue { .. })
        ));
        assert!(matches!(
            Filter::eq("name family", "x"),
            Err(FilterError::InvalidAttribute { .. })
        ));
        let custom = Filter::eq("costCenter", "42").unwrap();
        assert_eq!(custom.check_for(users), Ok(()));
        assert!(custom.check_for(FilterResource::Groups).is_err());
        assert_eq!(
            Filter::eq("name", "Sales")
                .unwrap()
                .check_for(FilterResource::Groups),
            Ok(())
        );
        let msg = Filter::eq("updatedAt", "2024")
            .unwrap()
            .check_for(users)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("`updatedAt`"), "{msg}");
    }
}
