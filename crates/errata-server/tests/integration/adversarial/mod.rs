//! The adversarial suite: one test per hole an attack on errata found,
//! named after the hole, each written to fail while the hole was open.
//! New findings get a test here first, then their fix. `SECURITY.md`
//! lists the holes and points at these tests.

mod caches;
mod documents;
mod escalation;
mod host;
mod identity;
mod review;
mod review2;
mod review3;
mod review4;
mod review5;
mod world;
