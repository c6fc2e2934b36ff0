//! Quick one-way throughput check in one process: DEALER -> ROUTER over loopback TCP.
//! `cargo run --release --example thr -- <size> <count>`

use std::time::Instant;

use bytes::Bytes;
use zmtp::{Dealer, Message, Router};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), zmtp::Error> {
    let mut args = std::env::args().skip(1);
    let size: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(16);
    let count: usize = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let router = Router::new();
    let ep = router.bind("tcp://127.0.0.1:0")?;
    let dealer = Dealer::new();
    dealer.connect(&ep.to_string())?;
    let payload = vec![7u8; size];
    dealer
        .send(Message::from(Bytes::from(payload.clone())))
        .await?;
    router.recv().await?;
    let start = Instant::now();
    let cpu0 = cpu_seconds();
    let sender = tokio::spawn(async move {
        for _ in 0..count {
            dealer
                .send(Message::from(Bytes::copy_from_slice(&payload)))
                .await?;
        }
        Ok::<_, zmtp::Error>(dealer)
    });
    for _ in 0..count {
        router.recv().await?;
    }
    let el = start.elapsed().as_secs_f64();
    let _ = sender.await;
    let cpu = cpu_seconds() - cpu0;
    println!(
        "{size} B x {count}: {:.0} msgs/s, {:.1} MB/s, {:.0} ns CPU per message",
        count as f64 / el,
        (count * size) as f64 / el / 1e6,
        cpu * 1e9 / count as f64
    );
    Ok(())
}

/// User + system CPU time of this process, from /proc/self/stat (Linux; 0 elsewhere).
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    let Some(rest) = stat.rsplit(')').next() else {
        return 0.0;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|&i| f.get(i).and_then(|v| v.parse::<f64>().ok()))
        .sum();
    ticks / 100.0
}
