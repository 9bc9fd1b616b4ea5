//! The `errata` command line. Thin glue: every command is a call into a
//! library crate, and every failure is a catalogued error or a catalog
//! diagnostic.
//!
//! Architecture invariant: no logic lives here that a test of a library
//! crate could not reach.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use errata_catalog::render::{self, Format};
use errata_catalog::{Catalog, Problems, diff, explain, import, load_dir, write};

// A request allocates many small, short-lived objects (async-graphql's values,
// header maps, futures); glibc's malloc was a fifth of the instructions of a
// request (bench/results.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "errata",
    version,
    about = "A GraphQL API server whose errors are a product."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the GraphQL server.
    Serve(errata_server::ServeArgs),
    /// Check, render, compare and import error catalogs.
    #[command(subcommand)]
    Catalog(CatalogCommand),
    /// Create users in a data directory.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Create, list, expire and rotate OAuth clients in a data directory.
    #[command(subcommand)]
    Clients(ClientsCommand),
    /// Apply the database's migrations, or show them with --status.
    Migrate {
        #[command(flatten)]
        data: DataArgs,
        /// Only show which migrations are applied; change nothing.
        #[arg(long)]
        status: bool,
    },
    /// Copy a database into an empty one: users, groups, tokens, clients,
    /// lockouts and keys. Sessions issued before keep working after.
    Copy {
        #[command(flatten)]
        data: DataArgs,
        /// The database to copy: `sqlite:PATH` [default: the data directory's].
        #[arg(long, value_name = "URL", default_value = "sqlite:")]
        from: String,
        /// The empty database to fill, e.g. `postgres://errata@127.0.0.1:5432/errata`.
        #[arg(long, value_name = "URL")]
        to: String,
    },
    /// Add made-up pages for benchmarks: a tree of sections with tags,
    /// links, searchable words and a version each.
    BenchSeed {
        #[command(flatten)]
        data: DataArgs,
        /// How many pages.
        #[arg(long, default_value_t = 100_000)]
        pages: usize,
        /// The author: a user's email [default: the first administrator].
        #[arg(long, value_name = "EMAIL")]
        author: Option<String>,
    },
    /// Print one catalog entry, found by id, slug or code (6003, 0x0101000b).
    Explain {
        /// An id (`pages.not_found`), a slug (`PageNotFound`) or a code (`6003`, `0x0101000b`).
        key: String,
        /// The catalog to search; errata's own, compiled in, by default.
        #[arg(long, value_name = "DIR")]
        catalog: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum CatalogCommand {
    /// Check a catalog; exit 1 and show every problem if it is invalid.
    Check {
        /// The catalog directory (the one holding catalog.toml).
        dir: PathBuf,
    },
    /// Render a catalog's reference.
    Docs {
        /// The catalog directory.
        dir: PathBuf,
        /// The output format.
        #[arg(long, value_enum, default_value = "markdown")]
        format: DocFormat,
        /// Write to this file instead of standard output.
        #[arg(long, value_name = "PATH")]
        out: Option<PathBuf>,
    },
    /// Compare two versions of a catalog; exit 1 if anything is breaking.
    Diff {
        /// The old catalog directory.
        old: PathBuf,
        /// The new catalog directory.
        new: PathBuf,
        /// The report format.
        #[arg(long, value_enum, default_value = "text")]
        format: DiffFormat,
    },
    /// Convert a foreign catalog into an errata catalog directory.
    Import {
        /// The foreign catalog's kind.
        #[arg(value_enum)]
        kind: ImportKind,
        /// The foreign catalog's directory.
        src: PathBuf,
        /// Where to write the errata catalog.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// The imported catalog's name.
        #[arg(long, default_value = "kuzzle")]
        name: String,
        /// The imported catalog's version.
        #[arg(long = "catalog-version", default_value = "0.0.0")]
        catalog_version: String,
    },
}

/// Where the data is: the same `--config`, `--data` and `ERRATA_*` as `serve`.
#[derive(clap::Args)]
struct DataArgs {
    /// A TOML configuration file.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The data directory [default: ./errata-data].
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// The database: `sqlite:PATH` or `postgres://user@host:port/db` [default: errata.db in the data directory].
    #[arg(long, value_name = "URL")]
    database: Option<String>,
    /// Open the data directory even when group or others can read or enter it.
    #[arg(long)]
    insecure_data_dir: bool,
}

#[derive(Subcommand)]
enum UsersCommand {
    /// Create a verified user; prints it as JSON.
    Create {
        #[command(flatten)]
        data: DataArgs,
        /// Email address, also the login.
        #[arg(long)]
        email: String,
        /// Password (8 to 256 characters).
        #[arg(long)]
        password: String,
        /// Display name [default: the email's local part].
        #[arg(long)]
        name: Option<String>,
        /// Put the user in Administrators instead of Users.
        #[arg(long)]
        admin: bool,
    },
}

#[derive(Subcommand)]
enum ClientsCommand {
    /// Create a client; prints {"client_id", "client_secret", ...} as JSON.
    Create {
        #[command(flatten)]
        data: DataArgs,
        /// A name to recognise it by.
        #[arg(long)]
        name: String,
        /// A permission it may ask for; repeat for more [default: all of the owner's].
        #[arg(long = "scope", value_name = "S")]
        scopes: Vec<String>,
        /// Days until it expires [default: never].
        #[arg(long, value_name = "D")]
        expires_in_days: Option<i64>,
        /// The email of the user it acts as [default: the first administrator].
        #[arg(long, value_name = "EMAIL")]
        owner: Option<String>,
    },
    /// List clients as JSON.
    List {
        #[command(flatten)]
        data: DataArgs,
    },
    /// Expire a client now; its tokens stop working.
    Expire {
        #[command(flatten)]
        data: DataArgs,
        /// The client id.
        client_id: String,
    },
    /// Give a client a new secret; the old one and its tokens stop working.
    Rotate {
        #[command(flatten)]
        data: DataArgs,
        /// The client id.
        client_id: String,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum DocFormat {
    Markdown,
    Html,
    Json,
    Typescript,
}

#[derive(Clone, Copy, ValueEnum)]
enum DiffFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum ImportKind {
    Kuzzle,
}

/// Why a command failed.
enum Failure {
    /// A catalog had problems; they were diagnosed.
    Problems(Problems),
    /// A catalogued error.
    Error(errata_catalog::Error),
    /// The command ran and its answer is "no" (breaking diff).
    Rejected,
}

impl From<Problems> for Failure {
    fn from(p: Problems) -> Failure {
        Failure::Problems(p)
    }
}

impl From<errata_catalog::Error> for Failure {
    fn from(e: errata_catalog::Error) -> Failure {
        Failure::Error(e)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Serve(args) = cli.command {
        return serve(&args);
    }
    let result = match cli.command {
        Command::Users(command) => admin(AdminCommand::Users(command)),
        Command::Clients(command) => admin(AdminCommand::Clients(command)),
        Command::Migrate { data, status } => admin(AdminCommand::Migrate { data, status }),
        Command::Copy { data, from, to } => admin(AdminCommand::Copy { data, from, to }),
        Command::BenchSeed {
            data,
            pages,
            author,
        } => admin(AdminCommand::BenchSeed {
            data,
            pages,
            author,
        }),
        command => run(command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Rejected) => ExitCode::from(1),
        Err(Failure::Problems(Problems(problems))) => {
            let handler = report_handler();
            let mut text = String::new();
            for problem in &problems {
                let _ = handler.render_report(&mut text, problem);
                text.push('\n');
            }
            let s = if problems.len() == 1 { "" } else { "s" };
            eprint!("{text}");
            eprintln!("error: {} problem{s} found", problems.len());
            ExitCode::from(1)
        }
        Err(Failure::Error(error)) => {
            eprintln!("error[{}]: {}", error.def().slug, error);
            for (key, value) in error.details() {
                eprintln!("  = {key}: {value}");
            }
            eprintln!("  = help: {}", error.def().advice.text());
            eprintln!("  = see: errata explain {}", error.code());
            ExitCode::from(1)
        }
    }
}

fn report_handler() -> miette::GraphicalReportHandler {
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let theme = if color {
        miette::GraphicalTheme::unicode()
    } else {
        miette::GraphicalTheme::unicode_nocolor()
    };
    miette::GraphicalReportHandler::new_themed(theme)
}

fn serve(args: &errata_server::ServeArgs) -> ExitCode {
    let config = match args.resolve(std::env::vars()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    errata_server::telemetry::init(config.log_format);
    let runtime = match errata_server::runtime(&config) {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(async {
        let server = match errata_server::start(config).await {
            Ok(server) => server,
            Err(e) => {
                tracing::error!(error = %e, "cannot start");
                eprintln!("error: {e}");
                return ExitCode::from(1);
            }
        };
        tracing::info!(addr = %server.addr(), "listening");
        shutdown_signal().await;
        tracing::info!("shutting down; finishing requests in flight");
        match server.shutdown().await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                tracing::error!(error = %e, "server failed");
                ExitCode::from(1)
            }
        }
    })
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}

enum AdminCommand {
    Users(UsersCommand),
    Clients(ClientsCommand),
    Migrate {
        data: DataArgs,
        status: bool,
    },
    Copy {
        data: DataArgs,
        from: String,
        to: String,
    },
    BenchSeed {
        data: DataArgs,
        pages: usize,
        author: Option<String>,
    },
}

/// Runs an administration command against a data directory.
fn admin(command: AdminCommand) -> Result<(), Failure> {
    let data = match &command {
        AdminCommand::Users(UsersCommand::Create { data, .. })
        | AdminCommand::Clients(
            ClientsCommand::Create { data, .. }
            | ClientsCommand::List { data }
            | ClientsCommand::Expire { data, .. }
            | ClientsCommand::Rotate { data, .. },
        )
        | AdminCommand::Migrate { data, .. }
        | AdminCommand::Copy { data, .. }
        | AdminCommand::BenchSeed { data, .. } => data,
    };
    let args = errata_server::ServeArgs {
        config: data.config.clone(),
        data: data.data.clone(),
        database: data.database.clone(),
        insecure_data_dir: data.insecure_data_dir,
        ..errata_server::ServeArgs::default()
    };
    let config = args
        .resolve(std::env::vars())
        .map_err(|e| errata_errors::cli::config_invalid(e.to_string()))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| errata_errors::cli::output_failed("the async runtime", e.to_string()))?;
    runtime.block_on(async {
        let answer = match &command {
            AdminCommand::Migrate { status, .. } => {
                Some(errata_server::admin::migrate(&config, !status).await)
            }
            AdminCommand::Copy { from, to, .. } => {
                Some(errata_server::admin::copy(&config, from, to).await)
            }
            _ => None,
        };
        if let Some(answer) = answer {
            let mut text = serde_json::to_string_pretty(&answer?).unwrap_or_default();
            text.push('\n');
            return emit(&text, None);
        }
        let admin = errata_server::admin::Admin::open(&config).await?;
        let answer = match &command {
            AdminCommand::Users(UsersCommand::Create {
                email,
                password,
                name,
                admin: is_admin,
                ..
            }) => {
                admin
                    .create_user(email, password, name.as_deref(), *is_admin)
                    .await
            }
            AdminCommand::Clients(ClientsCommand::Create {
                name,
                scopes,
                expires_in_days,
                owner,
                ..
            }) => {
                admin
                    .create_client(name, scopes, *expires_in_days, owner.as_deref())
                    .await
            }
            AdminCommand::Clients(ClientsCommand::List { .. }) => admin.list_clients().await,
            AdminCommand::Clients(ClientsCommand::Expire { client_id, .. }) => {
                admin.expire_client(client_id).await
            }
            AdminCommand::Clients(ClientsCommand::Rotate { client_id, .. }) => {
                admin.rotate_client(client_id).await
            }
            AdminCommand::BenchSeed { pages, author, .. } => {
                admin.bench_seed(*pages, author.as_deref()).await
            }
            AdminCommand::Migrate { .. } | AdminCommand::Copy { .. } => {
                unreachable!("migrate and copy are answered above")
            }
        };
        admin.close().await;
        let mut text = serde_json::to_string_pretty(&answer?).unwrap_or_default();
        text.push('\n');
        emit(&text, None)
    })
}

fn run(command: Command) -> Result<(), Failure> {
    match command {
        Command::Serve(_)
        | Command::Users(_)
        | Command::Clients(_)
        | Command::Migrate { .. }
        | Command::Copy { .. }
        | Command::BenchSeed { .. } => {
            unreachable!("serve and the administration commands are handled before run")
        }
        Command::Catalog(CatalogCommand::Check { dir }) => {
            let catalog = load_dir(&dir)?;
            let domains = catalog.domains.len();
            println!(
                "catalog `{}` {} is valid: {} errors in {domains} domains ({} scheme)",
                catalog.name,
                catalog.version,
                catalog.errors.len(),
                catalog.scheme.name()
            );
            Ok(())
        }
        Command::Catalog(CatalogCommand::Docs { dir, format, out }) => {
            let catalog = load_dir(&dir)?;
            let format = match format {
                DocFormat::Markdown => Format::Markdown,
                DocFormat::Html => Format::Html,
                DocFormat::Json => Format::Json,
                DocFormat::Typescript => Format::Typescript,
            };
            emit(&render::render(&catalog, format), out.as_deref())
        }
        Command::Catalog(CatalogCommand::Diff { old, new, format }) => {
            let report = diff::diff(&load_dir(&old)?, &load_dir(&new)?);
            let text = match format {
                DiffFormat::Text => report.to_text(),
                DiffFormat::Json => report.to_json(),
            };
            emit(&text, None)?;
            if report.is_breaking() {
                return Err(Failure::Rejected);
            }
            Ok(())
        }
        Command::Catalog(CatalogCommand::Import {
            kind: ImportKind::Kuzzle,
            src,
            out,
            name,
            catalog_version,
        }) => {
            let catalog = import::kuzzle(&src, &name, &catalog_version)
                .map_err(|e| errata_errors::cli::import_failed(e.file, e.message))?;
            write::write_dir(&catalog, &out).map_err(|e| {
                errata_errors::cli::output_failed(out.display().to_string(), e.to_string())
            })?;
            // What was written must load back as a valid catalog.
            let written = load_dir(&out)?;
            println!(
                "imported {} errors in {} domains into {}",
                written.errors.len(),
                written.domains.len(),
                out.display()
            );
            Ok(())
        }
        Command::Explain { key, catalog } => {
            let loaded: Catalog;
            let catalog: &Catalog = match catalog {
                Some(dir) => {
                    loaded = load_dir(&dir)?;
                    &loaded
                }
                None => &errata_errors::CATALOG,
            };
            let entry = catalog
                .lookup(&key)
                .ok_or_else(|| errata_errors::cli::entry_not_found(key.clone()))?;
            emit(&explain::explain(catalog, entry), None)
        }
    }
}

fn emit(text: &str, out: Option<&Path>) -> Result<(), Failure> {
    let written = match out {
        Some(path) => std::fs::write(path, text).map_err(|e| (path.display().to_string(), e)),
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.flush())
                .map_err(|e| ("standard output".to_owned(), e))
        }
    };
    written
        .map_err(|(path, e)| Failure::Error(errata_errors::cli::output_failed(path, e.to_string())))
}
