//! Shared by the criterion benches and the `perf-report` binary: the inputs and operations each
//! area is measured on, and the paired-run machinery that turns them into ratios.
//!
//! One module per area. An area exposes the operations its criterion bench runs (ours and the
//! anchors on the same input) and a `report` function returning its `P<n>` lines; `perf-report`
//! prints the lines of every area in turn. To add an area, add a module with a
//! `report(&Settings) -> Vec<Line>` and call it from `src/bin/perf-report.rs`.

pub mod affinity;
pub mod base64;
pub mod connect;
pub mod costs;
pub mod frames;
pub mod invoke;
pub mod lambda;
#[cfg(feature = "lambda-grpc-web")]
pub mod lambda_grpc_web;
pub mod streaming;
pub mod warm;

use std::fmt;
use std::hint::black_box;
use std::time::{Duration, Instant};

/// How long and how often to measure.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    /// Paired rounds per comparison; each round times ours once and every anchor once.
    pub rounds: usize,
    /// Target duration of one timed sample (the operation repeated as often as fits).
    pub sample: Duration,
}

impl Settings {
    /// The full report: many short pairs, so that a noisy neighbour hits both sides of a pair
    /// alike and the median of the per-pair ratios stays put.
    pub fn full() -> Self {
        Self {
            rounds: 201,
            sample: Duration::from_millis(2),
        }
    }

    /// `--quick`: the same comparisons with fewer pairs (a few seconds in all).
    pub fn quick() -> Self {
        Self {
            rounds: 31,
            sample: Duration::from_millis(1),
        }
    }
}

/// A named operation to time.
pub struct Op<'a> {
    /// What it is, for the detail lines.
    pub name: &'static str,
    /// Whether it is an anchor (counted in the ratio) or only context shown beside it.
    pub anchor: bool,
    /// One call.
    pub run: Box<dyn FnMut() + 'a>,
}

impl<'a> Op<'a> {
    /// An anchor: ours is divided by the fastest anchor of each round.
    pub fn new(name: &'static str, run: impl FnMut() + 'a) -> Self {
        Self {
            name,
            anchor: true,
            run: Box::new(run),
        }
    }

    /// Context: timed in the same rounds and shown, but not part of the ratio.
    pub fn context(name: &'static str, run: impl FnMut() + 'a) -> Self {
        Self {
            name,
            anchor: false,
            run: Box::new(run),
        }
    }
}

/// The result of [`compare`]: medians, in nanoseconds per call.
#[derive(Clone, Debug)]
pub struct Comparison {
    /// Median time of ours.
    pub ours: f64,
    /// Median time of each anchor and context operation, in the order given, with whether it
    /// is an anchor.
    pub anchors: Vec<(&'static str, bool, f64)>,
    /// Median over the rounds of ours ÷ the fastest anchor of that round.
    pub ratio: f64,
}

impl Comparison {
    /// The anchor with the smallest median.
    pub fn fastest_anchor(&self) -> (&'static str, f64) {
        self.anchors
            .iter()
            .filter(|(_, anchor, _)| *anchor)
            .map(|&(name, _, ns)| (name, ns))
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap_or(("none", f64::NAN))
    }
}

/// How many calls of `op` fill about `sample`.
fn calibrate(op: &mut Op<'_>, sample: Duration) -> u32 {
    // Warm caches, the allocator and any lazily built engine first.
    for _ in 0..3 {
        (op.run)();
    }
    let mut calls = 1u32;
    loop {
        let started = Instant::now();
        for _ in 0..calls {
            (op.run)();
        }
        let took = started.elapsed();
        if took >= sample / 4 || calls >= 1 << 24 {
            let per_call = took.as_secs_f64() / f64::from(calls);
            return ((sample.as_secs_f64() / per_call).ceil() as u32).max(1);
        }
        calls *= 4;
    }
}

/// Nanoseconds per call, over one sample of `calls` calls.
fn time(op: &mut Op<'_>, calls: u32) -> f64 {
    let started = Instant::now();
    for _ in 0..calls {
        (op.run)();
    }
    started.elapsed().as_secs_f64() * 1e9 / f64::from(calls)
}

/// A size as the report and the criterion groups name it: `64 B`, `1 KiB`, `1 MiB`.
pub fn size_label(size: usize) -> String {
    match size {
        s if s >= 1024 * 1024 => format!("{} MiB", s / (1024 * 1024)),
        s if s >= 1024 => format!("{} KiB", s / 1024),
        s => format!("{s} B"),
    }
}

/// The median of `values` (sorted in place).
pub fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// Times `ours` against `anchors` in paired rounds (ours, each anchor, ours, each anchor…), so
/// that a noisy neighbour slows both sides of a round alike, and takes medians.
pub fn compare(settings: &Settings, mut ours: Op<'_>, mut anchors: Vec<Op<'_>>) -> Comparison {
    let ours_calls = calibrate(&mut ours, settings.sample);
    let anchor_calls: Vec<u32> = anchors
        .iter_mut()
        .map(|anchor| calibrate(anchor, settings.sample))
        .collect();
    let mut ours_times = Vec::with_capacity(settings.rounds);
    let mut anchor_times = vec![Vec::with_capacity(settings.rounds); anchors.len()];
    let mut ratios = Vec::with_capacity(settings.rounds);
    for _ in 0..settings.rounds {
        let t_ours = time(&mut ours, ours_calls);
        let mut fastest = f64::INFINITY;
        for ((anchor, &calls), times) in
            anchors.iter_mut().zip(&anchor_calls).zip(&mut anchor_times)
        {
            let t = time(anchor, calls);
            if anchor.anchor {
                fastest = fastest.min(t);
            }
            times.push(t);
        }
        ours_times.push(t_ours);
        ratios.push(t_ours / fastest);
    }
    Comparison {
        ours: median(&mut ours_times),
        anchors: anchors
            .iter()
            .zip(&mut anchor_times)
            .map(|(anchor, times)| (anchor.name, anchor.anchor, median(times)))
            .collect(),
        ratio: median(&mut ratios),
    }
}

/// One line of the report: `P<n> <what> : <ratio> (goal <= <goal>)`, with details below it.
#[derive(Clone, Debug)]
pub struct Line {
    /// `P1`, `P2`…
    pub id: &'static str,
    /// What is compared.
    pub what: String,
    /// Ours ÷ the anchor; lower is better.
    pub ratio: f64,
    /// The acceptable bound on the ratio: the largest, or with `at_least` the smallest.
    pub goal: f64,
    /// The ratio is the anchor ÷ ours (how many times faster ours is) and must reach `goal`.
    pub at_least: bool,
    /// Indented lines printed below: the medians behind the ratio.
    pub details: Vec<String>,
    /// Printed below the line when the goal is missed: why, what was tried and measured, and
    /// where `benches/README.md` says more.
    pub missed_because: Option<&'static str>,
}

impl Line {
    /// A line from a comparison, with the medians as details; `bytes` is the size of the
    /// payload each call handles, for throughput.
    pub fn from_comparison(
        id: &'static str,
        what: impl Into<String>,
        goal: f64,
        bytes: usize,
        c: &Comparison,
    ) -> Self {
        let throughput = |ns: f64| bytes as f64 / ns; // bytes per ns = GB/s
        let row = |role: &str, name: &str, ns: f64| {
            format!(
                "{role:<8} {:>9.1} µs {:>6.2} GB/s  {name}",
                ns / 1e3,
                throughput(ns)
            )
        };
        let mut details = vec![row("ours", "", c.ours)];
        for &(name, anchor, ns) in &c.anchors {
            details.push(row(if anchor { "anchor" } else { "context" }, name, ns));
        }
        Self {
            id,
            what: what.into(),
            ratio: c.ratio,
            goal,
            at_least: false,
            details,
            missed_because: None,
        }
    }

    /// A line that reads the same comparison the other way round: the fastest anchor ÷ ours,
    /// which must be at least `goal` (the median of the per-round inverses is the inverse of
    /// the median, so the pairing carries over).
    pub fn from_comparison_at_least(
        id: &'static str,
        what: impl Into<String>,
        goal: f64,
        bytes: usize,
        c: &Comparison,
    ) -> Self {
        let mut line = Self::from_comparison(id, what, goal, bytes, c);
        line.ratio = 1.0 / c.ratio;
        line.at_least = true;
        line
    }

    /// This line, saying `why` below it when the goal is missed.
    pub fn missed_because(mut self, why: &'static str) -> Self {
        self.missed_because = Some(why);
        self
    }

    /// Whether the goal is met.
    pub fn met(&self) -> bool {
        if self.at_least {
            self.ratio >= self.goal
        } else {
            self.ratio <= self.goal
        }
    }
}

impl fmt::Display for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} {} : {:.3} (goal {} {:.2}){}",
            self.id,
            self.what,
            self.ratio,
            if self.at_least { ">=" } else { "<=" },
            self.goal,
            if self.met() { "" } else { " MISSED" }
        )?;
        if let (false, Some(why)) = (self.met(), self.missed_because) {
            writeln!(f, "      missed: {why}")?;
        }
        for detail in &self.details {
            writeln!(f, "      {detail}")?;
        }
        Ok(())
    }
}

/// Keeps the optimizer from dropping a result.
pub fn consume<T>(value: T) {
    black_box(value);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(ratio: f64) -> Line {
        Line {
            id: "L9",
            what: "a cost, ours ÷ an anchor".to_owned(),
            ratio,
            goal: 0.5,
            at_least: false,
            details: vec!["ours 1 ms".to_owned()],
            missed_because: None,
        }
        .missed_because("the anchor is the floor")
    }

    #[test]
    fn a_missed_line_says_so_and_why() {
        assert_eq!(
            line(0.75).to_string(),
            "L9 a cost, ours ÷ an anchor : 0.750 (goal <= 0.50) MISSED\n      \
             missed: the anchor is the floor\n      ours 1 ms\n"
        );
    }

    #[test]
    fn a_met_line_carries_no_mark() {
        assert_eq!(
            line(0.25).to_string(),
            "L9 a cost, ours ÷ an anchor : 0.250 (goal <= 0.50)\n      ours 1 ms\n"
        );
    }
}
