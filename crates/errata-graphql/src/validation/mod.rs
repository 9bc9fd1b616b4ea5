//! Validation with graphql-js 16's rules, messages, locations and order.
//!
//! One walk over the document keeps graphql-js's `TypeInfo` (parent type,
//! field definition, expected input type) and, at each node, runs the rules
//! that look at it in the order of graphql-js's `specifiedRules`, so errors
//! come out in the same order as graphql-js's.
//!
//! Every rule of graphql-js's `specifiedRules` for executable documents is
//! here, and NoSchemaIntrospectionCustomRule for production mode.

mod overlap;
pub mod suggest;

use std::collections::{HashMap, HashSet};

use crate::model::{FieldDef, InputValue, Kind, NamedType, SchemaModel, TypeRef, meta_field};
use crate::rules::{self, Rule};
use crate::syntax::Pos;
use crate::syntax::ast::*;
use crate::syntax::printer::print_value;
use suggest::{did_you_mean, natural_compare, suggestion_list};

/// One validation error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    /// graphql-js's message.
    pub message: String,
    /// graphql-js's locations.
    pub locations: Vec<Pos>,
    /// The rule that failed.
    pub rule: Rule,
}

/// What validation may say.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Add "Did you mean ...?" suggestions.
    pub suggestions: bool,
    /// Stop after this many errors, as graphql-js does (100).
    pub max_errors: usize,
    /// Allow introspection; without it, graphql-js's
    /// NoSchemaIntrospectionCustomRule refuses introspection fields.
    pub introspection: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            suggestions: true,
            max_errors: 100,
            introspection: true,
        }
    }
}

/// Validates `doc` against `schema`.
pub fn validate(schema: &SchemaModel, doc: &Document, options: Options) -> Vec<ValidationError> {
    let fragments = doc.fragments();
    let overlap = overlap::Overlap::new(schema, &fragments);
    let mut cx = Cx::new(schema, doc, options, &fragments, &overlap);
    cx.document();
    cx.errors
}

struct Cx<'a> {
    schema: &'a SchemaModel,
    doc: &'a Document,
    options: Options,
    fragments: &'a HashMap<&'a str, &'a FragmentDefinition>,
    overlap: &'a overlap::Overlap<'a>,
    errors: Vec<ValidationError>,
    aborted: bool,
    // TypeInfo
    parent_types: Vec<Option<&'a NamedType>>,
    types: Vec<Option<TypeRef>>,
    field_defs: Vec<Option<FieldDef>>,
    input_types: Vec<Option<TypeRef>>,
    // rule state
    operation_count: usize,
    operation_names: HashMap<&'a str, Pos>,
    fragment_names: HashMap<&'a str, Pos>,
    visited_fragments: HashSet<&'a str>,
    defined_variables: HashSet<&'a str>,
}

impl<'a> Cx<'a> {
    fn new(
        schema: &'a SchemaModel,
        doc: &'a Document,
        options: Options,
        fragments: &'a HashMap<&'a str, &'a FragmentDefinition>,
        overlap: &'a overlap::Overlap<'a>,
    ) -> Cx<'a> {
        Cx {
            schema,
            doc,
            options,
            fragments,
            overlap,
            errors: Vec::new(),
            aborted: false,
            parent_types: Vec::new(),
            types: Vec::new(),
            field_defs: Vec::new(),
            input_types: Vec::new(),
            operation_count: 0,
            operation_names: HashMap::new(),
            fragment_names: HashMap::new(),
            visited_fragments: HashSet::new(),
            defined_variables: HashSet::new(),
        }
    }

    fn report(&mut self, rule: Rule, message: String, locations: Vec<Pos>) {
        if self.aborted {
            return;
        }
        if self.errors.len() >= self.options.max_errors {
            self.errors.push(ValidationError {
                message: "Too many validation errors, error limit reached. Validation aborted."
                    .to_owned(),
                locations: Vec::new(),
                rule,
            });
            self.aborted = true;
            return;
        }
        self.errors.push(ValidationError {
            message,
            locations,
            rule,
        });
    }

    fn suggest<'s>(&self, input: &str, options: impl IntoIterator<Item = &'s str>) -> Vec<&'s str> {
        if self.options.suggestions {
            suggestion_list(input, options)
        } else {
            Vec::new()
        }
    }

    fn named(&self, ty: &TypeRef) -> Option<&'a NamedType> {
        self.schema.get(ty.named())
    }

    fn type_from_ast(&self, ty: &Type) -> Option<TypeRef> {
        self.schema
            .get(&ty.named().value)
            .map(|_| TypeRef::from_ast(ty))
    }

    // ---- the walk ----

    fn document(&mut self) {
        let doc = self.doc;
        // ExecutableDefinitionsRule
        for d in &doc.definitions {
            if let Definition::TypeSystem(t) = d {
                let name = match (&t.def, &t.name) {
                    (TypeDef::Schema(_), _) | (_, None) => "schema".to_owned(),
                    (_, Some(n)) => format!("\"{}\"", n.value),
                };
                self.report(
                    rules::EXECUTABLE_DEFINITIONS,
                    format!("The {name} definition is not executable."),
                    vec![t.pos],
                );
            }
        }
        // LoneAnonymousOperationRule
        self.operation_count = doc
            .definitions
            .iter()
            .filter(|d| matches!(d, Definition::Operation(_)))
            .count();
        for d in &doc.definitions {
            match d {
                Definition::Operation(op) => self.operation(op),
                Definition::Fragment(f) => self.fragment_definition(f),
                Definition::TypeSystem(_) => {}
            }
        }
        // NoUnusedFragmentsRule (document leave)
        let used = self.used_fragments_of_operations();
        for d in &doc.definitions {
            if let Definition::Fragment(f) = d
                && !used.contains(f.name.value.as_str())
            {
                self.report(
                    rules::NO_UNUSED_FRAGMENTS,
                    format!("Fragment \"{}\" is never used.", f.name.value),
                    vec![f.pos],
                );
            }
        }
    }

    fn operation(&mut self, op: &'a OperationDefinition) {
        // TypeInfo
        let root = self.schema.root(op.kind);
        self.types.push(
            root.filter(|t| t.kind == Kind::Object)
                .map(|t| TypeRef::Named(t.name.clone())),
        );
        // UniqueOperationNamesRule
        if let Some(name) = &op.name {
            match self.operation_names.get(name.value.as_str()) {
                Some(first) => {
                    let first = *first;
                    self.report(
                        rules::UNIQUE_OPERATION_NAMES,
                        format!("There can be only one operation named \"{}\".", name.value),
                        vec![first, name.pos],
                    );
                }
                None => {
                    self.operation_names.insert(&name.value, name.pos);
                }
            }
        }
        // LoneAnonymousOperationRule
        if op.name.is_none() && self.operation_count > 1 {
            self.report(
                rules::LONE_ANONYMOUS_OPERATION,
                "This anonymous operation must be the only defined operation.".to_owned(),
                vec![op.pos],
            );
        }
        // SingleFieldSubscriptionsRule
        if op.kind == OperationKind::Subscription
            && let Some(root) = self.schema.root(OperationKind::Subscription)
        {
            let mut groups: Vec<(&str, Vec<&Field>)> = Vec::new();
            let mut visited = HashSet::new();
            self.collect_root_fields(root, &op.selection_set, &mut groups, &mut visited);
            let who = match &op.name {
                Some(n) => format!("Subscription \"{}\"", n.value),
                None => "Anonymous Subscription".to_owned(),
            };
            if groups.len() > 1 {
                let extra = groups[1..]
                    .iter()
                    .flat_map(|(_, fields)| fields.iter().map(|f| f.pos))
                    .collect();
                self.report(
                    rules::SINGLE_FIELD_SUBSCRIPTIONS,
                    format!("{who} must select only one top level field."),
                    extra,
                );
            }
            for (_, fields) in &groups {
                if fields[0].name.value.starts_with("__") {
                    self.report(
                        rules::SINGLE_FIELD_SUBSCRIPTIONS,
                        format!("{who} must not select an introspection top level field."),
                        fields.iter().map(|f| f.pos).collect(),
                    );
                }
            }
        }
        // UniqueVariableNamesRule
        let mut seen: Vec<(&str, Vec<Pos>)> = Vec::new();
        for v in &op.variables {
            match seen.iter_mut().find(|(n, _)| *n == v.name.value) {
                Some((_, positions)) => positions.push(v.name.pos),
                None => seen.push((&v.name.value, vec![v.name.pos])),
            }
        }
        for (name, positions) in seen {
            if positions.len() > 1 {
                self.report(
                    rules::UNIQUE_VARIABLE_NAMES,
                    format!("There can be only one variable named \"${name}\"."),
                    positions,
                );
            }
        }
        self.defined_variables.clear();
        // UniqueDirectivesPerLocationRule
        self.unique_directives(&op.directives);
        for v in &op.variables {
            self.variable_definition(v);
        }
        let location = match op.kind {
            OperationKind::Query => "QUERY",
            OperationKind::Mutation => "MUTATION",
            OperationKind::Subscription => "SUBSCRIPTION",
        };
        self.directives(&op.directives, location);
        self.selection_set(&op.selection_set);
        // leave: NoUndefinedVariablesRule, NoUnusedVariablesRule
        let usages = self.recursive_variable_usages(op);
        for Usage { name, pos, .. } in &usages {
            if !self.defined_variables.contains(name.as_str()) {
                let message = match &op.name {
                    Some(op_name) => format!(
                        "Variable \"${name}\" is not defined by operation \"{}\".",
                        op_name.value
                    ),
                    None => format!("Variable \"${name}\" is not defined."),
                };
                self.report(rules::NO_UNDEFINED_VARIABLES, message, vec![*pos, op.pos]);
            }
        }
        let used: HashSet<&str> = usages.iter().map(|u| u.name.as_str()).collect();
        for v in &op.variables {
            if !used.contains(v.name.value.as_str()) {
                let message = match &op.name {
                    Some(op_name) => format!(
                        "Variable \"${}\" is never used in operation \"{}\".",
                        v.name.value, op_name.value
                    ),
                    None => format!("Variable \"${}\" is never used.", v.name.value),
                };
                self.report(rules::NO_UNUSED_VARIABLES, message, vec![v.pos]);
            }
        }
        // VariablesInAllowedPositionRule
        for usage in &usages {
            let Some(def) = op.variables.iter().find(|v| v.name.value == usage.name) else {
                continue;
            };
            let Some(location) = &usage.ty else { continue };
            let Some(var_ty) = self.type_from_ast(&def.ty) else {
                continue;
            };
            let allowed = if location.is_non_null() && !var_ty.is_non_null() {
                let var_default = def
                    .default
                    .as_ref()
                    .is_some_and(|d| !matches!(d.kind, ValueKind::Null));
                (var_default || usage.has_location_default)
                    && self.is_type_sub_type_of(&var_ty, location.nullable())
            } else {
                self.is_type_sub_type_of(&var_ty, location)
            };
            if !allowed {
                self.report(
                    rules::VARIABLES_IN_ALLOWED_POSITION,
                    format!(
                        "Variable \"${}\" of type \"{var_ty}\" used in position expecting type \"{location}\".",
                        usage.name
                    ),
                    vec![def.pos, usage.pos],
                );
            }
        }
        self.types.pop();
    }

    fn variable_definition(&mut self, v: &'a VariableDefinition) {
        // VariablesAreInputTypesRule
        if let Some(ty) = self.type_from_ast(&v.ty)
            && !self.named(&ty).is_some_and(NamedType::is_input)
        {
            self.report(
                rules::VARIABLES_ARE_INPUT_TYPES,
                format!(
                    "Variable \"${}\" cannot be non-input type \"{}\".",
                    v.name.value, v.ty
                ),
                vec![v.ty.pos()],
            );
        }
        self.defined_variables.insert(&v.name.value);
        self.unique_directives(&v.directives);
        self.named_type(v.ty.named());
        let input = self
            .type_from_ast(&v.ty)
            .filter(|t| self.named(t).is_some_and(NamedType::is_input));
        self.input_types.push(input);
        if let Some(default) = &v.default {
            self.value(default);
        }
        self.input_types.pop();
        self.directives(&v.directives, "VARIABLE_DEFINITION");
    }

    fn named_type(&mut self, name: &Name) {
        // KnownTypeNamesRule
        if self.schema.get(&name.value).is_none() {
            let suggestions = self.suggest(
                &name.value,
                self.schema.type_names.iter().map(String::as_str),
            );
            self.report(
                rules::KNOWN_TYPE_NAMES,
                format!(
                    "Unknown type \"{}\".{}",
                    name.value,
                    did_you_mean(None, &suggestions)
                ),
                vec![name.pos],
            );
        }
    }

    fn selection_set(&mut self, set: &'a SelectionSet) {
        self.selection_set_of(set, false);
    }

    fn selection_set_of(&mut self, set: &'a SelectionSet, in_inline_fragment: bool) {
        let parent = self
            .types
            .last()
            .cloned()
            .flatten()
            .and_then(|t| self.named(&t))
            .filter(|t| t.is_composite());
        self.parent_types.push(parent);
        // OverlappingFieldsCanBeMergedRule: an inline fragment's fields are
        // compared from the enclosing selection set.
        let single = set.items.len() <= 1
            && !matches!(set.items.first(), Some(Selection::InlineFragment(_)));
        if !in_inline_fragment && !single {
            for conflict in self.overlap.within(parent, set) {
                let locations = conflict
                    .fields1
                    .iter()
                    .chain(&conflict.fields2)
                    .copied()
                    .collect();
                self.report(
                    rules::OVERLAPPING_FIELDS_CAN_BE_MERGED,
                    conflict.message(),
                    locations,
                );
            }
        }
        for item in &set.items {
            if self.aborted {
                break;
            }
            match item {
                Selection::Field(f) => self.field(f),
                Selection::FragmentSpread(s) => self.fragment_spread(s),
                Selection::InlineFragment(i) => self.inline_fragment(i),
            }
        }
        self.parent_types.pop();
    }

    fn field(&mut self, field: &'a Field) {
        let parent = self.parent_types.last().copied().flatten();
        let def = parent
            .and_then(|p| self.schema.field(p, &field.name.value))
            .map(meta_field);
        let ty = def.as_ref().map(|d| d.ty.clone());
        self.field_defs.push(def.clone());
        self.types.push(ty.clone());

        // MaxIntrospectionDepthRule
        if (field.name.value == "__schema" || field.name.value == "__type")
            && self.introspection_too_deep(field)
        {
            self.report(
                rules::MAX_INTROSPECTION_DEPTH,
                "Maximum introspection depth exceeded".to_owned(),
                vec![field.pos],
            );
        }
        // ScalarLeafsRule
        if let Some(ty) = &ty
            && let Some(named) = self.named(ty)
        {
            match (&field.selection_set, named.is_leaf()) {
                (Some(set), true) => self.report(
                    rules::SCALAR_LEAFS,
                    format!(
                        "Field \"{}\" must not have a selection since type \"{ty}\" has no subfields.",
                        field.name.value
                    ),
                    vec![set.pos],
                ),
                (None, false) => self.report(
                    rules::SCALAR_LEAFS,
                    format!(
                        "Field \"{0}\" of type \"{ty}\" must have a selection of subfields. Did you mean \"{0} {{ ... }}\"?",
                        field.name.value
                    ),
                    vec![field.pos],
                ),
                _ => {}
            }
        }
        // FieldsOnCorrectTypeRule
        if let Some(parent) = parent
            && def.is_none()
        {
            let types = if self.options.suggestions {
                self.suggested_type_names(parent, &field.name.value)
            } else {
                Vec::new()
            };
            let type_refs: Vec<&str> = types.iter().map(String::as_str).collect();
            let mut suggestion = did_you_mean(Some("to use an inline fragment on"), &type_refs);
            if suggestion.is_empty() && matches!(parent.kind, Kind::Object | Kind::Interface) {
                let fields = self.suggest(
                    &field.name.value,
                    parent.fields.iter().map(|f| f.name.as_str()),
                );
                suggestion = did_you_mean(None, &fields);
            }
            self.report(
                rules::FIELDS_ON_CORRECT_TYPE,
                format!(
                    "Cannot query field \"{}\" on type \"{}\".{suggestion}",
                    field.name.value, parent.name
                ),
                vec![field.pos],
            );
        }
        self.unique_directives(&field.directives);
        self.unique_arguments(&field.arguments);
        // NoSchemaIntrospectionCustomRule, a custom rule, so it runs after the specified ones.
        if !self.options.introspection
            && let Some(ty) = &ty
            && ty.named().starts_with("__")
        {
            self.report(
                rules::NO_SCHEMA_INTROSPECTION,
                format!(
                    "GraphQL introspection has been disabled, but the requested query contained the field \"{}\".",
                    field.name.value
                ),
                vec![field.pos],
            );
        }

        for arg in &field.arguments {
            self.field_argument(arg, parent, def.as_ref());
        }
        self.directives(&field.directives, "FIELD");
        if let Some(set) = &field.selection_set {
            self.selection_set(set);
        }
        // leave: ProvidedRequiredArgumentsRule
        if let Some(def) = &def {
            for arg in &def.args {
                if arg.is_required() && !field.arguments.iter().any(|a| a.name.value == arg.name) {
                    self.report(
                        rules::PROVIDED_REQUIRED_ARGUMENTS,
                        format!(
                            "Field \"{}\" argument \"{}\" of type \"{}\" is required, but it was not provided.",
                            def.name, arg.name, arg.ty
                        ),
                        vec![field.pos],
                    );
                }
            }
        }
        self.types.pop();
        self.field_defs.pop();
    }

    fn field_argument(
        &mut self,
        arg: &'a Argument,
        parent: Option<&NamedType>,
        def: Option<&FieldDef>,
    ) {
        let arg_def = def.and_then(|d| d.args.iter().find(|a| a.name == arg.name.value));
        // KnownArgumentNamesRule
        if arg_def.is_none()
            && let (Some(def), Some(parent)) = (def, parent)
        {
            let suggestions =
                self.suggest(&arg.name.value, def.args.iter().map(|a| a.name.as_str()));
            self.report(
                rules::KNOWN_ARGUMENT_NAMES,
                format!(
                    "Unknown argument \"{}\" on field \"{}.{}\".{}",
                    arg.name.value,
                    parent.name,
                    def.name,
                    did_you_mean(None, &suggestions)
                ),
                vec![arg.pos],
            );
        }
        self.argument_value(arg, arg_def);
    }

    fn argument_value(&mut self, arg: &'a Argument, def: Option<&InputValue>) {
        let input = def
            .map(|d| d.ty.clone())
            .filter(|t| self.named(t).is_some_and(NamedType::is_input));
        self.input_types.push(input);
        self.value(&arg.value);
        self.input_types.pop();
    }

    fn value(&mut self, value: &'a Value) {
        self.value_checked(value, true);
    }

    /// Walks a value. `checked` is false below a list or object that
    /// ValuesOfCorrectTypeRule already refused whole, as graphql-js stops
    /// that rule there while the others go on.
    fn value_checked(&mut self, value: &'a Value, checked: bool) {
        let input = self.input_types.last().cloned().flatten();
        match &value.kind {
            ValueKind::List(items) => {
                let item = input.as_ref().map(|t| match t.nullable() {
                    TypeRef::List(inner) => (**inner).clone(),
                    other => other.clone(),
                });
                let mut checked = checked;
                if checked
                    && !matches!(
                        input.as_ref().map(TypeRef::nullable),
                        Some(TypeRef::List(_))
                    )
                {
                    self.valid_value_node(value, item.as_ref());
                    checked = false;
                }
                self.input_types.push(item);
                for v in items {
                    self.value_checked(v, checked);
                }
                self.input_types.pop();
            }
            ValueKind::Object(fields) => {
                let object = input
                    .as_ref()
                    .and_then(|t| self.named(t))
                    .filter(|t| t.kind == Kind::InputObject);
                let mut checked = checked;
                if checked {
                    match object {
                        None => {
                            self.valid_value_node(value, input.as_ref());
                            checked = false;
                        }
                        Some(object) => {
                            for def in &object.input_fields {
                                if def.is_required()
                                    && !fields.iter().any(|f| f.name.value == def.name)
                                {
                                    self.report(
                                        rules::VALUES_OF_CORRECT_TYPE,
                                        format!(
                                            "Field \"{}.{}\" of required type \"{}\" was not provided.",
                                            object.name, def.name, def.ty
                                        ),
                                        vec![value.pos],
                                    );
                                }
                            }
                        }
                    }
                }
                let mut seen: HashMap<&str, Pos> = HashMap::new();
                for f in fields {
                    let field_ty = object
                        .and_then(|o| o.input_fields.iter().find(|x| x.name == f.name.value))
                        .map(|x| x.ty.clone())
                        .filter(|t| self.named(t).is_some_and(NamedType::is_input));
                    if checked
                        && field_ty.is_none()
                        && let Some(object) = object
                    {
                        let suggestions = self.suggest(
                            &f.name.value,
                            object.input_fields.iter().map(|x| x.name.as_str()),
                        );
                        self.report(
                            rules::VALUES_OF_CORRECT_TYPE,
                            format!(
                                "Field \"{}\" is not defined by type \"{}\".{}",
                                f.name.value,
                                object.name,
                                did_you_mean(None, &suggestions)
                            ),
                            vec![f.pos],
                        );
                    }
                    // UniqueInputFieldNamesRule
                    if let Some(first) = seen.get(f.name.value.as_str()) {
                        let first = *first;
                        self.report(
                            rules::UNIQUE_INPUT_FIELD_NAMES,
                            format!(
                                "There can be only one input field named \"{}\".",
                                f.name.value
                            ),
                            vec![first, f.name.pos],
                        );
                    } else {
                        seen.insert(&f.name.value, f.name.pos);
                    }
                    self.input_types.push(field_ty);
                    self.value_checked(&f.value, checked);
                    self.input_types.pop();
                }
            }
            ValueKind::Null => {
                if checked && let Some(ty) = input.as_ref().filter(|t| t.is_non_null()) {
                    self.report(
                        rules::VALUES_OF_CORRECT_TYPE,
                        format!("Expected value of type \"{ty}\", found null."),
                        vec![value.pos],
                    );
                }
            }
            ValueKind::Variable(_) => {}
            _ => {
                if checked {
                    self.valid_value_node(value, input.as_ref());
                }
            }
        }
    }

    /// graphql-js's `isValidValueNode`: a literal against a leaf type.
    fn valid_value_node(&mut self, node: &Value, location_type: Option<&TypeRef>) {
        let Some(location_type) = location_type else {
            return;
        };
        let Some(named) = self.named(location_type) else {
            return;
        };
        let printed = print_value(node);
        let rule = rules::VALUES_OF_CORRECT_TYPE;
        if !named.is_leaf() {
            self.report(
                rule,
                format!("Expected value of type \"{location_type}\", found {printed}."),
                vec![node.pos],
            );
            return;
        }
        let message = if named.kind == Kind::Enum {
            let suggest = |cx: &Self, text: &str| {
                let values = cx.suggest(text, named.values.iter().map(String::as_str));
                did_you_mean(Some("the enum value"), &values)
            };
            match &node.kind {
                ValueKind::Enum(v) if named.values.contains(v) => None,
                ValueKind::Enum(_) => Some(format!(
                    "Value \"{printed}\" does not exist in \"{}\" enum.{}",
                    named.name,
                    suggest(self, &printed)
                )),
                _ => Some(format!(
                    "Enum \"{}\" cannot represent non-enum value: {printed}.{}",
                    named.name,
                    suggest(self, &printed)
                )),
            }
        } else {
            match (named.name.as_str(), &node.kind) {
                ("Int", ValueKind::Int(text)) => {
                    let in_range = text.parse::<i64>().is_ok_and(|n| i32::try_from(n).is_ok());
                    (!in_range).then(|| {
                        format!("Int cannot represent non 32-bit signed integer value: {text}")
                    })
                }
                ("Int", _) => Some(format!("Int cannot represent non-integer value: {printed}")),
                ("Float", ValueKind::Int(_) | ValueKind::Float(_)) => None,
                ("Float", _) => Some(format!(
                    "Float cannot represent non numeric value: {printed}"
                )),
                ("String", ValueKind::String { .. }) => None,
                ("String", _) => Some(format!(
                    "String cannot represent a non string value: {printed}"
                )),
                ("Boolean", ValueKind::Boolean(_)) => None,
                ("Boolean", _) => Some(format!(
                    "Boolean cannot represent a non boolean value: {printed}"
                )),
                ("ID", ValueKind::String { .. } | ValueKind::Int(_)) => None,
                ("ID", _) => Some(format!(
                    "ID cannot represent a non-string and non-integer value: {printed}"
                )),
                // Custom scalars accept any literal, as graphql-js's buildSchema makes them.
                _ => None,
            }
        };
        if let Some(message) = message {
            self.report(rule, message, vec![node.pos]);
        }
    }

    fn fragment_spread(&mut self, spread: &'a FragmentSpread) {
        // KnownFragmentNamesRule
        let fragment = self.fragments.get(spread.name.value.as_str()).copied();
        if fragment.is_none() {
            self.report(
                rules::KNOWN_FRAGMENT_NAMES,
                format!("Unknown fragment \"{}\".", spread.name.value),
                vec![spread.name.pos],
            );
        }
        // PossibleFragmentSpreadsRule
        if let Some(fragment) = fragment
            && let Some(frag_type) = self
                .schema
                .get(&fragment.type_condition.value)
                .filter(|t| t.is_composite())
            && let Some(parent) = self.parent_types.last().copied().flatten()
            && !self.schema.types_overlap(frag_type, parent)
        {
            self.report(
                rules::POSSIBLE_FRAGMENT_SPREADS,
                format!(
                    "Fragment \"{}\" cannot be spread here as objects of type \"{}\" can never be of type \"{}\".",
                    spread.name.value, parent.name, frag_type.name
                ),
                vec![spread.pos],
            );
        }
        self.unique_directives(&spread.directives);
        self.directives(&spread.directives, "FRAGMENT_SPREAD");
    }

    fn inline_fragment(&mut self, inline: &'a InlineFragment) {
        let ty = match &inline.type_condition {
            Some(name) => self.schema.get(&name.value),
            None => self
                .types
                .last()
                .cloned()
                .flatten()
                .and_then(|t| self.named(&t)),
        };
        // FragmentsOnCompositeTypesRule
        if let (Some(cond), Some(t)) = (&inline.type_condition, ty)
            && !t.is_composite()
        {
            self.report(
                rules::FRAGMENTS_ON_COMPOSITE_TYPES,
                format!(
                    "Fragment cannot condition on non composite type \"{}\".",
                    cond.value
                ),
                vec![cond.pos],
            );
        }
        // PossibleFragmentSpreadsRule
        if let Some(frag_type) = ty.filter(|t| t.is_composite())
            && let Some(parent) = self.parent_types.last().copied().flatten()
            && !self.schema.types_overlap(frag_type, parent)
        {
            self.report(
                rules::POSSIBLE_FRAGMENT_SPREADS,
                format!(
                    "Fragment cannot be spread here as objects of type \"{}\" can never be of type \"{}\".",
                    parent.name, frag_type.name
                ),
                vec![inline.pos],
            );
        }
        self.unique_directives(&inline.directives);
        if let Some(cond) = &inline.type_condition {
            self.named_type(cond);
        }
        self.directives(&inline.directives, "INLINE_FRAGMENT");
        self.types.push(
            ty.filter(|t| t.kind != Kind::InputObject)
                .map(|t| TypeRef::Named(t.name.clone())),
        );
        self.selection_set_of(&inline.selection_set, true);
        self.types.pop();
    }

    fn fragment_definition(&mut self, f: &'a FragmentDefinition) {
        let ty = self.schema.get(&f.type_condition.value);
        // FragmentsOnCompositeTypesRule
        if let Some(t) = ty
            && !t.is_composite()
        {
            self.report(
                rules::FRAGMENTS_ON_COMPOSITE_TYPES,
                format!(
                    "Fragment \"{}\" cannot condition on non composite type \"{}\".",
                    f.name.value, f.type_condition.value
                ),
                vec![f.type_condition.pos],
            );
        }
        // UniqueFragmentNamesRule
        match self.fragment_names.get(f.name.value.as_str()) {
            Some(first) => {
                let first = *first;
                self.report(
                    rules::UNIQUE_FRAGMENT_NAMES,
                    format!("There can be only one fragment named \"{}\".", f.name.value),
                    vec![first, f.name.pos],
                );
            }
            None => {
                self.fragment_names.insert(&f.name.value, f.name.pos);
            }
        }
        // NoFragmentCyclesRule
        let mut path = Vec::new();
        let mut index = HashMap::new();
        self.detect_cycles(f, &mut path, &mut index);
        self.unique_directives(&f.directives);
        self.named_type(&f.type_condition);
        self.directives(&f.directives, "FRAGMENT_DEFINITION");
        self.types.push(
            ty.filter(|t| t.kind != Kind::InputObject)
                .map(|t| TypeRef::Named(t.name.clone())),
        );
        self.selection_set(&f.selection_set);
        self.types.pop();
    }

    fn directives(&mut self, directives: &'a [Directive], location: &str) {
        for d in directives {
            self.directive(d, location);
        }
    }

    fn directive(&mut self, d: &'a Directive, location: &str) {
        let def = self.schema.directive(&d.name.value);
        // KnownDirectivesRule
        match def {
            None => self.report(
                rules::KNOWN_DIRECTIVES,
                format!("Unknown directive \"@{}\".", d.name.value),
                vec![d.pos],
            ),
            Some(def) if !def.locations.iter().any(|l| l == location) => self.report(
                rules::KNOWN_DIRECTIVES,
                format!(
                    "Directive \"@{}\" may not be used on {location}.",
                    d.name.value
                ),
                vec![d.pos],
            ),
            Some(_) => {}
        }
        // KnownArgumentNamesRule (on directives)
        if let Some(def) = def {
            for arg in &d.arguments {
                if !def.args.iter().any(|a| a.name == arg.name.value) {
                    let suggestions =
                        self.suggest(&arg.name.value, def.args.iter().map(|a| a.name.as_str()));
                    self.report(
                        rules::KNOWN_ARGUMENT_NAMES,
                        format!(
                            "Unknown argument \"{}\" on directive \"@{}\".{}",
                            arg.name.value,
                            d.name.value,
                            did_you_mean(None, &suggestions)
                        ),
                        vec![arg.pos],
                    );
                }
            }
        }
        self.unique_arguments(&d.arguments);
        for arg in &d.arguments {
            let arg_def = def.and_then(|def| def.args.iter().find(|a| a.name == arg.name.value));
            self.argument_value(arg, arg_def);
        }
        // leave: ProvidedRequiredArgumentsRule (on directives)
        if let Some(def) = def {
            for arg in &def.args {
                if arg.is_required() && !d.arguments.iter().any(|a| a.name.value == arg.name) {
                    self.report(
                        rules::PROVIDED_REQUIRED_ARGUMENTS,
                        format!(
                            "Directive \"@{}\" argument \"{}\" of type \"{}\" is required, but it was not provided.",
                            d.name.value, arg.name, arg.ty
                        ),
                        vec![d.pos],
                    );
                }
            }
        }
    }

    fn unique_directives(&mut self, directives: &[Directive]) {
        let mut seen: HashMap<&str, Pos> = HashMap::new();
        for d in directives {
            let unique = self
                .schema
                .directive(&d.name.value)
                .is_some_and(|def| !def.repeatable);
            if !unique {
                continue;
            }
            match seen.get(d.name.value.as_str()) {
                Some(first) => {
                    let first = *first;
                    self.report(
                        rules::UNIQUE_DIRECTIVES_PER_LOCATION,
                        format!(
                            "The directive \"@{}\" can only be used once at this location.",
                            d.name.value
                        ),
                        vec![first, d.pos],
                    );
                }
                None => {
                    seen.insert(&d.name.value, d.pos);
                }
            }
        }
    }

    fn unique_arguments(&mut self, arguments: &[Argument]) {
        let mut seen: Vec<(&str, Vec<Pos>)> = Vec::new();
        for a in arguments {
            match seen.iter_mut().find(|(n, _)| *n == a.name.value) {
                Some((_, positions)) => positions.push(a.name.pos),
                None => seen.push((&a.name.value, vec![a.name.pos])),
            }
        }
        for (name, positions) in seen {
            if positions.len() > 1 {
                self.report(
                    rules::UNIQUE_ARGUMENT_NAMES,
                    format!("There can be only one argument named \"{name}\"."),
                    positions,
                );
            }
        }
    }

    // ---- helpers shared by rules ----

    /// graphql-js's `collectFields` for a subscription's root, honouring
    /// literal `@skip`/`@include`; a variable condition counts as included.
    fn collect_root_fields(
        &self,
        root: &NamedType,
        set: &'a SelectionSet,
        groups: &mut Vec<(&'a str, Vec<&'a Field>)>,
        visited: &mut HashSet<&'a str>,
    ) {
        let included = |directives: &[Directive]| {
            let literal = |name: &str| {
                directives
                    .iter()
                    .filter(|d| d.name.value == name)
                    .flat_map(|d| d.arguments.iter().filter(|a| a.name.value == "if"))
                    .find_map(|a| match a.value.kind {
                        ValueKind::Boolean(b) => Some(b),
                        _ => None,
                    })
            };
            literal("skip") != Some(true) && literal("include") != Some(false)
        };
        let matches = |condition: Option<&Name>| match condition {
            None => true,
            Some(c) if c.value == root.name => true,
            Some(c) => self
                .schema
                .get(&c.value)
                .is_some_and(|t| t.is_abstract() && self.schema.is_sub_type(t, root)),
        };
        for item in &set.items {
            match item {
                Selection::Field(f) => {
                    if !included(&f.directives) {
                        continue;
                    }
                    let key = f.response_key();
                    match groups.iter_mut().find(|(k, _)| *k == key) {
                        Some((_, list)) => list.push(f),
                        None => groups.push((key, vec![f])),
                    }
                }
                Selection::InlineFragment(i) => {
                    if included(&i.directives) && matches(i.type_condition.as_ref()) {
                        self.collect_root_fields(root, &i.selection_set, groups, visited);
                    }
                }
                Selection::FragmentSpread(s) => {
                    let name = s.name.value.as_str();
                    if visited.contains(name) || !included(&s.directives) {
                        continue;
                    }
                    let Some(fragment) = self.fragments.get(name).copied() else {
                        continue;
                    };
                    if !matches(Some(&fragment.type_condition)) {
                        continue;
                    }
                    visited.insert(name);
                    self.collect_root_fields(root, &fragment.selection_set, groups, visited);
                }
            }
        }
    }

    /// graphql-js's `getFragmentSpreads`: a stack-ordered walk.
    fn fragment_spreads(set: &'a SelectionSet) -> Vec<&'a FragmentSpread> {
        let mut spreads = Vec::new();
        let mut stack = vec![set];
        while let Some(set) = stack.pop() {
            for item in &set.items {
                match item {
                    Selection::FragmentSpread(s) => spreads.push(s),
                    Selection::Field(f) => {
                        if let Some(s) = &f.selection_set {
                            stack.push(s);
                        }
                    }
                    Selection::InlineFragment(i) => stack.push(&i.selection_set),
                }
            }
        }
        spreads
    }

    fn recursive_fragments(&self, set: &'a SelectionSet) -> Vec<&'a FragmentDefinition> {
        let mut names: Vec<&'a str> = Vec::new();
        for s in Self::fragment_spreads(set) {
            if !names.contains(&s.name.value.as_str()) {
                names.push(&s.name.value);
            }
        }
        let mut fragments = Vec::new();
        let mut i = 0;
        while i < names.len() {
            if let Some(f) = self.fragments.get(names[i]).copied() {
                fragments.push(f);
                for s in Self::fragment_spreads(&f.selection_set) {
                    if !names.contains(&s.name.value.as_str()) {
                        names.push(&s.name.value);
                    }
                }
            }
            i += 1;
        }
        fragments
    }

    fn used_fragments_of_operations(&self) -> HashSet<&'a str> {
        let mut used = HashSet::new();
        for d in &self.doc.definitions {
            if let Definition::Operation(op) = d {
                for f in self.recursive_fragments(&op.selection_set) {
                    used.insert(f.name.value.as_str());
                }
            }
        }
        used
    }

    /// graphql-js's `getRecursiveVariableUsages`: the operation's usages,
    /// then those of every fragment it reaches, each with the input type
    /// and default of the position the variable is used in.
    fn recursive_variable_usages(&self, op: &'a OperationDefinition) -> Vec<Usage> {
        let mut usages = Vec::new();
        let root = self.schema.root(op.kind);
        self.usages_in_directives(&op.directives, &mut usages);
        self.usages_in_set(&op.selection_set, root, &mut usages);
        for f in self.recursive_fragments(&op.selection_set) {
            self.usages_in_directives(&f.directives, &mut usages);
            self.usages_in_set(
                &f.selection_set,
                self.schema.get(&f.type_condition.value),
                &mut usages,
            );
        }
        usages
    }

    fn usages_in_set(
        &self,
        set: &SelectionSet,
        parent: Option<&'a NamedType>,
        out: &mut Vec<Usage>,
    ) {
        let parent = parent.filter(|p| p.is_composite());
        for item in &set.items {
            match item {
                Selection::Field(f) => {
                    let def = parent
                        .and_then(|p| self.schema.field(p, &f.name.value))
                        .map(meta_field);
                    for arg in &f.arguments {
                        let arg_def = def
                            .as_ref()
                            .and_then(|d| d.args.iter().find(|a| a.name == arg.name.value));
                        self.usages_in_value(
                            &arg.value,
                            arg_def.map(|a| a.ty.clone()),
                            arg_def.is_some_and(|a| a.default.is_some()),
                            out,
                        );
                    }
                    self.usages_in_directives(&f.directives, out);
                    if let Some(sub) = &f.selection_set {
                        let ty = def.as_ref().and_then(|d| self.schema.get(d.ty.named()));
                        self.usages_in_set(sub, ty, out);
                    }
                }
                Selection::FragmentSpread(s) => self.usages_in_directives(&s.directives, out),
                Selection::InlineFragment(i) => {
                    self.usages_in_directives(&i.directives, out);
                    let ty = match &i.type_condition {
                        Some(c) => self.schema.get(&c.value),
                        None => parent,
                    };
                    self.usages_in_set(&i.selection_set, ty, out);
                }
            }
        }
    }

    fn usages_in_directives(&self, directives: &[Directive], out: &mut Vec<Usage>) {
        for d in directives {
            let def = self.schema.directive(&d.name.value);
            for arg in &d.arguments {
                let arg_def =
                    def.and_then(|def| def.args.iter().find(|a| a.name == arg.name.value));
                self.usages_in_value(
                    &arg.value,
                    arg_def.map(|a| a.ty.clone()),
                    arg_def.is_some_and(|a| a.default.is_some()),
                    out,
                );
            }
        }
    }

    fn usages_in_value(
        &self,
        value: &Value,
        ty: Option<TypeRef>,
        has_default: bool,
        out: &mut Vec<Usage>,
    ) {
        let ty = ty.filter(|t| self.named(t).is_some_and(NamedType::is_input));
        match &value.kind {
            ValueKind::Variable(name) => out.push(Usage {
                name: name.clone(),
                pos: value.pos,
                ty,
                has_location_default: has_default,
            }),
            ValueKind::List(items) => {
                let item = ty.as_ref().map(|t| match t.nullable() {
                    TypeRef::List(inner) => (**inner).clone(),
                    other => other.clone(),
                });
                for v in items {
                    self.usages_in_value(v, item.clone(), false, out);
                }
            }
            ValueKind::Object(fields) => {
                let object = ty
                    .as_ref()
                    .and_then(|t| self.named(t))
                    .filter(|t| t.kind == Kind::InputObject);
                for f in fields {
                    let field =
                        object.and_then(|o| o.input_fields.iter().find(|x| x.name == f.name.value));
                    self.usages_in_value(
                        &f.value,
                        field.map(|x| x.ty.clone()),
                        field.is_some_and(|x| x.default.is_some()),
                        out,
                    );
                }
            }
            _ => {}
        }
    }

    /// graphql-js's `isTypeSubTypeOf`.
    fn is_type_sub_type_of(&self, maybe_sub: &TypeRef, sup: &TypeRef) -> bool {
        if maybe_sub == sup {
            return true;
        }
        match (maybe_sub, sup) {
            (TypeRef::NonNull(a), TypeRef::NonNull(b)) => self.is_type_sub_type_of(a, b),
            (_, TypeRef::NonNull(_)) => false,
            (TypeRef::NonNull(a), b) => self.is_type_sub_type_of(a, b),
            (TypeRef::List(a), TypeRef::List(b)) => self.is_type_sub_type_of(a, b),
            (_, TypeRef::List(_)) | (TypeRef::List(_), _) => false,
            (TypeRef::Named(a), TypeRef::Named(b)) => {
                match (self.schema.get(a), self.schema.get(b)) {
                    (Some(a), Some(b)) => {
                        b.is_abstract()
                            && matches!(a.kind, Kind::Interface | Kind::Object)
                            && self.schema.is_sub_type(b, a)
                    }
                    _ => false,
                }
            }
        }
    }

    fn detect_cycles(
        &mut self,
        fragment: &'a FragmentDefinition,
        path: &mut Vec<&'a FragmentSpread>,
        index: &mut HashMap<&'a str, usize>,
    ) {
        let name = fragment.name.value.as_str();
        if !self.visited_fragments.insert(name) {
            return;
        }
        let spreads = Self::fragment_spreads(&fragment.selection_set);
        if spreads.is_empty() {
            return;
        }
        index.insert(name, path.len());
        for spread in spreads {
            let spread_name = spread.name.value.as_str();
            let cycle = index.get(spread_name).copied();
            path.push(spread);
            match cycle {
                None => {
                    if let Some(next) = self.fragments.get(spread_name).copied() {
                        self.detect_cycles(next, path, index);
                    }
                }
                Some(start) => {
                    let cycle_path = &path[start..];
                    let via: Vec<String> = cycle_path[..cycle_path.len() - 1]
                        .iter()
                        .map(|s| format!("\"{}\"", s.name.value))
                        .collect();
                    let message = if via.is_empty() {
                        format!("Cannot spread fragment \"{spread_name}\" within itself.")
                    } else {
                        format!(
                            "Cannot spread fragment \"{spread_name}\" within itself via {}.",
                            via.join(", ")
                        )
                    };
                    let locations = cycle_path.iter().map(|s| s.pos).collect();
                    self.report(rules::NO_FRAGMENT_CYCLES, message, locations);
                }
            }
            path.pop();
        }
        index.remove(name);
    }

    /// graphql-js's `getSuggestedTypeNames` for FieldsOnCorrectTypeRule.
    fn suggested_type_names(&self, parent: &NamedType, field: &str) -> Vec<String> {
        if !parent.is_abstract() {
            return Vec::new();
        }
        let mut suggested: Vec<&NamedType> = Vec::new();
        let mut usage: HashMap<&str, usize> = HashMap::new();
        for possible in self.schema.possible_types(parent) {
            if possible.field(field).is_none() {
                continue;
            }
            if !suggested.iter().any(|t| t.name == possible.name) {
                suggested.push(possible);
            }
            usage.insert(&possible.name, 1);
            for interface in &possible.interfaces {
                let Some(i) = self.schema.get(interface) else {
                    continue;
                };
                if i.field(field).is_none() {
                    continue;
                }
                if !suggested.iter().any(|t| t.name == i.name) {
                    suggested.push(i);
                }
                *usage.entry(&i.name).or_insert(0) += 1;
            }
        }
        suggested.sort_by(|a, b| {
            let diff = usage[b.name.as_str()].cmp(&usage[a.name.as_str()]);
            if diff != std::cmp::Ordering::Equal {
                return diff;
            }
            if a.kind == Kind::Interface && self.schema.is_sub_type(a, b) {
                return std::cmp::Ordering::Less;
            }
            if b.kind == Kind::Interface && self.schema.is_sub_type(b, a) {
                return std::cmp::Ordering::Greater;
            }
            natural_compare(&a.name, &b.name)
        });
        suggested.into_iter().map(|t| t.name.clone()).collect()
    }

    /// graphql-js's MaxIntrospectionDepthRule: three nested introspection lists.
    fn introspection_too_deep(&self, field: &'a Field) -> bool {
        fn check<'b>(
            cx: &Cx<'b>,
            selection: SelectionRef<'b>,
            visited: &mut HashMap<&'b str, usize>,
            depth: usize,
        ) -> bool {
            match selection {
                SelectionRef::Spread(s) => {
                    let name = s.name.value.as_str();
                    if visited.get(name).is_some_and(|d| *d >= depth) {
                        return false;
                    }
                    let Some(fragment) = cx.fragments.get(name).copied() else {
                        return false;
                    };
                    visited.insert(name, depth);
                    fragment
                        .selection_set
                        .items
                        .iter()
                        .any(|i| check(cx, SelectionRef::from(i), visited, depth))
                }
                SelectionRef::Field(f) => {
                    let mut depth = depth;
                    if matches!(
                        f.name.value.as_str(),
                        "fields" | "interfaces" | "possibleTypes" | "inputFields"
                    ) {
                        depth += 1;
                        if depth >= 3 {
                            return true;
                        }
                    }
                    f.selection_set.as_ref().is_some_and(|s| {
                        s.items
                            .iter()
                            .any(|i| check(cx, SelectionRef::from(i), visited, depth))
                    })
                }
                SelectionRef::Inline(i) => i
                    .selection_set
                    .items
                    .iter()
                    .any(|x| check(cx, SelectionRef::from(x), visited, depth)),
            }
        }
        check(self, SelectionRef::Field(field), &mut HashMap::new(), 0)
    }
}

#[derive(Clone, Copy)]
enum SelectionRef<'a> {
    Field(&'a Field),
    Spread(&'a FragmentSpread),
    Inline(&'a InlineFragment),
}

impl<'a> From<&'a Selection> for SelectionRef<'a> {
    fn from(s: &'a Selection) -> SelectionRef<'a> {
        match s {
            Selection::Field(f) => SelectionRef::Field(f),
            Selection::FragmentSpread(f) => SelectionRef::Spread(f),
            Selection::InlineFragment(f) => SelectionRef::Inline(f),
        }
    }
}

/// A variable used in a value, and what the position expects.
struct Usage {
    name: String,
    pos: Pos,
    ty: Option<TypeRef>,
    has_location_default: bool,
}
