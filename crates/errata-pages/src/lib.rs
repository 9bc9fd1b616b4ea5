//! The wiki's pages: their paths and the rules a path must follow,
//! Markdown rendered and sanitized when a page is written, versions
//! (history), the folder tree, tags, links between pages, and the search
//! engines that index them.
//!
//! Every failure is a catalog error (`errata-errors`). Permissions are
//! asked of identity's `Principal`; pages never read identity's tables.
//!
//! Must never depend on the HTTP or GraphQL layers (axum, async-graphql,
//! `errata-graphql`, `errata-server`): the API and the command line make
//! the same calls.

pub mod path;
pub mod query;
pub mod render;
