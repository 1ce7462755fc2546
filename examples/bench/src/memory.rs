//! Section 4, memory: peak resident memory (VmHWM) while pulling 250k and 1M rows into a file
//! DieselStore. Each pull runs in a child process (this binary re-executed with the hidden
//! `memory-child` subcommand) so earlier sections do not count, from [`GeneratedRemote`], an
//! in-process server that makes pages on the fly (seeding 1M rows on the Node server and
//! paging them over HTTP would take minutes and measure the same client).

use std::process::Command;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde_json::{json, Value};
use store_diesel::DieselStore;
use sync_core::backend::{Cursor, Page, RemoteError};
use sync_core::chrono::{DateTime, TimeDelta, Utc};
use sync_core::{Expr, PullOptions, Query, Record, Remote, SyncContext};

use crate::model::Item;
use crate::report::{dur, rate, thousands, Summary};
use crate::BenchError;

const SECTION: &str = "4 memory";
/// Rows sharing one `updatedAt` in the generated table.
const SAME_MS: u64 = 10;

/// What section 4 runs.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// The smaller pull.
    pub small: u64,
    /// The larger pull.
    pub large: u64,
}

/// Runs section 4: one child process per size.
pub fn run(cfg: Config, summary: &mut Summary) -> Result<(), BenchError> {
    println!("\n## 4. Memory: peak RSS of a child process pulling generated rows into store-diesel");
    let mut peaks = Vec::new();
    for rows in [cfg.small, cfg.large] {
        let (peak_kb, secs) = child(rows)?;
        let t = Duration::from_secs_f64(secs);
        println!(
            "  {:>9} rows: peak RSS {:.1} MB, pull {} ({} rows/s)",
            thousands(rows),
            peak_kb as f64 / 1024.0,
            dur(t),
            rate(rows, t)
        );
        peaks.push(peak_kb);
    }
    let mb = |kb: u64| kb as f64 / 1024.0;
    let (small, large) = (peaks[0], peaks[1]);
    summary.info(SECTION, format!("peak RSS pulling {} rows", thousands(cfg.small)), format!("{:.1} MB", mb(small)));
    summary.goal(
        SECTION,
        format!("peak RSS pulling {} rows", thousands(cfg.large)),
        format!("{:.1} MB", mb(large)),
        "< 150 MB",
        mb(large) < 150.0,
    );
    let growth = large as f64 / small as f64;
    summary.goal(
        SECTION,
        format!("peak RSS {} / {} rows", thousands(cfg.large), thousands(cfg.small)),
        format!("{growth:.2}×"),
        "flat: ≤ 1.10×",
        growth <= 1.10,
    );
    Ok(())
}

/// Runs `bench memory-child --rows N` and reads its `{"vm_hwm_kb":…,"secs":…}` line.
fn child(rows: u64) -> Result<(u64, f64), BenchError> {
    let exe = std::env::current_exe()?;
    let out = Command::new(exe).args(["memory-child", "--rows", &rows.to_string()]).output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(BenchError::new(format!(
            "memory child ({rows} rows) failed ({}): {stdout}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    let line = stdout.lines().last().unwrap_or_default();
    let v: Value = serde_json::from_str(line)?;
    match (v["vm_hwm_kb"].as_u64(), v["secs"].as_f64()) {
        (Some(kb), Some(secs)) => Ok((kb, secs)),
        _ => Err(BenchError::new(format!("memory child printed {line}"))),
    }
}

/// The child: pulls `rows` generated rows into a fresh file store, prints one JSON line.
pub async fn child_main(rows: u64) -> Result<(), BenchError> {
    let dir = tempfile::tempdir()?;
    let store = DieselStore::open(dir.path().join("memory.db")).await?;
    let ctx = SyncContext::builder(store).remote(GeneratedRemote::new(rows)).build().await?;
    let items = ctx.table::<Item>().await?;
    let start = Instant::now();
    let s = items.pull(&Query::new(), PullOptions::incremental("all-items")).await?;
    let secs = start.elapsed().as_secs_f64();
    if s.upserted != rows {
        return Err(BenchError::new(format!("pulled {} rows, expected {rows}", s.upserted)));
    }
    let hwm = status_kb("VmHWM")?;
    println!("{}", json!({"rows": rows, "vm_hwm_kb": hwm, "vm_rss_kb": status_kb("VmRSS")?, "secs": secs}));
    Ok(())
}

/// A `kB` field of `/proc/self/status`.
fn status_kb(field: &str) -> Result<u64, BenchError> {
    process_status_kb("self", field)
}

/// A `kB` field (`VmHWM`, `VmRSS`) of `/proc/{process}/status` (`process`: a pid or `self`).
pub fn process_status_kb(process: &str, field: &str) -> Result<u64, BenchError> {
    let path = format!("/proc/{process}/status");
    let status = std::fs::read_to_string(&path)?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':')?.trim().strip_suffix("kB")?.trim().parse().ok())
        .ok_or_else(|| BenchError::new(format!("no {field} in {path}")))
}

/// A read-only server holding `rows` rows of `Item`, made on the fly: row `i` has id
/// `g-{i:08}` and `updatedAt` = base + `i / SAME_MS` ms (so [`SAME_MS`] rows share each
/// timestamp), i.e. `(updatedAt, id)` order is index order. Pages honour the keyset cursor like
/// the server's query: the rows strictly after `(updatedAt, id)`, at most `page_size`.
#[derive(Debug)]
pub struct GeneratedRemote {
    rows: u64,
    base: DateTime<Utc>,
}

impl GeneratedRemote {
    /// A table of `rows` rows.
    pub fn new(rows: u64) -> Self {
        let base = DateTime::parse_from_rfc3339("2024-01-01T00:00:00.000Z").map(|d| d.with_timezone(&Utc));
        GeneratedRemote { rows, base: base.unwrap_or_default() }
    }

    fn millis(&self, i: u64) -> i64 {
        (i / SAME_MS) as i64
    }

    fn stamp(&self, i: u64) -> String {
        sync_core::backend::format_datetime(self.base + TimeDelta::milliseconds(self.millis(i)))
    }

    fn id(i: u64) -> String {
        format!("g-{i:08}")
    }

    /// The first index strictly after the cursor.
    fn first_after(&self, cursor: &Cursor) -> Result<u64, RemoteError> {
        let at = DateTime::parse_from_rfc3339(&cursor.updated_at)
            .map_err(|e| RemoteError::BadRequest { status: 400, message: format!("bad cursor time: {e}") })?
            .with_timezone(&Utc);
        let ms = (at - self.base).num_milliseconds();
        if ms < 0 {
            return Ok(0);
        }
        // Rows of that millisecond: [ms * SAME_MS, (ms + 1) * SAME_MS); the later ones follow.
        let lo = (ms as u64).saturating_mul(SAME_MS);
        let hi = lo.saturating_add(SAME_MS);
        let same_ms_after = (lo..hi.min(self.rows)).find(|&i| Self::id(i).as_str() > cursor.id.as_str());
        Ok(same_ms_after.unwrap_or(hi))
    }

    fn row(&self, i: u64) -> Result<Record, RemoteError> {
        let stamp = self.stamp(i);
        let id = Self::id(i);
        Record::from_json(json!({
            "id": id, "createdAt": stamp, "updatedAt": stamp, "version": "MQ==", "deleted": false,
            "name": format!("generated row {i} named {id}"), "n": i, "flag": i % 2 == 1,
        }))
        .map_err(|e| RemoteError::protocol(e.to_string()))
    }
}

fn read_only() -> RemoteError {
    RemoteError::BadRequest { status: 405, message: "the generated table is read-only".into() }
}

#[async_trait]
impl Remote for GeneratedRemote {
    async fn insert(&self, _: &str, _: &Record) -> Result<Record, RemoteError> {
        Err(read_only())
    }
    async fn update(&self, _: &str, _: &Record, _: Option<&str>) -> Result<Record, RemoteError> {
        Err(read_only())
    }
    async fn delete(&self, _: &str, _: &str, _: Option<&str>) -> Result<(), RemoteError> {
        Err(read_only())
    }
    async fn read(&self, _: &str, id: &str) -> Result<Record, RemoteError> {
        Err(RemoteError::NotFound { message: format!("{id}: not generated by read") })
    }
    async fn query_page(
        &self,
        _table: &str,
        filter: Option<&Expr>,
        cursor: Option<&Cursor>,
        page_size: u64,
    ) -> Result<Page, RemoteError> {
        if filter.is_some() {
            return Err(RemoteError::BadRequest { status: 400, message: "the generated table has no filters".into() });
        }
        let size = if page_size == 0 { 50 } else { page_size.min(1000) };
        let start = match cursor {
            Some(c) => self.first_after(c)?,
            None => 0,
        };
        let end = start.saturating_add(size).min(self.rows);
        let items = (start..end).map(|i| self.row(i)).collect::<Result<Vec<_>, _>>()?;
        Ok(Page { has_next_link: items.len() as u64 == size, items, total: None })
    }
}

impl From<GeneratedRemote> for std::sync::Arc<dyn Remote> {
    fn from(remote: GeneratedRemote) -> Self {
        std::sync::Arc::new(remote)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn pages_follow_the_cursor() {
        let r = GeneratedRemote::new(35);
        let mut cursor: Option<Cursor> = None;
        let mut seen = Vec::new();
        loop {
            let page = r.query_page("Item", None, cursor.as_ref(), 7).await.unwrap();
            let Some(last) = page.items.last() else { break };
            cursor = Cursor::after(last);
            seen.extend(page.items.iter().map(|i| i.id().to_owned()));
        }
        assert_eq!(seen, (0..35).map(GeneratedRemote::id).collect::<Vec<_>>());
        // A cursor between rows of one millisecond resumes right after it.
        let c = Cursor { updated_at: r.stamp(13), id: GeneratedRemote::id(13) };
        assert_eq!(r.first_after(&c).unwrap(), 14);
        let c = Cursor { updated_at: r.stamp(19), id: "g-99".into() };
        assert_eq!(r.first_after(&c).unwrap(), 20);
    }
}
