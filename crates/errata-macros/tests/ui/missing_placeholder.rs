mod errors {
    errata_macros::catalog!("../fixtures/catalog");
}

fn main() {
    let _ = errors::pages::illegal_path();
}
