//! Divide and conquer, the zguide's pipeline (chapter 1, `taskvent`, `taskwork` and
//! `tasksink`): a ventilator PUSHes 100 tasks to the workers, each worker PULLs tasks, does them
//! and PUSHes a result to the sink, which PULLs the results and times the batch.
//!
//! ```text
//! cargo run -p zmtp --example pipeline                         # all three, 3 workers
//! cargo run -p zmtp --example pipeline sink tcp://127.0.0.1:5558 [tasks]
//! cargo run -p zmtp --example pipeline worker tcp://127.0.0.1:5557 tcp://127.0.0.1:5558 [tasks]
//! cargo run -p zmtp --example pipeline ventilator tcp://127.0.0.1:5557 tcp://127.0.0.1:5558 [tasks] [workers]
//! ```
//!
//! A PUSH deals its messages out round-robin to the peers connected at that moment, and a PULL
//! fair-queues what its peers send: add workers and the batch goes faster. The zguide's
//! ventilator waits for you to press Enter once the workers are up, because the first worker to
//! connect would otherwise get the whole batch; ours watches its socket's monitor until the
//! workers' handshakes are done. The ventilator also tells the sink that a batch starts, so the
//! sink starts its clock.
//!
//! The zguide's worker sends an empty result; ours sends the task's workload back, so the sink
//! can check that the work done adds up to the work given.

mod zhelpers;

use std::io::Write;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use zhelpers::{randof, Args, Result, ANY_PORT, IDLE, TIMEOUT};
use zmtp::{Monitor, Pull, Push, SocketEvent};

/// Tasks in a batch (as in the zguide).
const TASKS: usize = 100;

/// Workers in the all-in-one run.
const WORKERS: usize = 3;

/// A task's workload is 1..=MAX_WORK ms (the zguide: up to 100 ms).
const MAX_WORK: u32 = 20;

#[tokio::main]
async fn main() -> ExitCode {
    zhelpers::exit(run(Args::from_env()).await)
}

async fn run(args: Args) -> Result {
    match args.role() {
        None => {
            let sink = Pull::new();
            let sink_endpoint = sink.bind(ANY_PORT)?.to_string();
            let ventilator = Push::new();
            let vent_endpoint = ventilator.bind(ANY_PORT)?.to_string();
            // Watch before the workers start, so that no handshake goes unseen.
            let monitor = ventilator.monitor();
            let mut workers = tokio::task::JoinSet::new();
            let counts: Vec<_> = (0..WORKERS)
                .map(|_| Arc::new(AtomicUsize::new(0)))
                .collect();
            for count in &counts {
                let (v, s, count) = (vent_endpoint.clone(), sink_endpoint.clone(), count.clone());
                workers.spawn(async move { worker(&v, &s, None, Some(count)).await });
            }
            let (given, done) = tokio::try_join!(
                ventilate(ventilator, monitor, &sink_endpoint, TASKS, WORKERS),
                collect(sink, TASKS),
            )?;
            // The workers wait for more work: dropping the set stops them.
            drop(workers);
            for (n, count) in counts.iter().enumerate() {
                println!("Worker {}: {} tasks", n + 1, count.load(Ordering::Relaxed));
            }
            if given != done {
                return Err(format!("{given} msec of work given, {done} msec done").into());
            }
            Ok(())
        }
        Some("ventilator") => {
            let ventilator = Push::new();
            let monitor = ventilator.monitor();
            let endpoint = ventilator.bind(args.get(1, "endpoint to bind")?)?;
            println!("I: ventilating on {endpoint}");
            let sink = args.get(2, "sink endpoint")?;
            let tasks = args.num(3, "tasks", TASKS)?;
            let workers = args.num(4, "workers", 1)?;
            ventilate(ventilator, monitor, sink, tasks, workers)
                .await
                .map(drop)
        }
        Some("worker") => {
            let (vent, sink) = (args.get(1, "ventilator")?, args.get(2, "sink")?);
            worker(vent, sink, args.opt(3, "tasks")?, None).await
        }
        Some("sink") => {
            let sink = Pull::new();
            let endpoint = sink.bind(args.get(1, "endpoint to bind")?)?;
            println!("I: collecting on {endpoint}");
            collect(sink, args.num(2, "tasks", TASKS)?).await.map(drop)
        }
        Some(other) => Err(format!("unknown role {other:?}: ventilator, worker or sink").into()),
    }
}

/// taskvent: once `workers` workers are connected, signals the sink and sends `tasks` tasks.
/// Returns the total workload, in ms.
async fn ventilate(
    ventilator: Push,
    monitor: Monitor,
    sink_endpoint: &str,
    tasks: usize,
    workers: usize,
) -> Result<u64> {
    // The sink first: connected before the batch starts, so that its start signal is not
    // overtaken by a quick worker's first result.
    let sink = Push::new();
    let sink_monitor = sink.monitor();
    sink.connect(sink_endpoint)?;
    handshakes(sink_monitor, 1, "sink").await?;
    println!("Waiting for {workers} workers...");
    handshakes(monitor, workers, "workers").await?;

    // The first message tells the sink that the batch starts.
    sink.send("0").await?;

    println!("Sending tasks to workers...");
    let mut total_msec: u64 = 0;
    for _ in 0..tasks {
        let workload = randof(MAX_WORK) + 1;
        total_msec += u64::from(workload);
        ventilator.send(workload.to_string()).await?;
    }
    println!("Total expected cost: {total_msec} msec");
    // Let the queued messages leave before the sockets go.
    zhelpers::close(sink).await?;
    zhelpers::close(ventilator).await?;
    Ok(total_msec)
}

/// Waits (at most IDLE) until `n` peers of the monitored socket have finished their handshake.
async fn handshakes(mut monitor: Monitor, n: usize, what: &str) -> Result {
    let wait = async {
        let mut ready = 0;
        while ready < n {
            match monitor.recv().await {
                Some(SocketEvent::HandshakeSucceeded { .. }) => ready += 1,
                Some(_) => {}
                None => break,
            }
        }
        ready
    };
    match tokio::time::timeout(IDLE, wait).await {
        Ok(ready) if ready == n => Ok(()),
        _ => Err(format!("{n} {what} did not connect within {IDLE:?}").into()),
    }
}

/// taskwork: takes tasks from the ventilator, "works" (sleeps) for each task's workload, and
/// sends the workload to the sink as the result. Stops after `tasks` tasks (never with `None`).
/// Prints what it does, unless `count` is given (then it counts instead, for the all-in-one
/// run, whose output the sink writes).
async fn worker(
    vent_endpoint: &str,
    sink_endpoint: &str,
    tasks: Option<usize>,
    count: Option<Arc<AtomicUsize>>,
) -> Result {
    let receiver = Pull::new();
    receiver.connect(vent_endpoint)?;
    let sender = Push::new();
    sender.connect(sink_endpoint)?;

    let mut done = 0;
    while tasks != Some(done) {
        let task = zhelpers::one_frame(&zhelpers::recv_within(&receiver, IDLE).await?)?;
        let workload: u64 = task
            .parse()
            .map_err(|e| format!("bad task {task:?}: {e}"))?;
        match &count {
            Some(count) => {
                count.fetch_add(1, Ordering::Relaxed);
            }
            None => {
                // A simple progress indicator for the viewer.
                print!("{workload}.");
                std::io::stdout().flush()?;
            }
        }
        tokio::time::sleep(Duration::from_millis(workload)).await;
        sender.send(task).await?;
        done += 1;
    }
    if count.is_none() {
        println!();
    }
    zhelpers::close(sender).await
}

/// tasksink: waits for the start of the batch, then collects `tasks` results. Returns the
/// total workload they report, in ms.
async fn collect(sink: Pull, tasks: usize) -> Result<u64> {
    let start = zhelpers::recv_within(&sink, IDLE).await?;
    if zhelpers::one_frame(&start)? != "0" {
        return Err("the batch did not start with the ventilator's \"0\"".into());
    }
    let clock = Instant::now();

    let mut done_msec: u64 = 0;
    for n in 0..tasks {
        let result = zhelpers::one_frame(&zhelpers::recv_within(&sink, TIMEOUT).await?)?;
        done_msec += result
            .parse::<u64>()
            .map_err(|e| format!("bad result {result:?}: {e}"))?;
        print!("{}", if n % 10 == 0 { ':' } else { '.' });
        std::io::stdout().flush()?;
    }
    println!();
    println!("Total elapsed time: {} msec", clock.elapsed().as_millis());
    println!("Total work done: {done_msec} msec in {tasks} tasks");
    Ok(done_msec)
}
