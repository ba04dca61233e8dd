//! Words and markup bits of the `/status` page: times for people, sizes,
//! query values and HTML ids, shell words.

use crate::status::{esc, fmt_time};
use std::fmt::Write as _;

/// "3 min ago", "in 12 s": a duration relative to now.
pub(super) fn relative(now: i64, at: i64) -> String {
    let d = (at - now).abs();
    if d < 1_500 {
        return "now".into();
    }
    // Minutes are precise enough once past the first.
    let amount = if d < 60_000 {
        duration(d)
    } else if d < 3_600_000 {
        format!("{} min", (d + 30_000) / 60_000)
    } else {
        duration(d)
    };
    if at > now {
        format!("in {amount}")
    } else {
        format!("{amount} ago")
    }
}

/// "1 h 4 min", "3 min 12 s", "850 ms".
pub(super) fn duration(ms: i64) -> String {
    let s = ms / 1000;
    match s {
        _ if ms < 1_000 => format!("{ms} ms"),
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min {} s", s / 60, s % 60),
        3600..86_400 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        _ => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
    }
}

/// A clock time for people: `2026-12-03 15:04:05 UTC`.
pub(super) fn clock(ms: i64) -> String {
    fmt_time(ms - ms.rem_euclid(1000))
        .replace('T', " ")
        .replace('Z', " UTC")
}

pub(super) fn time_html(now: i64, at: i64) -> String {
    format!(
        "<time datetime=\"{}\" title=\"{}\">{}</time>",
        esc(&fmt_time(at)),
        esc(&clock(at)),
        esc(&relative(now, at))
    )
}

/// Percent-encodes a query value.
pub(super) fn query(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// An HTML id for a rule's section (rule names may hold anything).
pub(super) fn anchor(rule: &str) -> String {
    format!("rule-{}", query(rule).replace('%', "_"))
}

pub(super) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub(super) fn status_word(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// The rule's state description as a sentence.
pub(super) fn sentence(d: &str) -> String {
    let mut out = status_word(&d.to_lowercase());
    out.push('.');
    out
}

/// A rule name as one shell word (quoted when it needs to be).
pub(super) fn shell_word(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:/@".contains(&b))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}
