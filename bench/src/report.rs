//! Medians over rounds and the Markdown tables with ratios.

use std::collections::BTreeMap;

use crate::orchestrate::{base, broker_case, is_in, Cfg, Sample, BROKER_CASES};

pub fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// Three significant digits, with k/M suffixes for big numbers.
pub fn fmt(x: f64) -> String {
    let (v, suf) = if x.abs() >= 1e6 {
        (x / 1e6, "M")
    } else if x.abs() >= 1e4 {
        (x / 1e3, "k")
    } else {
        (x, "")
    };
    let digits = if v.abs() >= 100.0 {
        0
    } else if v.abs() >= 10.0 {
        1
    } else {
        2
    };
    format!("{v:.digits$}{suf}")
}

struct Medians(BTreeMap<(String, String, String, String), (f64, usize)>);

impl Medians {
    fn new(samples: &[Sample]) -> Self {
        let mut g: BTreeMap<(String, String, String, String), Vec<f64>> = BTreeMap::new();
        for s in samples {
            g.entry((
                s.cell.clone(),
                s.case.clone(),
                s.metric.clone(),
                s.imp.clone(),
            ))
            .or_default()
            .push(s.value);
        }
        Medians(
            g.into_iter()
                .map(|(k, v)| {
                    let n = v.len();
                    (k, (median(v).unwrap(), n))
                })
                .collect(),
        )
    }
    fn get(&self, cell: &str, case: &str, metric: &str, imp: &str) -> Option<f64> {
        self.0
            .get(&(cell.into(), case.into(), metric.into(), imp.into()))
            .map(|x| x.0)
    }
}

struct Row<'a> {
    label: String,
    cell: &'a str,
    case: String,
    metric: &'a str,
    higher_better: bool,
}

fn table(
    out: &mut String,
    m: &Medians,
    cols: &[String],
    ours: &str,
    others_exclude: &[&str],
    rows: &[Row<'_>],
) {
    table_ceil(out, m, cols, ours, others_exclude, rows, "raw");
}

/// As [`table`], with the ceiling column `ceil` (raw TCP in most cells; the inproc cell's
/// `mpsc`): an `ours/{ceil}` ratio if that column is there.
fn table_ceil(
    out: &mut String,
    m: &Medians,
    cols: &[String],
    ours: &str,
    others_exclude: &[&str],
    rows: &[Row<'_>],
    ceil: &str,
) {
    let has_raw = cols.iter().any(|c| c == ceil);
    let has_libzmq = cols.iter().any(|c| c == "libzmq");
    let mut head = vec!["".to_string()];
    head.extend(cols.iter().cloned());
    head.push("best other".into());
    head.push("ours/best".into());
    if has_libzmq {
        head.push("ours/libzmq".into());
    }
    if has_raw {
        head.push(format!("ours/{ceil}"));
    }
    out.push_str(&format!("| {} |\n", head.join(" | ")));
    out.push_str(&format!("|{}\n", "---|".repeat(head.len())));
    for r in rows {
        let vals: Vec<Option<f64>> = cols
            .iter()
            .map(|c| m.get(r.cell, &r.case, r.metric, c))
            .collect();
        let mut line = vec![r.label.clone()];
        line.extend(vals.iter().map(|v| v.map_or("–".into(), fmt)));
        let best = cols
            .iter()
            .zip(&vals)
            .filter(|(c, _)| *c != ours && !others_exclude.contains(&c.as_str()))
            .filter_map(|(c, v)| v.map(|v| (c, v)))
            .fold(None::<(&String, f64)>, |acc, (c, v)| match acc {
                None => Some((c, v)),
                Some((_, b)) if (r.higher_better && v > b) || (!r.higher_better && v < b) => {
                    Some((c, v))
                }
                a => a,
            });
        let o = m.get(r.cell, &r.case, r.metric, ours);
        let ratio = |d: Option<f64>| match (o, d) {
            (Some(o), Some(d)) if d != 0.0 => format!("{:.2}", o / d),
            _ => "–".into(),
        };
        line.push(best.map_or("–".into(), |(c, v)| format!("{} ({c})", fmt(v))));
        line.push(ratio(best.map(|b| b.1)));
        if has_libzmq {
            line.push(ratio(m.get(r.cell, &r.case, r.metric, "libzmq")));
        }
        if has_raw {
            line.push(ratio(m.get(r.cell, &r.case, r.metric, ceil)));
        }
        out.push_str(&format!("| {} |\n", line.join(" | ")));
    }
    out.push('\n');
}

fn size_label(n: usize) -> String {
    if n >= 1 << 20 {
        format!("{} MiB", n >> 20)
    } else if n >= 1024 {
        format!("{} KiB", n >> 10)
    } else {
        format!("{n} B")
    }
}

/// One row per message size of a cell's throughput runs, for `metric` (higher is better).
fn size_rows(cell: &'static str, sizes: &[usize], metric: &'static str) -> Vec<Row<'static>> {
    sizes
        .iter()
        .map(|&z| Row {
            label: size_label(z),
            cell,
            case: z.to_string(),
            metric,
            higher_better: true,
        })
        .collect()
}

/// The CPU rows of a cell's 16 B throughput runs: sender + receiver, sender, receiver.
fn cpu_rows(cell: &'static str) -> Vec<Row<'static>> {
    [
        ("sender + receiver", "cpu_total_s_per_M"),
        ("sender", "cpu_send_s_per_M"),
        ("receiver", "cpu_recv_s_per_M"),
    ]
    .iter()
    .map(|(l, k)| Row {
        label: l.to_string(),
        cell,
        case: "16".into(),
        metric: k,
        higher_better: false,
    })
    .collect()
}

/// The latency rows of a cell's echo runs (`case`): p50, p99, p99.9, mean.
fn lat_rows(cell: &'static str, case: &str) -> Vec<Row<'static>> {
    [
        ("p50", "p50_us"),
        ("p99", "p99_us"),
        ("p99.9", "p999_us"),
        ("mean", "mean_us"),
    ]
    .iter()
    .map(|(l, k)| Row {
        label: l.to_string(),
        cell,
        case: case.to_string(),
        metric: k,
        higher_better: false,
    })
    .collect()
}

/// Our broker columns: never counted as an "other" in the broker cells.
const OUR_BROKERS: &[&str] = &["ours-proxy", "ours-lossy", "ours"];

/// The column a broker cell's ratios use: our broker binary (`ours`) if it ran, else the
/// two-task zmtp proxy.
fn ours_broker(samples: &[Sample], cell: &str) -> &'static str {
    if samples.iter().any(|s| s.cell == cell && s.imp == "ours") {
        "ours"
    } else {
        "ours-proxy"
    }
}

pub fn render(cfg: &Cfg, samples: &[Sample], failures: &[String], loads: &[String]) -> String {
    let m = Medians::new(samples);
    let mut o = String::new();
    o.push_str(&format!(
        "Command: `{}` (mode {}, {} round(s), medians over rounds; ours = zmtp at {})\n\n",
        cfg.command, cfg.mode, cfg.rounds, cfg.ours_rev
    ));
    o.push_str(&format!("Machine: {}\n\n", crate::chart::machine()));
    crate::chart::after_run(cfg, samples);
    o.push_str(&format!(
        "1-minute load average at the start of each round and at the end: {} (2 CPUs; \
         anything well above the benchmark's own ~2 means other work competed for the cores)\n\n",
        loads.join(", ")
    ));
    let impls: Vec<String> = cfg.impls.clone();
    // Columns outside the throughput cell: without the throughput-only implementations.
    let p2p: Vec<String> = impls
        .iter()
        .filter(|i| !is_in(crate::orchestrate::THR_ONLY, i))
        .cloned()
        .collect();
    // Never "others": raw TCP, ours with the batch calls, ours with a shared payload.
    let not_others: &[&str] = &["raw", "ours-batch", "ours-shared"];
    let have = |cell: &str| samples.iter().any(|s| s.cell == cell);

    if have("thr") {
        o.push_str("### Throughput, DEALER → ROUTER, one-way (msgs/s; higher is better)\n\n");
        let rows = size_rows("thr", &cfg.sizes, "msgs_per_s");
        table(&mut o, &m, &impls, "ours", not_others, &rows);
        o.push_str("### Throughput (MB/s of payload, 10^6 B; higher is better)\n\n");
        let rows = size_rows("thr", &cfg.sizes, "mb_per_s");
        table(&mut o, &m, &impls, "ours", not_others, &rows);
        if cfg.sizes.contains(&16) {
            o.push_str(
                "### CPU, 16 B throughput (user+sys CPU seconds per million messages; lower is better)\n\n",
            );
            let rows = cpu_rows("thr");
            table(&mut o, &m, &impls, "ours", not_others, &rows);
        }
    }
    if have("lat") {
        o.push_str(
            "### Round-trip latency, DEALER ↔ ROUTER echo, 64 B, one message in flight (µs; lower is better)\n\n",
        );
        let rows = lat_rows("lat", "64");
        table(&mut o, &m, &p2p, "ours", not_others, &rows);
    }
    if have("reqrep") {
        use crate::orchestrate::{NO_SOCKETS, REQREP_SIZE};
        let cols: Vec<String> = p2p
            .iter()
            .filter(|i| !is_in(NO_SOCKETS, i))
            .cloned()
            .collect();
        o.push_str(&format!(
            "### Round-trip latency, REQ ↔ REP, {REQREP_SIZE} B, one request in flight, every \
             reply checked (µs; lower is better)\n\n"
        ));
        let rows = lat_rows("reqrep", &REQREP_SIZE.to_string());
        table(&mut o, &m, &cols, "ours", not_others, &rows);
    }
    if have("broker") {
        let brokers: Vec<String> = cfg.brokers.clone();
        let ours = ours_broker(samples, "broker");
        o.push_str(&format!(
            "### Broker: libzmq clients → broker → libzmq echo workers (4 unless said), 64 B (ratios use \
             `{ours}`, the broker binary's default mode, which loses no request; `ours-lossy` is \
             the same binary with `--proxy` and `ours-proxy` a two-task zmtp proxy, both counted \
             as ours, not as others)\n\n"
        ));
        let mut rows = Vec::new();
        for &(c, w, n) in BROKER_CASES {
            let case = broker_case(c, w, n);
            let workers = if n == 4 {
                String::new()
            } else {
                format!(", {n} workers")
            };
            for (l, k, hb) in [
                ("req/s", "req_per_s", true),
                ("p50 µs", "p50_us", false),
                ("p99 µs", "p99_us", false),
                ("p99.9 µs", "p999_us", false),
                ("broker CPU s / M req", "broker_cpu_s_per_M", false),
            ] {
                rows.push(Row {
                    label: format!("{c} client(s) x window {w}{workers}: {l}"),
                    cell: "broker",
                    case: case.clone(),
                    metric: k,
                    higher_better: hb,
                });
            }
        }
        table(&mut o, &m, &brokers, ours, OUR_BROKERS, &rows);
    }
    if have("brokermem") {
        use crate::orchestrate::BROKERMEM_WORKERS;
        let brokers: Vec<String> = cfg.brokers.clone();
        let ours = ours_broker(samples, "brokermem");
        o.push_str(&format!(
            "### Broker memory: one broker process, {BROKERMEM_WORKERS} libzmq echo workers on \
             its backend, N idle DEALER clients on its frontend (VmRSS; lower is better; ratios \
             use `{ours}`; `ours-lossy` and `ours-proxy` count as ours, not as others)\n\n"
        ));
        let mut rows = Vec::new();
        for &n in &cfg.broker_clients {
            rows.push(Row {
                label: format!("N = {n}: bytes per client"),
                cell: "brokermem",
                case: n.to_string(),
                metric: "bytes_per_client",
                higher_better: false,
            });
            rows.push(Row {
                label: format!("N = {n}: broker RSS with N clients (MB)"),
                cell: "brokermem",
                case: n.to_string(),
                metric: "rss_loaded_mb",
                higher_better: false,
            });
            rows.push(Row {
                label: format!("N = {n}: broker file descriptors per client"),
                cell: "brokermem",
                case: n.to_string(),
                metric: "fds_per_client",
                higher_better: false,
            });
        }
        if let Some(&n) = cfg.broker_clients.first() {
            rows.push(Row {
                label: "broker RSS with its workers, no client (MB)".into(),
                cell: "brokermem",
                case: n.to_string(),
                metric: "rss_idle_mb",
                higher_better: false,
            });
        }
        table(&mut o, &m, &brokers, ours, OUR_BROKERS, &rows);
    }
    if have("mem") {
        let mi: Vec<String> = p2p.iter().filter(|i| base(i) != "raw").cloned().collect();
        o.push_str(
            "### Memory: one ROUTER process holding N idle connections (VmRSS; lower is better)\n\n",
        );
        let mut rows = Vec::new();
        for &n in &cfg.conns {
            rows.push(Row {
                label: format!("N = {n}: bytes per connection"),
                cell: "mem",
                case: n.to_string(),
                metric: "bytes_per_conn",
                higher_better: false,
            });
            rows.push(Row {
                label: format!("N = {n}: RSS with N conns (MB)"),
                cell: "mem",
                case: n.to_string(),
                metric: "rss_loaded_mb",
                higher_better: false,
            });
        }
        if let Some(&n) = cfg.conns.first() {
            rows.push(Row {
                label: "RSS idle, bound, no connection (MB)".into(),
                cell: "mem",
                case: n.to_string(),
                metric: "rss_idle_mb",
                higher_better: false,
            });
        }
        table(&mut o, &m, &mi, "ours", &[], &rows);
    }
    // The push and pubsub cells: every implementation with socket types (not raw TCP).
    let socks: Vec<String> = impls
        .iter()
        .filter(|i| !is_in(crate::orchestrate::NO_SOCKETS, i))
        .cloned()
        .collect();
    if have("push") {
        o.push_str("### Throughput, PUSH → PULL, one-way (msgs/s; higher is better)\n\n");
        let rows = |metric: &'static str| size_rows("push", &cfg.push_sizes, metric);
        table(&mut o, &m, &socks, "ours", not_others, &rows("msgs_per_s"));
        o.push_str("### Throughput, PUSH → PULL (MB/s of payload, 10^6 B; higher is better)\n\n");
        table(&mut o, &m, &socks, "ours", not_others, &rows("mb_per_s"));
        if cfg.push_sizes.contains(&16) {
            o.push_str(
                "### CPU, 16 B PUSH → PULL (user+sys CPU seconds per million messages; \
                 lower is better)\n\n",
            );
            let rows = cpu_rows("push");
            table(&mut o, &m, &socks, "ours", not_others, &rows);
        }
    }
    if have("pubsub") {
        use crate::orchestrate::{pubsub_count, PUBSUB_CASES, PUBSUB_SUBS};
        for &(case, size, topics) in PUBSUB_CASES {
            if !samples.iter().any(|s| s.cell == "pubsub" && s.case == case) {
                continue;
            }
            let count = pubsub_count(size, topics, cfg.scale);
            let who = if topics == 0 {
                "every SUB subscribed to everything".to_string()
            } else {
                format!(
                    "{topics} topics published in turn, SUB i subscribed to topic i only (each \
                     gets 1/{topics} of the messages: the PUB's filtering)"
                )
            };
            o.push_str(&format!(
                "### PUB → {PUBSUB_SUBS} SUB processes, {}, {who}, SNDHWM/RCVHWM {} ({count} \
                 messages published per run)\n\n",
                size_label(size),
                cfg.pub_hwm,
            ));
            let rows: Vec<Row> = [
                ("msgs/s per SUB, median of 4", "msgs_per_s_median", true),
                ("msgs/s per SUB, slowest of 4", "msgs_per_s_min", true),
                ("loss %, all SUBs", "loss_pct", false),
                ("loss %, worst SUB", "loss_pct_max", false),
                (
                    "publisher CPU s / M msgs published",
                    "pub_cpu_s_per_M",
                    false,
                ),
                (
                    "publisher CPU s / M msgs delivered (received by a SUB)",
                    "pub_cpu_s_per_M_delivered",
                    false,
                ),
                (
                    "SUB CPU s / M msgs received, median",
                    "sub_cpu_s_per_M",
                    false,
                ),
            ]
            .iter()
            .map(|&(l, k, hb)| Row {
                label: l.to_string(),
                cell: "pubsub",
                case: case.to_string(),
                metric: k,
                higher_better: hb,
            })
            .collect();
            table(&mut o, &m, &socks, "ours", not_others, &rows);
        }
    }
    if have("ipc") {
        let thr_rows = |metric: &'static str| size_rows("ipc", &cfg.ipc_sizes, metric);
        o.push_str(
            "### Throughput over ipc:// (Unix domain sockets), DEALER → ROUTER, one-way \
             (msgs/s; higher is better; raw = std UnixStream)\n\n",
        );
        let rows = thr_rows("msgs_per_s");
        table(&mut o, &m, &impls, "ours", not_others, &rows);
        o.push_str("### Throughput over ipc:// (MB/s of payload, 10^6 B; higher is better)\n\n");
        let rows = thr_rows("mb_per_s");
        table(&mut o, &m, &impls, "ours", not_others, &rows);
        if cfg.ipc_sizes.contains(&16) {
            o.push_str(
                "### CPU, 16 B throughput over ipc:// (user+sys CPU seconds per million \
                 messages; lower is better)\n\n",
            );
            let rows = cpu_rows("ipc");
            table(&mut o, &m, &impls, "ours", not_others, &rows);
        }
        if samples
            .iter()
            .any(|s| s.cell == "ipc" && s.case == "lat-64")
        {
            o.push_str(
                "### Round-trip latency over ipc://, DEALER ↔ ROUTER echo, 64 B, one message \
                 in flight (µs; lower is better)\n\n",
            );
            let rows = lat_rows("ipc", "lat-64");
            table(&mut o, &m, &p2p, "ours", not_others, &rows);
        }
    }
    if have("inproc") {
        use crate::orchestrate::{inproc_impls, INPROC_CEILING, NO_INPROC};
        let cols = inproc_impls(&impls);
        // The ceiling and ours with the batch calls are never "others".
        let excl: Vec<&str> = not_others
            .iter()
            .copied()
            .chain(std::iter::once(INPROC_CEILING))
            .collect();
        let rows = |metric: &'static str| size_rows("inproc", &cfg.inproc_sizes, metric);
        o.push_str(&format!(
            "### Throughput over inproc://, DEALER → ROUTER, one-way, sender and receiver in one \
             process (msgs/s; higher is better; ceiling `{INPROC_CEILING}` = bounded \
             tokio::sync::mpsc, capacity 1000, same messages)\n\n"
        ));
        table_ceil(
            &mut o,
            &m,
            &cols,
            "ours",
            &excl,
            &rows("msgs_per_s"),
            INPROC_CEILING,
        );
        o.push_str("### Throughput over inproc:// (MB/s of payload, 10^6 B; higher is better)\n\n");
        table_ceil(
            &mut o,
            &m,
            &cols,
            "ours",
            &excl,
            &rows("mb_per_s"),
            INPROC_CEILING,
        );
        if cfg.inproc_sizes.contains(&16) {
            o.push_str(
                "### CPU, 16 B throughput over inproc:// (user+sys CPU seconds of the whole \
                 process per million messages; lower is better)\n\n",
            );
            let rows = [Row {
                label: "process (sender + receiver)".into(),
                cell: "inproc",
                case: "16".into(),
                metric: "cpu_s_per_M",
                higher_better: false,
            }];
            table_ceil(&mut o, &m, &cols, "ours", &excl, &rows, INPROC_CEILING);
        }
        // ours-batch against the ceiling (the table's ratios use `ours`).
        let vs: Vec<String> = cfg
            .inproc_sizes
            .iter()
            .filter_map(|&z| {
                let c = z.to_string();
                let b = m.get("inproc", &c, "msgs_per_s", "ours-batch")?;
                let x = m.get("inproc", &c, "msgs_per_s", INPROC_CEILING)?;
                Some(format!("{} {:.2}", size_label(z), b / x))
            })
            .collect();
        if !vs.is_empty() {
            o.push_str(&format!(
                "ours-batch/{INPROC_CEILING} (msgs/s): {}.\n\n",
                vs.join(", ")
            ));
        }
        let na: Vec<String> = NO_INPROC
            .iter()
            .filter(|(n, _)| impls.iter().any(|i| base(i) == *n))
            .map(|(n, why)| format!("- {n}: {why}\n"))
            .collect();
        if !na.is_empty() {
            o.push_str("Not applicable in the inproc cell:\n\n");
            o.push_str(&na.concat());
            o.push('\n');
        }
    }
    if have("curve") {
        let cols: Vec<String> = crate::orchestrate::curve_impls(&impls)
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        let lat_cols: Vec<String> = cols
            .iter()
            .filter(|i| !is_in(crate::orchestrate::THR_ONLY, i))
            .cloned()
            .collect();
        let rows = |metric: &'static str| size_rows("curve", &cfg.curve_sizes, metric);
        o.push_str(
            "### Throughput with CURVE, DEALER → ROUTER (the ROUTER the CURVE server), one-way \
             (msgs/s; higher is better; libzmq = pyzmq's wheel, 4.3.5 with libsodium)\n\n",
        );
        table(&mut o, &m, &cols, "ours", not_others, &rows("msgs_per_s"));
        o.push_str("### Throughput with CURVE (MB/s of payload, 10^6 B; higher is better)\n\n");
        table(&mut o, &m, &cols, "ours", not_others, &rows("mb_per_s"));
        if cfg.curve_sizes.contains(&16) {
            o.push_str(
                "### CPU, 16 B throughput with CURVE (user+sys CPU seconds per million \
                 messages; lower is better)\n\n",
            );
            let rows = cpu_rows("curve");
            table(&mut o, &m, &cols, "ours", not_others, &rows);
        }
        if samples
            .iter()
            .any(|s| s.cell == "curve" && s.case == "lat-64")
        {
            o.push_str(
                "### Round-trip latency with CURVE, DEALER ↔ ROUTER echo, 64 B, one message in \
                 flight (µs; lower is better)\n\n",
            );
            let rows = lat_rows("curve", "lat-64");
            table(&mut o, &m, &lat_cols, "ours", not_others, &rows);
        }
    }
    if !failures.is_empty() {
        o.push_str("### Failures\n\n");
        for f in failures {
            o.push_str(&format!("- {f}\n"));
        }
        o.push('\n');
    }
    o
}
