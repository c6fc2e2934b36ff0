//! Weather updates, the zguide's pub-sub example (chapter 1, `wuserver` and `wuclient`): a PUB
//! server publishes "zipcode temperature humidity" updates; a SUB client subscribes to one zip
//! code and averages the temperatures of 100 updates.
//!
//! ```text
//! cargo run -p zmtp --example weather                          # both, in one process
//! cargo run -p zmtp --example weather server tcp://127.0.0.1:5556 [seconds]
//! cargo run -p zmtp --example weather client tcp://127.0.0.1:5556 ["10001 "] [updates]
//! ```
//!
//! A subscription is a prefix of the message's first frame. The SUB tells it to its publishers
//! (a SUBSCRIBE command), and a PUB sends each subscriber only what matches: the filtering
//! happens at the publisher, and again at the subscriber. The zguide's filter is `"10001 "`,
//! with the space, so that it does not also match a longer code such as `"100012"`.
//!
//! A PUB never waits: it sends to whoever is subscribed right now, and drops for a subscriber
//! whose queue is full. A subscriber that joins late misses what came before (the zguide's
//! "slow joiner"): the client here just takes the next 100 updates for its zip code.

mod zhelpers;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use zhelpers::{randof, Args, Result, ANY_PORT};
use zmtp::{Pub, Sub};

/// The zguide's default filter.
const FILTER: &str = "10001 ";

/// Updates the client averages.
const UPDATES: usize = 100;

/// Zip codes drawn by the server: `10000..10000 + ZIPS`. The zguide draws from 0..100 000, so
/// its client waits for about ten million updates to see 100 for its zip code; a narrower
/// range gives the demo a few thousand, not a few seconds of a busy core.
const ZIPS: u32 = 100;

#[tokio::main]
async fn main() -> ExitCode {
    zhelpers::exit(run(Args::from_env()).await)
}

async fn run(args: Args) -> Result {
    match args.role() {
        None => {
            let publisher = Pub::new();
            let endpoint = publisher.bind(ANY_PORT)?.to_string();
            // The server publishes until the client has its average; then `select!` drops the
            // server's future, which stops it.
            tokio::select! {
                r = server(publisher, None) => r.and_then(|()| Err("the server stopped first".into())),
                r = client(&endpoint, FILTER, UPDATES) => r,
            }
        }
        Some("server") => {
            let publisher = Pub::new();
            let endpoint = publisher.bind(args.get(1, "endpoint to bind")?)?;
            println!("I: publishing on {endpoint}");
            let seconds: Option<u64> = args.opt(2, "seconds")?;
            server(publisher, seconds.map(Duration::from_secs)).await
        }
        Some("client") => {
            let filter = args.get(2, "filter").unwrap_or(FILTER);
            let updates = args.num(3, "updates", UPDATES)?;
            client(args.get(1, "endpoint to connect")?, filter, updates).await
        }
        Some(other) => Err(format!("unknown role {other:?}: server or client").into()),
    }
}

/// wuserver: publishes random weather updates, for `limit` (forever with `None`).
async fn server(publisher: Pub, limit: Option<Duration>) -> Result {
    let start = Instant::now();
    let mut sent: u64 = 0;
    // `None`: no limit.
    while limit.iter().all(|&l| start.elapsed() < l) {
        let zipcode = 10_000 + randof(ZIPS);
        let temperature = randof(215) as i32 - 80;
        let relhumidity = randof(50) + 10;
        // One frame; subscribers match its start against their filters.
        publisher
            .send(format!("{zipcode:05} {temperature} {relhumidity}"))
            .await?;
        sent += 1;
        // A PUB's send never waits, so this loop would never give the runtime back: let the
        // other tasks (the connections, the client) run now and then.
        if sent.is_multiple_of(64) {
            tokio::task::yield_now().await;
        }
    }
    println!("I: published {sent} updates");
    Ok(())
}

/// wuclient: subscribes to `filter`, averages the temperature of `updates` updates.
async fn client(endpoint: &str, filter: &str, updates: usize) -> Result {
    println!("Collecting updates from weather server...");
    let subscriber = Sub::new();
    subscriber.connect(endpoint)?;
    // Without a subscription a SUB receives nothing at all.
    subscriber.subscribe(filter.to_string());

    let mut total_temp: i64 = 0;
    for _ in 0..updates {
        let update = zhelpers::one_frame(&zhelpers::recv(&subscriber).await?)?;
        // The subscription guarantees the prefix; we check it, as a test of the socket.
        if !update.starts_with(filter) {
            return Err(format!("update {update:?} does not match filter {filter:?}").into());
        }
        let mut fields = update.split_whitespace().map(str::parse::<i64>);
        let (Some(Ok(_zipcode)), Some(Ok(temperature)), Some(Ok(_relhumidity))) =
            (fields.next(), fields.next(), fields.next())
        else {
            return Err(format!("malformed update {update:?}").into());
        };
        total_temp += temperature;
    }
    let average = total_temp / updates.max(1) as i64;
    println!(
        "Average temperature for zipcode '{}' was {average}F",
        filter.trim_end()
    );
    Ok(())
}
