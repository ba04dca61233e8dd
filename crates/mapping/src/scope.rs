//! Scope filters: the SCIM-style expressions PingOne's rules and user API take
//! (`eq ne sw ew co gt ge lt le pr`, `and or not`, parentheses, dotted and
//! custom attributes, booleans, `memberOfGroups[...]`), parsed and type-checked
//! once, evaluated on the attributes read, with the condition that decided.
//!
//! The local evaluation is the truth; [`ScopeFilter::pushdown`] only extracts a
//! weaker filter (every user in scope passes it) for the API to narrow the
//! listing with.

use serde_json::Value;
use std::fmt;

/// Whose attributes a filter names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// PingOne users (outbound rules): any attribute path, `memberOfGroups[...]`.
    PingOne,
    /// Duo users (inbound rules): the Admin API's user attributes.
    Duo,
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Sw,
    Ew,
    Co,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CmpOp {
    fn parse(w: &str) -> Option<CmpOp> {
        Some(match w.to_ascii_lowercase().as_str() {
            "eq" => CmpOp::Eq,
            "ne" => CmpOp::Ne,
            "sw" => CmpOp::Sw,
            "ew" => CmpOp::Ew,
            "co" => CmpOp::Co,
            "gt" => CmpOp::Gt,
            "ge" => CmpOp::Ge,
            "lt" => CmpOp::Lt,
            "le" => CmpOp::Le,
            _ => return None,
        })
    }
}

/// A literal compared with.
#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    Str(String),
    Bool(bool),
    Num(f64),
}

/// Which membership `memberOfGroups[...]` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Membership {
    /// Direct, nested or dynamic (PingOne's rule filters: any kind).
    Any,
    /// `type eq "DIRECT"`.
    Direct,
    /// `type eq "INDIRECT"`.
    Indirect,
}

#[derive(Debug, Clone, PartialEq)]
enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>, Span),
    Cmp {
        path: String,
        op: CmpOp,
        lit: Lit,
        span: Span,
    },
    Present {
        path: String,
        span: Span,
    },
    MemberOf {
        group: String,
        kind: Membership,
        span: Span,
    },
}

type Span = (usize, usize);

/// A filter that does not parse or type-check; `column` is 1-based, in characters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {message}")]
pub struct FilterError {
    pub column: usize,
    pub message: String,
}

/// One leaf of a filter, as handed to a pushdown builder.
#[derive(Debug, Clone, Copy)]
pub enum Leaf<'a> {
    Cmp {
        path: &'a str,
        op: CmpOp,
        lit: &'a Lit,
    },
    Present {
        path: &'a str,
    },
    MemberOf {
        group: &'a str,
        kind: Membership,
    },
}

/// What a filter is evaluated on.
pub trait Subject {
    /// The value at a dotted path (`None`: not set).
    fn attr(&self, path: &str) -> Option<Value>;
    /// Whether the subject is in `group` (as written in the filter) that way.
    fn member_of(&self, group: &str, kind: Membership) -> bool;
}

/// A user's JSON with the memberships known for it.
pub struct JsonSubject<'a, F: Fn(&str, Membership) -> bool> {
    pub json: &'a Value,
    pub member_of: F,
}

impl<F: Fn(&str, Membership) -> bool> Subject for JsonSubject<'_, F> {
    fn attr(&self, path: &str) -> Option<Value> {
        let mut cur = self.json;
        for p in path.split('.') {
            cur = cur.as_object()?.get(p)?;
        }
        (!cur.is_null()).then(|| cur.clone())
    }
    fn member_of(&self, group: &str, kind: Membership) -> bool {
        (self.member_of)(group, kind)
    }
}

/// Whether a user is in scope, and the condition that decided it, in the
/// filter's own words (`title sw "Eng" (title is "Sales")`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub included: bool,
    pub because: String,
}

/// A parsed, checked scope filter.
#[derive(Debug, Clone, PartialEq)]
pub struct ScopeFilter {
    text: String,
    expr: Expr,
}

/// Duo user attributes a filter may name, and whether each is a boolean or a number.
const DUO_ATTRS: &[(&str, Kind)] = &[
    ("user_id", Kind::Str),
    ("username", Kind::Str),
    ("realname", Kind::Str),
    ("firstname", Kind::Str),
    ("lastname", Kind::Str),
    ("email", Kind::Str),
    ("status", Kind::Str),
    ("notes", Kind::Str),
    ("alias1", Kind::Str),
    ("alias2", Kind::Str),
    ("alias3", Kind::Str),
    ("alias4", Kind::Str),
    ("external_id", Kind::Str),
    ("groups", Kind::Str),
    ("is_enrolled", Kind::Bool),
    ("created", Kind::Num),
    ("last_login", Kind::Num),
];

/// PingOne user attributes that are not strings.
const PINGONE_TYPED: &[(&str, Kind)] = &[
    ("enabled", Kind::Bool),
    ("mfaEnabled", Kind::Bool),
    ("emailVerified", Kind::Bool),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Str,
    Bool,
    Num,
}

impl ScopeFilter {
    /// Parses and type-checks `text` for `dialect`.
    pub fn parse(text: &str, dialect: Dialect) -> Result<ScopeFilter, FilterError> {
        let toks = lex(text)?;
        let mut p = Parser {
            toks,
            pos: 0,
            end: text.len(),
        };
        if p.toks.is_empty() {
            return Err(err_at(text, 0, "the filter is empty"));
        }
        let expr = p.or().map_err(|(at, m)| err_at(text, at, m))?;
        if let Some(t) = p.toks.get(p.pos) {
            return Err(err_at(
                text,
                t.at,
                format!(
                    "unexpected {} after a complete condition (join conditions with and / or)",
                    t.show()
                ),
            ));
        }
        check(&expr, dialect).map_err(|(at, m)| err_at(text, at, m))?;
        Ok(ScopeFilter {
            text: text.to_owned(),
            expr,
        })
    }

    /// The filter as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Every group named in `memberOfGroups[...]`, with the membership asked for.
    pub fn groups(&self) -> Vec<(&str, Membership)> {
        let mut out = Vec::new();
        walk(&self.expr, &mut |e| {
            if let Expr::MemberOf { group, kind, .. } = e {
                out.push((group.as_str(), *kind));
            }
        });
        out
    }

    /// Every attribute path the filter reads.
    pub fn paths(&self) -> Vec<&str> {
        let mut out = Vec::new();
        walk(&self.expr, &mut |e| match e {
            Expr::Cmp { path, .. } | Expr::Present { path, .. } => out.push(path.as_str()),
            _ => {}
        });
        out
    }

    /// Whether the subject is in scope, with the deciding condition.
    pub fn evaluate(&self, s: &dyn Subject) -> Verdict {
        let (included, because) = self.explain(&self.expr, s);
        Verdict { included, because }
    }

    /// Just the answer.
    pub fn matches(&self, s: &dyn Subject) -> bool {
        eval(&self.expr, s)
    }

    fn src(&self, (a, b): Span) -> &str {
        self.text.get(a..b).unwrap_or("")
    }

    fn explain(&self, e: &Expr, s: &dyn Subject) -> (bool, String) {
        match e {
            Expr::And(a, b) => {
                let (ra, wa) = self.explain(a, s);
                if !ra {
                    return (false, wa);
                }
                let (rb, wb) = self.explain(b, s);
                if rb {
                    (true, format!("{wa} and {wb}"))
                } else {
                    (false, wb)
                }
            }
            Expr::Or(a, b) => {
                let (ra, wa) = self.explain(a, s);
                if ra {
                    return (true, wa);
                }
                let (rb, wb) = self.explain(b, s);
                if rb {
                    (true, wb)
                } else {
                    (false, format!("neither {wa} nor {wb}"))
                }
            }
            Expr::Not(inner, span) => {
                let r = !eval(inner, s);
                (r, self.src(*span).to_owned())
            }
            Expr::Cmp { path, span, .. } | Expr::Present { path, span } => {
                let shown = match s.attr(path) {
                    None => format!("{path} is not set"),
                    Some(Value::String(v)) => format!("{path} is {v:?}"),
                    Some(v) => format!("{path} is {v}"),
                };
                (eval(e, s), format!("{} ({shown})", self.src(*span)))
            }
            Expr::MemberOf { span, .. } => (eval(e, s), self.src(*span).to_owned()),
        }
    }

    /// A weaker filter for the API: `leaf` turns a condition it can send into
    /// `T` (or refuses it); `and`/`or` join. An `and` keeps the sides it can
    /// send, an `or` needs both, a `not` is never sent. `None`: nothing can be.
    pub fn pushdown<T>(
        &self,
        leaf: &mut dyn FnMut(Leaf<'_>) -> Option<T>,
        and: &dyn Fn(T, T) -> T,
        or: &dyn Fn(T, T) -> T,
    ) -> Option<T> {
        push(&self.expr, leaf, and, or)
    }
}

fn push<T>(
    e: &Expr,
    leaf: &mut dyn FnMut(Leaf<'_>) -> Option<T>,
    and: &dyn Fn(T, T) -> T,
    or: &dyn Fn(T, T) -> T,
) -> Option<T> {
    match e {
        Expr::And(a, b) => match (push(a, leaf, and, or), push(b, leaf, and, or)) {
            (Some(x), Some(y)) => Some(and(x, y)),
            (x, y) => x.or(y),
        },
        Expr::Or(a, b) => {
            let x = push(a, leaf, and, or)?;
            let y = push(b, leaf, and, or)?;
            Some(or(x, y))
        }
        Expr::Not(..) => None,
        Expr::Cmp { path, op, lit, .. } => leaf(Leaf::Cmp { path, op: *op, lit }),
        Expr::Present { path, .. } => leaf(Leaf::Present { path }),
        Expr::MemberOf { group, kind, .. } => leaf(Leaf::MemberOf { group, kind: *kind }),
    }
}

fn walk<'a>(e: &'a Expr, f: &mut dyn FnMut(&'a Expr)) {
    match e {
        Expr::And(a, b) | Expr::Or(a, b) => {
            walk(a, f);
            walk(b, f);
        }
        Expr::Not(a, _) => walk(a, f),
        leaf => f(leaf),
    }
}

fn eval(e: &Expr, s: &dyn Subject) -> bool {
    match e {
        Expr::And(a, b) => eval(a, s) && eval(b, s),
        Expr::Or(a, b) => eval(a, s) || eval(b, s),
        Expr::Not(a, _) => !eval(a, s),
        Expr::Present { path, .. } => s.attr(path).is_some_and(|v| present(&v)),
        Expr::MemberOf { group, kind, .. } => s.member_of(group, *kind),
        Expr::Cmp { path, op, lit, .. } => {
            let v = s.attr(path);
            match op {
                // SCIM: not equal holds for an attribute that is not set.
                CmpOp::Ne => !v.is_some_and(|v| compare(&v, CmpOp::Eq, lit)),
                _ => v.is_some_and(|v| compare(&v, *op, lit)),
            }
        }
    }
}

fn present(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => a.iter().any(present),
        Value::Object(o) => !o.is_empty(),
        _ => true,
    }
}

/// One value against a literal; a multi-valued attribute matches when any item does.
fn compare(v: &Value, op: CmpOp, lit: &Lit) -> bool {
    use std::cmp::Ordering::*;
    let ord = |o: Option<std::cmp::Ordering>| {
        matches!(
            (op, o),
            (CmpOp::Gt, Some(Greater))
                | (CmpOp::Ge, Some(Greater | Equal))
                | (CmpOp::Lt, Some(Less))
                | (CmpOp::Le, Some(Less | Equal))
                | (CmpOp::Eq, Some(Equal))
        )
    };
    match (v, lit) {
        (Value::Array(items), _) => items.iter().any(|i| compare(i, op, lit)),
        (Value::String(s), Lit::Str(l)) => match op {
            CmpOp::Eq => s == l,
            CmpOp::Ne => s != l,
            CmpOp::Sw => s.starts_with(l.as_str()),
            CmpOp::Ew => s.ends_with(l.as_str()),
            CmpOp::Co => s.contains(l.as_str()),
            _ => ord(Some(s.as_str().cmp(l.as_str()))),
        },
        (Value::Bool(b), Lit::Bool(l)) => match op {
            CmpOp::Eq => b == l,
            CmpOp::Ne => b != l,
            _ => false,
        },
        (Value::Number(n), Lit::Num(l)) => match op {
            CmpOp::Ne => n.as_f64() != Some(*l),
            _ => ord(n.as_f64().and_then(|n| n.partial_cmp(l))),
        },
        _ => false,
    }
}

/// Attribute kinds and names each dialect accepts.
fn check(e: &Expr, d: Dialect) -> Result<(), (usize, String)> {
    match e {
        Expr::And(a, b) | Expr::Or(a, b) => {
            check(a, d)?;
            check(b, d)
        }
        Expr::Not(a, _) => check(a, d),
        Expr::MemberOf { span, .. } => match d {
            Dialect::PingOne => Ok(()),
            Dialect::Duo => Err((
                span.0,
                "memberOfGroups[...] is PingOne's; a Duo user's groups are filtered by name: groups eq \"<group name>\"".into(),
            )),
        },
        Expr::Present { path, span } => kind_of(path, d, span.0).map(|_| ()),
        Expr::Cmp {
            path, op, lit, span,
        } => {
            let kind = kind_of(path, d, span.0)?;
            let at = span.0;
            match (kind, lit) {
                (Kind::Bool, Lit::Bool(_)) if matches!(op, CmpOp::Eq | CmpOp::Ne) => Ok(()),
                (Kind::Bool, Lit::Bool(_)) => Err((at, format!("{path} is a boolean: compare it with eq or ne"))),
                (Kind::Bool, _) => Err((at, format!("{path} is a boolean: write {path} eq true or {path} eq false, without quotes"))),
                (Kind::Num, Lit::Num(_)) if !matches!(op, CmpOp::Sw | CmpOp::Ew | CmpOp::Co) => Ok(()),
                (Kind::Num, Lit::Num(_)) => Err((at, format!("{path} is a number: sw, ew and co compare text; use eq, ne, gt, ge, lt or le"))),
                (Kind::Num, _) => Err((at, format!("{path} is a number (Unix seconds): write it without quotes"))),
                (Kind::Str, Lit::Str(_)) => Ok(()),
                (Kind::Str, _) => Err((at, format!("{path} is text: quote the value (\"...\")"))),
            }
        }
    }
}

fn kind_of(path: &str, d: Dialect, at: usize) -> Result<Kind, (usize, String)> {
    match d {
        Dialect::PingOne => Ok(PINGONE_TYPED
            .iter()
            .find(|(p, _)| *p == path)
            .map_or(Kind::Str, |(_, k)| *k)),
        Dialect::Duo => DUO_ATTRS
            .iter()
            .find(|(p, _)| *p == path)
            .map(|(_, k)| *k)
            .ok_or_else(|| {
                let names: Vec<&str> = DUO_ATTRS.iter().map(|(n, _)| *n).collect();
                (
                    at,
                    format!(
                        "{path:?} is not a Duo user attribute; use one of {}",
                        names.join(", ")
                    ),
                )
            }),
    }
}

fn err_at(text: &str, byte: usize, m: impl Into<String>) -> FilterError {
    FilterError {
        column: text.get(..byte).map_or(1, |s| s.chars().count() + 1),
        message: m.into(),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum T {
    Word(String),
    Str(String),
    Num(f64),
    LParen,
    RParen,
    LBracket,
    RBracket,
}

#[derive(Debug, Clone)]
struct Tok {
    t: T,
    at: usize,
    end: usize,
}

impl Tok {
    fn show(&self) -> String {
        match &self.t {
            T::Word(w) => format!("{w:?}"),
            T::Str(s) => format!("the string {s:?}"),
            T::Num(n) => format!("the number {n}"),
            T::LParen => "\"(\"".into(),
            T::RParen => "\")\"".into(),
            T::LBracket => "\"[\"".into(),
            T::RBracket => "\"]\"".into(),
        }
    }
}

fn lex(text: &str) -> Result<Vec<Tok>, FilterError> {
    let mut out = Vec::new();
    let mut it = text.char_indices().peekable();
    while let Some(&(at, c)) = it.peek() {
        let single = match c {
            '(' => Some(T::LParen),
            ')' => Some(T::RParen),
            '[' => Some(T::LBracket),
            ']' => Some(T::RBracket),
            _ => None,
        };
        if c.is_whitespace() {
            it.next();
        } else if let Some(t) = single {
            it.next();
            out.push(Tok { t, at, end: at + 1 });
        } else if c == '"' {
            it.next();
            let mut s = String::new();
            let mut end = None;
            while let Some((i, c)) = it.next() {
                match c {
                    '"' => {
                        end = Some(i + 1);
                        break;
                    }
                    '\\' => match it.next() {
                        Some((_, c @ ('"' | '\\' | '/'))) => s.push(c),
                        Some((_, 'n')) => s.push('\n'),
                        Some((_, 't')) => s.push('\t'),
                        _ => {
                            return Err(err_at(
                                text,
                                i,
                                "unknown escape: inside quotes write \\\" for a quote and \\\\ for a backslash",
                            ));
                        }
                    },
                    c => s.push(c),
                }
            }
            let Some(end) = end else {
                return Err(err_at(text, at, "this string has no closing quote"));
            };
            out.push(Tok {
                t: T::Str(s),
                at,
                end,
            });
        } else if c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '$' | ':' | '+') {
            let mut w = String::new();
            let mut end = at;
            while let Some(&(i, c)) = it.peek() {
                if c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '$' | ':' | '+') {
                    w.push(c);
                    end = i + c.len_utf8();
                    it.next();
                } else {
                    break;
                }
            }
            let t = match w.parse::<f64>() {
                Ok(n)
                    if n.is_finite() && w.starts_with(|c: char| c.is_ascii_digit() || c == '-') =>
                {
                    T::Num(n)
                }
                _ => T::Word(w),
            };
            out.push(Tok { t, at, end });
        } else {
            return Err(err_at(text, at, format!("unexpected character {c:?}")));
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
    end: usize,
}

type PResult<T> = Result<T, (usize, String)>;

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }
    fn kw(&self, k: &str) -> bool {
        matches!(self.peek(), Some(Tok { t: T::Word(w), .. }) if w.eq_ignore_ascii_case(k))
    }
    fn next(&mut self, what: &str) -> PResult<Tok> {
        let t = self.toks.get(self.pos).cloned().ok_or_else(|| {
            (
                self.end,
                format!("the filter ends where {what} was expected"),
            )
        })?;
        self.pos += 1;
        Ok(t)
    }
    fn or(&mut self) -> PResult<Expr> {
        let mut left = self.and()?;
        while self.kw("or") {
            self.pos += 1;
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }
    fn and(&mut self) -> PResult<Expr> {
        let mut left = self.unary()?;
        while self.kw("and") {
            self.pos += 1;
            left = Expr::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }
    fn unary(&mut self) -> PResult<Expr> {
        if self.kw("not") {
            let at = self.next("not")?.at;
            let inner = self.atom()?;
            let end = self.toks[self.pos - 1].end;
            return Ok(Expr::Not(Box::new(inner), (at, end)));
        }
        self.atom()
    }
    fn atom(&mut self) -> PResult<Expr> {
        let t = self.next("a condition")?;
        match t.t {
            T::LParen => {
                let inner = self.or()?;
                match self.next("\")\"")? {
                    Tok { t: T::RParen, .. } => Ok(inner),
                    o => Err((o.at, format!("expected \")\", found {}", o.show()))),
                }
            }
            T::Word(w) if w == "memberOfGroups" => self.member_of(t.at),
            T::Word(w) if is_keyword(&w) => Err((
                t.at,
                format!("expected an attribute name, found the keyword {w:?}"),
            )),
            T::Word(path) => {
                if !valid_path(&path) {
                    return Err((
                        t.at,
                        format!(
                            "{path:?} is not an attribute name (letters, digits and _, parts joined by .)"
                        ),
                    ));
                }
                let opt = self.next("an operator (eq ne sw ew co gt ge lt le pr)")?;
                let op = match &opt.t {
                    T::Word(o) if o.eq_ignore_ascii_case("pr") => {
                        return Ok(Expr::Present {
                            path,
                            span: (t.at, opt.end),
                        });
                    }
                    T::Word(o) => CmpOp::parse(o),
                    _ => None,
                }
                .ok_or_else(|| {
                    (
                        opt.at,
                        format!(
                            "expected an operator (eq ne sw ew co gt ge lt le pr), found {}",
                            opt.show()
                        ),
                    )
                })?;
                let v = self.next("a value")?;
                let lit = match v.t {
                    T::Str(s) => Lit::Str(s),
                    T::Num(n) => Lit::Num(n),
                    T::Word(w) if w == "true" => Lit::Bool(true),
                    T::Word(w) if w == "false" => Lit::Bool(false),
                    _ => {
                        return Err((
                            v.at,
                            format!(
                                "expected a value (\"text\", true, false or a number), found {}",
                                v.show()
                            ),
                        ));
                    }
                };
                Ok(Expr::Cmp {
                    path,
                    op,
                    lit,
                    span: (t.at, v.end),
                })
            }
            _ => Err((t.at, format!("expected a condition, found {}", t.show()))),
        }
    }
    fn member_of(&mut self, at: usize) -> PResult<Expr> {
        let usage =
            "memberOfGroups[id eq \"<group>\"] (optionally and type eq \"DIRECT\" or \"INDIRECT\")";
        match self.next("\"[\"")? {
            Tok { t: T::LBracket, .. } => {}
            o => return Err((o.at, format!("expected {usage}"))),
        }
        let (mut group, mut kind) = (None, None);
        loop {
            let a = self.next(usage)?;
            let name = match &a.t {
                T::Word(w) if w == "id" || w == "type" => w.clone(),
                _ => return Err((a.at, format!("expected {usage}, found {}", a.show()))),
            };
            let op = self.next("eq")?;
            if !matches!(&op.t, T::Word(w) if w.eq_ignore_ascii_case("eq")) {
                return Err((
                    op.at,
                    format!("inside memberOfGroups[...] only eq is accepted: {usage}"),
                ));
            }
            let v = self.next("a quoted value")?;
            let T::Str(val) = v.t else {
                return Err((v.at, format!("expected a quoted value: {usage}")));
            };
            if name == "id" && group.is_none() {
                if val.is_empty() {
                    return Err((
                        v.at,
                        "the group is empty: name a group (its name or id)".into(),
                    ));
                }
                group = Some(val);
            } else if name == "type" && kind.is_none() {
                kind = Some(match val.as_str() {
                    "DIRECT" => Membership::Direct,
                    "INDIRECT" => Membership::Indirect,
                    _ => {
                        return Err((
                            v.at,
                            format!("membership type {val:?}: expected \"DIRECT\" or \"INDIRECT\""),
                        ));
                    }
                });
            } else {
                return Err((a.at, format!("{name} is given twice: {usage}")));
            }
            let sep = self.next("\"]\"")?;
            match &sep.t {
                T::RBracket => {
                    let Some(group) = group else {
                        return Err((sep.at, format!("no group named: {usage}")));
                    };
                    return Ok(Expr::MemberOf {
                        group,
                        kind: kind.unwrap_or(Membership::Any),
                        span: (at, sep.end),
                    });
                }
                T::Word(w) if w.eq_ignore_ascii_case("and") => {}
                _ => {
                    return Err((
                        sep.at,
                        format!("expected \"]\" or and, found {}", sep.show()),
                    ));
                }
            }
        }
    }
}

fn is_keyword(w: &str) -> bool {
    ["and", "or", "not"]
        .iter()
        .any(|k| w.eq_ignore_ascii_case(k))
}

fn valid_path(p: &str) -> bool {
    p.split('.').all(|part| {
        let mut cs = part.chars();
        matches!(cs.next(), Some(c) if c.is_alphabetic() || c == '_')
            && cs.all(|c| c.is_alphanumeric() || c == '_')
    })
}

impl fmt::Display for ScopeFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests;
