//! The expression language: syntax tree and parser with column-accurate errors.
//!
//! Grammar (whitespace allowed between tokens):
//! `expr := string | number | call | path`, `call := name "(" [expr ("," expr)*] ")"`,
//! `path := segment ("." segment)*`, strings in `"…"` or `'…'` with `${expr}` interpolation.

use crate::phone;

/// Longest expression accepted, in characters (Entra ID caps its expressions the same way).
pub(crate) const MAX_EXPR_CHARS: usize = 10_000;
/// Deepest nesting of calls and interpolations; keeps evaluation recursion bounded.
pub(crate) const MAX_DEPTH: usize = 32;

/// A built-in function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Func {
    Lower,
    Upper,
    Trim,
    Coalesce,
    Replace,
    Substring,
    Join,
    Switch,
    E164,
}

impl Func {
    pub(crate) const ALL: [Func; 9] = [
        Func::Coalesce,
        Func::E164,
        Func::Join,
        Func::Lower,
        Func::Replace,
        Func::Substring,
        Func::Switch,
        Func::Trim,
        Func::Upper,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Func::Lower => "lower",
            Func::Upper => "upper",
            Func::Trim => "trim",
            Func::Coalesce => "coalesce",
            Func::Replace => "replace",
            Func::Substring => "substring",
            Func::Join => "join",
            Func::Switch => "switch",
            Func::E164 => "e164",
        }
    }

    /// How a call is written, for arity errors.
    pub(crate) fn signature(self) -> &'static str {
        match self {
            Func::Lower => "lower(value)",
            Func::Upper => "upper(value)",
            Func::Trim => "trim(value)",
            Func::Coalesce => "coalesce(value, value, ...)",
            Func::Replace => "replace(value, search, replacement)",
            Func::Substring => "substring(value, start[, length])",
            Func::Join => "join(separator, value, value, ...)",
            Func::Switch => "switch(value, case, result, ..., default)",
            Func::E164 => "e164(value[, \"REGION\"])",
        }
    }

    /// Allowed argument counts (inclusive); `usize::MAX` = unbounded.
    fn arity(self) -> (usize, usize) {
        match self {
            Func::Lower | Func::Upper | Func::Trim => (1, 1),
            Func::Coalesce => (1, usize::MAX),
            Func::Replace => (3, 3),
            Func::Substring => (2, 3),
            Func::Join => (2, usize::MAX),
            Func::Switch => (4, usize::MAX),
            Func::E164 => (1, 2),
        }
    }

    fn by_name(name: &str) -> Option<Func> {
        Func::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// A piece of a template string.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Part {
    Lit(String),
    Expr(Expr),
}

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    /// A path into the source record: `name.given`, `phones.0.number`.
    Path(Vec<String>),
    /// A constant text.
    Lit(String),
    /// A constant integer (function arguments such as `substring`'s start).
    Num(i64),
    /// A string with `${...}` interpolations.
    Template(Vec<Part>),
    /// A function call.
    Call { func: Func, args: Vec<Expr> },
}

impl Expr {
    /// Collect the source paths this expression reads.
    pub(crate) fn paths(&self, out: &mut std::collections::BTreeSet<String>) {
        match self {
            Expr::Path(segs) => {
                out.insert(segs.join("."));
            }
            Expr::Lit(_) | Expr::Num(_) => {}
            Expr::Template(parts) => {
                for p in parts {
                    if let Part::Expr(e) = p {
                        e.paths(out);
                    }
                }
            }
            Expr::Call { args, .. } => args.iter().for_each(|a| a.paths(out)),
        }
    }
}

/// A parse error: 1-based column and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParseError {
    pub column: usize,
    pub message: String,
}

/// Parse and check an expression: syntax, function names and arities, and literal arguments
/// that can never work (an empty `replace` search, a negative `substring` count, an unknown
/// `e164` region).
pub(crate) fn parse(text: &str) -> Result<Expr, ParseError> {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() > MAX_EXPR_CHARS {
        return Err(ParseError {
            column: MAX_EXPR_CHARS + 1,
            message: format!(
                "the expression is longer than {MAX_EXPR_CHARS} characters; split it or simplify it"
            ),
        });
    }
    let mut p = Parser { chars, pos: 0 };
    p.skip_ws();
    if p.at_end() {
        return Err(p.err(
            "empty expression: write an attribute path such as `username`, or '' for an empty constant",
        ));
    }
    let e = p.expr(0)?;
    p.skip_ws();
    if let Some(c) = p.peek() {
        return Err(p.err(format!(
            "unexpected `{c}` after the end of the expression (functions take their arguments in parentheses, separated by commas)"
        )));
    }
    Ok(e)
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }
    fn at_end(&self) -> bool {
        self.pos >= self.chars.len()
    }
    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }
    fn err(&self, message: impl Into<String>) -> ParseError {
        self.err_at(self.pos, message)
    }
    fn err_at(&self, pos: usize, message: impl Into<String>) -> ParseError {
        ParseError {
            column: pos + 1,
            message: message.into(),
        }
    }

    fn expr(&mut self, depth: usize) -> Result<Expr, ParseError> {
        if depth >= MAX_DEPTH {
            return Err(self.err(format!(
                "the expression nests deeper than {MAX_DEPTH} levels; simplify it"
            )));
        }
        self.skip_ws();
        match self.peek() {
            None => Err(self.err("the expression ends too early: a value is missing here")),
            Some(q @ ('"' | '\'')) => self.string(q, depth),
            Some(c) if c.is_ascii_digit() || c == '-' => self.number(),
            Some(c) if is_ident_char(c) => self.path_or_call(depth),
            Some(c) => Err(self.err(format!(
                "unexpected `{c}`: expected an attribute path, a quoted string or a function call"
            ))),
        }
    }

    fn ident(&mut self) -> String {
        let start = self.pos;
        while self.peek().is_some_and(is_ident_char) {
            self.pos += 1;
        }
        self.chars[start..self.pos].iter().collect()
    }

    fn number(&mut self) -> Result<Expr, ParseError> {
        let start = self.pos;
        if self.peek() == Some('-') {
            self.pos += 1;
        }
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        text.parse::<i64>().map(Expr::Num).map_err(|_| {
            self.err_at(
                start,
                format!("`{text}` is not a whole number that fits in 64 bits"),
            )
        })
    }

    fn path_or_call(&mut self, depth: usize) -> Result<Expr, ParseError> {
        let start = self.pos;
        let first = self.ident();
        let mut segments = vec![first];
        while self.peek() == Some('.') {
            self.pos += 1;
            let seg = self.ident();
            if seg.is_empty() {
                return Err(self.err("expected an attribute name after `.`"));
            }
            segments.push(seg);
        }
        let after = self.pos;
        self.skip_ws();
        if self.peek() != Some('(') {
            self.pos = after;
            return Ok(Expr::Path(segments));
        }
        let name = segments.join(".");
        let Some(func) = Func::by_name(&name) else {
            let known: Vec<&str> = Func::ALL.iter().map(|f| f.name()).collect();
            return Err(self.err_at(
                start,
                format!(
                    "unknown function `{name}`; the functions are: {}",
                    known.join(", ")
                ),
            ));
        };
        self.pos += 1; // '('
        let mut args = Vec::new();
        let mut arg_cols = Vec::new();
        self.skip_ws();
        if self.peek() == Some(')') {
            self.pos += 1;
        } else {
            loop {
                self.skip_ws();
                arg_cols.push(self.pos);
                args.push(self.expr(depth + 1)?);
                self.skip_ws();
                match self.peek() {
                    Some(',') => self.pos += 1,
                    Some(')') => {
                        self.pos += 1;
                        break;
                    }
                    Some(c) => {
                        return Err(self.err(format!(
                            "unexpected `{c}` in the arguments of `{name}`: expected `,` or `)`"
                        )));
                    }
                    None => {
                        return Err(
                            self.err(format!("the call to `{name}` is not closed: add `)`"))
                        );
                    }
                }
            }
        }
        let (min, max) = func.arity();
        if args.len() < min || args.len() > max {
            return Err(self.err_at(
                start,
                format!(
                    "`{name}` takes {} but was given {}; write {}",
                    arity_text(min, max),
                    args.len(),
                    func.signature()
                ),
            ));
        }
        self.check_args(func, &args, &arg_cols, start)?;
        Ok(Expr::Call { func, args })
    }

    /// Checks that need the arguments: literal values that can never work.
    fn check_args(
        &self,
        func: Func,
        args: &[Expr],
        cols: &[usize],
        start: usize,
    ) -> Result<(), ParseError> {
        match func {
            Func::Switch if !args.len().is_multiple_of(2) => Err(self.err_at(
                start,
                format!(
                    "`switch` needs a value, then case/result pairs, then a default (an even number of arguments) but was given {}; write {}",
                    args.len(),
                    func.signature()
                ),
            )),
            Func::Replace => match &args[1] {
                Expr::Lit(s) if s.is_empty() => Err(self.err_at(
                    cols[1],
                    "`replace` needs a non-empty search text",
                )),
                _ => Ok(()),
            },
            Func::Substring => {
                for (a, col) in args.iter().zip(cols).skip(1) {
                    if let Expr::Num(n) = a
                        && *n < 0
                    {
                        return Err(self.err_at(
                            *col,
                            "`substring` positions and lengths count characters from 0 and cannot be negative",
                        ));
                    }
                }
                Ok(())
            }
            Func::E164 => match args.get(1) {
                Some(Expr::Lit(r)) if phone::region(r).is_none() => Err(self.err_at(
                    cols[1],
                    format!(
                        "unknown phone region {}: use a two-letter ISO 3166 code such as \"US\" or \"DE\"",
                        crate::error::quote(r)
                    ),
                )),
                _ => Ok(()),
            },
            _ => Ok(()),
        }
    }

    fn string(&mut self, quote: char, depth: usize) -> Result<Expr, ParseError> {
        let start = self.pos;
        self.pos += 1;
        let mut parts = Vec::new();
        let mut lit = String::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(self.err_at(
                    start,
                    format!("this string is not closed: add a closing {quote}"),
                ));
            };
            self.pos += 1;
            match c {
                c if c == quote => break,
                '\\' => {
                    let esc = self.peek();
                    let decoded = match esc {
                        Some('n') => '\n',
                        Some('t') => '\t',
                        Some('r') => '\r',
                        Some(c @ ('\\' | '"' | '\'' | '$')) => c,
                        _ => {
                            return Err(self.err_at(
                                self.pos - 1,
                                "unknown escape: use \\\\, \\\", \\', \\$, \\n, \\t or \\r",
                            ));
                        }
                    };
                    self.pos += 1;
                    lit.push(decoded);
                }
                '$' if self.peek() == Some('{') => {
                    self.pos += 1;
                    if !lit.is_empty() {
                        parts.push(Part::Lit(std::mem::take(&mut lit)));
                    }
                    let e = self.expr(depth + 1)?;
                    self.skip_ws();
                    if self.peek() != Some('}') {
                        return Err(self.err("expected `}` to close the `${` interpolation"));
                    }
                    self.pos += 1;
                    parts.push(Part::Expr(e));
                }
                c => lit.push(c),
            }
        }
        if parts.is_empty() {
            return Ok(Expr::Lit(lit));
        }
        if !lit.is_empty() {
            parts.push(Part::Lit(lit));
        }
        Ok(Expr::Template(parts))
    }
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '-'
}

fn arity_text(min: usize, max: usize) -> String {
    let plural = |n: usize| if n == 1 { "argument" } else { "arguments" };
    if min == max {
        format!("{min} {}", plural(min))
    } else if max == usize::MAX {
        format!("at least {min} {}", plural(min))
    } else {
        format!("{min} to {max} arguments")
    }
}
