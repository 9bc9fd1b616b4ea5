//! errata-catalog's integration tests, one binary: `catalog check`,
//! `catalog diff`, and the committed fixture catalogs.

mod check;
mod diff;
mod fixtures;
