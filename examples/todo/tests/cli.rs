//! The command line offline, as a user types it: short ids, exit statuses, messages.

use std::path::Path;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn todo(db: &Path, args: &[&str]) -> Run {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_todo"))
        .arg("--db")
        .arg(db)
        .args(args)
        .env_remove("TODO_DB")
        .env_remove("TODO_REMOTE")
        .env_remove("TODO_TOKEN")
        .env_remove("TODO_TIMEOUT")
        .output()
        .expect("the todo binary runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn short_ids_name_an_item_and_exit_statuses_say_what_happened() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("todo.db");
    let added = todo(&db, &["add", "buy milk"]);
    assert_eq!(added.code, 0, "{}", added.stderr);
    let id = added.stdout.trim().to_owned();

    let done = todo(&db, &["done", &id[..8]]);
    assert_eq!(done.code, 0, "a unique prefix names the item: {}", done.stderr);
    let list = todo(&db, &["list", "--json"]);
    assert!(list.stdout.contains("\"complete\":true"), "{}", list.stdout);
    let edited = todo(&db, &["edit", &id[..4], "buy oat milk"]);
    assert_eq!(edited.code, 0, "four characters are enough: {}", edited.stderr);

    let short = todo(&db, &["done", &id[..3]]);
    assert_eq!(short.code, 2, "a wrong id is a usage error");
    assert!(short.stderr.contains("at least 4"), "{}", short.stderr);
    let unknown = todo(&db, &["done", "zzzzzzzz"]);
    assert_eq!(unknown.code, 2);
    assert!(unknown.stderr.contains("todo list"), "{}", unknown.stderr);
    let bad_flag = todo(&db, &["list", "--no-such-flag"]);
    assert_eq!(bad_flag.code, 2, "clap's own usage errors are 2 as well");
    let no_server = todo(&db, &["sync"]);
    assert_eq!(no_server.code, 2, "no --remote is a usage error: {}", no_server.stderr);
    assert!(no_server.stderr.contains("--remote"), "{}", no_server.stderr);

    let blocked = todo(&db, &["purge"]);
    assert_eq!(blocked.code, 1);
    assert!(
        blocked.stderr.contains("not on the server yet") && blocked.stderr.contains("--force"),
        "{}",
        blocked.stderr
    );
    let removed = todo(&db, &["rm", &id[..6]]);
    assert_eq!(removed.code, 0, "{}", removed.stderr);
    assert!(todo(&db, &["list"]).stdout.contains("no items"));
    // Nothing queued: a push-only sync says so instead of "synced", and contacts no server
    // (port 9 answers nothing).
    let idle = todo(&db, &["--remote", "http://127.0.0.1:9", "sync", "--push-only"]);
    assert_eq!(idle.code, 0, "{}", idle.stderr);
    assert!(idle.stdout.contains("nothing to push"), "{}", idle.stdout);
    let help = todo(&db, &["--help"]);
    assert!(help.stdout.contains("Exit status") && help.stdout.contains("3 `sync`"), "{}", help.stdout);
}

#[test]
fn rust_log_shows_the_engine_at_work_without_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("todo.db");
    assert_eq!(todo(&db, &["add", "secret groceries"]).code, 0);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_todo"))
        .args(["--db"])
        .arg(&db)
        .args(["--remote", "http://127.0.0.1:9", "sync"])
        .env("RUST_LOG", "debug")
        .env("TODO_TOKEN", "tok-3x4mpl3")
        .env_remove("TODO_DB")
        .env_remove("TODO_REMOTE")
        .output()
        .expect("the todo binary runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "offline: {stderr}");
    assert!(stderr.contains("push") && stderr.contains("operation{"), "spans name the work: {stderr}");
    assert!(stderr.contains("retrying"), "the retries are logged: {stderr}");
    assert!(!stderr.contains("tok-3x4mpl3"), "no token in the logs: {stderr}");
    assert!(!stderr.contains("secret groceries"), "no item contents in the logs: {stderr}");
    let quiet = todo(&db, &["list"]);
    assert!(!quiet.stderr.contains("DEBUG"), "without RUST_LOG nothing extra: {}", quiet.stderr);
}

#[test]
fn a_corrupt_database_says_why_with_the_whole_chain() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("todo.db");
    std::fs::write(&db, "this is not a database, just some text a user saved over it\n".repeat(100)).unwrap();
    let run = todo(&db, &["list"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("cannot open the database"), "{}", run.stderr);
    assert!(run.stderr.contains("file is not a database"), "SQLite's own words, from the source chain: {}", run.stderr);
    assert_eq!(std::fs::read(&db).unwrap().len(), 6000, "the file is left as it was");
}

#[test]
fn help_describes_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let help = todo(&dir.path().join("todo.db"), &["--help"]);
    assert!(help.stdout.contains("--timeout <SECS>") && help.stdout.contains("TODO_TIMEOUT"), "{}", help.stdout);
    let bad = todo(&dir.path().join("todo.db"), &["--timeout", "soon", "list"]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
}
