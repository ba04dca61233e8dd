//! Error types: compile errors (config is wrong; found once, at load) and
//! attribute errors (one record's data is wrong; that record fails, the run goes on).

use std::fmt;

/// Longest value quoted in an error message, in characters; longer values are cut with `…`
/// so a huge attribute cannot flood a log line.
const QUOTE_MAX: usize = 64;

/// One problem in a mapping table, found by [`crate::Mapping::compile`].
///
/// Names the target attribute and, for expression errors, the 1-based column (in characters)
/// of the offending token; `Display` shows the expression with a caret under that column.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct CompileError {
    /// The target attribute whose entry is wrong (`"(options)"` for a bad option).
    pub target: String,
    /// The expression as written, if the error is inside it.
    pub expr: Option<String>,
    /// 1-based character column inside `expr`.
    pub column: Option<usize>,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "mapping target \"{}\"", self.target)?;
        if let Some(col) = self.column {
            write!(f, ", column {col}")?;
        }
        write!(f, ": {}", self.message)?;
        if let (Some(expr), Some(col)) = (&self.expr, self.column)
            && !expr.trim().is_empty()
        {
            // Control characters would break the caret line; show them as spaces.
            let shown: String = expr
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            write!(
                f,
                "\n    {shown}\n    {}^",
                " ".repeat(col.saturating_sub(1))
            )?;
        }
        Ok(())
    }
}

/// Every problem found in one mapping table (never empty when returned as an error).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct CompileErrors(pub Vec<CompileError>);

impl fmt::Display for CompileErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        write!(
            f,
            "{n} error{} in the attribute mapping:",
            if n == 1 { "" } else { "s" }
        )?;
        for e in &self.0 {
            write!(f, "\n{e}")?;
        }
        Ok(())
    }
}

/// One attribute of one record that could not be mapped: names the attribute, quotes the value
/// and states the rule broken.
///
/// `Display` is written to read well after a prefix such as `user "alice" rule "r1": `.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct AttrError {
    /// Target attribute (e.g. `userType`, `email`, `name.given`).
    pub attribute: String,
    /// The offending value, quoted and shortened for display; `None` when there is none.
    pub value: Option<String>,
    /// The rule broken, with the fix where one is obvious.
    pub rule: String,
}

impl AttrError {
    pub(crate) fn new(attribute: &str, value: Option<String>, rule: impl Into<String>) -> Self {
        Self {
            attribute: attribute.to_owned(),
            value,
            rule: rule.into(),
        }
    }
}

impl fmt::Display for AttrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(v) => write!(f, "attribute \"{}\" = {v}: {}", self.attribute, self.rule),
            None => write!(f, "attribute \"{}\": {}", self.attribute, self.rule),
        }
    }
}

/// Quote a text value for an error message: JSON-style escaping, cut at [`QUOTE_MAX`] chars.
pub(crate) fn quote(s: &str) -> String {
    escape(&cut(s))
}

/// Quote any JSON value for an error message (text as [`quote`], others compact and cut).
pub(crate) fn quote_json(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => quote(s),
        // Invisible characters can only sit inside JSON strings, where `\uXXXX` is valid.
        other => cut(&other.to_string())
            .chars()
            .map(|c| match c {
                c if crate::target::invisible(c) => format!("\\u{:04x}", u32::from(c)),
                c => c.to_string(),
            })
            .collect(),
    }
}

/// The first [`QUOTE_MAX`] characters, with `…` when something was cut.
fn cut(s: &str) -> String {
    let mut out: String = s.chars().take(QUOTE_MAX).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

/// JSON-style quoting that also escapes invisible characters, so a log line shows exactly
/// what is in the data (zero-width and bidi characters included).
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if crate::target::invisible(c) => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
