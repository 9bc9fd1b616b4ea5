//! The SQLite file holds the JWT signing key and the key that hashes client
//! secrets, so whoever reads it can sign in as anyone: its directory is
//! created 0700, a directory other users may read or enter is refused, and
//! the database's files are 0600.

use std::fs::{DirBuilder, OpenOptions, Permissions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use errata_catalog::Error;
use errata_errors::system;

/// Permission bits for group and others.
const GROUP_AND_OTHERS: u32 = 0o077;

/// What SQLite keeps beside the database in WAL mode: recent pages of it,
/// the keys included.
const COMPANIONS: [&str; 2] = ["-wal", "-shm"];

fn unavailable(e: std::io::Error) -> Error {
    system::database_unavailable().with_source(e)
}

/// Makes the database's directory and files private before SQLite opens it.
pub(crate) fn prepare(file: &Path, insecure_dir: bool) -> Result<(), Error> {
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        private_directory(dir, insecure_dir)?;
    }
    private_files(file)
}

/// Creates `dir` (and missing parents) 0700, and refuses it when group or
/// others have any permission on it, unless `insecure_dir`.
pub fn private_directory(dir: &Path, insecure_dir: bool) -> Result<(), Error> {
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(unavailable)?;
    let mode = std::fs::metadata(dir)
        .map_err(unavailable)?
        .permissions()
        .mode()
        & 0o7777;
    if mode & GROUP_AND_OTHERS != 0 && !insecure_dir {
        return Err(system::data_dir_insecure(format!("{mode:04o}")));
    }
    Ok(())
}

/// Creates the database file 0600 before SQLite opens it: SQLite would
/// create it with the process's umask, usually 0644, and gives its `-wal`
/// and `-shm` files the database's mode. Files left by an older version
/// with group or other bits lose them.
fn private_files(file: &Path) -> Result<(), Error> {
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(file)
        .map_err(unavailable)?;
    let mut paths = vec![file.to_path_buf()];
    for suffix in COMPANIONS {
        let mut name = file.as_os_str().to_owned();
        name.push(suffix);
        paths.push(name.into());
    }
    for path in paths {
        let mode = match std::fs::metadata(&path) {
            Ok(metadata) => metadata.permissions().mode(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(unavailable(e)),
        };
        if mode & GROUP_AND_OTHERS != 0 {
            std::fs::set_permissions(&path, Permissions::from_mode(mode & 0o700))
                .map_err(unavailable)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Scratch;
    use crate::{Backend, Database, DatabaseUrl, Options, STORE};

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    #[tokio::test]
    async fn files_an_older_version_left_readable_lose_their_group_and_other_bits() {
        let scratch = Scratch::new(Backend::Sqlite).await;
        std::fs::create_dir_all(&scratch.dir).unwrap();
        std::fs::set_permissions(&scratch.dir, Permissions::from_mode(0o700)).unwrap();
        let file = scratch.dir.join("errata.db");
        let names = ["errata.db", "errata.db-wal", "errata.db-shm"];
        for name in names {
            std::fs::write(scratch.dir.join(name), b"").unwrap();
            std::fs::set_permissions(scratch.dir.join(name), Permissions::from_mode(0o644))
                .unwrap();
        }
        let db = Database::open(&DatabaseUrl::Sqlite(file), &Options::default(), &[&STORE])
            .await
            .unwrap();
        for name in names {
            assert_eq!(mode(&scratch.dir.join(name)), 0o600, "{name}");
        }
        db.close().await;
    }

    #[tokio::test]
    async fn missing_parents_are_created_private_and_open_ones_refused() {
        let scratch = Scratch::new(Backend::Sqlite).await;
        let nested = scratch.dir.join("a/b");
        let db = Database::open(
            &DatabaseUrl::Sqlite(nested.join("errata.db")),
            &Options::default(),
            &[&STORE],
        )
        .await
        .unwrap();
        assert_eq!(mode(&scratch.dir), 0o700);
        assert_eq!(mode(&nested), 0o700);
        db.close().await;
        std::fs::set_permissions(&nested, Permissions::from_mode(0o755)).unwrap();
        let refused = Database::connect(
            &DatabaseUrl::Sqlite(nested.join("errata.db")),
            &Options::default(),
        )
        .unwrap_err();
        assert_eq!(refused.id(), "system.data_dir_insecure");
        let allowed = Options {
            insecure_dir: true,
            ..Options::default()
        };
        Database::connect(&DatabaseUrl::Sqlite(nested.join("errata.db")), &allowed).unwrap();
    }
}
