//! The summary: every figure with its goal and whether it was met, printed at the end.

use std::fmt::Write as _;
use std::time::Duration;

/// One line of the summary table.
#[derive(Debug, Clone)]
pub struct Figure {
    /// The section (`1 pull`, …).
    pub section: &'static str,
    /// What was measured.
    pub what: String,
    /// The measured value, formatted.
    pub value: String,
    /// The goal, formatted (empty when the figure is informational).
    pub goal: String,
    /// `Some(true)` PASS, `Some(false)` MISS, `None` for information only.
    pub pass: Option<bool>,
}

/// The figures collected by the sections of one run.
#[derive(Debug, Default)]
pub struct Summary {
    figures: Vec<Figure>,
}

impl Summary {
    /// Adds a figure without a goal.
    pub fn info(&mut self, section: &'static str, what: impl Into<String>, value: impl Into<String>) {
        self.figures.push(Figure { section, what: what.into(), value: value.into(), goal: String::new(), pass: None });
    }

    /// Adds a figure with a goal and its verdict.
    pub fn goal(
        &mut self,
        section: &'static str,
        what: impl Into<String>,
        value: impl Into<String>,
        goal: impl Into<String>,
        pass: bool,
    ) {
        self.figures.push(Figure {
            section,
            what: what.into(),
            value: value.into(),
            goal: goal.into(),
            pass: Some(pass),
        });
    }

    /// Whether any goal was missed.
    pub fn any_miss(&self) -> bool {
        self.figures.iter().any(|f| f.pass == Some(false))
    }

    /// The table as Markdown.
    pub fn markdown(&self) -> String {
        let mut out = String::from("| section | figure | value | goal | result |\n|---|---|---|---|---|\n");
        for f in &self.figures {
            let result = match f.pass {
                Some(true) => "PASS",
                Some(false) => "**MISS**",
                None => "",
            };
            let _ = writeln!(out, "| {} | {} | {} | {} | {} |", f.section, f.what, f.value, f.goal, result);
        }
        out
    }
}

/// `12.3 s`, `45.6 ms`, `789 µs`.
pub fn dur(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 1.0 {
        format!("{s:.2} s")
    } else if s >= 1e-3 {
        format!("{:.1} ms", s * 1e3)
    } else {
        format!("{:.1} µs", s * 1e6)
    }
}

/// Per second, with thousands separators: `12,345`.
pub fn rate(count: u64, d: Duration) -> String {
    thousands((count as f64 / d.as_secs_f64().max(1e-9)).round() as u64)
}

/// `100000` → `100,000`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// One of `count` equal parts of `total` (the whole of it for a count of 0).
pub fn per_each(total: Duration, count: u64) -> Duration {
    total / u32::try_from(count.max(1)).unwrap_or(u32::MAX)
}

/// The fastest of several timings.
pub fn best(times: &[Duration]) -> Duration {
    times.iter().copied().min().unwrap_or_default()
}

/// The median of several timings (the lower middle for an even count).
pub fn median(times: &[Duration]) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort();
    sorted.get(sorted.len().saturating_sub(1) / 2).copied().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(thousands(100_000), "100,000");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(rate(1000, Duration::from_secs(2)), "500");
        assert_eq!(dur(Duration::from_millis(1500)), "1.50 s");
        let t = [Duration::from_secs(3), Duration::from_secs(1), Duration::from_secs(2)];
        assert_eq!(best(&t), Duration::from_secs(1));
        assert_eq!(median(&t), Duration::from_secs(2));
    }
}
