mod errors {
    errata_macros::catalog!("../fixtures/catalog");
}

fn main() {
    // `moved` takes {from} and {to}.
    let _ = errors::pages::moved("/a");
}
