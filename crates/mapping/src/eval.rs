//! Evaluation of a parsed expression against a source record (a JSON object).
//!
//! Values are JSON values; text functions read scalars as text (numbers and booleans by their
//! JSON spelling) and pass `null` through. Nothing here panics or allocates without bound.

use std::borrow::Cow;

use serde_json::Value;

use crate::error::quote_json;
use crate::expr::{Expr, Func, Part};
use crate::phone;

/// Longest text a function may build, in bytes (1 MiB); longer is an error, not an OOM.
const MAX_TEXT: usize = 1 << 20;

/// A runtime error: the offending value (already quoted) and the rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EvalError {
    pub value: Option<String>,
    pub rule: String,
}

impl EvalError {
    fn new(value: Option<&Value>, rule: impl Into<String>) -> Self {
        Self {
            value: value.map(quote_json),
            rule: rule.into(),
        }
    }
}

type R<'a> = Result<Cow<'a, Value>, EvalError>;

/// Evaluate `e` against `src`; `region` is the mapping's default phone region.
pub(crate) fn eval<'a>(e: &Expr, src: &'a Value, region: &str) -> R<'a> {
    match e {
        Expr::Path(segs) => Ok(lookup(src, segs)),
        Expr::Lit(s) => Ok(Cow::Owned(Value::String(s.clone()))),
        Expr::Num(n) => Ok(Cow::Owned(Value::from(*n))),
        Expr::Template(parts) => template(parts, src, region),
        Expr::Call { func, args } => call(*func, args, src, region),
    }
}

/// Follow a path; numeric segments index arrays. Anything missing is `null`.
fn lookup<'a>(src: &'a Value, segs: &[String]) -> Cow<'a, Value> {
    let mut cur = src;
    for seg in segs {
        let next = match cur {
            Value::Object(m) => m.get(seg.as_str()),
            Value::Array(a) => seg.parse::<usize>().ok().and_then(|i| a.get(i)),
            _ => None,
        };
        match next {
            Some(v) => cur = v,
            None => return Cow::Owned(Value::Null),
        }
    }
    Cow::Borrowed(cur)
}

/// A value read as text: `None` for null, an error for lists and objects.
pub(crate) fn as_text<'v>(v: &'v Value, what: &str) -> Result<Option<Cow<'v, str>>, EvalError> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(Cow::Borrowed(s))),
        Value::Bool(b) => Ok(Some(Cow::Borrowed(if *b { "true" } else { "false" }))),
        Value::Number(n) => Ok(Some(Cow::Owned(n.to_string()))),
        Value::Array(a) => Err(EvalError::new(
            Some(v),
            format!(
                "{what} needs a single text value but found a list of {}; pick one element (`list.0`) or use join(\", \", list)",
                a.len()
            ),
        )),
        Value::Object(_) => Err(EvalError::new(
            Some(v),
            format!(
                "{what} needs a text value but found an object; name a field inside it (`object.field`)"
            ),
        )),
    }
}

/// Empty means missing: null, blank text, or an empty list.
pub(crate) fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

fn text(s: String) -> Result<Cow<'static, Value>, EvalError> {
    if s.len() > MAX_TEXT {
        return Err(too_long());
    }
    Ok(Cow::Owned(Value::String(s)))
}

fn too_long() -> EvalError {
    EvalError::new(
        None,
        format!("the expression built a text longer than {MAX_TEXT} bytes"),
    )
}

fn template<'a>(parts: &[Part], src: &'a Value, region: &str) -> R<'a> {
    let mut out = String::new();
    let mut any = false;
    for p in parts {
        match p {
            Part::Lit(s) => out.push_str(s),
            Part::Expr(e) => {
                let v = eval(e, src, region)?;
                if let Some(t) = as_text(&v, "a `${...}` interpolation")? {
                    any |= !t.trim().is_empty();
                    out.push_str(&t);
                }
            }
        }
        // Checked per part so a long template cannot grow far past the cap.
        if out.len() > MAX_TEXT {
            return text(out);
        }
    }
    // A template whose interpolations are all empty is empty, not its bare punctuation.
    if !any {
        return Ok(Cow::Owned(Value::Null));
    }
    text(out)
}

fn call<'a>(func: Func, args: &[Expr], src: &'a Value, region: &str) -> R<'a> {
    let name = func.name();
    let what = format!("`{name}`");
    match func {
        Func::Lower | Func::Upper | Func::Trim => {
            let v = eval(&args[0], src, region)?;
            let Some(t) = as_text(&v, &what)? else {
                return Ok(Cow::Owned(Value::Null));
            };
            text(match func {
                Func::Lower => t.to_lowercase(),
                Func::Upper => t.to_uppercase(),
                _ => t.trim().to_owned(),
            })
        }
        Func::Coalesce => {
            for a in args {
                let v = eval(a, src, region)?;
                if !is_empty(&v) {
                    return Ok(v);
                }
            }
            Ok(Cow::Owned(Value::Null))
        }
        Func::Replace => {
            let v = eval(&args[0], src, region)?;
            let Some(t) = as_text(&v, &what)? else {
                return Ok(Cow::Owned(Value::Null));
            };
            let sv = eval(&args[1], src, region)?;
            let search = as_text(&sv, &what)?.unwrap_or_default();
            if search.is_empty() {
                return Err(EvalError::new(
                    Some(&sv),
                    "`replace` needs a non-empty search text",
                ));
            }
            let rv = eval(&args[2], src, region)?;
            let repl = as_text(&rv, &what)?.unwrap_or_default();
            let hits = t.matches(search.as_ref()).count();
            let grown = hits.saturating_mul(repl.len()).saturating_add(t.len());
            if grown > MAX_TEXT {
                return Err(too_long());
            }
            text(t.replace(search.as_ref(), &repl))
        }
        Func::Substring => {
            let v = eval(&args[0], src, region)?;
            let Some(t) = as_text(&v, &what)? else {
                return Ok(Cow::Owned(Value::Null));
            };
            let start = count_arg(&args[1], src, region, "start")?;
            let len = match args.get(2) {
                Some(a) => count_arg(a, src, region, "length")?,
                None => usize::MAX,
            };
            text(t.chars().skip(start).take(len).collect())
        }
        Func::Join => {
            let sv = eval(&args[0], src, region)?;
            let sep = as_text(&sv, &what)?.unwrap_or_default().into_owned();
            let mut items: Vec<String> = Vec::new();
            for a in &args[1..] {
                let v = eval(a, src, region)?;
                match v.as_ref() {
                    Value::Array(list) => {
                        for item in list {
                            if let Some(t) = as_text(item, &what)?
                                && !t.trim().is_empty()
                            {
                                items.push(t.into_owned());
                            }
                        }
                    }
                    other => {
                        if let Some(t) = as_text(other, &what)?
                            && !t.trim().is_empty()
                        {
                            items.push(t.into_owned());
                        }
                    }
                }
            }
            if items.is_empty() {
                return Ok(Cow::Owned(Value::Null));
            }
            let total: usize = items.iter().map(String::len).sum::<usize>()
                + sep.len().saturating_mul(items.len());
            if total > MAX_TEXT {
                return Err(too_long());
            }
            text(items.join(&sep))
        }
        Func::Switch => {
            let v = eval(&args[0], src, region)?;
            let key = as_text(&v, &what)?.unwrap_or_default().into_owned();
            let pairs = &args[1..args.len() - 1];
            for pair in pairs.chunks(2) {
                let cv = eval(&pair[0], src, region)?;
                let case = as_text(&cv, &what)?.unwrap_or_default();
                if case == key {
                    return eval(&pair[1], src, region);
                }
            }
            eval(&args[args.len() - 1], src, region)
        }
        Func::E164 => {
            let v = eval(&args[0], src, region)?;
            let Some(t) = as_text(&v, &what)? else {
                return Ok(Cow::Owned(Value::Null));
            };
            if t.trim().is_empty() {
                return Ok(Cow::Owned(Value::Null));
            }
            let r = match args.get(1) {
                Some(a) => {
                    let rv = eval(a, src, region)?;
                    as_text(&rv, &what)?
                        .map(Cow::into_owned)
                        .unwrap_or_else(|| region.to_owned())
                }
                None => region.to_owned(),
            };
            match phone::to_e164(&t, &r) {
                Ok(s) => text(s),
                Err(rule) => Err(EvalError {
                    value: Some(quote_json(&v)),
                    rule: format!("`e164`: {rule}"),
                }),
            }
        }
    }
}

/// A non-negative count argument (`substring`'s start and length), from a number or digits.
fn count_arg(a: &Expr, src: &Value, region: &str, what: &str) -> Result<usize, EvalError> {
    let v = eval(a, src, region)?;
    let n = match v.as_ref() {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse::<u64>().ok(),
        _ => None,
    };
    match n {
        Some(n) => Ok(usize::try_from(n).unwrap_or(usize::MAX)),
        None => Err(EvalError::new(
            Some(&v),
            format!("`substring` {what} must be a whole number of characters, 0 or more"),
        )),
    }
}
