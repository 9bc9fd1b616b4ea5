mod errors {
    errata_macros::catalog!("../fixtures/nowhere");
}

fn main() {}
