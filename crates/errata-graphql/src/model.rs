//! The schema as validation sees it: types, fields, arguments, directives.
//!
//! Built from SDL (async-graphql's `Schema::sdl()`), completed with what
//! SDL leaves out: the built-in scalars, directives and introspection types.

use std::collections::HashMap;

use crate::syntax::ast::{Definition, OperationKind, Type, TypeDef, Value};
use crate::syntax::{SyntaxError, parse};

/// The kind of a named type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A scalar.
    Scalar,
    /// An object type.
    Object,
    /// An interface.
    Interface,
    /// A union.
    Union,
    /// An enum.
    Enum,
    /// An input object.
    InputObject,
}

/// A type reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeRef {
    /// A named type.
    Named(String),
    /// A list.
    List(Box<TypeRef>),
    /// A non-null type.
    NonNull(Box<TypeRef>),
}

impl TypeRef {
    /// From a parsed reference.
    pub fn from_ast(ty: &Type) -> TypeRef {
        match ty {
            Type::Named(n) => TypeRef::Named(n.value.clone()),
            Type::List(t, _) => TypeRef::List(Box::new(TypeRef::from_ast(t))),
            Type::NonNull(t, _) => TypeRef::NonNull(Box::new(TypeRef::from_ast(t))),
        }
    }

    /// The named type at the bottom.
    pub fn named(&self) -> &str {
        match self {
            TypeRef::Named(n) => n,
            TypeRef::List(t) | TypeRef::NonNull(t) => t.named(),
        }
    }

    /// True for `T!`.
    pub fn is_non_null(&self) -> bool {
        matches!(self, TypeRef::NonNull(_))
    }

    /// `T` for `T!`, itself otherwise.
    pub fn nullable(&self) -> &TypeRef {
        match self {
            TypeRef::NonNull(t) => t,
            t => t,
        }
    }
}

impl std::fmt::Display for TypeRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TypeRef::Named(n) => f.write_str(n),
            TypeRef::List(t) => write!(f, "[{t}]"),
            TypeRef::NonNull(t) => write!(f, "{t}!"),
        }
    }
}

/// An argument or an input field.
#[derive(Debug, Clone, PartialEq)]
pub struct InputValue {
    /// The name.
    pub name: String,
    /// The type.
    pub ty: TypeRef,
    /// The default value.
    pub default: Option<Value>,
}

impl InputValue {
    /// Non-null with no default: it must be given.
    pub fn is_required(&self) -> bool {
        self.ty.is_non_null() && self.default.is_none()
    }
}

/// A field of an object or an interface.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldDef {
    /// The name.
    pub name: String,
    /// Arguments, in definition order.
    pub args: Vec<InputValue>,
    /// The type.
    pub ty: TypeRef,
    /// Its `@cacheControl` hint.
    pub cache: Option<CacheHint>,
    /// Whom its answer may be shared with, from the directives the
    /// schema's owner names ([`crate::PipelineOptions::permission_directives`]
    /// and [`crate::PipelineOptions::personal_directives`]).
    pub scope: Scope,
}

/// Whom an answer may be shared with, from the widest sharing to none; an
/// operation's scope is the narrowest of its fields'.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    /// Everyone: the answer depends on the data alone.
    #[default]
    Public,
    /// Callers who hold the same permissions: the answer depends on what
    /// the caller may do, not on who they are.
    Permissions,
    /// The caller alone: the answer is about them.
    Private,
}

/// A `@cacheControl(maxAge:, scope:)` hint, on a field or an object type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheHint {
    /// Seconds the answer stays true.
    pub max_age: u32,
    /// `scope: PRIVATE`: the answer is the caller's own.
    pub private: bool,
}

impl CacheHint {
    /// The hint among `directives`, if one is there.
    pub fn from_directives(directives: &[crate::syntax::ast::Directive]) -> Option<CacheHint> {
        use crate::syntax::ast::ValueKind;
        let directive = directives.iter().find(|d| d.name.value == "cacheControl")?;
        let mut hint = CacheHint {
            max_age: 0,
            private: false,
        };
        for argument in &directive.arguments {
            match (argument.name.value.as_str(), &argument.value.kind) {
                ("maxAge", ValueKind::Int(n)) => hint.max_age = n.parse().unwrap_or(0),
                ("scope", ValueKind::Enum(scope)) => hint.private = scope == "PRIVATE",
                _ => {}
            }
        }
        Some(hint)
    }
}

/// A named type.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedType {
    /// The name.
    pub name: String,
    /// The kind.
    pub kind: Kind,
    /// Fields of objects and interfaces, in definition order.
    pub fields: Vec<FieldDef>,
    /// Interfaces an object or interface implements.
    pub interfaces: Vec<String>,
    /// Members of a union.
    pub members: Vec<String>,
    /// Values of an enum.
    pub values: Vec<String>,
    /// Fields of an input object.
    pub input_fields: Vec<InputValue>,
    /// Its `@cacheControl` hint.
    pub cache: Option<CacheHint>,
}

impl NamedType {
    /// The field called `name`.
    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Objects, interfaces and unions.
    pub fn is_composite(&self) -> bool {
        matches!(self.kind, Kind::Object | Kind::Interface | Kind::Union)
    }

    /// Interfaces and unions.
    pub fn is_abstract(&self) -> bool {
        matches!(self.kind, Kind::Interface | Kind::Union)
    }

    /// Scalars and enums.
    pub fn is_leaf(&self) -> bool {
        matches!(self.kind, Kind::Scalar | Kind::Enum)
    }

    /// Scalars, enums and input objects.
    pub fn is_input(&self) -> bool {
        matches!(self.kind, Kind::Scalar | Kind::Enum | Kind::InputObject)
    }
}

/// A directive definition.
#[derive(Debug, Clone, PartialEq)]
pub struct DirectiveDef {
    /// The name, without `@`.
    pub name: String,
    /// Arguments.
    pub args: Vec<InputValue>,
    /// Where it may be used (`FIELD`, `QUERY`, ...).
    pub locations: Vec<String>,
    /// `repeatable`.
    pub repeatable: bool,
}

/// The schema.
#[derive(Debug, Clone)]
pub struct SchemaModel {
    types: HashMap<String, NamedType>,
    /// Type names, in the order graphql-js's type map has them.
    pub type_names: Vec<String>,
    /// The query root's name.
    pub query: String,
    /// The mutation root's name.
    pub mutation: Option<String>,
    /// The subscription root's name.
    pub subscription: Option<String>,
    /// Directives, built-ins first.
    pub directives: Vec<DirectiveDef>,
    implementations: HashMap<String, Vec<String>>,
}

const BUILT_INS: &str = r#"
scalar String
scalar Int
scalar Float
scalar Boolean
scalar ID
directive @include(if: Boolean!) on FIELD | FRAGMENT_SPREAD | INLINE_FRAGMENT
directive @skip(if: Boolean!) on FIELD | FRAGMENT_SPREAD | INLINE_FRAGMENT
directive @deprecated(reason: String = "No longer supported") on FIELD_DEFINITION | ARGUMENT_DEFINITION | INPUT_FIELD_DEFINITION | ENUM_VALUE
directive @specifiedBy(url: String!) on SCALAR
directive @oneOf on INPUT_OBJECT
type __Schema { description: String types: [__Type!]! queryType: __Type! mutationType: __Type subscriptionType: __Type directives: [__Directive!]! }
type __Type { kind: __TypeKind! name: String description: String specifiedByURL: String fields(includeDeprecated: Boolean = false): [__Field!] interfaces: [__Type!] possibleTypes: [__Type!] enumValues(includeDeprecated: Boolean = false): [__EnumValue!] inputFields(includeDeprecated: Boolean = false): [__InputValue!] ofType: __Type isOneOf: Boolean }
enum __TypeKind { SCALAR OBJECT INTERFACE UNION ENUM INPUT_OBJECT LIST NON_NULL }
type __Field { name: String! description: String args(includeDeprecated: Boolean = false): [__InputValue!]! type: __Type! isDeprecated: Boolean! deprecationReason: String }
type __InputValue { name: String! description: String type: __Type! defaultValue: String isDeprecated: Boolean! deprecationReason: String }
type __EnumValue { name: String! description: String isDeprecated: Boolean! deprecationReason: String }
type __Directive { name: String! description: String isRepeatable: Boolean! locations: [__DirectiveLocation!]! args(includeDeprecated: Boolean = false): [__InputValue!]! }
enum __DirectiveLocation { QUERY MUTATION SUBSCRIPTION FIELD FRAGMENT_DEFINITION FRAGMENT_SPREAD INLINE_FRAGMENT VARIABLE_DEFINITION SCHEMA SCALAR OBJECT FIELD_DEFINITION ARGUMENT_DEFINITION INTERFACE UNION ENUM ENUM_VALUE INPUT_OBJECT INPUT_FIELD_DEFINITION }
"#;

impl SchemaModel {
    /// Builds the model from SDL, with no directive marking a field as
    /// depending on the caller.
    pub fn from_sdl(sdl: &str) -> Result<SchemaModel, SyntaxError> {
        SchemaModel::from_sdl_with(sdl, &[], &[])
    }

    /// Builds the model from SDL; a field carrying one of `permission`
    /// (directives named without `@`) has [`Scope::Permissions`], one
    /// carrying one of `personal` [`Scope::Private`].
    pub fn from_sdl_with(
        sdl: &str,
        permission: &[&str],
        personal: &[&str],
    ) -> Result<SchemaModel, SyntaxError> {
        let user = parse(sdl)?;
        let built_ins = parse(BUILT_INS).expect("the built-in SDL is valid");
        let mut model = SchemaModel {
            types: HashMap::new(),
            type_names: Vec::new(),
            query: "Query".to_owned(),
            mutation: None,
            subscription: None,
            directives: Vec::new(),
            implementations: HashMap::new(),
        };
        let mut roots: Option<Vec<(OperationKind, String)>> = None;
        for definition in built_ins.definitions.iter().chain(&user.definitions) {
            let Definition::TypeSystem(def) = definition else {
                continue;
            };
            let name = def
                .name
                .as_ref()
                .map(|n| n.value.clone())
                .unwrap_or_default();
            let args = |list: &[crate::syntax::ast::InputValueDefinition]| -> Vec<InputValue> {
                list.iter()
                    .map(|a| InputValue {
                        name: a.name.value.clone(),
                        ty: TypeRef::from_ast(&a.ty),
                        default: a.default.clone(),
                    })
                    .collect()
            };
            let mut ty = NamedType {
                name: name.clone(),
                kind: Kind::Scalar,
                fields: Vec::new(),
                interfaces: Vec::new(),
                members: Vec::new(),
                values: Vec::new(),
                input_fields: Vec::new(),
                cache: CacheHint::from_directives(&def.directives),
            };
            match &def.def {
                TypeDef::Schema(ops) => {
                    roots
                        .get_or_insert_with(Vec::new)
                        .extend(ops.iter().map(|(k, n)| (*k, n.value.clone())));
                    continue;
                }
                TypeDef::Directive {
                    arguments,
                    repeatable,
                    locations,
                } => {
                    model.directives.retain(|d| d.name != name);
                    model.directives.push(DirectiveDef {
                        name,
                        args: args(arguments),
                        locations: locations.iter().map(|l| l.value.clone()).collect(),
                        repeatable: *repeatable,
                    });
                    continue;
                }
                TypeDef::Scalar => {}
                TypeDef::Object { interfaces, fields }
                | TypeDef::Interface { interfaces, fields } => {
                    ty.kind = if matches!(def.def, TypeDef::Object { .. }) {
                        Kind::Object
                    } else {
                        Kind::Interface
                    };
                    ty.interfaces = interfaces.iter().map(|i| i.value.clone()).collect();
                    ty.fields = fields
                        .iter()
                        .map(|f| FieldDef {
                            name: f.name.value.clone(),
                            args: args(&f.arguments),
                            ty: TypeRef::from_ast(&f.ty),
                            cache: CacheHint::from_directives(&f.directives),
                            scope: f.directives.iter().fold(Scope::Public, |scope, d| {
                                let name = d.name.value.as_str();
                                if personal.contains(&name) {
                                    Scope::Private
                                } else if permission.contains(&name) {
                                    scope.max(Scope::Permissions)
                                } else {
                                    scope
                                }
                            }),
                        })
                        .collect();
                }
                TypeDef::Union(members) => {
                    ty.kind = Kind::Union;
                    ty.members = members.iter().map(|m| m.value.clone()).collect();
                }
                TypeDef::Enum(values) => {
                    ty.kind = Kind::Enum;
                    ty.values = values.iter().map(|v| v.value.clone()).collect();
                }
                TypeDef::InputObject(fields) => {
                    ty.kind = Kind::InputObject;
                    ty.input_fields = args(fields);
                }
            }
            match model.types.get_mut(&name) {
                Some(existing) if def.extension => {
                    existing.fields.extend(ty.fields);
                    existing.interfaces.extend(ty.interfaces);
                    existing.members.extend(ty.members);
                    existing.values.extend(ty.values);
                    existing.input_fields.extend(ty.input_fields);
                }
                Some(existing) => *existing = ty,
                None => {
                    model.type_names.push(name.clone());
                    model.types.insert(name, ty);
                }
            }
        }
        if let Some(roots) = roots {
            for (kind, name) in roots {
                match kind {
                    OperationKind::Query => model.query = name,
                    OperationKind::Mutation => model.mutation = Some(name),
                    OperationKind::Subscription => model.subscription = Some(name),
                }
            }
        } else {
            model.mutation = model
                .types
                .contains_key("Mutation")
                .then(|| "Mutation".to_owned());
            model.subscription = model
                .types
                .contains_key("Subscription")
                .then(|| "Subscription".to_owned());
        }
        for name in &model.type_names {
            let ty = &model.types[name];
            if ty.kind == Kind::Object || ty.kind == Kind::Interface {
                for interface in &ty.interfaces {
                    model
                        .implementations
                        .entry(interface.clone())
                        .or_default()
                        .push(name.clone());
                }
            }
        }
        Ok(model)
    }

    /// The named type called `name`.
    pub fn get(&self, name: &str) -> Option<&NamedType> {
        self.types.get(name)
    }

    /// The root type of an operation kind.
    pub fn root(&self, kind: OperationKind) -> Option<&NamedType> {
        let name = match kind {
            OperationKind::Query => Some(self.query.as_str()),
            OperationKind::Mutation => self.mutation.as_deref(),
            OperationKind::Subscription => self.subscription.as_deref(),
        };
        name.and_then(|n| self.get(n))
    }

    /// The directive called `name`.
    pub fn directive(&self, name: &str) -> Option<&DirectiveDef> {
        self.directives.iter().find(|d| d.name == name)
    }

    /// The object types an abstract type can be, in definition order.
    pub fn possible_types<'a>(&'a self, ty: &'a NamedType) -> Vec<&'a NamedType> {
        match ty.kind {
            Kind::Union => ty.members.iter().filter_map(|m| self.get(m)).collect(),
            Kind::Interface => self
                .implementations
                .get(&ty.name)
                .map(|names| {
                    names
                        .iter()
                        .filter_map(|n| self.get(n))
                        .filter(|t| t.kind == Kind::Object)
                        .collect()
                })
                .unwrap_or_default(),
            Kind::Object => vec![ty],
            _ => Vec::new(),
        }
    }

    /// True when `maybe_sub` is a possible type (or implementation) of `abstract_ty`.
    pub fn is_sub_type(&self, abstract_ty: &NamedType, maybe_sub: &NamedType) -> bool {
        match abstract_ty.kind {
            Kind::Union => abstract_ty.members.contains(&maybe_sub.name),
            Kind::Interface => self
                .implementations
                .get(&abstract_ty.name)
                .is_some_and(|names| names.contains(&maybe_sub.name)),
            _ => false,
        }
    }

    /// True when two composite types can describe the same object.
    pub fn types_overlap(&self, a: &NamedType, b: &NamedType) -> bool {
        if a.name == b.name {
            return true;
        }
        if a.is_abstract() {
            if b.is_abstract() {
                return self
                    .possible_types(a)
                    .iter()
                    .any(|t| self.is_sub_type(b, t));
            }
            return self.is_sub_type(a, b);
        }
        if b.is_abstract() {
            return self.is_sub_type(b, a);
        }
        false
    }

    /// The field `name` of `parent`, meta-fields included.
    pub fn field<'a>(&'a self, parent: &'a NamedType, name: &str) -> Option<MetaOrField<'a>> {
        match name {
            "__typename" if parent.is_composite() => Some(MetaOrField::Typename),
            "__schema" if parent.name == self.query => Some(MetaOrField::Schema),
            "__type" if parent.name == self.query => Some(MetaOrField::Type),
            _ => parent.field(name).map(MetaOrField::Field),
        }
    }
}

/// A field definition, or one of the three meta-fields.
#[derive(Debug, Clone, Copy)]
pub enum MetaOrField<'a> {
    /// A field of the type.
    Field(&'a FieldDef),
    /// `__typename: String!`
    Typename,
    /// `__schema: __Schema!`
    Schema,
    /// `__type(name: String!): __Type`
    Type,
}

/// The meta-fields as definitions, for code that wants one shape.
pub fn meta_field(which: MetaOrField<'_>) -> FieldDef {
    let named = |n: &str| TypeRef::Named(n.to_owned());
    match which {
        MetaOrField::Field(f) => f.clone(),
        MetaOrField::Typename => FieldDef {
            name: "__typename".into(),
            args: Vec::new(),
            ty: TypeRef::NonNull(Box::new(named("String"))),
            cache: None,
            scope: Scope::Public,
        },
        MetaOrField::Schema => FieldDef {
            name: "__schema".into(),
            args: Vec::new(),
            ty: TypeRef::NonNull(Box::new(named("__Schema"))),
            cache: None,
            scope: Scope::Public,
        },
        MetaOrField::Type => FieldDef {
            name: "__type".into(),
            args: vec![InputValue {
                name: "name".into(),
                ty: TypeRef::NonNull(Box::new(named("String"))),
                default: None,
            }],
            ty: named("__Type"),
            cache: None,
            scope: Scope::Public,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SDL: &str = "interface Node { id: ID! } type User implements Node { id: ID! name: String } type Query { node: Node u: SearchResult } union SearchResult = User";

    #[test]
    fn the_model_knows_types_roots_and_possible_types() {
        let model = SchemaModel::from_sdl(SDL).unwrap();
        assert_eq!(model.query, "Query");
        let node = model.get("Node").unwrap();
        let names: Vec<&str> = model
            .possible_types(node)
            .iter()
            .map(|t| t.name.as_str())
            .collect();
        assert_eq!(names, ["User"]);
        assert!(model.get("String").is_some_and(NamedType::is_leaf));
        assert!(model.directive("skip").is_some());
        assert!(model.get("__Type").is_some());
        let user = model.get("User").unwrap();
        assert!(model.types_overlap(node, model.get("SearchResult").unwrap()));
        assert!(matches!(
            model.field(user, "__typename"),
            Some(MetaOrField::Typename)
        ));
        assert!(model.field(user, "__schema").is_none());
    }
}
