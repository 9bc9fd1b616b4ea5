//! OverlappingFieldsCanBeMergedRule (§5.3.2), as graphql-js 16 finds and
//! words conflicts: fields answered under one response name must be the
//! same field with the same arguments and compatible types, recursively.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use crate::model::{FieldDef, NamedType, SchemaModel, TypeRef};
use crate::syntax::Pos;
use crate::syntax::ast::{Field, FragmentDefinition, Selection, SelectionSet, Value, ValueKind};

const MAX_CONFLICT_DETAIL_LENGTH: usize = 1000;
const MAX_CONFLICT_NODES: usize = 20;

/// One conflict, reported as graphql-js reports it.
pub struct Conflict {
    /// The response name the fields share.
    pub response_name: String,
    /// Why they conflict.
    pub reason: String,
    /// The fields on one side.
    pub fields1: Vec<Pos>,
    /// The fields on the other side.
    pub fields2: Vec<Pos>,
}

impl Conflict {
    /// graphql-js's message.
    pub fn message(&self) -> String {
        format!(
            "Fields \"{}\" conflict because {}. Use different aliases on the fields to fetch both if this was intentional.",
            abbreviate(&self.response_name),
            self.reason
        )
    }
}

struct FieldDetail<'a> {
    parent: Option<&'a NamedType>,
    node: &'a Field,
    def: Option<&'a FieldDef>,
}

struct Collected<'a> {
    grouped: Vec<(&'a str, Vec<FieldDetail<'a>>)>,
    fragment_names: Vec<&'a str>,
    compared_fragments: RefCell<HashMap<&'a str, bool>>,
}

/// Collected fields by parent type and selection set (by address: the same
/// set under the same type always collects the same fields).
type CollectCache<'a> = HashMap<(Option<&'a str>, *const SelectionSet), Rc<Collected<'a>>>;

/// The rule's state for one document.
pub struct Overlap<'a> {
    schema: &'a SchemaModel,
    fragments: &'a HashMap<&'a str, &'a FragmentDefinition>,
    cache: RefCell<CollectCache<'a>>,
    compared_pairs: RefCell<HashMap<(&'a str, &'a str), bool>>,
}

impl<'a> Overlap<'a> {
    /// A rule instance over `schema` and the document's fragments.
    pub fn new(
        schema: &'a SchemaModel,
        fragments: &'a HashMap<&'a str, &'a FragmentDefinition>,
    ) -> Overlap<'a> {
        Overlap {
            schema,
            fragments,
            cache: RefCell::new(HashMap::new()),
            compared_pairs: RefCell::new(HashMap::new()),
        }
    }

    /// The conflicts within one selection set, whose parent type is `parent`.
    pub fn within(&self, parent: Option<&'a NamedType>, set: &'a SelectionSet) -> Vec<Conflict> {
        let mut conflicts = Vec::new();
        let collected = self.collect(parent, set);
        for (name, fields) in &collected.grouped {
            for i in 0..fields.len() {
                for j in i + 1..fields.len() {
                    if let Some(c) = self.find_conflict(false, name, &fields[i], &fields[j]) {
                        conflicts.push(c);
                    }
                }
            }
        }
        let names = &collected.fragment_names;
        if !names.is_empty() && (!collected.grouped.is_empty() || names.len() > 1) {
            for i in 0..names.len() {
                self.between_fields_and_fragment(&mut conflicts, false, &collected, names[i]);
                for name2 in &names[i + 1..] {
                    self.between_fragments(&mut conflicts, false, names[i], name2);
                }
            }
        }
        conflicts
    }

    fn collect(&self, parent: Option<&'a NamedType>, set: &'a SelectionSet) -> Rc<Collected<'a>> {
        let key = (parent.map(|p| p.name.as_str()), set as *const SelectionSet);
        if let Some(hit) = self.cache.borrow().get(&key) {
            return Rc::clone(hit);
        }
        let mut collected = Collected {
            grouped: Vec::new(),
            fragment_names: Vec::new(),
            compared_fragments: RefCell::new(HashMap::new()),
        };
        self.collect_into(parent, set, &mut collected);
        let collected = Rc::new(collected);
        self.cache.borrow_mut().insert(key, Rc::clone(&collected));
        collected
    }

    fn collect_into(
        &self,
        parent: Option<&'a NamedType>,
        set: &'a SelectionSet,
        out: &mut Collected<'a>,
    ) {
        for item in &set.items {
            match item {
                Selection::Field(f) => {
                    let def = parent
                        .filter(|p| {
                            matches!(
                                p.kind,
                                crate::model::Kind::Object | crate::model::Kind::Interface
                            )
                        })
                        .and_then(|p| p.field(&f.name.value));
                    let key = f.response_key();
                    let detail = FieldDetail {
                        parent,
                        node: f,
                        def,
                    };
                    match out.grouped.iter_mut().find(|(k, _)| *k == key) {
                        Some((_, list)) => list.push(detail),
                        None => out.grouped.push((key, vec![detail])),
                    }
                }
                Selection::FragmentSpread(s) => {
                    if !out.fragment_names.contains(&s.name.value.as_str()) {
                        out.fragment_names.push(&s.name.value);
                    }
                }
                Selection::InlineFragment(i) => {
                    let ty = match &i.type_condition {
                        Some(c) => self.schema.get(&c.value),
                        None => parent,
                    };
                    self.collect_into(ty, &i.selection_set, out);
                }
            }
        }
    }

    fn fragment_fields(&self, name: &str) -> Option<Rc<Collected<'a>>> {
        let fragment = *self.fragments.get(name)?;
        Some(self.collect(
            self.schema.get(&fragment.type_condition.value),
            &fragment.selection_set,
        ))
    }

    fn between_fields_and_fragment(
        &self,
        conflicts: &mut Vec<Conflict>,
        exclusive: bool,
        collected: &Rc<Collected<'a>>,
        fragment_name: &'a str,
    ) {
        if collected.grouped.is_empty() {
            return;
        }
        let compared = collected
            .compared_fragments
            .borrow()
            .get(fragment_name)
            .copied();
        if compared == Some(false) || (exclusive && compared == Some(true)) {
            return;
        }
        collected
            .compared_fragments
            .borrow_mut()
            .insert(fragment_name, exclusive);
        let Some(other) = self.fragment_fields(fragment_name) else {
            return;
        };
        if Rc::ptr_eq(collected, &other) {
            return;
        }
        self.between(conflicts, exclusive, collected, &other);
        for name in &other.fragment_names {
            self.between_fields_and_fragment(conflicts, exclusive, collected, name);
        }
    }

    fn between_fragments(
        &self,
        conflicts: &mut Vec<Conflict>,
        exclusive: bool,
        name1: &'a str,
        name2: &'a str,
    ) {
        if name1 == name2 {
            return;
        }
        {
            let pairs = self.compared_pairs.borrow();
            let seen = |a: &'a str, b: &'a str| match pairs.get(&(a, b)) {
                None => false,
                Some(stored) => exclusive || *stored == exclusive,
            };
            if seen(name1, name2) || seen(name2, name1) {
                return;
            }
        }
        self.compared_pairs
            .borrow_mut()
            .insert((name1, name2), exclusive);
        let (Some(f1), Some(f2)) = (self.fragment_fields(name1), self.fragment_fields(name2))
        else {
            return;
        };
        self.between(conflicts, exclusive, &f1, &f2);
        for name in &f2.fragment_names {
            self.between_fragments(conflicts, exclusive, name1, name);
        }
        for name in &f1.fragment_names {
            self.between_fragments(conflicts, exclusive, name, name2);
        }
    }

    fn between_sub_selection_sets(
        &self,
        exclusive: bool,
        parent1: Option<&'a NamedType>,
        set1: &'a SelectionSet,
        parent2: Option<&'a NamedType>,
        set2: &'a SelectionSet,
    ) -> Vec<Conflict> {
        let mut conflicts = Vec::new();
        let c1 = self.collect(parent1, set1);
        let c2 = self.collect(parent2, set2);
        self.between(&mut conflicts, exclusive, &c1, &c2);
        for name in &c2.fragment_names {
            self.between_fields_and_fragment(&mut conflicts, exclusive, &c1, name);
        }
        for name in &c1.fragment_names {
            self.between_fields_and_fragment(&mut conflicts, exclusive, &c2, name);
        }
        for name1 in &c1.fragment_names {
            for name2 in &c2.fragment_names {
                self.between_fragments(&mut conflicts, exclusive, name1, name2);
            }
        }
        conflicts
    }

    fn between(
        &self,
        conflicts: &mut Vec<Conflict>,
        exclusive: bool,
        c1: &Collected<'a>,
        c2: &Collected<'a>,
    ) {
        if c1.grouped.is_empty() || c2.grouped.is_empty() {
            return;
        }
        for (name, fields1) in &c1.grouped {
            let Some((_, fields2)) = c2.grouped.iter().find(|(k, _)| k == name) else {
                continue;
            };
            for f1 in fields1 {
                for f2 in fields2 {
                    if let Some(c) = self.find_conflict(exclusive, name, f1, f2) {
                        conflicts.push(c);
                    }
                }
            }
        }
    }

    fn find_conflict(
        &self,
        parents_exclusive: bool,
        name: &str,
        f1: &FieldDetail<'a>,
        f2: &FieldDetail<'a>,
    ) -> Option<Conflict> {
        let object =
            |t: Option<&NamedType>| t.is_some_and(|t| t.kind == crate::model::Kind::Object);
        let exclusive = parents_exclusive
            || (f1.parent.map(|p| &p.name) != f2.parent.map(|p| &p.name)
                && object(f1.parent)
                && object(f2.parent));
        let conflict = |reason: String| Conflict {
            response_name: name.to_owned(),
            reason,
            fields1: vec![f1.node.pos],
            fields2: vec![f2.node.pos],
        };
        if !exclusive {
            let (n1, n2) = (&f1.node.name.value, &f2.node.name.value);
            if n1 != n2 {
                return Some(conflict(format!(
                    "\"{}\" and \"{}\" are different fields",
                    abbreviate(n1),
                    abbreviate(n2)
                )));
            }
            if !same_arguments(f1.node, f2.node) {
                return Some(conflict("they have differing arguments".to_owned()));
            }
        }
        let (t1, t2) = (f1.def.map(|d| &d.ty), f2.def.map(|d| &d.ty));
        if let (Some(t1), Some(t2)) = (t1, t2)
            && self.types_conflict(t1, t2)
        {
            return Some(conflict(format!(
                "they return conflicting types \"{t1}\" and \"{t2}\""
            )));
        }
        let (Some(s1), Some(s2)) = (&f1.node.selection_set, &f2.node.selection_set) else {
            return None;
        };
        let named = |t: Option<&TypeRef>| t.and_then(|t| self.schema.get(t.named()));
        let sub = self.between_sub_selection_sets(exclusive, named(t1), s1, named(t2), s2);
        if sub.is_empty() {
            return None;
        }
        let mut message = String::new();
        for c in &sub {
            if !message.is_empty() {
                message.push_str(" and ");
            }
            message.push_str(&format!(
                "subfields \"{}\" conflict because {}",
                abbreviate(&c.response_name),
                c.reason
            ));
            if message.len() > MAX_CONFLICT_DETAIL_LENGTH {
                break;
            }
        }
        Some(Conflict {
            response_name: name.to_owned(),
            reason: abbreviate(&message),
            fields1: conflict_nodes(f1.node.pos, &sub, |c| &c.fields1),
            fields2: conflict_nodes(f2.node.pos, &sub, |c| &c.fields2),
        })
    }

    /// graphql-js's `doTypesConflict`.
    fn types_conflict(&self, t1: &TypeRef, t2: &TypeRef) -> bool {
        match (t1, t2) {
            (TypeRef::List(a), TypeRef::List(b)) => self.types_conflict(a, b),
            (TypeRef::List(_), _) | (_, TypeRef::List(_)) => true,
            (TypeRef::NonNull(a), TypeRef::NonNull(b)) => self.types_conflict(a, b),
            (TypeRef::NonNull(_), _) | (_, TypeRef::NonNull(_)) => true,
            (TypeRef::Named(a), TypeRef::Named(b)) => {
                let leaf = |n: &str| self.schema.get(n).is_some_and(NamedType::is_leaf);
                (leaf(a) || leaf(b)) && a != b
            }
        }
    }
}

fn conflict_nodes(first: Pos, sub: &[Conflict], side: impl Fn(&Conflict) -> &Vec<Pos>) -> Vec<Pos> {
    let mut nodes = vec![first];
    for c in sub {
        let remaining = MAX_CONFLICT_NODES - nodes.len();
        let taken = side(c);
        let start = taken.len().saturating_sub(remaining);
        nodes.extend_from_slice(&taken[start..]);
        if nodes.len() == MAX_CONFLICT_NODES {
            break;
        }
    }
    nodes
}

fn abbreviate(text: &str) -> String {
    let units: Vec<u16> = text.encode_utf16().collect();
    if units.len() > MAX_CONFLICT_DETAIL_LENGTH {
        format!(
            "{}...",
            String::from_utf16_lossy(&units[..MAX_CONFLICT_DETAIL_LENGTH])
        )
    } else {
        text.to_owned()
    }
}

fn same_arguments(f1: &Field, f2: &Field) -> bool {
    if f1.arguments.is_empty() {
        return f2.arguments.is_empty();
    }
    if f1.arguments.len() != f2.arguments.len() {
        return false;
    }
    f1.arguments.iter().all(|a1| {
        f2.arguments
            .iter()
            .rev()
            .find(|a2| a2.name.value == a1.name.value)
            .is_some_and(|a2| value_key(&a1.value) == value_key(&a2.value))
    })
}

/// A canonical text for a value literal: object fields sorted by name, as
/// graphql-js's `stringifyValue` does.
fn value_key(value: &Value) -> String {
    match &value.kind {
        ValueKind::Variable(n) => format!("Variable:{n}"),
        ValueKind::Int(v) => format!("IntValue:{v}"),
        ValueKind::Float(v) => format!("FloatValue:{v}"),
        ValueKind::String { value, block } => format!(
            "StringValue:{block}:{}",
            serde_json::to_string(value).unwrap_or_default()
        ),
        ValueKind::Boolean(b) => format!("BooleanValue:{b}"),
        ValueKind::Null => "NullValue".to_owned(),
        ValueKind::Enum(v) => format!("EnumValue:{v}"),
        ValueKind::List(items) => format!(
            "ListValue:[{}]",
            items.iter().map(value_key).collect::<Vec<_>>().join(",")
        ),
        ValueKind::Object(fields) => {
            let mut sorted: Vec<_> = fields.iter().collect();
            sorted.sort_by(|a, b| a.name.value.cmp(&b.name.value));
            let parts: Vec<String> = sorted
                .iter()
                .map(|f| {
                    format!(
                        "{}={}",
                        serde_json::to_string(&f.name.value).unwrap_or_default(),
                        value_key(&f.value)
                    )
                })
                .collect();
            format!("ObjectValue:{{{}}}", parts.join(","))
        }
    }
}
