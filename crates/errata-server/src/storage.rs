//! Where the server's stores are wired together: every domain's storage,
//! in the order its migrations and its copy run.
//!
//! Each domain owns its tables, its SQL and its migrations for SQLite and
//! PostgreSQL (`errata-store` applies them); the server only lists them.

use errata_catalog::Error;
use errata_store::{Database, Domain};

use crate::Config;

/// Every domain's storage, parents first.
pub const DOMAINS: &[&Domain] = &[
    &errata_store::STORE,
    &errata_identity::STORAGE,
    &errata_pages::STORAGE,
    &errata_mail::STORAGE,
];

/// Opens the configured database and migrates it.
pub async fn open(config: &Config) -> Result<Database, Error> {
    let db = connect(config)?;
    db.migrate(DOMAINS).await?;
    Ok(db)
}

/// The configured database's pool, which connects when first used. The
/// data directory is made private whichever the backend: it holds outgoing
/// mail, with verification tokens, and on SQLite the database with the
/// signing key.
pub fn connect(config: &Config) -> Result<Database, Error> {
    errata_store::private_directory(&config.data, config.insecure_data_dir)?;
    Database::connect(&config.database_url()?, &config.store_options())
}
