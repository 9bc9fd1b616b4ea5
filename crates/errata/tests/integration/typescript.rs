//! The generated TypeScript compiles under `tsc --strict`, and a client
//! can switch exhaustively on codes and slugs.
//!
//! Needs `tests/js/node_modules`, which `scripts/test` installs.

use std::path::{Path, PathBuf};
use std::process::Command;

use errata_catalog::render::{Format, render};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

const CLIENT: &str = r#"
import { errors, errorByCode, errorBySlug, type CatalogError, type ErrorCode, type ErrorSlug } from "./errors";

function describe(e: CatalogError): string {
  switch (e.slug) {
    case "PageNotFound":
      // Narrowed: only 6003 is possible here.
      const code: 6003 = e.code;
      return `missing page (${code})`;
    default:
      return e.class;
  }
}

function exhaustive(code: ErrorCode): number {
  const known: Record<ErrorCode, true> = Object.fromEntries(
    Object.values(errors).map((e) => [e.code, true]),
  ) as Record<ErrorCode, true>;
  return known[code] ? code : 0;
}

const slug: ErrorSlug = "PageNotFound";
const found = errorByCode(6003);
if (found === undefined || errorBySlug(slug) === undefined) throw new Error("lookup failed");
describe(found);
exhaustive(6003);
// @ts-expect-error 9999 is not a code of the catalog.
exhaustive(9999);
// @ts-expect-error a slug that does not exist.
const wrong: ErrorSlug = "PageNotFund";
void wrong;
"#;

#[test]
fn generated_typescript_compiles_and_narrows() {
    let tsc = root().join("tests/js/node_modules/.bin/tsc");
    assert!(
        tsc.exists(),
        "{} is missing: run scripts/test, which installs it",
        tsc.display()
    );
    for catalog in ["catalog", "catalogs/wikijs"] {
        let loaded = errata_catalog::load_dir(&root().join(catalog)).unwrap();
        let dir = std::env::temp_dir().join(format!(
            "errata-ts-{}-{}",
            std::process::id(),
            catalog.replace('/', "-")
        ));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("errors.ts"), render(&loaded, Format::Typescript)).unwrap();
        std::fs::write(dir.join("client.ts"), CLIENT).unwrap();
        let out = Command::new(&tsc)
            .args([
                "--strict",
                "--noEmit",
                "--target",
                "es2020",
                "--module",
                "es2020",
                "--moduleResolution",
                "bundler",
            ])
            .arg(dir.join("errors.ts"))
            .arg(dir.join("client.ts"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{catalog}: tsc failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
