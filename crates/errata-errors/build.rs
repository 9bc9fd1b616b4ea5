// Rebuild when a catalog file is added or removed, not only when one that
// the macro already includes changes.
fn main() {
    println!("cargo:rerun-if-changed=../../catalog");
}
