//! The `sync-server` binary: serves Mobile Apps tables from a SQLite file or a PostgreSQL
//! database.
//!
//! ```text
//! sync-server [--listen ADDR] [--db FILE | --database-url postgres://…] [--config FILE] [--table NAME]...
//! ```
//! Prints `listening on http://ADDR` on stdout once it accepts requests; logs one line per request
//! to stderr (`RUST_LOG` sets the level, default `info`); stops cleanly on Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use sync_server::{Auth, Config, Server};

/// A server for the Azure Mobile Apps table protocol (ZUMO-API-VERSION 2.0.0) on SQLite or
/// PostgreSQL.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    /// The address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:3000")]
    listen: SocketAddr,
    /// The SQLite file (created if missing).
    #[arg(long, default_value = "sync-server.sqlite")]
    db: PathBuf,
    /// The database as a URL instead of --db: `postgres://user:password@host:port/db` (several
    /// servers may share one), or `sqlite:PATH`.
    #[arg(long, conflicts_with = "db")]
    database_url: Option<String>,
    /// A TOML file declaring tables with fixed columns, soft delete, page size and maxTop.
    #[arg(long)]
    config: Option<PathBuf>,
    /// A table with soft delete and a dynamic schema (repeatable).
    #[arg(long = "table", value_name = "NAME")]
    tables: Vec<String>,
    /// The largest request body accepted, in bytes (default 1 MiB, or the config file's).
    #[arg(long)]
    max_body_bytes: Option<usize>,
    /// Require JWTs signed with HS256 and the secret in this environment variable (not the secret
    /// itself: command lines are visible to other users).
    #[arg(long, value_name = "VAR", conflicts_with = "jwks")]
    jwt_secret_env: Option<String>,
    /// Require JWTs signed with RS256 by a key of this JWKS file.
    #[arg(long, value_name = "FILE")]
    jwks: Option<PathBuf>,
    /// The origin clients reach the server at (`https://example.org`), for `Link` headers
    /// (default: http:// + the request's Host).
    #[arg(long)]
    public_url: Option<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sync-server: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), sync_server::ServerError> {
    let mut builder = match &cli.database_url {
        Some(url) => Server::builder().database_url(url),
        None => Server::builder().sqlite_file(&cli.db),
    };
    if let Some(path) = &cli.config {
        builder = builder.config(&Config::load(path)?);
    }
    for name in &cli.tables {
        builder = builder.dynamic_table(name);
    }
    if let Some(n) = cli.max_body_bytes {
        builder = builder.max_body_bytes(n);
    }
    if let Some(var) = &cli.jwt_secret_env {
        let secret = std::env::var(var)
            .map_err(|_| sync_server::ServerError::Config(format!("the environment variable {var} is not set")))?;
        builder = builder.auth(Auth::hs256(secret));
    }
    if let Some(file) = &cli.jwks {
        builder = builder.auth(Auth::rs256_jwks_file(file)?);
    }
    if let Some(url) = cli.public_url {
        builder = builder.public_url(url);
    }
    let server = builder.build().await?;
    if server.table_names().is_empty() {
        tracing::warn!("no tables: declare some with --table NAME or --config FILE");
    }
    let listener = tokio::net::TcpListener::bind(cli.listen).await?;
    let addr = listener.local_addr()?;
    match &cli.database_url {
        // The URL may hold a password: only its host part is logged.
        Some(url) => {
            tracing::info!(tables = ?server.table_names(), db = url.rsplit('@').next().unwrap_or_default(), "serving")
        }
        None => tracing::info!(tables = ?server.table_names(), db = %cli.db.display(), "serving"),
    }
    println!("listening on http://{addr}");
    server.serve(listener, shutdown()).await?;
    tracing::info!("stopped");
    Ok(())
}

/// Ctrl-C or SIGTERM.
async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
