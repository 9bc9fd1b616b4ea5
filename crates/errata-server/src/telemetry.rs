//! Logs: tracing to standard error, as JSON lines (the default) or text.
//!
//! Every line written while a request is handled carries its request id.
//! The id is not a tracing span's field: a span costs its formatted fields
//! and a registry slot on every request, a twentieth of a small query's
//! instructions, to serve lines that most requests never write. The edge
//! wraps each request's future in [`RequestScope`], which makes the id
//! current on the thread for each poll, and the formatter reads it when a
//! line is written.

use std::cell::RefCell;
use std::fmt::{self, Write as _};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use crate::config::LogFormat;

/// Installs the global subscriber. `RUST_LOG` overrides the level (info).
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A subscriber may already be installed (tests); keeping it is fine.
    let _ = match format {
        LogFormat::Json => builder.event_format(JsonLines).try_init(),
        LogFormat::Text => builder.event_format(TextLines).try_init(),
    };
}

thread_local! {
    static CURRENT: RefCell<Option<Arc<str>>> = const { RefCell::new(None) };
}

/// The request id current on this thread, if a request is being polled.
pub fn current_request_id() -> Option<Arc<str>> {
    CURRENT.with(|c| c.borrow().clone())
}

pin_project_lite::pin_project! {
    /// A request's future with its id current on the thread while it is polled.
    pub struct RequestScope<F> {
        id: Arc<str>,
        #[pin]
        inner: F,
    }
}

impl<F> RequestScope<F> {
    /// Wraps `inner`.
    pub fn new(id: Arc<str>, inner: F) -> RequestScope<F> {
        RequestScope { id, inner }
    }
}

impl<F: Future> Future for RequestScope<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        // Restored after the poll, so that a request polled inside another
        // (none is, today) would not leave its id behind.
        let previous = CURRENT.with(|c| c.replace(Some(Arc::clone(this.id))));
        let result = this.inner.poll(cx);
        CURRENT.with(|c| *c.borrow_mut() = previous);
        result
    }
}

/// One JSON object per line: `timestamp`, `level`, `target`, `request_id`
/// when a request is current and the event names none, then the event's
/// fields, `message` included.
#[derive(Debug, Clone, Copy)]
pub struct JsonLines;

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut line = String::with_capacity(256);
        line.push_str("{\"timestamp\":\"");
        let mut time = String::new();
        SystemTime.format_time(&mut Writer::new(&mut time))?;
        line.push_str(&time);
        line.push_str("\",\"level\":\"");
        line.push_str(event.metadata().level().as_str());
        line.push_str("\",\"target\":");
        push_json_str(&mut line, event.metadata().target());
        let mut fields = JsonFieldsVisitor {
            out: String::new(),
            has_request_id: false,
        };
        event.record(&mut fields);
        if !fields.has_request_id
            && let Some(id) = current_request_id()
        {
            line.push_str(",\"request_id\":");
            push_json_str(&mut line, &id);
        }
        line.push_str(&fields.out);
        line.push('}');
        writeln!(writer, "{line}")
    }
}

struct JsonFieldsVisitor {
    out: String,
    has_request_id: bool,
}

impl JsonFieldsVisitor {
    fn key(&mut self, field: &Field) {
        if field.name() == "request_id" {
            self.has_request_id = true;
        }
        self.out.push(',');
        push_json_str(&mut self.out, field.name());
        self.out.push(':');
    }
}

impl Visit for JsonFieldsVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.key(field);
        push_json_str(&mut self.out, value);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.key(field);
        let _ = write!(self.out, "{value}");
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.key(field);
        let _ = write!(self.out, "{value}");
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.key(field);
        self.out.push_str(if value { "true" } else { "false" });
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.key(field);
        if value.is_finite() {
            let _ = write!(self.out, "{value}");
        } else {
            push_json_str(&mut self.out, &value.to_string());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.key(field);
        push_json_str(&mut self.out, &format!("{value:?}"));
    }
}

/// `text` as a JSON string, escaped.
fn push_json_str(out: &mut String, text: &str) {
    // serde_json's escaping; writing a &str into a String cannot fail.
    if let Ok(quoted) = serde_json::to_string(text) {
        out.push_str(&quoted);
    }
}

/// Plain text lines: `timestamp LEVEL target [request_id] message
/// name=value ...`. Field values can hold text a client chose (an error's
/// cause quotes what it sent), so every value is escaped: a control
/// character, a line or paragraph separator or a bidirectional override
/// is written as an escape (`\n`, `\u{1b}`), never raw, and a value with a
/// space, `"` or `=` is quoted. A client can then neither start a line of
/// its own, nor recolour the terminal, nor pass for another field.
#[derive(Debug, Clone, Copy)]
pub struct TextLines;

impl<S, N> FormatEvent<S, N> for TextLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        SystemTime.format_time(&mut writer)?;
        write!(
            writer,
            " {:>5} {}",
            event.metadata().level(),
            event.metadata().target()
        )?;
        if let Some(id) = current_request_id() {
            write!(writer, " [{id}]")?;
        }
        let mut fields = TextFieldsVisitor::default();
        event.record(&mut fields);
        writeln!(writer, " {}{}", fields.message, fields.rest)
    }
}

#[derive(Default)]
struct TextFieldsVisitor {
    message: String,
    rest: String,
}

impl TextFieldsVisitor {
    fn field(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            push_text_escaped(&mut self.message, value, false);
            return;
        }
        self.rest.push(' ');
        push_text_escaped(&mut self.rest, field.name(), false);
        self.rest.push('=');
        let quoted = value.is_empty() || value.contains([' ', '"', '=']);
        if quoted {
            self.rest.push('"');
        }
        push_text_escaped(&mut self.rest, value, quoted);
        if quoted {
            self.rest.push('"');
        }
    }
}

impl Visit for TextFieldsVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.field(field, value);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.field(field, &format!("{value:?}"));
    }
}

/// `text` with `\` backslashed (and `"` when it goes between quotes), and
/// every character that could change how a terminal or a reader sees the
/// line written as a visible escape.
fn push_text_escaped(out: &mut String, text: &str, in_quotes: bool) {
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' if in_quotes => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() || is_invisible_layout(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
}

/// Line and paragraph separators, which some readers break lines at, and
/// the bidirectional marks and overrides, which reorder what a line shows.
fn is_invisible_layout(c: char) -> bool {
    matches!(
        c,
        '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
    )
}

/// Log lines written to memory, for tests that read what was logged.
#[cfg(test)]
pub(crate) mod captured {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::fmt::MakeWriter;

    /// What a subscriber wrote, shared with the test.
    #[derive(Clone, Default)]
    pub(crate) struct Captured(pub(crate) Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Captured {
        type Writer = Captured;
        fn make_writer(&'a self) -> Captured {
            self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::captured::Captured;

    fn lines(captured: &Captured) -> Vec<serde_json::Value> {
        String::from_utf8(captured.0.lock().unwrap().clone())
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).expect("each line is one JSON object"))
            .collect()
    }

    #[test]
    fn lines_written_inside_a_request_carry_its_id_and_others_do_not() {
        let captured = Captured::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(captured.clone())
            .event_format(JsonLines)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(cause = "disk \"full\"\n", code = 7u64, "field error");
            let request = RequestScope::new(Arc::from("req-1"), async {
                tracing::error!(ok = false, ratio = 0.5, "resolver panicked");
                tracing::info!(request_id = "given", "explicit id wins");
            });
            futures_util::FutureExt::now_or_never(request).unwrap();
            tracing::info!("after");
        });
        let lines = lines(&captured);
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[0]["message"], "field error");
        assert_eq!(lines[0]["cause"], "disk \"full\"\n");
        assert_eq!(lines[0]["code"], 7);
        assert_eq!(lines[0]["level"], "WARN");
        assert!(lines[0].get("request_id").is_none());
        assert_eq!(lines[1]["request_id"], "req-1");
        assert_eq!(lines[1]["ok"], false);
        assert_eq!(lines[1]["ratio"], 0.5);
        assert_eq!(lines[2]["request_id"], "given");
        assert!(lines[3].get("request_id").is_none(), "{}", lines[3]);
        assert!(lines[3]["timestamp"].as_str().unwrap().starts_with("20"));
    }

    #[test]
    fn text_lines_escape_what_a_client_could_use_to_forge_a_line() {
        let captured = Captured::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(captured.clone())
            .event_format(TextLines)
            .finish();
        let cause = "bad JSON\n{\"level\":\"ERROR\",\"message\":\"forged\"}\r\x1b[31mred\u{202e}";
        tracing::subscriber::with_default(subscriber, || {
            let request = RequestScope::new(Arc::from("req-1"), async {
                tracing::warn!(cause = %cause, path = "/a b", empty = "", n = 7u64, "failed\nagain");
            });
            futures_util::FutureExt::now_or_never(request).unwrap();
        });
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert_eq!(text.matches('\n').count(), 1, "one line: {text:?}");
        assert!(!text.contains(['\r', '\x1b', '\u{202e}']), "{text:?}");
        let line = text.trim_end_matches('\n');
        assert!(line.contains(" WARN "), "{line}");
        assert!(
            line.ends_with(
                r#"[req-1] failed\nagain cause="bad JSON\n{\"level\":\"ERROR\",\"message\":\"forged\"}\r\u{1b}[31mred\u{202e}" path="/a b" empty="" n=7"#
            ),
            "{line}"
        );
    }
}
