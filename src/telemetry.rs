//! Prometheus metrics on an optional loopback port (`[metrics] listen = "127.0.0.1:9187"`):
//! the `metrics` facade records, `metrics-exporter-prometheus` renders the text format, and a
//! small HTTP responder serves it at `/metrics`. Without `[metrics]` nothing is installed and
//! every recording is a no-op.

use std::net::SocketAddr;

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

/// Sets the outbox gauges: `depth` mails wait, the oldest queued at `oldest` (ms).
pub fn outbox_waiting(depth: i64, oldest: Option<i64>, now: i64) {
    #[allow(clippy::cast_precision_loss)]
    let (depth, age) = (
        depth as f64,
        oldest.map_or(0.0, |at| (now - at).max(0) as f64 / 1000.0),
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
}

/// Serves `GET /metrics` on `listen` until `cancel` fires.
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
    Ok(tokio::spawn(async move {
        loop {
            let (mut conn, _) = tokio::select! {
                () = cancel.cancelled() => return,
                accepted = listener.accept() => match accepted {
                    Ok(c) => c,
                    Err(error) => {
                        tracing::warn!(%error, "metrics: accept failed");
                        continue;
                    }
                },
            };
            let handle = handle.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let read =
                    tokio::time::timeout(std::time::Duration::from_secs(5), conn.read(&mut buf))
                        .await;
                let Ok(Ok(n)) = read else { return };
                let request = String::from_utf8_lossy(&buf[..n]);
                let response = respond(request.lines().next().unwrap_or(""), &handle);
                let _ = conn.write_all(response.as_bytes()).await;
                let _ = conn.shutdown().await;
            });
        }
    }))
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
}
