//! # todo: the offline todo app
//!
//! The official "enable offline sync" quickstart as a command-line program: items live in a
//! local SQLite file (store-diesel) and every command works with no network; `todo sync` pushes
//! local changes to an Azure Mobile Apps backend and pulls the server's (backend-azure-rest).
//!
//! ```text
//! cargo run -p todo -- add "Buy milk"          # prints the new id
//! cargo run -p todo -- list
//! cargo run -p todo -- --remote http://127.0.0.1:3000 sync
//! cargo run -p todo -- --remote http://127.0.0.1:3000 watch   # live list, syncs by itself
//! ```
//!
//! Exit status: 0 on success, 1 when the server, the network or the database failed, 2 for a
//! wrong command line (an unknown flag, an id that names no item), 3 when `sync` leaves conflicts
//! or failed changes to decide (`todo conflicts`, `todo resolve`).

mod app;
mod cli;
mod failure;
mod item;
mod live;
mod progress;

use std::sync::Arc;
use std::time::Duration;

use clap::Parser;

use crate::failure::Failure;

/// How long a store transaction still running when the command stops may take to finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

fn main() {
    let cli = cli::Cli::parse();
    // `RUST_LOG=debug` (any filter) shows the engine's logs on stderr, inside its spans (push,
    // operation, pull, page: ids and tables, never item contents or tokens); without it the
    // output is only the app's own.
    if let Ok(filter) = tracing_subscriber::EnvFilter::try_from_default_env() {
        use std::io::IsTerminal;
        let colours = std::io::stderr().is_terminal();
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(colours).init();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("todo: cannot start: {e}");
            std::process::exit(1);
        }
    };
    // The live view shows sync in its status line; a progress line would tear it.
    let progress = (!matches!(cli.command, cli::Command::Watch(_))).then(|| Arc::new(progress::Progress::new()));
    let work = {
        let progress = progress.clone();
        let cli = &cli;
        async move {
            let app = app::App::open(cli, progress).await?;
            app.run(&cli.command).await
        }
    };
    // `watch` runs until Ctrl-C: the limit is for commands that end.
    let limit =
        (cli.timeout > 0 && !matches!(cli.command, cli::Command::Watch(_))).then(|| Duration::from_secs(cli.timeout));
    let code = runtime.block_on(async {
        match limit {
            // Stopping drops the command between two awaits: a store transaction that already
            // began runs to its commit or rollback on its own thread (see below), so nothing is
            // half-written.
            Some(limit) => {
                tokio::time::timeout(limit, work).await.unwrap_or_else(|_| Err(Failure::timed_out(&cli, limit)))
            }
            None => work.await,
        }
    });
    // Let a transaction still running on a blocking thread finish before the process exits.
    runtime.shutdown_timeout(SHUTDOWN_GRACE);
    if let Some(progress) = &progress {
        progress.clear();
    }
    match code {
        Ok(code) => std::process::exit(code),
        Err(failure) => {
            eprintln!("todo: {failure}");
            std::process::exit(failure.code());
        }
    }
}
