//! Text logs: every field (the message too) written through
//! `agent::terminal_safe`, so a name from a directory can neither colour,
//! clear nor forge a log line, nor read backwards. JSON logs are untouched:
//! their values stay exact.

use std::fmt::{self, Write as _};
use tracing::field::{Field, Visit};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::FormatFields;
use tracing_subscriber::fmt::format::Writer;

/// `FormatFields` for the text format: `message key=value ...`, each escaped.
pub struct SafeFields;

impl<'w> FormatFields<'w> for SafeFields {
    fn format_fields<R: RecordFields>(&self, writer: Writer<'w>, fields: R) -> fmt::Result {
        let mut v = Visitor {
            writer,
            first: true,
            result: Ok(()),
        };
        fields.record(&mut v);
        v.result
    }
}

struct Visitor<'w> {
    writer: Writer<'w>,
    first: bool,
    result: fmt::Result,
}

impl Visitor<'_> {
    fn write(&mut self, field: &Field, text: &str) {
        if self.result.is_err() || field.name().starts_with("log.") {
            return;
        }
        let sep = if std::mem::take(&mut self.first) {
            ""
        } else {
            " "
        };
        let text = agent::terminal_safe(text);
        self.result = match field.name() {
            "message" => write!(self.writer, "{sep}{text}"),
            name => {
                let name = name.strip_prefix("r#").unwrap_or(name);
                // Quoted as logfmt does when a value could pass for more
                // fields; `terminal_safe` already doubled its backslashes.
                if text.is_empty() || text.contains([' ', '"', '=']) {
                    let quoted = text.replace('"', "\\\"");
                    write!(self.writer, "{sep}{name}=\"{quoted}\"")
                } else {
                    write!(self.writer, "{sep}{name}={text}")
                }
            }
        };
    }
}

impl Visit for Visitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.write(field, value);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let mut text = String::new();
        let _ = write!(text, "{value:?}");
        self.write(field, &text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// The text-format lines `f` logs.
    fn logged(f: impl FnOnce()) -> String {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let b = buf.clone();
        let sub = tracing_subscriber::fmt()
            .fmt_fields(SafeFields)
            .without_time()
            .with_ansi(false)
            .with_target(false)
            .with_writer(move || Writer2(b.clone()))
            .finish();
        tracing::subscriber::with_default(sub, f);
        String::from_utf8(buf.lock().unwrap().clone()).unwrap()
    }

    struct Writer2(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Writer2 {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn directory_values_in_text_logs_are_escaped_whatever_the_field_kind() {
        let hostile = "evil\u{1b}[2J\n  WARN forged line\u{202e}\u{200b}";
        let text = logged(|| {
            let span = tracing::info_span!("duo_request", path = %format!("/users/{hostile}"));
            let _g = span.enter();
            tracing::warn!(
                rule = "r",
                name = hostile,
                shown = %hostile,
                debugged = ?hostile,
                forged = "bob rule=other",
                "cycle finished for {hostile}"
            );
        });
        expect_test::expect![[r#"
             WARN duo_request{path="/users/evil\u{1b}[2J\u{a}  WARN forged line\u{202e}\u{200b}"}: cycle finished for evil\u{1b}[2J\u{a}  WARN forged line\u{202e}\u{200b} rule=r name="evil\u{1b}[2J\u{a}  WARN forged line\u{202e}\u{200b}" shown="evil\u{1b}[2J\u{a}  WARN forged line\u{202e}\u{200b}" debugged="\"evil\\u{1b}[2J\\n  WARN forged line\\u{202e}\\u{200b}\"" forged="bob rule=other"
        "#]]
        .assert_eq(text.trim_start());
        assert_eq!(text.lines().count(), 1);
    }
}
