//! Values from a directory made safe to show on a terminal or in a text log:
//! control characters, bidi overrides and invisible characters become
//! visible `\u{…}` escapes, so a hostile name can neither forge a line, move
//! the cursor, clear the screen, nor read backwards. JSON output stays exact.

use std::borrow::Cow;

/// True for a character that changes how the text around it is shown.
fn hidden(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{061C}' | '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{2069}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}')
}

/// `s` with every control, bidi and invisible character written as `\u{…}`
/// (a backslash too, so the escapes cannot be forged); borrowed when clean.
pub fn terminal_safe(s: &str) -> Cow<'_, str> {
    escape(s, true)
}

/// Like [`terminal_safe`] for text that is already escaped JSON (its
/// backslashes are its own escapes): only the characters JSON leaves alone.
pub(crate) fn json_terminal_safe(s: &str) -> Cow<'_, str> {
    escape(s, false)
}

fn escape(s: &str, backslash: bool) -> Cow<'_, str> {
    let special = |c: char| hidden(c) || (backslash && c == '\\');
    if !s.chars().any(special) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if backslash && c == '\\' {
            out.push_str("\\\\");
        } else if hidden(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::terminal_safe;
    use proptest::prelude::*;

    #[test]
    fn escapes_what_would_forge_a_line_or_reorder_text() {
        assert_eq!(terminal_safe("alice"), "alice");
        assert_eq!(
            terminal_safe("evil\n  rule x: ok"),
            "evil\\u{a}  rule x: ok"
        );
        assert_eq!(terminal_safe("\u{1b}[2Jcls"), "\\u{1b}[2Jcls");
        assert_eq!(terminal_safe("abc\u{202e}fed"), "abc\\u{202e}fed");
        assert_eq!(terminal_safe("zero\u{200b}width"), "zero\\u{200b}width");
        assert_eq!(terminal_safe("a\\u{1b}"), "a\\\\u{1b}");
        assert_eq!(terminal_safe("ünïcödé 名前 😀"), "ünïcödé 名前 😀");
    }

    proptest! {
        #[test]
        fn the_result_holds_no_hidden_character_and_keeps_the_rest(s in any::<String>()) {
            let safe = terminal_safe(&s);
            prop_assert!(!safe.chars().any(super::hidden), "{safe:?}");
            let visible: String = s.chars().filter(|c| !super::hidden(*c) && *c != '\\').collect();
            let kept: String = safe.chars().filter(|c| *c != '\\').collect();
            // Every visible character survives, in order.
            let mut it = kept.chars();
            prop_assert!(visible.chars().all(|c| it.any(|k| k == c)));
        }
    }
}
