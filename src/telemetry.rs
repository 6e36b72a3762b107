//! Prometheus metrics on an optional loopback port (`[metrics] listen = "127.0.0.1:9187"`):
//! the `metrics` facade records, `metrics-exporter-prometheus` renders the text format, and a
//! small HTTP responder serves it at `/metrics`. Without `[metrics]` nothing is installed and
//! every recording is a no-op.

use std::net::SocketAddr;

use crate::model::Millis;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Messages taken in, by outcome (`created`, `joined`, `bounce`, `duplicate`, `quarantined`).
pub const MESSAGES: &str = "helpdesk_messages_total";
/// Messages quarantined.
pub const QUARANTINED: &str = "helpdesk_messages_quarantined_total";
/// Cases opened, by category.
pub const CASES_OPENED: &str = "helpdesk_cases_opened_total";
/// Mail accepted by the transport, by kind.
pub const MAIL_SENT: &str = "helpdesk_mail_sent_total";
/// Mail that failed for good (5xx or unrenderable), by kind.
pub const MAIL_FAILED: &str = "helpdesk_mail_failed_total";
/// Mail that failed for now and waits for a retry.
pub const MAIL_RETRIED: &str = "helpdesk_mail_retried_total";
/// Outgoing mail waiting to be sent.
pub const OUTBOX_DEPTH: &str = "helpdesk_outbox_depth";
/// Age in seconds of the oldest mail waiting to be sent (0 when none waits).
pub const OUTBOX_OLDEST: &str = "helpdesk_outbox_oldest_age_seconds";
/// IMAP connections made again after a failure.
pub const IMAP_RECONNECTS: &str = "helpdesk_imap_reconnects_total";
/// Seconds from reading a message off the mailbox to its transaction's commit.
pub const INGEST_SECONDS: &str = "helpdesk_ingest_latency_seconds";
/// SLA targets missed, by clock (`first_response`, `resolution`).
pub const SLA_BREACHES: &str = "helpdesk_sla_breaches_total";
/// Cases closed at the end of their reopen window.
pub const AUTO_CLOSED: &str = "helpdesk_cases_auto_closed_total";
/// Automatic mails skipped by an hourly cap, by cap (`mailbox`, `domain`, `global`,
/// `notifications`).
pub const AUTO_MAIL_CAPPED: &str = "helpdesk_auto_mail_capped_total";
/// 1 while the global cap on automatic mail holds.
pub const AUTO_MAIL_CAP_HOLDS: &str = "helpdesk_auto_mail_cap_holds";

/// Sets the outbox gauges: `depth` mails wait, the oldest queued at `oldest`.
pub fn outbox_waiting(depth: i64, oldest: Option<Millis>, now: Millis) {
    #[allow(clippy::cast_precision_loss)]
    let (depth, age) = (
        depth as f64,
        oldest.map_or(0.0, |at| now.since(at).as_secs_f64()),
    );
    metrics::gauge!(OUTBOX_DEPTH).set(depth);
    metrics::gauge!(OUTBOX_OLDEST).set(age);
}

/// Buckets of the ingest latency histogram, in seconds.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Installs the recorder; what it records is rendered by the returned handle.
///
/// # Errors
/// A recorder is already installed (a second call in one process).
pub fn install() -> anyhow::Result<PrometheusHandle> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(
            metrics_exporter_prometheus::Matcher::Full(INGEST_SECONDS.into()),
            LATENCY_BUCKETS,
        )?
        .install_recorder()?;
    describe();
    Ok(handle)
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(MESSAGES, "Messages taken in, by outcome.");
    describe_counter!(QUARANTINED, "Messages quarantined with an error.");
    describe_counter!(CASES_OPENED, "Cases opened, by category.");
    describe_counter!(
        MAIL_SENT,
        "Mail accepted by the SMTP server (or written), by kind."
    );
    describe_counter!(MAIL_FAILED, "Mail that failed for good, by kind.");
    describe_counter!(MAIL_RETRIED, "Temporary delivery failures, retried later.");
    describe_gauge!(OUTBOX_DEPTH, "Outgoing mail waiting to be sent.");
    describe_gauge!(
        OUTBOX_OLDEST,
        Unit::Seconds,
        "Age of the oldest waiting mail."
    );
    describe_counter!(
        IMAP_RECONNECTS,
        "IMAP sessions opened again after a failure."
    );
    describe_histogram!(
        INGEST_SECONDS,
        Unit::Seconds,
        "From mailbox read to commit."
    );
    describe_counter!(SLA_BREACHES, "SLA targets missed, by clock.");
    describe_counter!(AUTO_CLOSED, "Cases closed at the end of the reopen window.");
    describe_counter!(
        AUTO_MAIL_CAPPED,
        "Automatic mails skipped by an hourly cap, by cap."
    );
    describe_gauge!(
        AUTO_MAIL_CAP_HOLDS,
        "1 while the global hourly cap on automatic mail holds."
    );
}

/// How many scrapes are served at once; further connections are closed at once.
const MAX_CONNECTIONS: usize = 4;
/// The longest request accepted (a scrape's request is a few hundred bytes).
const MAX_REQUEST: usize = 8192;
/// How long one connection may take in all, reading and writing: a slow or silent client
/// (slowloris) is dropped after this.
const CONNECTION_DEADLINE: std::time::Duration = std::time::Duration::from_secs(5);

/// Serves `GET /metrics` on `listen` until `cancel` fires, at most [`MAX_CONNECTIONS`]
/// connections at a time, each within [`CONNECTION_DEADLINE`] and [`MAX_REQUEST`] bytes.
///
/// # Errors
/// The address cannot be bound.
pub async fn serve(
    listen: SocketAddr,
    handle: PrometheusHandle,
    cancel: CancellationToken,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen for metrics on {listen}: {e}"))?;
    tracing::info!(%listen, "metrics at http://{listen}/metrics");
    Ok(tokio::spawn(accept_loop(
        listener,
        handle,
        cancel,
        (MAX_CONNECTIONS, CONNECTION_DEADLINE),
    )))
}

async fn accept_loop(
    listener: TcpListener,
    handle: PrometheusHandle,
    cancel: CancellationToken,
    (max_connections, deadline): (usize, std::time::Duration),
) {
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(max_connections));
    loop {
        let (mut conn, _) = tokio::select! {
            () = cancel.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok(c) => c,
                Err(error) => {
                    tracing::warn!(%error, "metrics: accept failed");
                    // Out of file descriptors, say: do not spin on it.
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            // All slots busy: close at once rather than queue (a scraper retries).
            drop(conn);
            continue;
        };
        let handle = handle.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let _ = tokio::time::timeout(deadline, async {
                let request_line = read_request(&mut conn).await?;
                let response = respond(&request_line, &handle);
                conn.write_all(response.as_bytes()).await?;
                conn.shutdown().await
            })
            .await;
        });
    }
}

/// Reads a request's head (up to the blank line, at most [`MAX_REQUEST`] bytes) and returns
/// its first line; an over-long head gets an empty line, which is answered 405.
async fn read_request(conn: &mut tokio::net::TcpStream) -> std::io::Result<String> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && !buf.windows(2).any(|w| w == b"\n\n") {
        let n = conn.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf.len() > MAX_REQUEST {
            return Ok(String::new());
        }
    }
    let text = String::from_utf8_lossy(&buf);
    Ok(text.lines().next().unwrap_or("").to_owned())
}

/// The HTTP answer to a request line.
fn respond(request_line: &str, handle: &PrometheusHandle) -> String {
    let mut parts = request_line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let (status, kind, body) = match (method, path) {
        ("GET", "/metrics") => (
            "200 OK",
            "text/plain; version=0.0.4; charset=utf-8",
            handle.render(),
        ),
        ("GET", _) => ("404 Not Found", "text/plain", "try /metrics\n".to_owned()),
        _ => (
            "405 Method Not Allowed",
            "text/plain",
            "GET /metrics\n".to_owned(),
        ),
    };
    reply(status, kind, &body)
}

fn reply(status: &str, kind: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_get_metrics_is_served() {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            metrics::counter!(MESSAGES, "outcome" => "created").increment(3);
        });
        let ok = respond("GET /metrics HTTP/1.1", &handle);
        assert!(ok.starts_with("HTTP/1.1 200 OK\r\n"), "{ok}");
        assert!(
            ok.contains("helpdesk_messages_total{outcome=\"created\"} 3"),
            "{ok}"
        );
        assert!(respond("GET / HTTP/1.1", &handle).starts_with("HTTP/1.1 404"));
        assert!(respond("POST /metrics HTTP/1.1", &handle).starts_with("HTTP/1.1 405"));
    }

    /// Silent clients hold the slots; one more is closed at once instead of waiting, and once
    /// the silent ones are cut off (the deadline) a scrape is served again.
    #[tokio::test]
    async fn connections_are_bounded_and_slow_clients_cut_off() {
        use tokio::net::TcpStream;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let handle = PrometheusBuilder::new().build_recorder().handle();
        let cancel = CancellationToken::new();
        let deadline = std::time::Duration::from_millis(300);
        tokio::spawn(accept_loop(listener, handle, cancel.clone(), (2, deadline)));
        let get = |mut c: TcpStream| async move {
            // A closed connection may fail the write or the read: no answer either way.
            let _ = c
                .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
                .await;
            let mut out = String::new();
            let _ = c.read_to_string(&mut out).await;
            out
        };
        let mut silent = Vec::new();
        for _ in 0..2 {
            silent.push(TcpStream::connect(addr).await.unwrap());
        }
        // Both slots are taken (accepted in order, before this one): no answer.
        let busy = get(TcpStream::connect(addr).await.unwrap()).await;
        assert_eq!(busy, "");
        // The silent clients are closed by the server: their reads end.
        for mut c in silent {
            let mut rest = Vec::new();
            let _ = c.read_to_end(&mut rest).await;
            assert!(rest.is_empty());
        }
        let mut ok = String::new();
        for _ in 0..50 {
            ok = get(TcpStream::connect(addr).await.unwrap()).await;
            if ok.starts_with("HTTP/1.1 200") {
                break;
            }
        }
        assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
        // An endless header is refused, not buffered.
        let mut c = TcpStream::connect(addr).await.unwrap();
        let _ = c.write_all(&vec![b'a'; MAX_REQUEST + 2048]).await;
        let mut out = String::new();
        let _ = c.read_to_string(&mut out).await;
        assert!(out.is_empty() || out.starts_with("HTTP/1.1 405"), "{out}");
        cancel.cancel();
    }
}
