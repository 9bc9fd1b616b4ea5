//! Raising an error whose message has no placeholders allocates nothing,
//! and neither does reading its message.
#![allow(
    unsafe_code,
    reason = "a counting global allocator needs an unsafe impl"
)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
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
    errata_macros::catalog!("fixtures/catalog");
}

#[test]
fn a_static_error_is_built_without_allocating() {
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    let err = std::hint::black_box(errors::pages::not_found());
    let message = err.message();
    let code = err.code();
    let after = ALLOCATIONS.load(Ordering::SeqCst);
    assert_eq!(after - before, 0, "building {code} allocated");
    assert_eq!(message, "This page does not exist.");
    assert!(matches!(message, std::borrow::Cow::Borrowed(_)));
}

#[test]
fn an_error_with_placeholders_allocates_for_its_arguments() {
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    let err = std::hint::black_box(errors::pages::illegal_path("/a b"));
    let after = ALLOCATIONS.load(Ordering::SeqCst);
    assert!(
        after > before,
        "the counter sees allocations, so the test above can fail"
    );
    drop(err);
}
