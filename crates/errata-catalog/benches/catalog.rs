//! How long checking and rendering a real catalog takes.
//! Target: kuzzle-latest (274 errors), checked and rendered in every
//! format, in under 5 ms.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use errata_catalog::render::{Format, render};
use errata_catalog::{Files, load};

fn kuzzle_latest() -> Files {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../catalogs/kuzzle-latest");
    Files::read_dir(&dir).expect("the fixture is readable")
}

fn check_and_render(c: &mut Criterion) {
    let files = kuzzle_latest();
    c.bench_function("kuzzle-latest/check", |b| {
        b.iter(|| load(black_box(&files)).expect("valid"))
    });
    let catalog = load(&files).expect("valid");
    for format in Format::ALL {
        c.bench_function(&format!("kuzzle-latest/render-{}", format.name()), |b| {
            b.iter(|| render(black_box(&catalog), *format))
        });
    }
    c.bench_function("kuzzle-latest/check-and-render-all", |b| {
        b.iter(|| {
            let catalog = load(black_box(&files)).expect("valid");
            Format::ALL
                .iter()
                .map(|f| render(&catalog, *f).len())
                .sum::<usize>()
        })
    });
}

criterion_group!(benches, check_and_render);
criterion_main!(benches);
