//! The broker's Prometheus metrics (`broker --metrics ADDR`): the counters and gauges of its
//! stats lines and a histogram of the time requests spend in the broker, in the OpenMetrics
//! text format (prometheus-client), served on `GET /metrics` over HTTP/1 (hyper).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::dispatch::Totals;
use crate::relay::Delivery;

/// The metrics and the registry that encodes them.
pub struct Metrics {
    registry: Registry,
    requests: Counter,
    replies: Counter,
    redelivered: Counter,
    dropped: Counter,
    late_replies: Counter,
    unroutable: Counter,
    slow_disconnects: Counter,
    handshake_failures: Counter,
    in_flight: Gauge,
    queued: Gauge,
    clients: Gauge,
    workers: Gauge,
    latency: Histogram,
}

/// The gauges' values at one moment.
#[derive(Debug, Clone, Copy, Default)]
pub struct Levels {
    /// Requests held by workers.
    pub in_flight: usize,
    /// Requests waiting for a worker.
    pub queued: usize,
    /// Clients connected.
    pub clients: usize,
    /// Workers connected.
    pub workers: usize,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Every metric at zero, registered under the `broker` prefix.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("broker");
        let m = Metrics {
            requests: Counter::default(),
            replies: Counter::default(),
            redelivered: Counter::default(),
            dropped: Counter::default(),
            late_replies: Counter::default(),
            unroutable: Counter::default(),
            slow_disconnects: Counter::default(),
            handshake_failures: Counter::default(),
            in_flight: Gauge::default(),
            queued: Gauge::default(),
            clients: Gauge::default(),
            workers: Gauge::default(),
            // 100 µs to about 52 s.
            latency: Histogram::new(exponential_buckets(0.0001, 2.0, 20)),
            registry: Registry::default(),
        };
        let counters: [(&str, &str, &Counter); 8] = [
            ("requests", "Requests taken from clients", &m.requests),
            (
                "replies",
                "Replies handed to clients (one per request at most)",
                &m.replies,
            ),
            (
                "redelivered",
                "Requests taken back from a worker (gone, or past the timeout) for another",
                &m.redelivered,
            ),
            (
                "dropped",
                "Requests dropped after too many sends without a reply",
                &m.dropped,
            ),
            (
                "late_replies",
                "Worker replies dropped: their request was answered or sent elsewhere",
                &m.late_replies,
            ),
            (
                "unroutable",
                "Replies for a client that is gone",
                &m.unroutable,
            ),
            (
                "slow_disconnects",
                "Clients disconnected for not reading their replies",
                &m.slow_disconnects,
            ),
            (
                "handshake_failures",
                "Connections closed before their handshake was done (bad bytes, wrong keys, refused)",
                &m.handshake_failures,
            ),
        ];
        for (name, help, c) in counters {
            registry.register(name, help, c.clone());
        }
        let gauges: [(&str, &str, &Gauge); 4] = [
            ("in_flight", "Requests held by workers", &m.in_flight),
            ("queued", "Requests waiting for a worker", &m.queued),
            ("clients", "Clients connected", &m.clients),
            ("workers", "Workers connected", &m.workers),
        ];
        for (name, help, g) in gauges {
            registry.register(name, help, g.clone());
        }
        registry.register(
            "request_duration_seconds",
            "Time from a request's arrival to its reply's, in the broker",
            m.latency.clone(),
        );
        Metrics { registry, ..m }
    }

    /// Brings the counters up to `totals` and `delivery` (given since start; `last` is what was
    /// given the time before, and is updated), and sets the gauges.
    pub fn update(
        &self,
        totals: &Totals,
        delivery: &Delivery,
        last: &mut (Totals, Delivery),
        levels: Levels,
    ) {
        let (t, d) = last;
        let add = |c: &Counter, now: u64, before: u64| {
            if now > before {
                c.inc_by(now - before);
            }
        };
        add(&self.requests, totals.requests, t.requests);
        add(&self.replies, totals.replies, t.replies);
        add(&self.redelivered, totals.redelivered, t.redelivered);
        add(&self.dropped, totals.dropped, t.dropped);
        add(&self.late_replies, totals.late_replies, t.late_replies);
        add(&self.unroutable, delivery.unroutable, d.unroutable);
        add(
            &self.slow_disconnects,
            delivery.slow_disconnects,
            d.slow_disconnects,
        );
        add(
            &self.handshake_failures,
            delivery.handshake_failures,
            d.handshake_failures,
        );
        *last = (*totals, *delivery);
        let set = |g: &Gauge, v: usize| {
            g.set(i64::try_from(v).unwrap_or(i64::MAX));
        };
        set(&self.in_flight, levels.in_flight);
        set(&self.queued, levels.queued);
        set(&self.clients, levels.clients);
        set(&self.workers, levels.workers);
    }

    /// Records the time a request spent in the broker.
    pub fn observe(&self, waited: Duration) {
        self.latency.observe(waited.as_secs_f64());
    }

    /// Everything, in the OpenMetrics text format.
    pub fn encode(&self) -> String {
        let mut s = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut s, &self.registry);
        s
    }
}

/// Serves `GET /metrics` on `listener` until the task is dropped; anything else is 404.
pub async fn serve(listener: tokio::net::TcpListener, metrics: Arc<Metrics>) {
    loop {
        let stream = match listener.accept().await {
            Ok((s, _)) => s,
            Err(e) => {
                // Out of file descriptors, most likely: wait rather than spin.
                tracing::debug!(error = %e, "metrics: accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let m = metrics.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req: Request<Incoming>| {
                let m = m.clone();
                async move { Ok::<_, Infallible>(respond(&m, &req)) }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}

fn respond(m: &Metrics, req: &Request<Incoming>) -> Response<Full<Bytes>> {
    let (status, ctype, body) = if req.method() == Method::GET && req.uri().path() == "/metrics" {
        (
            StatusCode::OK,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            m.encode(),
        )
    } else {
        (
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            "not found: try GET /metrics\n".to_string(),
        )
    };
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    if let Ok(v) = hyper::header::HeaderValue::from_str(ctype) {
        r.headers_mut().insert(hyper::header::CONTENT_TYPE, v);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_follow_the_totals_and_encode() {
        let m = Metrics::new();
        let mut last = Default::default();
        let t = Totals {
            requests: 5,
            replies: 4,
            redelivered: 1,
            ..Totals::default()
        };
        let levels = Levels {
            in_flight: 1,
            queued: 0,
            clients: 2,
            workers: 3,
        };
        m.update(&t, &Delivery::default(), &mut last, levels);
        m.update(&t, &Delivery::default(), &mut last, levels);
        m.observe(Duration::from_millis(3));
        let text = m.encode();
        for want in [
            "broker_requests_total 5",
            "broker_replies_total 4",
            "broker_redelivered_total 1",
            "broker_dropped_total 0",
            "broker_workers 3",
            "broker_clients 2",
            "broker_request_duration_seconds_count 1",
            "# EOF",
        ] {
            assert!(text.contains(want), "{want:?} not in\n{text}");
        }
    }
}
