//! The SCIM filter subset PingOne accepts on list calls: `eq`, `sw` (and `ew`,
//! `co`, which the current admin guide lists for string attributes), `and`,
//! `or`, parentheses and `memberOfGroups[id eq "G" (and type eq "DIRECT")]`.
//!
//! Parsing and checking are separate: [`parse`] builds the syntax tree, and a
//! [`Schema`] then decides which attributes and operators a collection
//! accepts, so anything else is refused as `INVALID_FILTER` up front.

use serde_json::Value;
use std::fmt;

/// A comparison operator of the subset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Equal (exact, case-sensitive).
    Eq,
    /// Starts with (case-sensitive).
    Sw,
    /// Ends with (case-sensitive).
    Ew,
    /// Contains (case-sensitive).
    Co,
}

/// A literal in a comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Literal {
    /// A quoted string.
    Str(String),
    /// A bare `true` / `false`.
    Bool(bool),
}

/// Which membership a `memberOfGroups[...]` term asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberKind {
    /// Any membership (direct or through nesting).
    Any,
    /// `type eq "DIRECT"`.
    Direct,
    /// `type eq "INDIRECT"`.
    Indirect,
}

/// A parsed filter expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    /// Both sides hold.
    And(Box<Filter>, Box<Filter>),
    /// Either side holds.
    Or(Box<Filter>, Box<Filter>),
    /// `attr op value`.
    Cmp {
        /// Attribute path such as `name.family`.
        attr: String,
        /// The operator.
        op: Op,
        /// The value compared with.
        value: Literal,
    },
    /// `memberOfGroups[id eq "G" ...]`.
    MemberOf {
        /// The group id.
        group: String,
        /// Direct, indirect or any membership.
        kind: MemberKind,
    },
}

/// Why a filter was refused; becomes a 400 `INVALID_FILTER`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError {
    /// What is wrong, naming the token or attribute.
    pub message: String,
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for FilterError {}

fn err<T>(message: impl Into<String>) -> Result<T, FilterError> {
    Err(FilterError {
        message: message.into(),
    })
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    LParen,
    RParen,
    LBracket,
    RBracket,
}

fn lex(input: &str) -> Result<Vec<Tok>, FilterError> {
    let mut out = Vec::new();
    let mut chars = input.char_indices().peekable();
    while let Some(&(pos, c)) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' => {
                chars.next();
                out.push(Tok::LParen);
            }
            ')' => {
                chars.next();
                out.push(Tok::RParen);
            }
            '[' => {
                chars.next();
                out.push(Tok::LBracket);
            }
            ']' => {
                chars.next();
                out.push(Tok::RBracket);
            }
            '"' => {
                chars.next();
                let mut s = String::new();
                let mut closed = false;
                while let Some((_, c)) = chars.next() {
                    match c {
                        '"' => {
                            closed = true;
                            break;
                        }
                        '\\' => match chars.next() {
                            Some((_, '"')) => s.push('"'),
                            Some((_, '\\')) => s.push('\\'),
                            Some((_, '/')) => s.push('/'),
                            Some((_, 'n')) => s.push('\n'),
                            Some((_, 't')) => s.push('\t'),
                            Some((_, 'r')) => s.push('\r'),
                            Some((_, 'u')) => {
                                let hex: String = (0..4)
                                    .filter_map(|_| chars.next())
                                    .map(|(_, c)| c)
                                    .collect();
                                match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                                    Some(c) if hex.len() == 4 => s.push(c),
                                    _ => return err(format!("bad \\u escape at offset {pos}")),
                                }
                            }
                            _ => {
                                return err(format!(
                                    "bad escape in the string starting at offset {pos}"
                                ));
                            }
                        },
                        c => s.push(c),
                    }
                }
                if !closed {
                    return err(format!("unterminated string starting at offset {pos}"));
                }
                out.push(Tok::Str(s));
            }
            c if c.is_alphanumeric()
                || c == '_'
                || c == '.'
                || c == '$'
                || c == ':'
                || c == '-' =>
            {
                let mut w = String::new();
                while let Some(&(_, c)) = chars.peek() {
                    if c.is_alphanumeric()
                        || c == '_'
                        || c == '.'
                        || c == '$'
                        || c == ':'
                        || c == '-'
                    {
                        w.push(c);
                        chars.next();
                    } else {
                        break;
                    }
                }
                out.push(Tok::Word(w));
            }
            c => return err(format!("unexpected character {c:?} at offset {pos}")),
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

fn is_kw(t: Option<&Tok>, kw: &str) -> bool {
    matches!(t, Some(Tok::Word(w)) if w.eq_ignore_ascii_case(kw))
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }
    fn or(&mut self) -> Result<Filter, FilterError> {
        let mut left = self.and()?;
        while is_kw(self.peek(), "or") {
            self.pos += 1;
            let right = self.and()?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }
    fn and(&mut self) -> Result<Filter, FilterError> {
        let mut left = self.atom()?;
        while is_kw(self.peek(), "and") {
            self.pos += 1;
            let right = self.atom()?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }
    fn atom(&mut self) -> Result<Filter, FilterError> {
        match self.next() {
            Some(Tok::LParen) => {
                let inner = self.or()?;
                match self.next() {
                    Some(Tok::RParen) => Ok(inner),
                    _ => err("missing closing parenthesis"),
                }
            }
            Some(Tok::Word(w)) if w == "memberOfGroups" && self.peek() == Some(&Tok::LBracket) => {
                self.pos += 1;
                self.member_of()
            }
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("not") => {
                err("operator \"not\" is not supported")
            }
            Some(Tok::Word(attr)) => {
                let op = self.op()?;
                let value = self.literal()?;
                Ok(Filter::Cmp { attr, op, value })
            }
            Some(t) => err(format!("expected an attribute, found {}", show(&t))),
            None => err("unexpected end of filter"),
        }
    }
    fn op(&mut self) -> Result<Op, FilterError> {
        match self.next() {
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("eq") => Ok(Op::Eq),
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("sw") => Ok(Op::Sw),
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("ew") => Ok(Op::Ew),
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("co") => Ok(Op::Co),
            Some(Tok::Word(w)) => err(format!(
                "operator {w:?} is not supported (use eq, sw, ew or co)"
            )),
            Some(t) => err(format!("expected an operator, found {}", show(&t))),
            None => err("unexpected end of filter after an attribute"),
        }
    }
    fn literal(&mut self) -> Result<Literal, FilterError> {
        match self.next() {
            Some(Tok::Str(s)) => Ok(Literal::Str(s)),
            Some(Tok::Word(w)) if w == "true" => Ok(Literal::Bool(true)),
            Some(Tok::Word(w)) if w == "false" => Ok(Literal::Bool(false)),
            Some(t) => err(format!("expected a quoted value, found {}", show(&t))),
            None => err("unexpected end of filter after an operator"),
        }
    }
    fn member_of(&mut self) -> Result<Filter, FilterError> {
        let mut group = None;
        let mut kind = None;
        loop {
            let Some(Tok::Word(attr)) = self.next() else {
                return err(
                    "memberOfGroups[...] takes id eq \"...\" and optionally type eq \"DIRECT\"",
                );
            };
            if self.op()? != Op::Eq {
                return err("memberOfGroups[...] supports only eq");
            }
            let Literal::Str(v) = self.literal()? else {
                return err("memberOfGroups[...] values must be quoted");
            };
            match attr.as_str() {
                "id" if group.is_none() => group = Some(v),
                "type" if kind.is_none() => {
                    kind = Some(match v.as_str() {
                        "DIRECT" => MemberKind::Direct,
                        "INDIRECT" => MemberKind::Indirect,
                        _ => {
                            return err(format!("membership type {v:?} is not DIRECT or INDIRECT"));
                        }
                    });
                }
                _ => return err(format!("memberOfGroups[...] cannot filter on {attr:?}")),
            }
            match self.next() {
                Some(Tok::RBracket) => break,
                Some(Tok::Word(w)) if w.eq_ignore_ascii_case("and") => continue,
                _ => return err("memberOfGroups[...] terms are joined by and and closed by ]"),
            }
        }
        match group {
            Some(group) => Ok(Filter::MemberOf {
                group,
                kind: kind.unwrap_or(MemberKind::Any),
            }),
            None => err("memberOfGroups[...] needs id eq \"<groupId>\""),
        }
    }
}

fn show(t: &Tok) -> String {
    match t {
        Tok::Word(w) => format!("{w:?}"),
        Tok::Str(s) => format!("string {s:?}"),
        Tok::LParen => "\"(\"".into(),
        Tok::RParen => "\")\"".into(),
        Tok::LBracket => "\"[\"".into(),
        Tok::RBracket => "\"]\"".into(),
    }
}

/// Parses a filter expression (syntax only; see [`Schema::check`]).
pub fn parse(input: &str) -> Result<Filter, FilterError> {
    let toks = lex(input)?;
    if toks.is_empty() {
        return err("the filter is empty");
    }
    let mut p = Parser { toks, pos: 0 };
    let f = p.or()?;
    match p.peek() {
        None => Ok(f),
        Some(t) => err(format!(
            "unexpected {} after a complete expression",
            show(t)
        )),
    }
}

/// Which attributes and operators a collection accepts in its filter.
#[derive(Debug, Clone, Copy)]
pub struct Schema {
    /// `(attribute, operators)` pairs.
    pub attributes: &'static [(&'static str, &'static [Op])],
    /// Whether unknown single-segment names count as custom STRING attributes.
    pub custom_attributes: bool,
    /// Whether `memberOfGroups[...]` is accepted.
    pub member_of: bool,
    /// Attributes that take bare booleans.
    pub booleans: &'static [&'static str],
}

const TEXT_OPS: &[Op] = &[Op::Eq, Op::Sw, Op::Ew, Op::Co];
const EQ: &[Op] = &[Op::Eq];

/// The user list filter schema (section 2.4 of the reference).
pub const USERS: Schema = Schema {
    attributes: &[
        ("accountId", TEXT_OPS),
        ("address.streetAddress", TEXT_OPS),
        ("address.locality", TEXT_OPS),
        ("address.region", TEXT_OPS),
        ("address.postalCode", TEXT_OPS),
        ("address.countryCode", TEXT_OPS),
        ("email", TEXT_OPS),
        ("enabled", EQ),
        ("externalId", TEXT_OPS),
        ("locale", TEXT_OPS),
        ("mobilePhone", TEXT_OPS),
        ("name.formatted", TEXT_OPS),
        ("name.given", TEXT_OPS),
        ("name.middle", TEXT_OPS),
        ("name.family", TEXT_OPS),
        ("name.honorificPrefix", TEXT_OPS),
        ("name.honorificSuffix", TEXT_OPS),
        ("nickname", TEXT_OPS),
        ("population.id", EQ),
        ("photo.href", TEXT_OPS),
        ("preferredLanguage", TEXT_OPS),
        ("primaryPhone", TEXT_OPS),
        ("timezone", TEXT_OPS),
        ("title", TEXT_OPS),
        ("type", TEXT_OPS),
        ("username", TEXT_OPS),
    ],
    custom_attributes: true,
    member_of: true,
    booleans: &["enabled"],
};

/// The group list filter schema.
pub const GROUPS: Schema = Schema {
    attributes: &[
        ("id", EQ),
        ("name", TEXT_OPS),
        ("population.id", EQ),
        ("externalId", TEXT_OPS),
    ],
    custom_attributes: false,
    member_of: true,
    booleans: &[],
};

/// The population list filter schema.
pub const POPULATIONS: Schema = Schema {
    attributes: &[("id", EQ), ("name", TEXT_OPS)],
    custom_attributes: false,
    member_of: false,
    booleans: &[],
};

/// Standard user attributes PingOne does not filter on; refused even though
/// they would otherwise pass as custom attribute names.
const NOT_FILTERABLE: &[&str] = &[
    "id",
    "createdAt",
    "updatedAt",
    "mfaEnabled",
    "verifyStatus",
    "emailVerified",
    "memberOfGroupIDs",
    "memberOfGroupNames",
    "environment",
    "lifecycle",
    "account",
    "identityProvider",
    "password",
];

impl Schema {
    /// Refuses attributes, operators and literals this collection cannot filter on.
    pub fn check(&self, f: &Filter) -> Result<(), FilterError> {
        match f {
            Filter::And(a, b) | Filter::Or(a, b) => {
                self.check(a)?;
                self.check(b)
            }
            Filter::MemberOf { .. } if self.member_of => Ok(()),
            Filter::MemberOf { .. } => err("memberOfGroups is not filterable here"),
            Filter::Cmp { attr, op, value } => {
                let ops = match self.attributes.iter().find(|(a, _)| a == attr) {
                    Some((_, ops)) => *ops,
                    None if self.custom_attributes
                        && !attr.contains('.')
                        && !NOT_FILTERABLE.contains(&attr.as_str()) =>
                    {
                        TEXT_OPS
                    }
                    None => {
                        let names: Vec<&str> = self.attributes.iter().map(|(a, _)| *a).collect();
                        return err(format!(
                            "attribute {attr:?} is not filterable; supported: {}",
                            names.join(", ")
                        ));
                    }
                };
                if !ops.contains(op) {
                    return err(format!("attribute {attr:?} supports only eq"));
                }
                if matches!(value, Literal::Bool(_)) && !self.booleans.contains(&attr.as_str()) {
                    return err(format!("attribute {attr:?} takes a quoted string"));
                }
                Ok(())
            }
        }
    }

    /// Parses and checks in one go.
    pub fn parse(&self, input: &str) -> Result<Filter, FilterError> {
        let f = parse(input)?;
        self.check(&f)?;
        Ok(f)
    }
}

/// What a filter is evaluated against.
pub trait Subject {
    /// The value at a dotted attribute path, if present.
    fn attr(&self, path: &str) -> Option<Value>;
    /// Whether the subject is a member of `group` in the given way.
    fn member_of(&self, group: &str, kind: MemberKind) -> bool;
}

/// Looks a dotted path up in a JSON object.
pub fn lookup<'a>(obj: &'a serde_json::Map<String, Value>, path: &str) -> Option<&'a Value> {
    let mut parts = path.split('.');
    let mut cur = obj.get(parts.next()?)?;
    for p in parts {
        cur = cur.as_object()?.get(p)?;
    }
    Some(cur)
}

fn value_matches(v: &Value, op: Op, lit: &Literal) -> bool {
    match (v, lit) {
        (Value::String(s), Literal::Str(l)) => match op {
            Op::Eq => s == l,
            Op::Sw => s.starts_with(l.as_str()),
            Op::Ew => s.ends_with(l.as_str()),
            Op::Co => s.contains(l.as_str()),
        },
        (Value::Bool(b), Literal::Bool(l)) => op == Op::Eq && b == l,
        (Value::Bool(b), Literal::Str(l)) => op == Op::Eq && l == if *b { "true" } else { "false" },
        (Value::Array(items), _) => items.iter().any(|i| value_matches(i, op, lit)),
        _ => false,
    }
}

impl Filter {
    /// The filter with every `username` comparison's value lower-cased (for a
    /// subject whose usernames are lower-cased too: a case-insensitive match).
    pub fn fold_username(self) -> Filter {
        match self {
            Filter::And(a, b) => {
                Filter::And(Box::new(a.fold_username()), Box::new(b.fold_username()))
            }
            Filter::Or(a, b) => {
                Filter::Or(Box::new(a.fold_username()), Box::new(b.fold_username()))
            }
            Filter::Cmp {
                attr,
                op,
                value: Literal::Str(v),
            } if attr == "username" => Filter::Cmp {
                attr,
                op,
                value: Literal::Str(v.to_lowercase()),
            },
            other => other,
        }
    }

    /// Whether the subject satisfies the filter.
    pub fn matches(&self, s: &dyn Subject) -> bool {
        match self {
            Filter::And(a, b) => a.matches(s) && b.matches(s),
            Filter::Or(a, b) => a.matches(s) || b.matches(s),
            Filter::Cmp { attr, op, value } => {
                s.attr(attr).is_some_and(|v| value_matches(&v, *op, value))
            }
            Filter::MemberOf { group, kind } => s.member_of(group, *kind),
        }
    }

    /// Every group id named in `memberOfGroups[...]` terms.
    pub fn groups(&self) -> Vec<&str> {
        match self {
            Filter::And(a, b) | Filter::Or(a, b) => {
                let mut v = a.groups();
                v.extend(b.groups());
                v
            }
            Filter::Cmp { .. } => Vec::new(),
            Filter::MemberOf { group, .. } => vec![group.as_str()],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_and_binds_tighter_than_or() {
        let f = parse(r#"a eq "1" or b eq "2" and c sw "3""#).unwrap();
        let Filter::Or(_, right) = f else {
            panic!("expected or at the top: {f:?}")
        };
        assert!(matches!(*right, Filter::And(_, _)));
    }

    #[test]
    fn member_of_with_type_in_either_order() {
        for s in [
            r#"memberOfGroups[id eq "g" and type eq "DIRECT"]"#,
            r#"memberOfGroups[type eq "DIRECT" and id eq "g"]"#,
        ] {
            assert_eq!(
                parse(s).unwrap(),
                Filter::MemberOf {
                    group: "g".into(),
                    kind: MemberKind::Direct
                }
            );
        }
    }

    #[test]
    fn escapes_in_strings() {
        let f = parse(r#"username eq "a\"b\\c""#).unwrap();
        assert_eq!(
            f,
            Filter::Cmp {
                attr: "username".into(),
                op: Op::Eq,
                value: Literal::Str("a\"b\\c".into())
            }
        );
    }

    #[test]
    fn refuses_what_pingone_refuses() {
        for bad in [
            r#"username ne "x""#,
            r#"username pr"#,
            r#"not (username eq "x")"#,
            r#"id eq "x""#,
            r#"updatedAt eq "x""#,
            r#"lifecycle.status eq "ACCOUNT_OK""#,
            r#"population.id sw "x""#,
            r#"(username eq "x""#,
            r#"username eq "x" and"#,
            r#"username eq x"#,
            r#"memberOfGroups[name eq "x"]"#,
            r#"memberOfGroups[id eq "x" and type eq "BOTH"]"#,
            "",
        ] {
            assert!(USERS.parse(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
