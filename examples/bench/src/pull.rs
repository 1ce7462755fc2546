//! Section 1, pull: N rows seeded on the Node server, the first incremental pull into
//! store-diesel against a raw baseline that GETs the same keyset pages and parses them, then a
//! second (no-change) incremental pull.

use std::time::{Duration, Instant};

use backend_azure_rest::test_server::NodeServer;
use backend_azure_rest::AzureRestRemote;
use store_diesel::DieselStore;
use sync_core::{Cursor, Query, Remote, SyncContext};

use crate::model::Item;
use crate::proxy::Proxy;
use crate::raw::RawClient;
use crate::report::{best, dur, median, rate, thousands, Summary};
use crate::timing::Timed;
use crate::BenchError;

const SECTION: &str = "1 pull";
const TABLE: &str = "Item";
const PAGE: u64 = 1000;
/// Rows seeded per `seed.js` call; the rows of one call share one `updatedAt`.
const SEED_BATCH: u64 = 10_000;

/// What section 1 runs.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// Rows on the server.
    pub rows: u64,
    /// Rounds of (raw, ours), alternating which goes first.
    pub rounds: usize,
}

/// Runs section 1 against `server` (the `Item` table must be empty).
pub async fn run(server: &NodeServer, cfg: Config, summary: &mut Summary) -> Result<(), BenchError> {
    println!("\n## 1. Pull: {} rows, page size {PAGE}", thousands(cfg.rows));
    seed(server, cfg.rows).await?;
    let raw = RawClient::new(&server.url())?;
    check_same_requests(server).await?;

    let remote = server.remote();
    let (mut raw_times, mut our_times) = (Vec::new(), Vec::new());
    let mut second = None;
    for round in 0..cfg.rounds {
        let order = if round % 2 == 0 { [false, true] } else { [true, false] };
        for ours in order {
            if ours {
                let (t, no_change) = our_pull(&remote, cfg.rows, round).await?;
                our_times.push(t);
                if let Some(s) = no_change {
                    second = Some(s);
                }
            } else {
                let start = Instant::now();
                let (rows, requests) = raw.pull(TABLE, PAGE).await?;
                let t = start.elapsed();
                check_rows(rows, cfg.rows, "raw baseline")?;
                println!(
                    "  round {round}: raw baseline  {:>9} ({} rows/s, {requests} requests)",
                    dur(t),
                    rate(rows, t)
                );
                raw_times.push(t);
            }
        }
    }

    let (raw_best, our_best) = (best(&raw_times), best(&our_times));
    let ratio = our_best.as_secs_f64() / raw_best.as_secs_f64();
    println!(
        "  best: ours {} ({} rows/s), raw {} ({} rows/s); medians ours {}, raw {}; ratio ours/raw {ratio:.2}",
        dur(our_best),
        rate(cfg.rows, our_best),
        dur(raw_best),
        rate(cfg.rows, raw_best),
        dur(median(&our_times)),
        dur(median(&raw_times)),
    );
    let n = thousands(cfg.rows);
    summary.info(
        SECTION,
        format!("first pull of {n} rows into store-diesel"),
        format!("{} rows/s", rate(cfg.rows, our_best)),
    );
    summary.info(
        SECTION,
        format!("raw baseline: same {n} rows, GET + parse only"),
        format!("{} rows/s", rate(cfg.rows, raw_best)),
    );
    summary.goal(SECTION, "pull time / raw baseline time", format!("{ratio:.2}×"), "≤ 1.25×", ratio <= 1.25);
    if let Some((t, requests)) = second {
        summary.goal(SECTION, "second (no-change) pull: requests", requests.to_string(), "1", requests == 1);
        summary.info(SECTION, "second (no-change) pull: time", dur(t));
    }
    Ok(())
}

/// Seeds `rows` rows in batches of [`SEED_BATCH`]; the rows of a batch share one `updatedAt`
/// (1 s apart between batches), the hard case for a timestamp cursor.
async fn seed(server: &NodeServer, rows: u64) -> Result<(), BenchError> {
    let start = Instant::now();
    let mut done = 0;
    let mut batch = 0;
    while done < rows {
        let count = SEED_BATCH.min(rows - done);
        let at = format!("2024-01-01T00:{:02}:{:02}.000Z", batch / 60, batch % 60);
        server.seed(TABLE, count, &at, &format!("b{batch:03}-")).await?;
        done += count;
        batch += 1;
    }
    println!("  seeded {} rows in {batch} batches with seed.js ({})", thousands(rows), dur(start.elapsed()));
    Ok(())
}

/// Sends the first pages with the REST remote and with the raw baseline through a recording
/// proxy, and fails unless both sent exactly the same request lines.
async fn check_same_requests(server: &NodeServer) -> Result<(), BenchError> {
    let proxy = Proxy::start(&server.url(), Duration::ZERO, true).await?;
    let remote = AzureRestRemote::builder(proxy.url()).build()?;
    let mut cursor: Option<Cursor> = None;
    for _ in 0..3 {
        let page = remote.query_page(TABLE, None, cursor.as_ref(), PAGE).await?;
        cursor = page.items.last().and_then(Cursor::after);
    }
    let ours = proxy.take_requests();
    let raw = RawClient::new(&proxy.url())?;
    let mut cursor: Option<Cursor> = None;
    for _ in 0..3 {
        let (rows, _) = raw.page(TABLE, cursor.as_ref(), PAGE).await?;
        cursor = rows.last().and_then(|r| {
            Some(Cursor { updated_at: r.get("updatedAt")?.as_str()?.to_owned(), id: r.get("id")?.as_str()?.to_owned() })
        });
    }
    let theirs = proxy.take_requests();
    if ours.is_empty() || ours != theirs {
        return Err(BenchError::new(format!(
            "the raw baseline sends other requests:\n ours {ours:#?}\n raw {theirs:#?}"
        )));
    }
    println!("  checked: the raw baseline sends the remote's exact requests, e.g.\n    {}", ours[ours.len() - 1]);
    Ok(())
}

/// One first incremental pull into a fresh file store; in round 0, also the no-change pull.
/// Returns the first pull's time and, in round 0, (time, requests) of the second.
async fn our_pull(
    remote: &AzureRestRemote,
    expected: u64,
    round: usize,
) -> Result<(Duration, Option<(Duration, u64)>), BenchError> {
    let dir = tempfile::tempdir()?;
    let store = DieselStore::open(dir.path().join("pull.db")).await?;
    let (timed, remote_time) = Timed::new(remote.clone());
    let ctx = SyncContext::builder(store).remote(timed).build().await?;
    let items = ctx.table::<Item>().await?;
    let start = Instant::now();
    let s = items.pull(&Query::new(), Some("all-items")).await?;
    let t = start.elapsed();
    check_rows(s.upserted, expected, "our pull")?;
    let in_remote = remote_time.total();
    println!(
        "  round {round}: ours          {:>9} ({} rows/s, {} requests; {} in the remote = GET + JSON + records, {} in store + engine)",
        dur(t),
        rate(s.rows, t),
        s.requests,
        dur(in_remote),
        dur(t.saturating_sub(in_remote)),
    );
    if round != 0 {
        return Ok((t, None));
    }
    let start = Instant::now();
    let s2 = items.pull(&Query::new(), Some("all-items")).await?;
    let t2 = start.elapsed();
    println!("           second (no-change) pull: {} rows, {} request(s), {}", s2.rows, s2.requests, dur(t2));
    Ok((t, Some((t2, s2.requests))))
}

fn check_rows(got: u64, expected: u64, who: &str) -> Result<(), BenchError> {
    if got != expected {
        return Err(BenchError::new(format!("{who} got {got} rows, expected {expected}")));
    }
    Ok(())
}
