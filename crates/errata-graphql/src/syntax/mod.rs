//! GraphQL source text: a lexer and a parser that accept exactly what
//! graphql-js 16 accepts and reject the rest with graphql-js's messages and
//! locations, and the printer that validation messages quote values with.

pub mod ast;
pub mod lexer;
pub mod parser;
pub mod printer;

pub use parser::parse;

/// A position in a document: 1-based line, and 1-based column counted in
/// UTF-16 code units as graphql-js does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct Pos {
    /// The line.
    pub line: u32,
    /// The column.
    pub column: u32,
}

/// A document that is not valid GraphQL syntax. `message` is graphql-js's,
/// without the `Syntax Error: ` prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// What is wrong.
    pub message: String,
    /// Where.
    pub pos: Pos,
}
