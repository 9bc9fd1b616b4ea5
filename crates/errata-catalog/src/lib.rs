//! The error catalog engine.
//!
//! A catalog is a directory of TOML files that defines every error a service
//! can return: a stable id, a number, a slug, a class (which fixes the HTTP
//! status and the GraphQL `extensions.code`), a message template, a
//! description and advice. This crate loads and checks catalogs, renders
//! their references (Markdown, HTML, JSON, TypeScript), compares two
//! versions for breaking changes, imports Kuzzle's catalogs, and defines the
//! run-time [`Error`] value that the typed constructors of `errata-macros`
//! build.
//!
//! ```
//! let catalog = errata_catalog::load_dir(std::path::Path::new("../../catalogs/wikijs")).unwrap();
//! let entry = catalog.lookup("6003").unwrap();
//! assert_eq!(entry.slug, "PageNotFound");
//! assert_eq!(entry.class.status(), 404);
//! ```
//!
//! Architecture invariant: this crate is pure. It does no async, knows
//! nothing of HTTP servers or GraphQL executors, and depends on no other
//! errata crate. The only I/O is reading and writing catalog files.

pub mod class;
pub mod diff;
pub mod error;
pub mod explain;
pub mod import;
pub mod load;
pub mod model;
pub mod problem;
pub mod render;
pub mod template;
pub mod write;

pub use class::{Advice, Class, Scheme};
pub use error::{Arg, Error};
pub use load::{Files, Problems, check_dir, load, load_dir};
pub use model::{Catalog, Deprecation, Domain, ErrorDef, Subdomain, Translation};
pub use problem::{Problem, ProblemKind};
pub use template::{Segment, Template};
