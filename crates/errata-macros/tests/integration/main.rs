//! errata-macros' integration tests, one binary: what the generated
//! constructors build, what they allocate, and what does not compile
//! (trybuild, which compiles `tests/ui` on its own whichever binary runs it).

mod compile_fail;
mod no_alloc;
mod typed;
