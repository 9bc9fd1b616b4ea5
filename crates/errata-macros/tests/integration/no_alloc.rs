//! Raising an error whose message has no placeholders allocates nothing,
//! and neither does reading its message.
#![allow(
    unsafe_code,
    reason = "a counting global allocator needs an unsafe impl"
)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    // Per thread, so that tests running in parallel do not count each other.
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

// SAFETY: every call is forwarded unchanged to the system allocator.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: the caller upholds `alloc`'s contract, which we forward.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller upholds `dealloc`'s contract, which we forward.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

mod errors {
    errata_macros::catalog!("../fixtures/catalog");
}

#[test]
fn a_static_error_is_built_without_allocating() {
    let before = allocations();
    let err = std::hint::black_box(errors::pages::not_found());
    let message = err.message();
    let code = err.code();
    let after = allocations();
    assert_eq!(after - before, 0, "building {code} allocated");
    assert_eq!(message, "This page does not exist.");
    assert!(matches!(message, std::borrow::Cow::Borrowed(_)));
}

#[test]
fn an_error_with_placeholders_allocates_for_its_arguments() {
    let before = allocations();
    let err = std::hint::black_box(errors::pages::illegal_path("/a b"));
    let after = allocations();
    assert!(
        after > before,
        "the counter sees allocations, so the test above can fail"
    );
    drop(err);
}
