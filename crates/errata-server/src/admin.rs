//! Operator commands over a database, for the command line: creating
//! users; creating, listing, expiring and rotating OAuth clients; showing
//! and applying migrations; copying a database into an empty one. They go
//! through the same domains as the API; answers are JSON, for scripts.

use errata_catalog::Error;
use errata_identity::users::NewUser;
use errata_identity::{ADMINISTRATORS, Identity, Permissions, Principal, USERS};
use serde_json::{Value, json};

use crate::config::Config;
use crate::schema::context::timestamp;
use crate::storage::DOMAINS;
use errata_store::{Database, DatabaseUrl};

/// The data directory, opened for administration.
#[derive(Debug)]
pub struct Admin {
    storage: Database,
    identity: Identity,
    pages: errata_pages::Pages,
}

impl Admin {
    /// Opens (creating and migrating if needed) the data directory of `config`.
    pub async fn open(config: &Config) -> Result<Admin, Error> {
        let storage = crate::storage::open(config).await?;
        // The command line queues no mail; the server's outbox sends what
        // others queued.
        let mail = errata_mail::Mail::new(storage.clone(), config.mail.clone(), &config.data);
        let identity = Identity::open(storage.clone(), config.auth.clone(), mail).await?;
        let pages = errata_pages::Pages::new(storage.clone(), config.pages.clone());
        Ok(Admin {
            storage,
            identity,
            pages,
        })
    }

    /// Creates a verified user, in Administrators with `admin`, else in Users.
    pub async fn create_user(
        &self,
        email: &str,
        password: &str,
        name: Option<&str>,
        admin: bool,
    ) -> Result<Value, Error> {
        let user = self
            .identity
            .create_user(
                &Principal::operator(),
                NewUser {
                    email: email.to_owned(),
                    name: name.map(str::to_owned),
                    password: password.to_owned(),
                    groups: vec![if admin { ADMINISTRATORS } else { USERS }],
                    verified: true,
                },
            )
            .await?;
        Ok(json!({
            "id": user.id,
            "email": user.email,
            "name": user.name,
            "groups": user.groups.iter().map(|(_, name)| name).collect::<Vec<_>>(),
        }))
    }

    /// Adds `count` made-up pages after those already seeded, authored by
    /// `author` (an email; the first administrator when absent).
    pub async fn bench_seed(&self, count: usize, author: Option<&str>) -> Result<Value, Error> {
        let author = match author {
            Some(email) => self.identity.user_by_email(email).await?.id,
            None => {
                self.identity
                    .users()
                    .await?
                    .into_iter()
                    .find(|u| u.groups.iter().any(|(id, _)| *id == ADMINISTRATORS))
                    .ok_or_else(errata_errors::auth::user_not_found)?
                    .id
            }
        };
        let first = self.pages.count().await?;
        let started = std::time::Instant::now();
        self.pages.seed(author, first, count, 1000).await?;
        Ok(json!({
            "pages": count,
            "first": first,
            "seconds": started.elapsed().as_secs_f64(),
        }))
    }

    /// Creates a client acting as `owner` (an email; the first administrator
    /// when `None`), with `scopes` (the owner's permissions when empty).
    pub async fn create_client(
        &self,
        name: &str,
        scopes: &[String],
        days: Option<i64>,
        owner: Option<&str>,
    ) -> Result<Value, Error> {
        let owner = match owner {
            Some(email) => self.identity.user_by_email(email).await?.id,
            None => self.identity.first_administrator().await?,
        };
        let scopes = if scopes.is_empty() {
            self.identity
                .directory()
                .users
                .get(&owner)
                .map_or(Permissions::NONE, |u| u.permissions)
        } else {
            Permissions::parse(scopes)?
        };
        let (client, secret) = self
            .identity
            .create_client(owner, name, scopes, days)
            .await?;
        let mut answer = client_json(&client);
        answer["client_secret"] = Value::String(secret);
        Ok(answer)
    }

    /// Every client.
    pub async fn list_clients(&self) -> Result<Value, Error> {
        let clients = self.identity.clients().await?;
        Ok(Value::Array(clients.iter().map(client_json).collect()))
    }

    /// Expires a client now.
    pub async fn expire_client(&self, id: &str) -> Result<Value, Error> {
        Ok(client_json(
            &self
                .identity
                .expire_client(&Principal::operator(), id)
                .await?,
        ))
    }

    /// Gives a client a new secret.
    pub async fn rotate_client(&self, id: &str) -> Result<Value, Error> {
        let (client, secret) = self
            .identity
            .rotate_client(&Principal::operator(), id)
            .await?;
        let mut answer = client_json(&client);
        answer["client_secret"] = Value::String(secret);
        Ok(answer)
    }

    /// Closes the database.
    pub async fn close(self) {
        self.storage.close().await;
    }
}

/// The configured database's migrations: which are applied; with
/// `apply`, applies those missing first.
pub async fn migrate(config: &Config, apply: bool) -> Result<Value, Error> {
    let db = if apply {
        crate::storage::open(config).await?
    } else {
        Database::connect(&config.database_url()?, &config.store_options())?
    };
    let status = db.status(DOMAINS).await;
    db.close().await;
    let status = status?;
    Ok(json!({
        "database": db.url().to_string(),
        "version": status.database,
        "binaryVersion": status.binary,
        "migrations": status.migrations.iter().map(|m| json!({
            "version": m.version,
            "domain": if m.domain.is_empty() { Value::Null } else { Value::from(m.domain) },
            "description": if m.description.is_empty() { Value::Null } else { Value::from(m.description) },
            "applied": m.applied,
        })).collect::<Vec<_>>(),
    }))
}

/// Copies the database at `from` into the empty one at `to`, migrating
/// both first. Sessions, tokens and clients go with it: the keys they are
/// signed and hashed with are rows like any other.
pub async fn copy(config: &Config, from: &str, to: &str) -> Result<Value, Error> {
    let options = config.store_options();
    let from = DatabaseUrl::parse(from, &config.data)?;
    let to = DatabaseUrl::parse(to, &config.data)?;
    let source = Database::open(&from, &options, DOMAINS).await?;
    let target = match Database::open(&to, &options, DOMAINS).await {
        Ok(target) => target,
        Err(e) => {
            source.close().await;
            return Err(e);
        }
    };
    let mut copied = errata_store::copy(&source, &target, DOMAINS).await;
    if copied.is_ok() {
        // Search indexes are not copied: the target builds its own.
        let pages = errata_pages::Pages::new(target.clone(), config.pages.clone());
        if let Err(e) = pages.rebuild_index().await {
            copied = Err(e);
        }
    }
    source.close().await;
    target.close().await;
    let copied = copied?;
    Ok(json!({
        "from": from.to_string(),
        "to": to.to_string(),
        "rows": copied.iter().map(|(table, rows)| (table.to_string(), Value::from(*rows))).collect::<serde_json::Map<_, _>>(),
    }))
}

fn client_json(client: &errata_identity::clients::OAuthClient) -> Value {
    json!({
        "client_id": client.id,
        "name": client.name,
        "scopes": client.scopes.names(),
        "owner_id": client.owner_id,
        "created_at": timestamp(client.created_at),
        "expires_at": client.expires_at.map(timestamp),
        "expired": client.is_expired(errata_identity::now()),
    })
}
