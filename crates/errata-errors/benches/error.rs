//! How much raising a catalogued error costs.
//! Target: building one error with a static message and rendering it to
//! its GraphQL JSON in under 1 µs.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};

fn raise(c: &mut Criterion) {
    c.bench_function("error/build-static", |b| {
        b.iter(|| black_box(errata_errors::pages::not_found()))
    });
    c.bench_function("error/build-static-and-render-graphql-json", |b| {
        let mut out = Vec::with_capacity(256);
        b.iter(|| {
            out.clear();
            errata_errors::pages::not_found().write_graphql_json(None, &mut out);
            black_box(out.len())
        })
    });
    c.bench_function("error/build-with-argument-and-render-graphql-json", |b| {
        let mut out = Vec::with_capacity(256);
        b.iter(|| {
            out.clear();
            errata_errors::cli::entry_not_found(black_box("pages.nope"))
                .write_graphql_json(None, &mut out);
            black_box(out.len())
        })
    });
}

criterion_group!(benches, raise);
criterion_main!(benches);
