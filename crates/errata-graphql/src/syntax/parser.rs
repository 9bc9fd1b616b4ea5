//! The GraphQL parser: graphql-js 16's grammar and error messages.
//!
//! Nesting is bounded, so a hostile document (`[[[[...`) cannot exhaust the
//! stack; past the bound the parse fails with a catalogued syntax error.

use super::SyntaxError;
use super::ast::*;
use super::lexer::{Lexer, Token, TokenKind};

/// How deeply lists, objects, selection sets and types may nest.
const MAX_NESTING: usize = 128;

const DIRECTIVE_LOCATIONS: &[&str] = &[
    "QUERY",
    "MUTATION",
    "SUBSCRIPTION",
    "FIELD",
    "FRAGMENT_DEFINITION",
    "FRAGMENT_SPREAD",
    "INLINE_FRAGMENT",
    "VARIABLE_DEFINITION",
    "SCHEMA",
    "SCALAR",
    "OBJECT",
    "FIELD_DEFINITION",
    "ARGUMENT_DEFINITION",
    "INTERFACE",
    "UNION",
    "ENUM",
    "ENUM_VALUE",
    "INPUT_OBJECT",
    "INPUT_FIELD_DEFINITION",
];

/// Parses a whole document.
pub fn parse(source: &str) -> Result<Document> {
    let mut parser = Parser::new(source)?;
    let mut definitions = Vec::new();
    loop {
        definitions.push(parser.definition()?);
        if parser.token.kind == TokenKind::Eof {
            break;
        }
    }
    Ok(Document { definitions })
}

struct Parser<'a> {
    lexer: Lexer<'a>,
    token: Token<'a>,
    depth: usize,
}

type Result<T> = std::result::Result<T, SyntaxError>;

impl<'a> Parser<'a> {
    fn new(source: &'a str) -> Result<Parser<'a>> {
        let mut lexer = Lexer::new(source);
        let token = lexer.next_token()?;
        Ok(Parser {
            lexer,
            token,
            depth: 0,
        })
    }

    fn advance(&mut self) -> Result<Token<'a>> {
        let next = self.lexer.next_token()?;
        Ok(std::mem::replace(&mut self.token, next))
    }

    fn error_at(&self, token: &Token<'_>, message: String) -> SyntaxError {
        SyntaxError {
            message,
            pos: token.pos,
        }
    }

    fn unexpected(&self, token: Option<&Token<'_>>) -> SyntaxError {
        let token = token.unwrap_or(&self.token);
        self.error_at(token, format!("Unexpected {}.", token.desc()))
    }

    fn peek(&self, kind: TokenKind) -> bool {
        self.token.kind == kind
    }

    fn peek_keyword(&self, keyword: &str) -> bool {
        self.token.kind == TokenKind::Name && self.token.value.as_deref() == Some(keyword)
    }

    fn expect(&mut self, kind: TokenKind) -> Result<Token<'a>> {
        if self.token.kind == kind {
            return self.advance();
        }
        Err(self.error_at(
            &self.token,
            format!("Expected {}, found {}.", kind.desc(), self.token.desc()),
        ))
    }

    fn optional(&mut self, kind: TokenKind) -> Result<bool> {
        if self.token.kind == kind {
            self.advance()?;
            return Ok(true);
        }
        Ok(false)
    }

    fn expect_keyword(&mut self, keyword: &str) -> Result<()> {
        if self.peek_keyword(keyword) {
            self.advance()?;
            return Ok(());
        }
        Err(self.error_at(
            &self.token,
            format!("Expected \"{keyword}\", found {}.", self.token.desc()),
        ))
    }

    fn optional_keyword(&mut self, keyword: &str) -> Result<bool> {
        if self.peek_keyword(keyword) {
            self.advance()?;
            return Ok(true);
        }
        Ok(false)
    }

    fn nest(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(self.error_at(
                &self.token,
                format!("Document is nested more than {MAX_NESTING} levels deep. Parsing aborted."),
            ));
        }
        Ok(())
    }

    fn unnest(&mut self) {
        self.depth -= 1;
    }

    fn name(&mut self) -> Result<Name> {
        let token = self.expect(TokenKind::Name)?;
        Ok(Name {
            value: token.value.map(|v| v.into_owned()).unwrap_or_default(),
            pos: token.pos,
        })
    }

    /// `many`: open, one or more items, close.
    fn many<T>(
        &mut self,
        open: TokenKind,
        close: TokenKind,
        mut item: impl FnMut(&mut Self) -> Result<T>,
    ) -> Result<Vec<T>> {
        self.expect(open)?;
        let mut items = Vec::new();
        loop {
            items.push(item(self)?);
            if self.optional(close)? {
                return Ok(items);
            }
        }
    }

    /// `optionalMany`: nothing, or open, one or more items, close.
    fn optional_many<T>(
        &mut self,
        open: TokenKind,
        close: TokenKind,
        item: impl FnMut(&mut Self) -> Result<T>,
    ) -> Result<Vec<T>> {
        if self.peek(open) {
            return self.many(open, close, item);
        }
        Ok(Vec::new())
    }

    /// `any`: open, zero or more items, close.
    fn any<T>(
        &mut self,
        open: TokenKind,
        close: TokenKind,
        mut item: impl FnMut(&mut Self) -> Result<T>,
    ) -> Result<Vec<T>> {
        self.expect(open)?;
        let mut items = Vec::new();
        while !self.optional(close)? {
            items.push(item(self)?);
        }
        Ok(items)
    }

    fn delimited_many<T>(
        &mut self,
        delimiter: TokenKind,
        mut item: impl FnMut(&mut Self) -> Result<T>,
    ) -> Result<Vec<T>> {
        self.optional(delimiter)?;
        let mut items = Vec::new();
        loop {
            items.push(item(self)?);
            if !self.optional(delimiter)? {
                return Ok(items);
            }
        }
    }

    fn peek_description(&self) -> bool {
        matches!(self.token.kind, TokenKind::String | TokenKind::BlockString)
    }

    fn description(&mut self) -> Result<()> {
        if self.peek_description() {
            self.advance()?;
        }
        Ok(())
    }

    fn definition(&mut self) -> Result<Definition> {
        if self.peek(TokenKind::BraceL) {
            return Ok(Definition::Operation(self.operation()?));
        }
        let has_description = self.peek_description();
        let keyword = if has_description {
            self.lexer.clone().next_token()?
        } else {
            self.token.clone()
        };
        if has_description && keyword.kind == TokenKind::BraceL {
            return Err(self.error_at(
                &self.token,
                "Unexpected description, descriptions are not supported on shorthand queries."
                    .to_owned(),
            ));
        }
        if keyword.kind == TokenKind::Name {
            match keyword.value.as_deref().unwrap_or("") {
                "schema" | "scalar" | "type" | "interface" | "union" | "enum" | "input"
                | "directive" => {
                    return Ok(Definition::TypeSystem(self.type_system_definition(false)?));
                }
                "query" | "mutation" | "subscription" => {
                    return Ok(Definition::Operation(self.operation()?));
                }
                "fragment" => return Ok(Definition::Fragment(self.fragment_definition()?)),
                _ => {}
            }
            if has_description {
                return Err(self.error_at(
                    &self.token,
                    "Unexpected description, only GraphQL definitions support descriptions."
                        .to_owned(),
                ));
            }
            if keyword.value.as_deref() == Some("extend") {
                return Ok(Definition::TypeSystem(self.type_system_extension()?));
            }
        }
        Err(self.unexpected(Some(&keyword)))
    }

    fn operation(&mut self) -> Result<OperationDefinition> {
        let pos = self.token.pos;
        if self.peek(TokenKind::BraceL) {
            return Ok(OperationDefinition {
                pos,
                kind: OperationKind::Query,
                name: None,
                variables: Vec::new(),
                directives: Vec::new(),
                selection_set: self.selection_set()?,
            });
        }
        self.description()?;
        let kind = self.operation_kind()?;
        let name = if self.peek(TokenKind::Name) {
            Some(self.name()?)
        } else {
            None
        };
        Ok(OperationDefinition {
            pos,
            kind,
            name,
            variables: self.optional_many(
                TokenKind::ParenL,
                TokenKind::ParenR,
                Self::variable_definition,
            )?,
            directives: self.directives(false)?,
            selection_set: self.selection_set()?,
        })
    }

    fn operation_kind(&mut self) -> Result<OperationKind> {
        let token = self.expect(TokenKind::Name)?;
        match token.value.as_deref() {
            Some("query") => Ok(OperationKind::Query),
            Some("mutation") => Ok(OperationKind::Mutation),
            Some("subscription") => Ok(OperationKind::Subscription),
            _ => Err(self.unexpected(Some(&token))),
        }
    }

    fn variable_definition(&mut self) -> Result<VariableDefinition> {
        let pos = self.token.pos;
        self.description()?;
        let name = self.variable()?;
        let (ty, default) = self.typed_default()?;
        Ok(VariableDefinition {
            pos,
            name,
            ty,
            default,
            directives: self.directives(true)?,
        })
    }

    /// `$name`: the name, at its own position.
    fn variable(&mut self) -> Result<Name> {
        self.expect(TokenKind::Dollar)?;
        self.name()
    }

    fn selection_set(&mut self) -> Result<SelectionSet> {
        self.nest()?;
        let pos = self.token.pos;
        let items = self.many(TokenKind::BraceL, TokenKind::BraceR, Self::selection)?;
        self.unnest();
        Ok(SelectionSet { pos, items })
    }

    fn selection(&mut self) -> Result<Selection> {
        if self.peek(TokenKind::Spread) {
            self.fragment()
        } else {
            Ok(Selection::Field(self.field()?))
        }
    }

    fn field(&mut self) -> Result<Field> {
        let pos = self.token.pos;
        let first = self.name()?;
        let (alias, name) = if self.optional(TokenKind::Colon)? {
            (Some(first), self.name()?)
        } else {
            (None, first)
        };
        Ok(Field {
            pos,
            alias,
            name,
            arguments: self.arguments(false)?,
            directives: self.directives(false)?,
            selection_set: if self.peek(TokenKind::BraceL) {
                Some(self.selection_set()?)
            } else {
                None
            },
        })
    }

    fn arguments(&mut self, constant: bool) -> Result<Vec<Argument>> {
        self.optional_many(TokenKind::ParenL, TokenKind::ParenR, |p| {
            let pos = p.token.pos;
            let name = p.name()?;
            p.expect(TokenKind::Colon)?;
            Ok(Argument {
                pos,
                name,
                value: p.value(constant)?,
            })
        })
    }

    fn fragment(&mut self) -> Result<Selection> {
        let pos = self.token.pos;
        self.expect(TokenKind::Spread)?;
        let has_type_condition = self.optional_keyword("on")?;
        if !has_type_condition && self.peek(TokenKind::Name) {
            return Ok(Selection::FragmentSpread(FragmentSpread {
                pos,
                name: self.fragment_name()?,
                directives: self.directives(false)?,
            }));
        }
        Ok(Selection::InlineFragment(InlineFragment {
            pos,
            type_condition: if has_type_condition {
                Some(self.name()?)
            } else {
                None
            },
            directives: self.directives(false)?,
            selection_set: self.selection_set()?,
        }))
    }

    fn fragment_definition(&mut self) -> Result<FragmentDefinition> {
        let pos = self.token.pos;
        self.description()?;
        self.expect_keyword("fragment")?;
        let name = self.fragment_name()?;
        self.expect_keyword("on")?;
        Ok(FragmentDefinition {
            pos,
            name,
            type_condition: self.name()?,
            directives: self.directives(false)?,
            selection_set: self.selection_set()?,
        })
    }

    fn fragment_name(&mut self) -> Result<Name> {
        if self.peek_keyword("on") {
            return Err(self.unexpected(None));
        }
        self.name()
    }

    fn value(&mut self, constant: bool) -> Result<Value> {
        let pos = self.token.pos;
        let kind = match self.token.kind {
            TokenKind::BracketL => {
                self.nest()?;
                let values = self.any(TokenKind::BracketL, TokenKind::BracketR, |p| {
                    p.value(constant)
                })?;
                self.unnest();
                ValueKind::List(values)
            }
            TokenKind::BraceL => {
                self.nest()?;
                let fields = self.any(TokenKind::BraceL, TokenKind::BraceR, |p| {
                    let pos = p.token.pos;
                    let name = p.name()?;
                    p.expect(TokenKind::Colon)?;
                    Ok(ObjectField {
                        pos,
                        name,
                        value: p.value(constant)?,
                    })
                })?;
                self.unnest();
                ValueKind::Object(fields)
            }
            TokenKind::Int => {
                ValueKind::Int(self.advance()?.value.unwrap_or_default().into_owned())
            }
            TokenKind::Float => {
                ValueKind::Float(self.advance()?.value.unwrap_or_default().into_owned())
            }
            TokenKind::String | TokenKind::BlockString => {
                let token = self.advance()?;
                ValueKind::String {
                    block: token.kind == TokenKind::BlockString,
                    value: token.value.unwrap_or_default().into_owned(),
                }
            }
            TokenKind::Name => {
                let token = self.advance()?;
                match token.value.as_deref().unwrap_or("") {
                    "true" => ValueKind::Boolean(true),
                    "false" => ValueKind::Boolean(false),
                    "null" => ValueKind::Null,
                    other => ValueKind::Enum(other.to_owned()),
                }
            }
            TokenKind::Dollar if constant => {
                let dollar = self.advance()?;
                if self.peek(TokenKind::Name) {
                    let name = self.token.value.as_deref().unwrap_or("").to_owned();
                    return Err(self.error_at(
                        &dollar,
                        format!("Unexpected variable \"${name}\" in constant value."),
                    ));
                }
                return Err(self.unexpected(Some(&dollar)));
            }
            TokenKind::Dollar => ValueKind::Variable(self.variable()?.value),
            _ => return Err(self.unexpected(None)),
        };
        Ok(Value { pos, kind })
    }

    fn directives(&mut self, constant: bool) -> Result<Vec<Directive>> {
        let mut directives = Vec::new();
        while self.peek(TokenKind::At) {
            let pos = self.token.pos;
            self.advance()?;
            directives.push(Directive {
                pos,
                name: self.name()?,
                arguments: self.arguments(constant)?,
            });
        }
        Ok(directives)
    }

    fn type_reference(&mut self) -> Result<Type> {
        let pos = self.token.pos;
        let ty = if self.optional(TokenKind::BracketL)? {
            self.nest()?;
            let inner = self.type_reference()?;
            self.unnest();
            self.expect(TokenKind::BracketR)?;
            Type::List(Box::new(inner), pos)
        } else {
            Type::Named(self.name()?)
        };
        if self.optional(TokenKind::Bang)? {
            return Ok(Type::NonNull(Box::new(ty), pos));
        }
        Ok(ty)
    }

    fn type_system_definition(&mut self, extension: bool) -> Result<TypeSystemDefinition> {
        let pos = self.token.pos;
        if !extension {
            self.description()?;
        }
        let keyword = self.token.value.as_deref().unwrap_or("").to_owned();
        self.expect_keyword(&keyword)?;
        let mut directives = Vec::new();
        let (name, def) = match keyword.as_str() {
            "schema" => {
                directives = self.directives(true)?;
                let ops = if extension {
                    self.optional_many(TokenKind::BraceL, TokenKind::BraceR, Self::operation_type)?
                } else {
                    self.many(TokenKind::BraceL, TokenKind::BraceR, Self::operation_type)?
                };
                (None, TypeDef::Schema(ops))
            }
            "scalar" => {
                let name = self.name()?;
                directives = self.directives(true)?;
                (Some(name), TypeDef::Scalar)
            }
            "type" | "interface" => {
                let name = self.name()?;
                let interfaces = if self.optional_keyword("implements")? {
                    self.delimited_many(TokenKind::Amp, Self::name)?
                } else {
                    Vec::new()
                };
                directives = self.directives(true)?;
                let fields = self.optional_many(
                    TokenKind::BraceL,
                    TokenKind::BraceR,
                    Self::field_definition,
                )?;
                let def = if keyword == "type" {
                    TypeDef::Object { interfaces, fields }
                } else {
                    TypeDef::Interface { interfaces, fields }
                };
                (Some(name), def)
            }
            "union" => {
                let name = self.name()?;
                directives = self.directives(true)?;
                let members = if self.optional(TokenKind::Equals)? {
                    self.delimited_many(TokenKind::Pipe, Self::name)?
                } else {
                    Vec::new()
                };
                (Some(name), TypeDef::Union(members))
            }
            "enum" => {
                let name = self.name()?;
                directives = self.directives(true)?;
                let values = self.optional_many(TokenKind::BraceL, TokenKind::BraceR, |p| {
                    p.description()?;
                    if matches!(p.token.value.as_deref(), Some("true" | "false" | "null")) {
                        return Err(p.error_at(
                            &p.token,
                            format!(
                                "{} is reserved and cannot be used for an enum value.",
                                p.token.desc()
                            ),
                        ));
                    }
                    let name = p.name()?;
                    p.directives(true)?;
                    Ok(name)
                })?;
                (Some(name), TypeDef::Enum(values))
            }
            "input" => {
                let name = self.name()?;
                directives = self.directives(true)?;
                let fields = self.optional_many(
                    TokenKind::BraceL,
                    TokenKind::BraceR,
                    Self::input_value_definition,
                )?;
                (Some(name), TypeDef::InputObject(fields))
            }
            "directive" => {
                self.expect(TokenKind::At)?;
                let name = self.name()?;
                let arguments = self.optional_many(
                    TokenKind::ParenL,
                    TokenKind::ParenR,
                    Self::input_value_definition,
                )?;
                let repeatable = self.optional_keyword("repeatable")?;
                self.expect_keyword("on")?;
                let locations = self.delimited_many(TokenKind::Pipe, |p| {
                    let start = p.token.clone();
                    let name = p.name()?;
                    if DIRECTIVE_LOCATIONS.contains(&name.value.as_str()) {
                        Ok(name)
                    } else {
                        Err(p.unexpected(Some(&start)))
                    }
                })?;
                (
                    Some(name),
                    TypeDef::Directive {
                        arguments,
                        repeatable,
                        locations,
                    },
                )
            }
            _ => return Err(self.unexpected(None)),
        };
        Ok(TypeSystemDefinition {
            pos,
            extension,
            name,
            directives,
            def,
        })
    }

    fn type_system_extension(&mut self) -> Result<TypeSystemDefinition> {
        let pos = self.token.pos;
        self.expect_keyword("extend")?;
        let extensible = matches!(
            self.token.value.as_deref(),
            Some("schema" | "scalar" | "type" | "interface" | "union" | "enum" | "input")
        );
        if self.token.kind != TokenKind::Name || !extensible {
            return Err(self.unexpected(None));
        }
        let mut def = self.type_system_definition(true)?;
        let adds_nothing = match &def.def {
            TypeDef::Schema(ops) => ops.is_empty(),
            TypeDef::Object { fields, interfaces } | TypeDef::Interface { fields, interfaces } => {
                fields.is_empty() && interfaces.is_empty()
            }
            TypeDef::Union(members) => members.is_empty(),
            TypeDef::Enum(values) => values.is_empty(),
            TypeDef::InputObject(fields) => fields.is_empty(),
            TypeDef::Scalar | TypeDef::Directive { .. } => true,
        };
        if adds_nothing && def.directives.is_empty() {
            return Err(self.unexpected(None));
        }
        def.pos = pos;
        Ok(def)
    }

    fn operation_type(&mut self) -> Result<(OperationKind, Name)> {
        let kind = self.operation_kind()?;
        self.expect(TokenKind::Colon)?;
        Ok((kind, self.name()?))
    }

    fn field_definition(&mut self) -> Result<FieldDefinition> {
        self.description()?;
        let name = self.name()?;
        let arguments = self.optional_many(
            TokenKind::ParenL,
            TokenKind::ParenR,
            Self::input_value_definition,
        )?;
        self.expect(TokenKind::Colon)?;
        let ty = self.type_reference()?;
        Ok(FieldDefinition {
            name,
            arguments,
            ty,
            directives: self.directives(true)?,
        })
    }

    /// `: Type = default`, as variables and input values declare them.
    fn typed_default(&mut self) -> Result<(Type, Option<Value>)> {
        self.expect(TokenKind::Colon)?;
        let ty = self.type_reference()?;
        let default = if self.optional(TokenKind::Equals)? {
            Some(self.value(true)?)
        } else {
            None
        };
        Ok((ty, default))
    }

    fn input_value_definition(&mut self) -> Result<InputValueDefinition> {
        self.description()?;
        let name = self.name()?;
        let (ty, default) = self.typed_default()?;
        Ok(InputValueDefinition {
            name,
            ty,
            default,
            directives: self.directives(true)?,
        })
    }
}
