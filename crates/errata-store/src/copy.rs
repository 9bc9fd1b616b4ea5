//! Copying every domain's rows from one database into an empty one: how a
//! single-node instance on SQLite moves up to PostgreSQL.

use errata_catalog::Error;
use errata_errors::{cli, system};
use sqlx::any::AnyTypeInfoKind;
use sqlx::{Column, Executor, Row};

use crate::{Backend, Database, Domain, error};

/// The table every migration writes to; a fresh target already has it.
const STORE_TABLE: &str = "server_info";

/// Copies the domains' tables from `from` into `to`, both already
/// migrated, in one transaction on each side: the source is read as of
/// one moment and the target gets all of it or nothing. `to` must hold no
/// row. Returns the rows copied per table.
pub async fn copy(
    from: &Database,
    to: &Database,
    domains: &[&Domain],
) -> Result<Vec<(&'static str, u64)>, Error> {
    let tables: Vec<&'static str> = domains
        .iter()
        .flat_map(|d| d.tables.iter().copied())
        .collect();
    for table in &tables {
        if *table == STORE_TABLE {
            continue;
        }
        let rows: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(to.pool())
            .await
            .map_err(error)?;
        if rows > 0 {
            return Err(cli::copy_target_not_empty((*table).to_owned()));
        }
    }
    let mut source = from.pool().begin().await.map_err(error)?;
    let mut target = to.pool().begin().await.map_err(error)?;
    let mut copied = Vec::with_capacity(tables.len());
    for table in &tables {
        let columns = target_columns(to, table).await?;
        let names: Vec<&str> = columns.iter().map(|(n, _)| n.as_str()).collect();
        let rows = sqlx::query(&format!("SELECT {} FROM {table}", names.join(", ")))
            .fetch_all(&mut *source)
            .await
            .map_err(error)?;
        let placeholders: Vec<String> = (1..=columns.len()).map(|i| format!("${i}")).collect();
        let conflict = if *table == STORE_TABLE {
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value"
        } else {
            ""
        };
        let insert = format!(
            "INSERT INTO {table} ({}) VALUES ({}){conflict}",
            names.join(", "),
            placeholders.join(", ")
        );
        for row in &rows {
            let mut query = sqlx::query(&insert);
            for (i, (_, kind)) in columns.iter().enumerate() {
                query = match kind {
                    AnyTypeInfoKind::Text => {
                        query.bind(row.try_get::<Option<String>, _>(i).map_err(error)?)
                    }
                    AnyTypeInfoKind::Blob => {
                        query.bind(row.try_get::<Option<Vec<u8>>, _>(i).map_err(error)?)
                    }
                    AnyTypeInfoKind::Real | AnyTypeInfoKind::Double => {
                        query.bind(row.try_get::<Option<f64>, _>(i).map_err(error)?)
                    }
                    AnyTypeInfoKind::Bool => {
                        query.bind(row.try_get::<Option<bool>, _>(i).map_err(error)?)
                    }
                    AnyTypeInfoKind::SmallInt
                    | AnyTypeInfoKind::Integer
                    | AnyTypeInfoKind::BigInt
                    | AnyTypeInfoKind::Null => {
                        query.bind(row.try_get::<Option<i64>, _>(i).map_err(error)?)
                    }
                };
            }
            query.execute(&mut *target).await.map_err(error)?;
        }
        copied.push((*table, rows.len() as u64));
    }
    // Ids are never given twice: the target's counters start past the
    // highest id the source ever gave, deleted rows' included, not only
    // past the rows copied.
    for domain in domains {
        for (table, column) in domain.generated {
            let highest_copied: i64 =
                sqlx::query_scalar(&format!("SELECT COALESCE(MAX({column}), 0) FROM {table}"))
                    .fetch_one(&mut *source)
                    .await
                    .map_err(error)?;
            let highest_given: i64 = match from.backend() {
                Backend::Sqlite => sqlx::query_scalar(
                    "SELECT COALESCE(MAX(seq), 0) FROM sqlite_sequence WHERE name = $1",
                )
                .bind(*table)
                .fetch_one(&mut *source)
                .await
                .map_err(error)?,
                Backend::Postgres => sqlx::query_scalar(&format!(
                    "SELECT COALESCE(pg_sequence_last_value(pg_get_serial_sequence('{table}', '{column}')::regclass), 0)"
                ))
                .fetch_one(&mut *source)
                .await
                .map_err(error)?,
            };
            let highest = highest_copied.max(highest_given);
            match to.backend() {
                Backend::Postgres => {
                    sqlx::query(&format!(
                        "SELECT setval(pg_get_serial_sequence('{table}', '{column}'), $1, false)"
                    ))
                    .bind(highest + 1)
                    .execute(&mut *target)
                    .await
                    .map_err(error)?;
                }
                Backend::Sqlite => {
                    sqlx::query("DELETE FROM sqlite_sequence WHERE name = $1")
                        .bind(*table)
                        .execute(&mut *target)
                        .await
                        .map_err(error)?;
                    sqlx::query("INSERT INTO sqlite_sequence (name, seq) VALUES ($1, $2)")
                        .bind(*table)
                        .bind(highest)
                        .execute(&mut *target)
                        .await
                        .map_err(error)?;
                }
            }
        }
    }
    target.commit().await.map_err(error)?;
    source.rollback().await.map_err(error)?;
    Ok(copied)
}

/// The target table's columns and their types, which the copied values
/// are converted to.
async fn target_columns(
    to: &Database,
    table: &str,
) -> Result<Vec<(String, AnyTypeInfoKind)>, Error> {
    let described = to
        .pool()
        .describe(&format!("SELECT * FROM {table}"))
        .await
        .map_err(error)?;
    let columns: Vec<(String, AnyTypeInfoKind)> = described
        .columns()
        .iter()
        .map(|c| (c.name().to_owned(), c.type_info().kind()))
        .collect();
    if columns.is_empty()
        || columns
            .iter()
            .any(|(_, k)| *k == AnyTypeInfoKind::Null && to.backend() == Backend::Postgres)
    {
        return Err(
            system::internal().with_source(std::io::Error::other(format!(
                "cannot tell the columns of {table} in the target"
            ))),
        );
    }
    Ok(columns)
}
