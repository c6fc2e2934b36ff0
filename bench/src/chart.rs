//! SVG charts of a run's results (issue 15), one file per family: throughput by message size
//! (thr, push, ipc, inproc, curve cells), latency percentiles (lat, reqrep, and the ipc and
//! curve echo runs), broker (req/s and p99 per case), pubsub (msgs/s per SUB, per case), memory
//! (bytes per connection: mem; per idle client of a broker: brokermem).
//!
//! Written by hand as SVG text (rects, lines, text): grouped bars, one group per message size,
//! percentile or case, one bar per implementation; the colour of an implementation is the same
//! in every chart, ours the one saturated orange with a dark outline; every bar carries its
//! median as a label, and under each group "ours ÷ best other" (ceilings and our other modes
//! are not others, as in the report's tables). The value axis is logarithmic for throughput,
//! and for the others when their values span more than a factor of 25.
//!
//! After every run, `report::render` calls [`after_run`], which writes `chart-<family>.svg`
//! beside the report (`chart-<family>-<mode>.svg` for a mode other than full, as the report is
//! `report-<mode>.md`). `zbench chart --samples FILE.tsv [--out DIR]` renders them from a
//! saved run's samples without running anything.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::orchestrate::{
    broker_case, Cfg, Sample, ALL_BROKERS, ALL_IMPLS, BROKERMEM_WORKERS, BROKER_CASES,
    INPROC_CEILING, PUBSUB_CASES, PUBSUB_SUBS, REQREP_SIZE,
};
use crate::report::{fmt, median};

/// What the charts say about the run besides its numbers.
#[derive(Debug, Clone)]
pub struct Meta {
    /// The zmtp commit `ours` was built from.
    pub rev: String,
    /// CPU count, model and kernel of the machine that ran the benchmark.
    pub machine: String,
    /// Rounds the medians are over.
    pub rounds: usize,
    /// The run's mode (`full`, `quick`).
    pub mode: String,
}

/// This machine, for the report and the charts: CPU count, CPU model, kernel.
pub fn machine() -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| format!(", Linux {}", s.trim()))
        .unwrap_or_default();
    format!("{cpus} CPUs, {model}{kernel}")
}

/// Called by the report after a run: the charts of `samples` into `cfg.out`. A chart that
/// cannot be written is said on stderr; the run's report and samples are written anyway.
pub fn after_run(cfg: &Cfg, samples: &[Sample]) {
    let meta = Meta {
        rev: cfg.ours_rev.clone(),
        machine: machine(),
        rounds: cfg.rounds,
        mode: cfg.mode.to_string(),
    };
    match write_all(&cfg.out, samples, &meta) {
        Ok(files) => {
            for f in files {
                eprintln!("wrote {}", f.display());
            }
        }
        Err(e) => eprintln!("charts not written: {e}"),
    }
}

/// `zbench chart --samples FILE.tsv [--out DIR] [--rev REV] [--machine TEXT]`: the charts of a
/// saved run. The commit and the machine are read from the `report-<mode>.md` beside the
/// samples (its `ours = zmtp at` and `Machine:` lines) unless given.
pub fn main(args: &[String]) {
    if let Err(e) = cli(args) {
        eprintln!("zbench chart: {e}");
        eprintln!(
            "usage: zbench chart --samples FILE.tsv [--out DIR] [--rev REV] [--machine TEXT]\n\
             (DIR defaults to the directory of FILE.tsv)"
        );
        std::process::exit(2);
    }
}

fn cli(args: &[String]) -> Result<(), String> {
    let (mut samples, mut out, mut rev, mut mach) = (None, None, None, None);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = || it.next().cloned().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--samples" => samples = Some(PathBuf::from(val()?)),
            "--out" => out = Some(PathBuf::from(val()?)),
            "--rev" => rev = Some(val()?),
            "--machine" => mach = Some(val()?),
            _ => return Err(format!("unknown option {a}")),
        }
    }
    let tsv = samples.ok_or("--samples FILE.tsv is required")?;
    let text =
        std::fs::read_to_string(&tsv).map_err(|e| format!("cannot read {}: {e}", tsv.display()))?;
    let (samples, rounds) = parse_tsv(&text).map_err(|e| format!("{}: {e}", tsv.display()))?;
    let dir = tsv.parent().unwrap_or(Path::new("."));
    let mode = tsv
        .file_stem()
        .and_then(|s| s.to_str())
        .and_then(|s| s.strip_prefix("samples-"))
        .unwrap_or("full")
        .to_string();
    let report = std::fs::read_to_string(dir.join(format!("report-{mode}.md"))).unwrap_or_default();
    let meta = Meta {
        rev: rev
            .or_else(|| report_rev(&report))
            .unwrap_or_else(|| "unknown".into()),
        machine: mach
            .or_else(|| report_machine(&report))
            .unwrap_or_else(|| "not recorded".into()),
        rounds,
        mode,
    };
    let out = out.unwrap_or_else(|| dir.to_path_buf());
    let files = write_all(&out, &samples, &meta)?;
    if files.is_empty() {
        return Err("no cell with a chart in these samples".into());
    }
    for f in files {
        println!("wrote {}", f.display());
    }
    Ok(())
}

/// The samples of a `samples-<mode>.tsv` and its number of rounds.
fn parse_tsv(text: &str) -> Result<(Vec<Sample>, usize), String> {
    let mut lines = text.lines().enumerate();
    match lines.next() {
        Some((_, h)) if h.starts_with("round\tcell\tcase\timpl\tmetric\tvalue") => {}
        _ => return Err("line 1: not the header `round cell case impl metric value`".into()),
    }
    let mut samples = Vec::new();
    let mut rounds = std::collections::BTreeSet::new();
    for (i, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() != 6 {
            return Err(format!("line {}: {} fields, not 6", i + 1, f.len()));
        }
        let value: f64 = f[5]
            .parse()
            .map_err(|_| format!("line {}: value {:?} is not a number", i + 1, f[5]))?;
        rounds.insert(f[0].to_string());
        samples.push(Sample {
            cell: f[1].into(),
            case: f[2].into(),
            imp: f[3].into(),
            metric: f[4].into(),
            value,
        });
    }
    Ok((samples, rounds.len()))
}

fn report_rev(report: &str) -> Option<String> {
    let rest = &report[report.find("ours = zmtp at ")? + "ours = zmtp at ".len()..];
    let end = rest.find(|c: char| c == ')' || c.is_whitespace())?;
    Some(rest[..end].to_string())
}

fn report_machine(report: &str) -> Option<String> {
    report
        .lines()
        .find_map(|l| l.strip_prefix("Machine: "))
        .map(|m| m.trim().to_string())
}

// ------------------------------------------------------------------ data

/// Medians over rounds by (cell, case, metric, implementation).
struct Data(BTreeMap<(String, String, String, String), f64>);

impl Data {
    fn new(samples: &[Sample]) -> Self {
        let mut g: BTreeMap<(String, String, String, String), Vec<f64>> = BTreeMap::new();
        for s in samples.iter().filter(|s| s.value.is_finite()) {
            g.entry((
                s.cell.clone(),
                s.case.clone(),
                s.metric.clone(),
                s.imp.clone(),
            ))
            .or_default()
            .push(s.value);
        }
        Data(
            g.into_iter()
                .filter_map(|(k, v)| Some((k, median(v)?)))
                .collect(),
        )
    }

    fn get(&self, cell: &str, case: &str, metric: &str, imp: &str) -> Option<f64> {
        self.0
            .get(&(cell.into(), case.into(), metric.into(), imp.into()))
            .copied()
    }

    fn cases(&self, cell: &str) -> Vec<String> {
        let mut v: Vec<String> = self
            .0
            .keys()
            .filter(|k| k.0 == cell)
            .map(|k| k.1.clone())
            .collect();
        v.dedup();
        v
    }

    /// The message sizes of a throughput cell (its numeric cases), ascending.
    fn sizes(&self, cell: &str) -> Vec<usize> {
        let mut v: Vec<usize> = self
            .cases(cell)
            .iter()
            .filter_map(|c| c.parse().ok())
            .collect();
        v.sort_unstable();
        v
    }

    /// Implementations with a value at one of `points` (case, metric) of `cell`, in `order`
    /// and then by name.
    fn imps(&self, cell: &str, points: &[(String, &str)], order: &[&str]) -> Vec<String> {
        let mut v: Vec<String> = self
            .0
            .keys()
            .filter(|k| k.0 == cell && points.iter().any(|(c, m)| k.1 == *c && k.2 == *m))
            .map(|k| k.3.clone())
            .collect();
        v.sort_by_key(|i| {
            (
                order.iter().position(|o| o == i).unwrap_or(order.len()),
                i.clone(),
            )
        });
        v.dedup();
        v
    }

    /// A panel over `points` (one group each, labelled): a bar per implementation.
    fn panel(&self, cell: &str, points: Vec<(String, &str, String)>, spec: PanelSpec) -> Panel {
        let order: Vec<&str> = if cell.starts_with("broker") {
            ALL_BROKERS.to_vec()
        } else {
            // The ceilings first, as the report's first column.
            ["raw", INPROC_CEILING]
                .into_iter()
                .chain(ALL_IMPLS.iter().copied().filter(|i| *i != "raw"))
                .collect()
        };
        let keys: Vec<(String, &str)> = points.iter().map(|(c, m, _)| (c.clone(), *m)).collect();
        let series = self
            .imps(cell, &keys, &order)
            .into_iter()
            .map(|imp| {
                let vals = points
                    .iter()
                    .map(|(c, m, _)| self.get(cell, c, m, &imp))
                    .collect();
                (imp, vals)
            })
            .collect();
        Panel {
            heading: spec.heading,
            unit: spec.unit,
            groups: points.into_iter().map(|p| p.2).collect(),
            series,
            higher_better: spec.higher_better,
            scale: spec.scale,
        }
    }
}

struct PanelSpec {
    heading: String,
    unit: &'static str,
    higher_better: bool,
    scale: Scale,
}

fn size_label(n: usize) -> String {
    if n >= 1 << 20 && n.is_multiple_of(1 << 20) {
        format!("{} MiB", n >> 20)
    } else if n >= 1024 && n.is_multiple_of(1024) {
        format!("{} KiB", n >> 10)
    } else {
        format!("{n} B")
    }
}

/// `4x100` -> "4 clients × window 100", `4x100-64w` -> "… , 64 workers".
fn broker_label(case: &str) -> String {
    let (cw, workers) = match case.split_once('-') {
        Some((cw, w)) => (cw, Some(w.trim_end_matches('w'))),
        None => (case, None),
    };
    let Some((c, w)) = cw.split_once('x') else {
        return case.to_string();
    };
    let clients = if c == "1" { "client" } else { "clients" };
    match workers {
        Some(n) => format!("{c} {clients} × window {w}, {n} workers"),
        None => format!("{c} {clients} × window {w}"),
    }
}

/// Every chart the samples have data for: (file stem, figure).
fn figures(d: &Data) -> Vec<(String, Figure)> {
    let mut out = Vec::new();
    let thr = |heading: &str| PanelSpec {
        heading: format!(
            "{heading}: messages per second by message size (log scale); higher is better"
        ),
        unit: "msgs/s",
        higher_better: true,
        scale: Scale::Log,
    };
    for (cell, title, heading) in [
        (
            "thr",
            "Throughput, DEALER → ROUTER over TCP, one-way",
            "thr cell",
        ),
        (
            "push",
            "Throughput, PUSH → PULL over TCP, one-way",
            "push cell",
        ),
        (
            "ipc",
            "Throughput over ipc://, DEALER → ROUTER, one-way",
            "ipc cell",
        ),
        (
            "inproc",
            "Throughput over inproc://, DEALER → ROUTER, one process",
            "inproc cell",
        ),
        (
            "curve",
            "Throughput with CURVE, DEALER → ROUTER over TCP, one-way",
            "curve cell",
        ),
    ] {
        let sizes = d.sizes(cell);
        if sizes.is_empty() {
            continue;
        }
        let points = sizes
            .iter()
            .map(|&z| (z.to_string(), "msgs_per_s", size_label(z)))
            .collect();
        let p = d.panel(cell, points, thr(heading));
        out.push((
            format!("chart-{cell}"),
            Figure {
                title: title.into(),
                panels: vec![p],
            },
        ));
    }
    let lat_points = |case: &str| -> Vec<(String, &'static str, String)> {
        [("p50", "p50_us"), ("p99", "p99_us"), ("p99.9", "p999_us")]
            .iter()
            .map(|(l, m)| (case.to_string(), *m, l.to_string()))
            .collect()
    };
    let reqrep_case = REQREP_SIZE.to_string();
    let reqrep_title = format!(
        "Round-trip latency, REQ ↔ REP over TCP, {REQREP_SIZE} B, one request in flight, every \
         reply checked"
    );
    for (cell, case, file, title, heading) in [
        (
            "lat",
            "64",
            "chart-lat",
            "Round-trip latency, DEALER ↔ ROUTER echo over TCP, 64 B, one message in flight",
            "lat cell",
        ),
        (
            "reqrep",
            reqrep_case.as_str(),
            "chart-reqrep",
            reqrep_title.as_str(),
            "reqrep cell",
        ),
        (
            "ipc",
            "lat-64",
            "chart-ipc-lat",
            "Round-trip latency over ipc://, DEALER ↔ ROUTER echo, 64 B, one message in flight",
            "ipc cell",
        ),
        (
            "curve",
            "lat-64",
            "chart-curve-lat",
            "Round-trip latency with CURVE, DEALER ↔ ROUTER echo, 64 B, one message in flight",
            "curve cell",
        ),
    ] {
        if !d.cases(cell).iter().any(|c| c == case) {
            continue;
        }
        let p = d.panel(
            cell,
            lat_points(case),
            PanelSpec {
                heading: format!("{heading}: µs per round trip, percentiles; lower is better"),
                unit: "µs",
                higher_better: false,
                scale: Scale::Auto,
            },
        );
        out.push((
            file.into(),
            Figure {
                title: title.into(),
                panels: vec![p],
            },
        ));
    }
    let broker_cases: Vec<String> = {
        let have = d.cases("broker");
        let mut v: Vec<String> = BROKER_CASES
            .iter()
            .map(|&(c, w, n)| broker_case(c, w, n))
            .filter(|c| have.contains(c))
            .collect();
        v.extend(
            have.into_iter()
                .filter(|c| !v.contains(c))
                .collect::<Vec<_>>(),
        );
        v
    };
    if !broker_cases.is_empty() {
        let pts = |m: &'static str| {
            broker_cases
                .iter()
                .map(|c| (c.clone(), m, broker_label(c)))
                .collect()
        };
        let req = d.panel(
            "broker",
            pts("req_per_s"),
            PanelSpec {
                heading: "broker cell: requests per second; higher is better".into(),
                unit: "req/s",
                higher_better: true,
                scale: Scale::Auto,
            },
        );
        let p99 = d.panel(
            "broker",
            pts("p99_us"),
            PanelSpec {
                heading: "broker cell: p99 round-trip latency, µs; lower is better".into(),
                unit: "µs",
                higher_better: false,
                scale: Scale::Auto,
            },
        );
        out.push((
            "chart-broker".into(),
            Figure {
                title:
                    "Broker: libzmq clients → broker → libzmq echo workers (4 unless said), 64 B"
                        .into(),
                panels: vec![req, p99],
            },
        ));
    }
    // The pubsub cell: a group per case, the median SUB in one panel and the slowest in the
    // other (the topics case: each SUB gets its quarter).
    let have = d.cases("pubsub");
    let cases: Vec<(String, String)> = PUBSUB_CASES
        .iter()
        .filter(|(c, _, _)| have.iter().any(|h| h == c))
        .map(|&(c, size, topics)| {
            let who = if topics == 0 {
                "all subscribed".to_string()
            } else {
                format!("{topics} topics, 1 each")
            };
            (c.to_string(), format!("{}, {who}", size_label(size)))
        })
        .collect();
    if !cases.is_empty() {
        let panel = |metric: &'static str, which: &str| {
            let points = cases
                .iter()
                .map(|(c, l)| (c.clone(), metric, l.clone()))
                .collect();
            d.panel(
                "pubsub",
                points,
                PanelSpec {
                    heading: format!(
                        "pubsub cell: messages per second received by the {which} SUB; higher \
                         is better"
                    ),
                    unit: "msgs/s",
                    higher_better: true,
                    scale: Scale::Auto,
                },
            )
        };
        out.push((
            "chart-pubsub".into(),
            Figure {
                title: format!("PUB → {PUBSUB_SUBS} SUB processes over TCP"),
                panels: vec![
                    panel("msgs_per_s_median", "median"),
                    panel("msgs_per_s_min", "slowest"),
                ],
            },
        ));
    }
    // Memory: a group per number of idle connections (mem) or clients (brokermem).
    let brokermem_title = format!(
        "Broker memory: one broker, {BROKERMEM_WORKERS} libzmq echo workers, N idle DEALER clients"
    );
    for (cell, metric, title, heading) in [
        (
            "mem",
            "bytes_per_conn",
            "Memory: one ROUTER process holding N idle connections",
            "mem cell: bytes of RSS per idle connection; lower is better",
        ),
        (
            "brokermem",
            "bytes_per_client",
            brokermem_title.as_str(),
            "brokermem cell: bytes of the broker's RSS per idle client; lower is better",
        ),
    ] {
        let ns = d.sizes(cell);
        if ns.is_empty() {
            continue;
        }
        let points = ns
            .iter()
            .map(|n| (n.to_string(), metric, format!("N = {n}")))
            .collect();
        let p = d.panel(
            cell,
            points,
            PanelSpec {
                heading: heading.into(),
                unit: "bytes",
                higher_better: false,
                scale: Scale::Auto,
            },
        );
        out.push((
            format!("chart-{cell}"),
            Figure {
                title: title.into(),
                panels: vec![p],
            },
        ));
    }
    out.retain(|(_, f)| f.panels.iter().any(|p| !p.series.is_empty()));
    out
}

/// Writes every chart of `samples` into `dir`; returns the files written.
pub fn write_all(dir: &Path, samples: &[Sample], meta: &Meta) -> Result<Vec<PathBuf>, String> {
    let d = Data::new(samples);
    let figs = figures(&d);
    if figs.is_empty() {
        return Ok(Vec::new());
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let suffix = if meta.mode == "full" {
        String::new()
    } else {
        format!("-{}", meta.mode)
    };
    let mut files = Vec::new();
    for (stem, fig) in figs {
        let path = dir.join(format!("{stem}{suffix}.svg"));
        std::fs::write(&path, fig.svg(meta))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        files.push(path);
    }
    Ok(files)
}

// ------------------------------------------------------------------ drawing

#[derive(Debug, Clone, Copy, PartialEq)]
enum Scale {
    Log,
    /// Log when the values span more than a factor of 25, else linear from 0.
    Auto,
}

struct Panel {
    heading: String,
    /// The value axis' title.
    unit: &'static str,
    /// One per group of bars (message size, percentile, case).
    groups: Vec<String>,
    /// (implementation, its value in each group).
    series: Vec<(String, Vec<Option<f64>>)>,
    higher_better: bool,
    scale: Scale,
}

struct Figure {
    title: String,
    panels: Vec<Panel>,
}

/// Ours (the zmtp crate with its plain calls): highlighted in every chart.
const OURS: &str = "ours";

fn colour(imp: &str) -> &'static str {
    match imp {
        "ours" => "#e8590c",
        "ours-batch" => "#ffa94d",
        "ours-lossy" => "#fcc419",
        "ours-proxy" => "#ffd8a8",
        "raw" | "mpsc" => "#adb5bd",
        "libzmq" => "#4e79a7",
        "zmqrs" => "#59a14f",
        "omq" => "#b07aa1",
        "rzmq" => "#76b7b2",
        "rzmq-uring" => "#3d8c87",
        other => {
            // Anything new gets a muted colour of its own, the same in every chart.
            const MORE: &[&str] = &["#9c755f", "#edc948", "#d37295", "#8cd17d", "#bab0ac"];
            let h = other
                .bytes()
                .fold(0usize, |h, b| h.wrapping_mul(31) + b as usize);
            MORE[h % MORE.len()]
        }
    }
}

fn legend_label(imp: &str, cell_is_inproc: bool) -> String {
    match imp {
        "ours" => "ours (zmtp)".into(),
        "ours-batch" => "ours, batch calls".into(),
        "ours-shared" => "ours, shared payload (no copy)".into(),
        "ours-lossy" => "ours --proxy (lossy)".into(),
        "ours-proxy" => "ours-proxy (two-task zmtp proxy)".into(),
        "raw" if !cell_is_inproc => "raw socket (ceiling)".into(),
        "mpsc" => "tokio mpsc (ceiling)".into(),
        other => other.into(),
    }
}

/// Not "others" in the ratio under each group: the ceilings and ours in its other modes.
fn is_other(imp: &str) -> bool {
    !(imp.starts_with("ours") || imp == "raw" || imp == INPROC_CEILING)
}

/// ours ÷ the best other in group `g`, and the best other's name.
fn ours_vs_best(p: &Panel, g: usize) -> Option<(f64, &str)> {
    let ours_name = if p.series.iter().any(|(i, _)| i == OURS) {
        OURS
    } else {
        // The broker cell without our broker binary: the report's ratios use ours-proxy.
        p.series
            .iter()
            .map(|(i, _)| i.as_str())
            .find(|i| i.starts_with("ours"))?
    };
    let ours = p.series.iter().find(|(i, _)| i == ours_name)?.1[g]?;
    let best = p
        .series
        .iter()
        .filter(|(i, _)| is_other(i))
        .filter_map(|(i, v)| Some((i.as_str(), v[g]?)))
        .fold(None::<(&str, f64)>, |acc, (i, v)| match acc {
            Some((_, b)) if (p.higher_better && v <= b) || (!p.higher_better && v >= b) => acc,
            _ => Some((i, v)),
        })?;
    (best.1 != 0.0).then(|| (ours / best.1, best.0))
}

/// The value axis: `lo..hi` in log10 units when `log`.
#[derive(Debug, Clone, Copy)]
struct Axis {
    log: bool,
    lo: f64,
    hi: f64,
}

/// The highest bar ends at this fraction of the plot's height (room for its label above).
const TOP: f64 = 0.82;

impl Axis {
    fn new(values: &[f64], scale: Scale) -> Axis {
        let pos: Vec<f64> = values
            .iter()
            .copied()
            .filter(|v| *v > 0.0 && v.is_finite())
            .collect();
        let max = pos.iter().copied().fold(0.0, f64::max);
        let min = pos.iter().copied().fold(f64::INFINITY, f64::min);
        if max <= 0.0 {
            return Axis {
                log: false,
                lo: 0.0,
                hi: 1.0,
            };
        }
        let log = match scale {
            Scale::Log => true,
            Scale::Auto => max / min > 25.0,
        };
        if log {
            let mut lo = min.log10().floor();
            // The smallest bar gets some height even when it sits on a power of ten.
            if min.log10() - lo < 0.15 {
                lo -= 1.0;
            }
            Axis {
                log,
                lo,
                hi: lo + (max.log10() - lo) / TOP,
            }
        } else {
            Axis {
                log,
                lo: 0.0,
                hi: max / TOP,
            }
        }
    }

    /// Where `v` falls, 0 at the bottom to 1 at the top.
    fn frac(&self, v: f64) -> f64 {
        let t = if self.log { v.log10() } else { v };
        ((t - self.lo) / (self.hi - self.lo)).clamp(0.0, 1.0)
    }

    /// (value, labelled) of the grid lines: powers of ten (and 2x, 5x unlabelled) on a log
    /// axis, steps of 1, 2 or 5 x 10^k on a linear one.
    fn ticks(&self) -> Vec<(f64, bool)> {
        let mut t = Vec::new();
        if self.log {
            let decades = (self.hi.floor() - self.lo) as i32;
            let every = if decades > 7 { 2 } else { 1 };
            let mut k = self.lo as i32;
            while f64::from(k) <= self.hi {
                let p = 10f64.powi(k);
                t.push((p, (k - self.lo as i32) % every == 0));
                for m in [2.0, 5.0] {
                    if (p * m).log10() <= self.hi {
                        t.push((p * m, false));
                    }
                }
                k += 1;
            }
        } else {
            let step = nice_step(self.hi / 5.0);
            let mut v = 0.0;
            while v <= self.hi * (1.0 + 1e-9) {
                t.push((v, true));
                v += step;
            }
        }
        t
    }
}

fn nice_step(x: f64) -> f64 {
    let p = 10f64.powf(x.log10().floor());
    let m = x / p;
    // The nearest of 1, 2, 5, 10: five or so lines over the axis.
    p * if m < 1.5 {
        1.0
    } else if m < 3.5 {
        2.0
    } else if m < 7.5 {
        5.0
    } else {
        10.0
    }
}

/// An axis label: 1, 20, 500, 1k, 2.5k, 10M.
fn si(v: f64) -> String {
    let (x, suf) = if v >= 1e9 {
        (v / 1e9, "G")
    } else if v >= 1e6 {
        (v / 1e6, "M")
    } else if v >= 1e3 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    let s = format!("{x:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s}{suf}")
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// About the width of `s` at font size `px`, from DejaVu Sans' advance widths (the widest of
/// the fonts asked for) by class of character, in em.
fn text_w(s: &str, px: f64) -> f64 {
    let em: f64 = s
        .chars()
        .map(|c| match c {
            ' ' | 'i' | 'l' | 'j' | '(' | ')' | '-' | '.' | ',' | ':' | '|' | '/' => 0.33,
            'f' | 't' | 'r' => 0.41,
            'm' | 'w' | 'M' | 'W' | '×' => 0.86,
            'A'..='Z' => 0.72,
            '0'..='9' => 0.64,
            _ => 0.6,
        })
        .sum();
    em * px
}

const FONT: &str = "DejaVu Sans, Helvetica, Arial, sans-serif";
const LEFT: f64 = 78.0;
const RIGHT: f64 = 24.0;
const MIN_W: f64 = 760.0;
const PLOT_H: f64 = 280.0;
const GAP: f64 = 30.0;

impl Figure {
    fn svg(&self, meta: &Meta) -> String {
        let inproc = self.title.contains("inproc");
        // Width: every panel's groups side by side, bars at least 16 px wide (room for a
        // vertical label) and each group as wide as its label.
        let need = self
            .panels
            .iter()
            .map(|p| {
                let bars = p.series.len().max(1) as f64 * 16.0 + GAP;
                let label = p
                    .groups
                    .iter()
                    .map(|g| text_w(g, 12.0) + 20.0)
                    .fold(0.0, f64::max);
                p.groups.len() as f64 * bars.max(label)
            })
            .fold(0.0, f64::max);
        // Bold: a little wider.
        let title_w = text_w(&self.title, 17.0) * 1.15;
        let w = (LEFT + need.max(title_w) + RIGHT).max(MIN_W).ceil();

        // The legend: every implementation of any panel, in order, wrapped.
        let mut legend: Vec<&str> = Vec::new();
        for p in &self.panels {
            for (i, _) in &p.series {
                if !legend.contains(&i.as_str()) {
                    legend.push(i);
                }
            }
        }
        let mut items = Vec::new(); // (x, row, imp)
        let (mut x, mut row) = (LEFT, 0usize);
        for imp in &legend {
            let iw = 14.0 + 5.0 + text_w(&legend_label(imp, inproc), 12.0) * 1.1 + 16.0;
            if x + iw > w - RIGHT && x > LEFT {
                x = LEFT;
                row += 1;
            }
            items.push((x, row, *imp));
            x += iw;
        }
        let legend_y = 94.0;
        let panels_y = legend_y + (row as f64 + 1.0) * 20.0 + 8.0;
        let panel_h = 26.0 + PLOT_H + 50.0;
        let h = panels_y + panel_h * self.panels.len() as f64 + 40.0;

        let mut s = String::new();
        let _ = writeln!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="{FONT}">"#
        );
        let _ = writeln!(s, r##"<rect width="{w}" height="{h}" fill="#ffffff"/>"##);
        let _ = writeln!(
            s,
            r##"<text x="{LEFT}" y="28" font-size="17" font-weight="bold" fill="#212529">{}</text>"##,
            esc(&self.title)
        );
        let rounds = if meta.rounds == 1 {
            "1 round".to_string()
        } else {
            format!("{} rounds", meta.rounds)
        };
        let mode = if meta.mode == "full" {
            String::new()
        } else {
            format!(", {} mode", meta.mode)
        };
        let _ = writeln!(
            s,
            r##"<text x="{LEFT}" y="48" font-size="12" fill="#495057">Medians of {rounds}{mode}; ours = zmtp at {}</text>"##,
            esc(&meta.rev)
        );
        let _ = writeln!(
            s,
            r##"<text x="{LEFT}" y="64" font-size="12" fill="#495057">Machine: {}</text>"##,
            esc(&meta.machine)
        );
        for (x, row, imp) in items {
            let y = legend_y + row as f64 * 20.0;
            let (stroke, weight) = if imp == OURS {
                (r##" stroke="#212529" stroke-width="1.5""##, "bold")
            } else {
                ("", "normal")
            };
            let _ = writeln!(
                s,
                r#"<rect x="{x}" y="{}" width="14" height="14" fill="{}"{stroke}/>"#,
                y - 11.0,
                colour(imp)
            );
            let _ = writeln!(
                s,
                r##"<text x="{}" y="{y}" font-size="12" font-weight="{weight}" fill="#212529">{}</text>"##,
                x + 19.0,
                esc(&legend_label(imp, inproc))
            );
        }
        for (k, p) in self.panels.iter().enumerate() {
            p.draw(&mut s, w, panels_y + k as f64 * panel_h);
        }
        let _ = writeln!(
            s,
            r##"<text x="{LEFT}" y="{}" font-size="11" fill="#868e96">Under each group: ours ÷ the best other (not a ceiling, not ours in another mode).</text>"##,
            h - 22.0
        );
        let _ = writeln!(
            s,
            r##"<text x="{LEFT}" y="{}" font-size="11" fill="#868e96">Written by zbench from its samples; the method and the tables: BENCHMARKS.md.</text>"##,
            h - 8.0
        );
        s.push_str("</svg>\n");
        s
    }
}

impl Panel {
    fn draw(&self, s: &mut String, w: f64, y0: f64) {
        let _ = writeln!(
            s,
            r##"<text x="{LEFT}" y="{}" font-size="13" font-weight="bold" fill="#343a40">{}</text>"##,
            y0 + 16.0,
            esc(&self.heading)
        );
        let (top, bottom) = (y0 + 26.0, y0 + 26.0 + PLOT_H);
        let plot_w = w - LEFT - RIGHT;
        let values: Vec<f64> = self
            .series
            .iter()
            .flat_map(|(_, v)| v.iter().flatten().copied())
            .collect();
        let axis = Axis::new(&values, self.scale);
        let y_of = |v: f64| bottom - axis.frac(v) * PLOT_H;
        for (v, labelled) in axis.ticks() {
            let y = y_of(v);
            let c = if labelled { "#ced4da" } else { "#f1f3f5" };
            let _ = writeln!(
                s,
                r#"<line x1="{LEFT}" y1="{y:.1}" x2="{}" y2="{y:.1}" stroke="{c}" stroke-width="1"/>"#,
                w - RIGHT
            );
            if labelled {
                let _ = writeln!(
                    s,
                    r##"<text x="{}" y="{:.1}" font-size="11" fill="#495057" text-anchor="end">{}</text>"##,
                    LEFT - 6.0,
                    y + 4.0,
                    si(v)
                );
            }
        }
        let scale = if axis.log { ", log scale" } else { "" };
        let _ = writeln!(
            s,
            r##"<text transform="translate(16,{:.1}) rotate(-90)" font-size="12" fill="#495057" text-anchor="middle">{}{scale}</text>"##,
            (top + bottom) / 2.0,
            esc(self.unit)
        );
        let n = self.series.len().max(1) as f64;
        let group_w = plot_w / self.groups.len().max(1) as f64;
        let bar_w = ((group_w - GAP) / n).clamp(4.0, 30.0);
        for (g, label) in self.groups.iter().enumerate() {
            let cx = LEFT + group_w * (g as f64 + 0.5);
            let x0 = cx - bar_w * n / 2.0;
            for (k, (imp, vals)) in self.series.iter().enumerate() {
                let x = x0 + bar_w * k as f64;
                let bx = x + 1.0;
                let bw = bar_w - 2.0;
                let ours = imp == OURS;
                let weight = if ours { "bold" } else { "normal" };
                let (text, ty) = match vals[g] {
                    Some(v) if v > 0.0 || !axis.log => {
                        let y = y_of(v);
                        let stroke = if ours {
                            r##" stroke="#212529" stroke-width="1.5""##
                        } else {
                            ""
                        };
                        let _ = writeln!(
                            s,
                            r#"<rect x="{bx:.1}" y="{y:.1}" width="{bw:.1}" height="{:.1}" fill="{}"{stroke}><title>{}: {}</title></rect>"#,
                            (bottom - y).max(0.0),
                            colour(imp),
                            esc(imp),
                            fmt(v)
                        );
                        (fmt(v), y)
                    }
                    Some(v) => (fmt(v), bottom),
                    None => ("n/a".to_string(), bottom),
                };
                let tx = x + bar_w / 2.0;
                if text_w(&text, 10.0) <= bar_w - 2.0 {
                    let _ = writeln!(
                        s,
                        r##"<text x="{tx:.1}" y="{:.1}" font-size="10" font-weight="{weight}" fill="#212529" text-anchor="middle">{}</text>"##,
                        ty - 4.0,
                        esc(&text)
                    );
                } else {
                    let _ = writeln!(
                        s,
                        r##"<text transform="translate({:.1},{:.1}) rotate(-90)" font-size="10" font-weight="{weight}" fill="#212529">{}</text>"##,
                        tx + 3.5,
                        ty - 4.0,
                        esc(&text)
                    );
                }
            }
            let _ = writeln!(
                s,
                r##"<text x="{cx:.1}" y="{:.1}" font-size="12" fill="#212529" text-anchor="middle">{}</text>"##,
                bottom + 17.0,
                esc(label)
            );
            if let Some((r, best)) = ours_vs_best(self, g) {
                let _ = writeln!(
                    s,
                    r##"<text x="{cx:.1}" y="{:.1}" font-size="11" fill="#c2410c" text-anchor="middle">ours {r:.2}× {}</text>"##,
                    bottom + 33.0,
                    esc(best)
                );
            }
        }
        let _ = writeln!(
            s,
            r##"<line x1="{LEFT}" y1="{bottom}" x2="{}" y2="{bottom}" stroke="#495057" stroke-width="1"/>"##,
            w - RIGHT
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(cell: &str, case: &str, imp: &str, metric: &str, value: f64) -> Sample {
        Sample {
            cell: cell.into(),
            case: case.into(),
            imp: imp.into(),
            metric: metric.into(),
            value,
        }
    }

    fn meta() -> Meta {
        Meta {
            rev: "abc1234567".into(),
            machine: "2 CPUs, Test CPU".into(),
            rounds: 3,
            mode: "full".into(),
        }
    }

    /// The thr cell's 16 B figures of BENCHMARKS.md's full run, over three rounds.
    fn thr_samples() -> Vec<Sample> {
        let mut v = Vec::new();
        for (imp, x) in [
            ("raw", 70.7e6),
            ("libzmq", 6.22e6),
            ("ours", 8.31e6),
            ("ours-batch", 11.5e6),
            ("zmqrs", 1.19e6),
        ] {
            for r in [0.9, 1.0, 1.1] {
                v.push(sample("thr", "16", imp, "msgs_per_s", x * r));
            }
        }
        v.push(sample("thr", "65536", "libzmq", "msgs_per_s", 34.0e3));
        v.push(sample("thr", "65536", "ours", "msgs_per_s", 47.4e3));
        v
    }

    #[test]
    fn log_axis_puts_the_highest_bar_at_top_and_decades_on_the_grid() {
        let a = Axis::new(&[2.0e3, 7.0e7], Scale::Log);
        assert!(a.log);
        assert_eq!(a.lo, 3.0);
        assert!((a.frac(7.0e7) - TOP).abs() < 1e-9);
        assert!((a.frac(1.0e5) - (5.0 - 3.0) / (a.hi - a.lo)).abs() < 1e-9);
        let labelled: Vec<String> = a
            .ticks()
            .into_iter()
            .filter(|t| t.1)
            .map(|t| si(t.0))
            .collect();
        assert_eq!(labelled, ["1k", "10k", "100k", "1M", "10M", "100M"]);
        // A minimum on a power of ten still gets a visible bar.
        let b = Axis::new(&[1000.0, 5000.0], Scale::Log);
        assert!(b.frac(1000.0) > 0.1);
    }

    #[test]
    fn auto_scale_is_linear_from_zero_for_close_values() {
        let a = Axis::new(&[40.0, 60.0, 90.0], Scale::Auto);
        assert!(!a.log);
        assert_eq!(a.frac(0.0), 0.0);
        let t: Vec<f64> = a.ticks().into_iter().map(|t| t.0).collect();
        assert_eq!(t, [0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
        assert!(Axis::new(&[10.0, 900.0], Scale::Auto).log);
    }

    #[test]
    fn ratio_is_against_the_best_other_not_the_ceiling_or_our_batch_mode() {
        let d = Data::new(&thr_samples());
        let figs = figures(&d);
        let (_, f) = figs
            .iter()
            .find(|(n, _)| n == "chart-thr")
            .expect("a thr chart");
        let p = &f.panels[0];
        assert_eq!(p.groups, ["16 B", "64 KiB"]);
        let names: Vec<&str> = p.series.iter().map(|s| s.0.as_str()).collect();
        assert_eq!(names, ["raw", "libzmq", "ours", "ours-batch", "zmqrs"]);
        let (r, best) = ours_vs_best(p, 0).expect("a ratio");
        assert_eq!(best, "libzmq");
        assert!((r - 8.31 / 6.22).abs() < 1e-9, "{r}");
        // Lower is better: the best other is the lowest.
        let lat = Panel {
            heading: String::new(),
            unit: "µs",
            groups: vec!["p50".into()],
            series: vec![
                ("raw".into(), vec![Some(10.0)]),
                ("libzmq".into(), vec![Some(50.0)]),
                ("ours".into(), vec![Some(30.0)]),
                ("omq".into(), vec![Some(40.0)]),
            ],
            higher_better: false,
            scale: Scale::Auto,
        };
        assert_eq!(ours_vs_best(&lat, 0), Some((0.75, "omq")));
    }

    #[test]
    fn svg_has_a_labelled_bar_per_value_ours_outlined_and_the_run_described() {
        let mut v = thr_samples();
        v.push(sample("lat", "64", "ours", "p50_us", 21.0));
        v.push(sample("lat", "64", "ours", "p99_us", 40.0));
        v.push(sample("lat", "64", "libzmq", "p50_us", 25.0));
        let d = Data::new(&v);
        let figs = figures(&d);
        let stems: Vec<&str> = figs.iter().map(|f| f.0.as_str()).collect();
        assert_eq!(stems, ["chart-thr", "chart-lat"]);
        let svg = figs[0].1.svg(&meta());
        // Medians over the rounds, labelled as the report formats them.
        for label in [
            "70.7M", "6.22M", "8.31M", "11.5M", "1.19M", "47.4k", "34.0k",
        ] {
            assert!(svg.contains(&format!(">{label}</text>")), "{label}");
        }
        assert_eq!(
            svg.matches("<rect x=").count(),
            7 + 5,
            "7 bars, 5 legend swatches"
        );
        assert_eq!(svg.matches(r##"stroke="#212529""##).count(), 2 + 1);
        // 64 KiB: three implementations ran nothing there.
        assert_eq!(svg.matches(">n/a</text>").count(), 3);
        assert!(svg.contains("ours 1.34× libzmq"));
        assert!(svg.contains("ours 1.39× libzmq"));
        assert!(svg.contains("higher is better"));
        assert!(svg.contains("msgs/s, log scale"));
        assert!(svg.contains("Medians of 3 rounds; ours = zmtp at abc1234567"));
        assert!(svg.contains("Machine: 2 CPUs, Test CPU"));
        let lat = figs[1].1.svg(&meta());
        assert!(lat.contains("lower is better"));
        assert!(lat.contains("ours 0.84× libzmq"));
        // p99.9: nobody has it; p99 only ours, so no ratio there.
        assert_eq!(lat.matches(">n/a</text>").count(), 3);
        assert_eq!(
            lat.matches("ours 0.").count() + lat.matches("ours 1.").count(),
            1
        );
    }

    #[test]
    fn tsv_round_trip_and_errors_name_the_line() {
        let t = "round\tcell\tcase\timpl\tmetric\tvalue\n\
                 1\tthr\t16\tours\tmsgs_per_s\t8000000\n\
                 2\tthr\t16\tours\tmsgs_per_s\t9000000\n";
        let (s, rounds) = parse_tsv(t).expect("parses");
        assert_eq!((s.len(), rounds), (2, 2));
        assert_eq!(s[1].value, 9e6);
        let bad = format!("{t}3\tthr\t16\tours\tmsgs_per_s\n");
        assert_eq!(parse_tsv(&bad).unwrap_err(), "line 4: 5 fields, not 6");
        let bad = format!("{t}3\tthr\t16\tours\tmsgs_per_s\tfast\n");
        assert!(parse_tsv(&bad).unwrap_err().starts_with("line 4: value"));
        assert!(parse_tsv("x\n").is_err());
        let r = "Command: `zbench` (mode full, 5 round(s), medians over rounds; ours = zmtp at \
                 e5562780c2)\n\nMachine: 2 CPUs, Xeon\n";
        assert_eq!(report_rev(r).as_deref(), Some("e5562780c2"));
        assert_eq!(report_machine(r).as_deref(), Some("2 CPUs, Xeon"));
    }

    #[test]
    fn every_cell_has_its_charts() {
        let mut v = Vec::new();
        let mut add = |cell: &str, case: &str, metric: &str| {
            v.push(sample(cell, case, "ours", metric, 2.0));
            v.push(sample(cell, case, "libzmq", metric, 1.0));
        };
        for cell in ["thr", "push", "ipc", "inproc", "curve"] {
            add(cell, "16", "msgs_per_s");
        }
        for (cell, case) in [
            ("lat", "64"),
            ("reqrep", "64"),
            ("ipc", "lat-64"),
            ("curve", "lat-64"),
        ] {
            add(cell, case, "p50_us");
        }
        add("broker", "4x100", "req_per_s");
        add("brokermem", "10000", "bytes_per_client");
        add("mem", "1000", "bytes_per_conn");
        add("pubsub", "16-topics", "msgs_per_s_median");
        let figs = figures(&Data::new(&v));
        let stems: Vec<&str> = figs.iter().map(|f| f.0.as_str()).collect();
        assert_eq!(
            stems,
            [
                "chart-thr",
                "chart-push",
                "chart-ipc",
                "chart-inproc",
                "chart-curve",
                "chart-lat",
                "chart-reqrep",
                "chart-ipc-lat",
                "chart-curve-lat",
                "chart-broker",
                "chart-pubsub",
                "chart-mem",
                "chart-brokermem",
            ]
        );
        let pubsub = &figs[10].1.panels[0];
        assert_eq!(pubsub.groups, ["16 B, 4 topics, 1 each"]);
        let dir = std::env::temp_dir().join(format!("zbench-chart-{}", std::process::id()));
        let mut m = meta();
        m.mode = "quick".into();
        let files = write_all(&dir, &v, &m).expect("charts written");
        assert_eq!(files.len(), 13);
        assert!(files.iter().all(|f| f
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.ends_with("-quick.svg"))));
        std::fs::remove_dir_all(&dir).expect("temp dir removed");
    }

    #[test]
    fn broker_cases_in_the_cells_order_with_readable_labels() {
        let mut v = Vec::new();
        for case in ["4x100-64w", "1x1", "4x100"] {
            v.push(sample("broker", case, "ours", "req_per_s", 1e5));
            v.push(sample("broker", case, "libzmq", "req_per_s", 9e4));
            v.push(sample("broker", case, "libzmq", "p99_us", 300.0));
        }
        let figs = figures(&Data::new(&v));
        let p = &figs[0].1.panels;
        assert_eq!(
            p[0].groups,
            [
                "4 clients × window 100",
                "1 client × window 1",
                "4 clients × window 100, 64 workers"
            ]
        );
        assert_eq!(p[1].series.len(), 1, "only libzmq has p99");
    }
}
