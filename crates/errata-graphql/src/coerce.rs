//! Variable coercion, with graphql-js 16's messages (`getVariableValues`):
//! `Variable "$n" got invalid value "many"; Int cannot represent non-integer
//! value: "many"`.

use serde_json::Value;

use crate::model::{Kind, SchemaModel, TypeRef};
use crate::syntax::Pos;
use crate::syntax::ast::OperationDefinition;
use crate::validation::suggest::{did_you_mean, suggestion_list};

/// One variable that cannot be coerced, located at its definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoercionError {
    /// graphql-js's message.
    pub message: String,
    /// The variable definition.
    pub pos: Pos,
}

/// graphql-js stops after this many.
const MAX_ERRORS: usize = 50;

/// Checks the request's variables against the operation's definitions.
pub fn coerce_variables(
    model: &SchemaModel,
    operation: &OperationDefinition,
    inputs: &serde_json::Map<String, Value>,
    suggestions: bool,
) -> Vec<CoercionError> {
    let mut errors = Vec::new();
    for def in &operation.variables {
        if errors.len() >= MAX_ERRORS {
            errors.push(CoercionError {
                message:
                    "Too many errors processing variables, error limit reached. Execution aborted."
                        .to_owned(),
                pos: def.pos,
            });
            break;
        }
        let name = &def.name.value;
        let ty = TypeRef::from_ast(&def.ty);
        if !model.get(ty.named()).is_some_and(|t| t.is_input()) {
            errors.push(CoercionError {
                message: format!(
                    "Variable \"${name}\" expected value of type \"{}\" which cannot be used as an input type.",
                    def.ty
                ),
                pos: def.ty.pos(),
            });
            continue;
        }
        let Some(value) = inputs.get(name) else {
            if def.default.is_none() && ty.is_non_null() {
                errors.push(CoercionError {
                    message: format!(
                        "Variable \"${name}\" of required type \"{ty}\" was not provided."
                    ),
                    pos: def.pos,
                });
            }
            continue;
        };
        if value.is_null() && ty.is_non_null() {
            errors.push(CoercionError {
                message: format!(
                    "Variable \"${name}\" of non-null type \"{ty}\" must not be null."
                ),
                pos: def.pos,
            });
            continue;
        }
        let mut problems = Vec::new();
        let mut cx = Coercion {
            model,
            suggestions,
            problems: &mut problems,
        };
        cx.coerce(value, &ty, &mut Vec::new());
        for (path, invalid, message) in problems {
            let mut prefix = format!(
                "Variable \"${name}\" got invalid value {}",
                inspect(&invalid)
            );
            if !path.is_empty() {
                prefix.push_str(&format!(" at \"{name}{}\"", print_path(&path)));
            }
            errors.push(CoercionError {
                message: format!("{prefix}; {message}"),
                pos: def.pos,
            });
        }
    }
    errors
}

#[derive(Debug, Clone)]
enum Key {
    Field(String),
    Index(usize),
}

fn print_path(path: &[Key]) -> String {
    path.iter()
        .map(|k| match k {
            Key::Field(f) => format!(".{f}"),
            Key::Index(i) => format!("[{i}]"),
        })
        .collect()
}

struct Coercion<'m, 'p> {
    model: &'m SchemaModel,
    suggestions: bool,
    problems: &'p mut Vec<(Vec<Key>, Value, String)>,
}

impl Coercion<'_, '_> {
    fn fail(&mut self, path: &[Key], value: &Value, message: String) {
        self.problems.push((path.to_vec(), value.clone(), message));
    }

    fn coerce(&mut self, value: &Value, ty: &TypeRef, path: &mut Vec<Key>) {
        match ty {
            TypeRef::NonNull(inner) => {
                if value.is_null() {
                    self.fail(
                        path,
                        value,
                        format!("Expected non-nullable type \"{ty}\" not to be null."),
                    );
                } else {
                    self.coerce(value, inner, path);
                }
            }
            _ if value.is_null() => {}
            TypeRef::List(item) => match value {
                Value::Array(items) => {
                    for (i, v) in items.iter().enumerate() {
                        path.push(Key::Index(i));
                        self.coerce(v, item, path);
                        path.pop();
                    }
                }
                single => self.coerce(single, item, path),
            },
            TypeRef::Named(name) => {
                let Some(named) = self.model.get(name) else {
                    return;
                };
                match named.kind {
                    Kind::InputObject => {
                        let Value::Object(map) = value else {
                            self.fail(
                                path,
                                value,
                                format!("Expected type \"{name}\" to be an object."),
                            );
                            return;
                        };
                        for field in &named.input_fields {
                            match map.get(&field.name) {
                                None => {
                                    if field.default.is_none() && field.ty.is_non_null() {
                                        self.fail(
                                            path,
                                            value,
                                            format!(
                                                "Field \"{}\" of required type \"{}\" was not provided.",
                                                field.name, field.ty
                                            ),
                                        );
                                    }
                                }
                                Some(v) => {
                                    path.push(Key::Field(field.name.clone()));
                                    self.coerce(v, &field.ty, path);
                                    path.pop();
                                }
                            }
                        }
                        for key in map.keys() {
                            if !named.input_fields.iter().any(|f| &f.name == key) {
                                let suggestions = if self.suggestions {
                                    suggestion_list(
                                        key,
                                        named.input_fields.iter().map(|f| f.name.as_str()),
                                    )
                                } else {
                                    Vec::new()
                                };
                                self.fail(
                                    path,
                                    value,
                                    format!(
                                        "Field \"{key}\" is not defined by type \"{name}\".{}",
                                        did_you_mean(None, &suggestions)
                                    ),
                                );
                            }
                        }
                    }
                    Kind::Enum => {
                        let suggest = |text: &str| {
                            if self.suggestions {
                                let values =
                                    suggestion_list(text, named.values.iter().map(String::as_str));
                                did_you_mean(Some("the enum value"), &values)
                            } else {
                                String::new()
                            }
                        };
                        let message = match value {
                            Value::String(s) if named.values.contains(s) => None,
                            Value::String(s) => Some(format!(
                                "Value \"{s}\" does not exist in \"{name}\" enum.{}",
                                suggest(s)
                            )),
                            other => {
                                let shown = inspect(other);
                                Some(format!(
                                    "Enum \"{name}\" cannot represent non-string value: {shown}.{}",
                                    suggest(&shown)
                                ))
                            }
                        };
                        if let Some(message) = message {
                            self.fail(path, value, message);
                        }
                    }
                    _ => {
                        if let Some(message) = scalar_problem(name, value) {
                            self.fail(path, value, message);
                        }
                    }
                }
            }
        }
    }
}

/// Why a built-in scalar's `parseValue` refuses `value`; custom scalars
/// accept anything, as graphql-js's `buildSchema` makes them.
fn scalar_problem(name: &str, value: &Value) -> Option<String> {
    let integer = value.as_f64().filter(|n| n.fract() == 0.0 && n.is_finite());
    match name {
        "Int" => match integer {
            None => Some(format!(
                "Int cannot represent non-integer value: {}",
                inspect(value)
            )),
            Some(n) if n > f64::from(i32::MAX) || n < f64::from(i32::MIN) => Some(format!(
                "Int cannot represent non 32-bit signed integer value: {}",
                js_number(value)
            )),
            Some(_) => None,
        },
        "Float" => (!value.is_number()).then(|| {
            format!(
                "Float cannot represent non numeric value: {}",
                inspect(value)
            )
        }),
        "String" => (!value.is_string()).then(|| {
            format!(
                "String cannot represent a non string value: {}",
                inspect(value)
            )
        }),
        "Boolean" => (!value.is_boolean()).then(|| {
            format!(
                "Boolean cannot represent a non boolean value: {}",
                inspect(value)
            )
        }),
        "ID" => (!(value.is_string() || integer.is_some()))
            .then(|| format!("ID cannot represent value: {}", inspect(value))),
        _ => None,
    }
}

fn js_number(value: &Value) -> String {
    match value.as_f64() {
        Some(n) if n.fract() == 0.0 && n.abs() < 1e21 => format!("{n:.0}"),
        Some(n) => format!("{n}"),
        None => value.to_string(),
    }
}

/// graphql-js's `inspect` for JSON values.
pub fn inspect(value: &Value) -> String {
    inspect_at(value, 0)
}

fn inspect_at(value: &Value, depth: usize) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(_) => js_number(value),
        Value::String(s) => serde_json::to_string(s).unwrap_or_default(),
        Value::Array(items) => {
            if items.is_empty() {
                return "[]".to_owned();
            }
            if depth + 1 > 2 {
                return "[Array]".to_owned();
            }
            let mut parts: Vec<String> = items
                .iter()
                .take(10)
                .map(|v| inspect_at(v, depth + 1))
                .collect();
            match items.len().saturating_sub(10) {
                0 => {}
                1 => parts.push("... 1 more item".to_owned()),
                n => parts.push(format!("... {n} more items")),
            }
            format!("[{}]", parts.join(", "))
        }
        Value::Object(map) => {
            if map.is_empty() {
                return "{}".to_owned();
            }
            if depth + 1 > 2 {
                return "[Object]".to_owned();
            }
            let parts: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{k}: {}", inspect_at(v, depth + 1)))
                .collect();
            format!("{{ {} }}", parts.join(", "))
        }
    }
}
