//! Null propagation as the GraphQL specification (§6.4.4) describes it:
//! when a field fails, the nearest nullable position at or above it becomes
//! null; when none is nullable, `data` itself does.
//!
//! async-graphql leaves some non-null fields null or absent after an error.
//! The executor's result is corrected here from each error's path, the
//! operation and the schema model.

use std::collections::HashMap;

use async_graphql::{PathSegment, Value};

use crate::model::{SchemaModel, TypeRef};
use crate::syntax::ast::{
    Document, FragmentDefinition, OperationDefinition, Selection, SelectionSet,
};

/// Nulls the nearest nullable position above each failed path. Returns
/// `false` when the failure reached the root, so `data` must be null.
pub fn propagate(
    model: &SchemaModel,
    doc: &Document,
    operation: &OperationDefinition,
    data: &mut Value,
    paths: &[&[PathSegment]],
) -> bool {
    let fragments = doc.fragments();
    let Some(root) = model.root(operation.kind) else {
        return true;
    };
    let mut cuts: Vec<&[PathSegment]> = Vec::with_capacity(paths.len());
    for path in paths {
        if path.is_empty() {
            continue;
        }
        // The type of each position along the path; None where it is unknown.
        let mut types: Vec<Option<TypeRef>> = Vec::with_capacity(path.len());
        let mut parent = Some(root.name.clone());
        let mut selections: Vec<&SelectionSet> = vec![&operation.selection_set];
        let mut current: Option<TypeRef> = None;
        for segment in path.iter() {
            match segment {
                PathSegment::Field(key) => {
                    let found = parent
                        .as_deref()
                        .and_then(|p| find_field(model, &fragments, &selections, p, key));
                    match found {
                        Some((ty, sets)) => {
                            parent = Some(ty.named().to_owned());
                            current = Some(ty);
                            selections = sets;
                        }
                        None => {
                            current = None;
                            parent = None;
                            selections = Vec::new();
                        }
                    }
                }
                PathSegment::Index(_) => {
                    current = current.and_then(|t| match t.nullable() {
                        TypeRef::List(inner) => Some((**inner).clone()),
                        _ => None,
                    });
                }
            }
            types.push(current.clone());
        }
        // Walk up from the failed position to the first nullable one.
        let mut cut = path.len();
        while cut > 0 && types[cut - 1].as_ref().is_some_and(TypeRef::is_non_null) {
            cut -= 1;
        }
        if cut == 0 {
            return false;
        }
        cuts.push(&path[..cut]);
    }
    // async-graphql omits a failed field, and answers null for an object
    // whose every field failed, even a non-null one. Every object above a
    // failure was resolved, so it is rebuilt first; then the failures are
    // nulled, shortest first, so that a nulled parent hides its children.
    for cut in &cuts {
        materialize(data, &cut[..cut.len() - 1]);
    }
    cuts.sort_by_key(|c| c.len());
    for cut in cuts {
        set_null(data, cut);
    }
    true
}

/// Makes every position along `path` an object (or keeps the list there),
/// where async-graphql left a null or nothing.
fn materialize(data: &mut Value, path: &[PathSegment]) {
    let mut node = data;
    for segment in path {
        if matches!(segment, PathSegment::Field(_)) && matches!(node, Value::Null) {
            *node = Value::Object(Default::default());
        }
        let next = match (segment, node) {
            (PathSegment::Field(key), Value::Object(map)) => Some(
                map.entry(async_graphql::Name::new(key))
                    .or_insert(Value::Null),
            ),
            (PathSegment::Index(i), Value::List(items)) => items.get_mut(*i),
            _ => None,
        };
        match next {
            Some(n) => node = n,
            None => return,
        }
    }
    if matches!(node, Value::Null) {
        *node = Value::Object(Default::default());
    }
}

/// The type of the field answered under `key` in `parent`, and the
/// selection sets below it.
fn find_field<'a>(
    model: &SchemaModel,
    fragments: &HashMap<&str, &'a FragmentDefinition>,
    sets: &[&'a SelectionSet],
    parent: &str,
    key: &str,
) -> Option<(TypeRef, Vec<&'a SelectionSet>)> {
    let mut found: Option<TypeRef> = None;
    let mut below = Vec::new();
    let mut stack: Vec<(&SelectionSet, String)> =
        sets.iter().map(|s| (*s, parent.to_owned())).collect();
    let mut seen_fragments = Vec::new();
    while let Some((set, context)) = stack.pop() {
        for item in &set.items {
            match item {
                Selection::Field(f) if f.response_key() == key => {
                    if found.is_none() {
                        let ty = model
                            .get(&context)
                            .and_then(|t| model.field(t, &f.name.value))
                            .map(|m| crate::model::meta_field(m).ty);
                        found = ty;
                    }
                    if let Some(s) = &f.selection_set {
                        below.push(s);
                    }
                }
                Selection::Field(_) => {}
                Selection::InlineFragment(i) => {
                    let context = i
                        .type_condition
                        .as_ref()
                        .map_or(context.clone(), |c| c.value.clone());
                    stack.push((&i.selection_set, context));
                }
                Selection::FragmentSpread(s) => {
                    if seen_fragments.contains(&s.name.value.as_str()) {
                        continue;
                    }
                    seen_fragments.push(&s.name.value);
                    if let Some(f) = fragments.get(s.name.value.as_str()) {
                        stack.push((&f.selection_set, f.type_condition.value.clone()));
                    }
                }
            }
        }
    }
    found.map(|ty| (ty, below))
}

fn set_null(data: &mut Value, path: &[PathSegment]) {
    let Some((last, parents)) = path.split_last() else {
        *data = Value::Null;
        return;
    };
    let mut node = data;
    for segment in parents {
        let next = match (segment, node) {
            (PathSegment::Field(key), Value::Object(map)) => map.get_mut(key.as_str()),
            (PathSegment::Index(i), Value::List(items)) => items.get_mut(*i),
            _ => None,
        };
        match next {
            Some(n) => node = n,
            // A parent already null (or absent) already hides the failure.
            None => return,
        }
    }
    match (last, node) {
        (PathSegment::Field(key), Value::Object(map)) => {
            map.insert(async_graphql::Name::new(key), Value::Null);
        }
        (PathSegment::Index(i), Value::List(items)) => {
            if let Some(slot) = items.get_mut(*i) {
                *slot = Value::Null;
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::ast::Definition;
    use crate::syntax::parse;

    const SDL: &str = "type Query { a: A! b: B list: [L!] } type A { x: Int! y: Int } type B { x: Int! } type L { v: Int! }";

    fn run(
        query: &str,
        data: serde_json::Value,
        path: Vec<PathSegment>,
    ) -> Option<serde_json::Value> {
        let model = SchemaModel::from_sdl(SDL).unwrap();
        let doc = parse(query).unwrap();
        let Definition::Operation(op) = &doc.definitions[0] else {
            panic!()
        };
        let mut value = Value::from_json(data).unwrap();
        propagate(&model, &doc, op, &mut value, &[&path]).then(|| value.into_json().unwrap())
    }

    fn field(k: &str) -> PathSegment {
        PathSegment::Field(k.to_owned())
    }

    #[test]
    fn a_failed_non_null_field_nulls_its_nullable_parent() {
        let out = run(
            "{ b { x } a { y } }",
            serde_json::json!({"b": {"x": null}, "a": {"y": 1}}),
            vec![field("b"), field("x")],
        );
        assert_eq!(out, Some(serde_json::json!({"b": null, "a": {"y": 1}})));
    }

    #[test]
    fn a_failure_under_only_non_null_positions_nulls_data() {
        let out = run(
            "{ a { x } b { x } }",
            serde_json::json!({"a": {"x": null}, "b": null}),
            vec![field("a"), field("x")],
        );
        assert_eq!(out, None);
    }

    #[test]
    fn a_nullable_field_just_becomes_null() {
        let out = run(
            "{ a { y } }",
            serde_json::json!({"a": {}}),
            vec![field("a"), field("y")],
        );
        assert_eq!(out, Some(serde_json::json!({"a": {"y": null}})));
    }

    #[test]
    fn an_object_async_graphql_nulled_for_want_of_fields_is_rebuilt() {
        // async-graphql answers null for `a` when its only field failed,
        // though `a` is non-null and `y` nullable.
        let out = run(
            "{ a { y } b { x } }",
            serde_json::json!({"a": null, "b": {"x": 1}}),
            vec![field("a"), field("y")],
        );
        assert_eq!(
            out,
            Some(serde_json::json!({"a": {"y": null}, "b": {"x": 1}}))
        );
    }

    #[test]
    fn a_nulled_parent_hides_a_deeper_failure_whatever_the_order() {
        let model = SchemaModel::from_sdl(SDL).unwrap();
        let doc = parse("{ b { x } }").unwrap();
        let Definition::Operation(op) = &doc.definitions[0] else {
            panic!()
        };
        let mut value = Value::from_json(serde_json::json!({"b": null})).unwrap();
        let deep = [field("b"), field("x")];
        assert!(propagate(
            &model,
            &doc,
            op,
            &mut value,
            &[&deep, &deep[..1]]
        ));
        assert_eq!(value.into_json().unwrap(), serde_json::json!({"b": null}));
    }

    #[test]
    fn list_items_bubble_to_the_nullable_list() {
        let out = run(
            "{ items: list { v } }",
            serde_json::json!({"items": [{"v": 1}, {"v": null}]}),
            vec![field("items"), PathSegment::Index(1), field("v")],
        );
        assert_eq!(out, Some(serde_json::json!({"items": null})));
    }

    #[test]
    fn fragments_and_aliases_are_followed() {
        let out = run(
            "{ ...F } fragment F on Query { bee: b { ... on B { x } } }",
            serde_json::json!({"bee": {"x": null}}),
            vec![field("bee"), field("x")],
        );
        assert_eq!(out, Some(serde_json::json!({"bee": null})));
    }
}
