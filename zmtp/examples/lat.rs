//! Round-trip latency, DEALER <-> ROUTER echo, one message in flight, in two processes.
//! `lat server` prints the endpoint; `lat client EP [count]`. `LAT_RT=current` runs on a
//! current-thread runtime (no cross-thread wake-ups), else a 2-worker multi-thread runtime.

use std::time::Instant;

use bytes::Bytes;
use zmtp::{Dealer, Message, Routed, Router};

fn main() -> Result<(), zmtp::Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rt = if std::env::var("LAT_RT").as_deref() == Ok("current") {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
    }
    .map_err(|_| zmtp::Error::Closed)?;
    rt.block_on(async {
        match args.first().map(String::as_str) {
            Some("server") => {
                let r = Router::new();
                println!("{}", r.bind("tcp://127.0.0.1:0")?);
                loop {
                    let m = r.recv().await?;
                    // The client that sent it is connected, unless it just left.
                    if r.send(m).await? != Routed::Queued {
                        eprintln!("lat server: a reply was dropped (the client left?)");
                    }
                }
            }
            Some("client") => {
                let ep = args.get(1).cloned().unwrap_or_default();
                let n: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(20_000);
                let d = Dealer::new();
                d.connect(&ep)?;
                let p = vec![7u8; 64];
                let mut lat = Vec::with_capacity(n);
                for i in 0..n + 1000 {
                    let t = Instant::now();
                    d.send(Message::from(Bytes::copy_from_slice(&p))).await?;
                    d.recv().await?;
                    if i >= 1000 {
                        lat.push(t.elapsed().as_nanos() as f64 / 1e3);
                    }
                }
                lat.sort_by(f64::total_cmp);
                let q = |p: f64| lat[((lat.len() - 1) as f64 * p) as usize];
                println!(
                    "p50 {:.1} us  p99 {:.1} us  p99.9 {:.1} us",
                    q(0.5),
                    q(0.99),
                    q(0.999)
                );
                Ok(())
            }
            _ => {
                eprintln!("usage: lat server | lat client EP [count]");
                Ok(())
            }
        }
    })
}
