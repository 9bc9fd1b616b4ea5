//! The `errata` binary's integration tests, one binary: the command line
//! run as a user runs it, the server's memory under large bodies, and the
//! generated TypeScript under `tsc`.

mod cli;
mod durability;
mod memory;
mod typescript;
