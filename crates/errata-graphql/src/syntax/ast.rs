//! The document tree: executable definitions, and type-system definitions
//! (which the schema model is built from, and which an executable document
//! may contain only to be refused by validation).

use super::Pos;

/// A name and where it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name {
    /// The name.
    pub value: String,
    /// Its position.
    pub pos: Pos,
}

/// A whole document.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// Its definitions, in order.
    pub definitions: Vec<Definition>,
}

impl Document {
    /// The fragments by name; the first one wins when a name repeats.
    pub fn fragments(&self) -> std::collections::HashMap<&str, &FragmentDefinition> {
        let mut map = std::collections::HashMap::new();
        for d in &self.definitions {
            if let Definition::Fragment(f) = d {
                map.entry(f.name.value.as_str()).or_insert(f);
            }
        }
        map
    }
}

/// One definition.
#[derive(Debug, Clone, PartialEq)]
pub enum Definition {
    /// `query`, `mutation`, `subscription`, or `{ ... }`.
    Operation(OperationDefinition),
    /// `fragment F on T { ... }`.
    Fragment(FragmentDefinition),
    /// A type-system definition or extension.
    TypeSystem(TypeSystemDefinition),
}

/// The kind of an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OperationKind {
    /// `query`
    Query,
    /// `mutation`
    Mutation,
    /// `subscription`
    Subscription,
}

impl OperationKind {
    /// The keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            OperationKind::Query => "query",
            OperationKind::Mutation => "mutation",
            OperationKind::Subscription => "subscription",
        }
    }
}

/// An operation.
#[derive(Debug, Clone, PartialEq)]
pub struct OperationDefinition {
    /// Where it starts.
    pub pos: Pos,
    /// Its kind.
    pub kind: OperationKind,
    /// Its name, if any.
    pub name: Option<Name>,
    /// Variable definitions.
    pub variables: Vec<VariableDefinition>,
    /// Directives.
    pub directives: Vec<Directive>,
    /// The selections.
    pub selection_set: SelectionSet,
}

/// `$name: Type = default @directives`.
#[derive(Debug, Clone, PartialEq)]
pub struct VariableDefinition {
    /// Where it starts.
    pub pos: Pos,
    /// The variable's name, without `$`.
    pub name: Name,
    /// Its type.
    pub ty: Type,
    /// Its default value.
    pub default: Option<Value>,
    /// Directives.
    pub directives: Vec<Directive>,
}

/// `{ ... }`.
#[derive(Debug, Clone, PartialEq)]
pub struct SelectionSet {
    /// Where the `{` is.
    pub pos: Pos,
    /// The selections.
    pub items: Vec<Selection>,
}

/// One selection.
#[derive(Debug, Clone, PartialEq)]
pub enum Selection {
    /// A field.
    Field(Field),
    /// `...Name`.
    FragmentSpread(FragmentSpread),
    /// `... on T { }` or `... { }`.
    InlineFragment(InlineFragment),
}

/// A field.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// Where it starts (the alias, if any).
    pub pos: Pos,
    /// `alias:`.
    pub alias: Option<Name>,
    /// The field's name.
    pub name: Name,
    /// Arguments.
    pub arguments: Vec<Argument>,
    /// Directives.
    pub directives: Vec<Directive>,
    /// Sub-selections.
    pub selection_set: Option<SelectionSet>,
}

impl Field {
    /// The key in the response: the alias, or the name.
    pub fn response_key(&self) -> &str {
        self.alias.as_ref().map_or(&self.name.value, |a| &a.value)
    }
}

/// `name: value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Argument {
    /// Where it starts.
    pub pos: Pos,
    /// The name.
    pub name: Name,
    /// The value.
    pub value: Value,
}

/// `...Name @directives`.
#[derive(Debug, Clone, PartialEq)]
pub struct FragmentSpread {
    /// Where the `...` is.
    pub pos: Pos,
    /// The fragment's name.
    pub name: Name,
    /// Directives.
    pub directives: Vec<Directive>,
}

/// `... on Type @directives { }`.
#[derive(Debug, Clone, PartialEq)]
pub struct InlineFragment {
    /// Where the `...` is.
    pub pos: Pos,
    /// The type condition.
    pub type_condition: Option<Name>,
    /// Directives.
    pub directives: Vec<Directive>,
    /// The selections.
    pub selection_set: SelectionSet,
}

/// `fragment Name on Type @directives { }`.
#[derive(Debug, Clone, PartialEq)]
pub struct FragmentDefinition {
    /// Where it starts.
    pub pos: Pos,
    /// The name.
    pub name: Name,
    /// The type condition.
    pub type_condition: Name,
    /// Directives.
    pub directives: Vec<Directive>,
    /// The selections.
    pub selection_set: SelectionSet,
}

/// `@name(args)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Directive {
    /// Where the `@` is.
    pub pos: Pos,
    /// The name.
    pub name: Name,
    /// Arguments.
    pub arguments: Vec<Argument>,
}

/// A type reference.
#[derive(Debug, Clone, PartialEq)]
pub enum Type {
    /// `Name`
    Named(Name),
    /// `[Type]`
    List(Box<Type>, Pos),
    /// `Type!`
    NonNull(Box<Type>, Pos),
}

impl Type {
    /// Where the reference starts.
    pub fn pos(&self) -> Pos {
        match self {
            Type::Named(n) => n.pos,
            Type::List(_, p) | Type::NonNull(_, p) => *p,
        }
    }

    /// The named type at the bottom.
    pub fn named(&self) -> &Name {
        match self {
            Type::Named(n) => n,
            Type::List(t, _) | Type::NonNull(t, _) => t.named(),
        }
    }
}

impl std::fmt::Display for Type {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Type::Named(n) => f.write_str(&n.value),
            Type::List(t, _) => write!(f, "[{t}]"),
            Type::NonNull(t, _) => write!(f, "{t}!"),
        }
    }
}

/// A value literal.
#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    /// Where it starts.
    pub pos: Pos,
    /// What it is.
    pub kind: ValueKind,
}

/// The kinds of value literal.
#[derive(Debug, Clone, PartialEq)]
pub enum ValueKind {
    /// `$name`
    Variable(String),
    /// An integer, as written.
    Int(String),
    /// A float, as written.
    Float(String),
    /// A string, decoded; `block` for `"""` strings.
    String {
        /// The decoded text.
        value: String,
        /// Written as a block string.
        block: bool,
    },
    /// `true` or `false`.
    Boolean(bool),
    /// `null`
    Null,
    /// An enum value.
    Enum(String),
    /// `[...]`
    List(Vec<Value>),
    /// `{...}`
    Object(Vec<ObjectField>),
}

/// `name: value` inside an object literal.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectField {
    /// Where it starts.
    pub pos: Pos,
    /// The name.
    pub name: Name,
    /// The value.
    pub value: Value,
}

/// A type-system definition or extension.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeSystemDefinition {
    /// Where it starts.
    pub pos: Pos,
    /// `extend ...`.
    pub extension: bool,
    /// The defined name; `None` for `schema`.
    pub name: Option<Name>,
    /// Directives on the definition.
    pub directives: Vec<Directive>,
    /// What it defines.
    pub def: TypeDef,
}

/// What a type-system definition defines.
#[derive(Debug, Clone, PartialEq)]
pub enum TypeDef {
    /// `schema { query: Q }`
    Schema(Vec<(OperationKind, Name)>),
    /// `scalar S`
    Scalar,
    /// `type T implements I { fields }`
    Object {
        /// Implemented interfaces.
        interfaces: Vec<Name>,
        /// Fields.
        fields: Vec<FieldDefinition>,
    },
    /// `interface I implements J { fields }`
    Interface {
        /// Implemented interfaces.
        interfaces: Vec<Name>,
        /// Fields.
        fields: Vec<FieldDefinition>,
    },
    /// `union U = A | B`
    Union(Vec<Name>),
    /// `enum E { A B }`
    Enum(Vec<Name>),
    /// `input I { fields }`
    InputObject(Vec<InputValueDefinition>),
    /// `directive @d(args) repeatable on LOCATIONS`
    Directive {
        /// Arguments.
        arguments: Vec<InputValueDefinition>,
        /// `repeatable`.
        repeatable: bool,
        /// Locations.
        locations: Vec<Name>,
    },
}

/// A field of an object or interface type.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldDefinition {
    /// The name.
    pub name: Name,
    /// Arguments.
    pub arguments: Vec<InputValueDefinition>,
    /// The type.
    pub ty: Type,
    /// Directives (`@deprecated`).
    pub directives: Vec<Directive>,
}

/// An argument or input field definition.
#[derive(Debug, Clone, PartialEq)]
pub struct InputValueDefinition {
    /// The name.
    pub name: Name,
    /// The type.
    pub ty: Type,
    /// The default value.
    pub default: Option<Value>,
    /// Directives.
    pub directives: Vec<Directive>,
}
