//! Printing value literals as graphql-js's `print` does, for the messages
//! that quote them (`Expected value of type "Int", found "abc".`).

use std::fmt::Write as _;

use super::ast::{Value, ValueKind};

/// A value literal as GraphQL source.
pub fn print_value(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value);
    out
}

fn write_value(out: &mut String, value: &Value) {
    match &value.kind {
        ValueKind::Variable(name) => {
            out.push('$');
            out.push_str(name);
        }
        ValueKind::Int(text) | ValueKind::Float(text) | ValueKind::Enum(text) => out.push_str(text),
        ValueKind::String {
            value,
            block: false,
        } => out.push_str(&print_string(value)),
        ValueKind::String { value, block: true } => {
            out.push_str("\"\"\"");
            out.push_str(&value.replace("\"\"\"", "\\\"\"\""));
            out.push_str("\"\"\"");
        }
        ValueKind::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        ValueKind::Null => out.push_str("null"),
        ValueKind::List(values) => {
            out.push('[');
            for (i, v) in values.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(out, v);
            }
            out.push(']');
        }
        ValueKind::Object(fields) => {
            out.push('{');
            for (i, f) in fields.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&f.name.value);
                out.push_str(": ");
                write_value(out, &f.value);
            }
            out.push('}');
        }
    }
}

/// A string literal, escaped as graphql-js's `printString`.
pub fn print_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 || (0x7f..=0x9f).contains(&(c as u32)) => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
