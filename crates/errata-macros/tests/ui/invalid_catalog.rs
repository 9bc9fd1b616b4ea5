mod errors {
    errata_macros::catalog!("../fixtures/bad");
}

fn main() {}
