//! The load generator: plain HTTP/2 (the `h2` crate, as lean as h2load) with pre-encoded gRPC
//! request bodies, many concurrent streams over a few connections. Every call's gRPC status is
//! checked and its latency recorded; only calls that complete inside the measured window count.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use bytes::{BufMut as _, Bytes, BytesMut};
use h2::client::SendRequest;
use http::{HeaderMap, Request, Uri};
use tokio::net::TcpStream;

/// A gRPC message with its 5-byte length prefix, uncompressed.
pub fn frame(message: &impl prost::Message) -> Bytes {
    let body = message.encode_to_vec();
    let mut framed = BytesMut::with_capacity(body.len() + 5);
    framed.put_u8(0);
    framed.put_u32(u32::try_from(body.len()).expect("message under 4 GiB"));
    framed.extend_from_slice(&body);
    framed.freeze()
}

pub async fn connect(address: SocketAddr) -> anyhow::Result<SendRequest<Bytes>> {
    let tcp = TcpStream::connect(address)
        .await
        .with_context(|| format!("cannot connect to {address}"))?;
    tcp.set_nodelay(true)?;
    let (send, connection) = h2::client::Builder::new()
        .initial_window_size(4 << 20)
        .initial_connection_window_size(16 << 20)
        .max_frame_size(1 << 20)
        .handshake::<_, Bytes>(tcp)
        .await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(send.ready().await?)
}

fn grpc_status(headers: &HeaderMap) -> Option<(i32, String)> {
    let code = headers.get("grpc-status")?.to_str().ok()?.parse().ok()?;
    let message = headers
        .get("grpc-message")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
        .to_owned();
    Some((code, message))
}

/// One unary call (or a client stream when `body` holds many frames); returns the bytes of the
/// response body (gRPC frames included).
pub async fn call(send: &SendRequest<Bytes>, uri: &Uri, body: Bytes) -> anyhow::Result<Bytes> {
    let mut send = send.clone().ready().await?;
    let request = Request::post(uri.clone())
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(())?;
    let (response, mut stream) = send.send_request(request, false)?;
    let sent = send_all(&mut stream, body).await;
    // A server that answers early (an error, a deadline) closes the stream: report its answer.
    let response = match (sent, response.await) {
        (_, Ok(response)) => response,
        (Err(error), Err(_)) => return Err(error),
        (Ok(()), Err(error)) => return Err(error.into()),
    };
    if response.status() != http::StatusCode::OK {
        bail!("HTTP status {}", response.status());
    }
    let (parts, mut body) = response.into_parts();
    if let Some((code, message)) = grpc_status(&parts.headers)
        && code != 0
    {
        bail!("gRPC status {code}: {message}");
    }
    let mut received = BytesMut::new();
    while let Some(chunk) = body.data().await {
        let chunk = chunk?;
        body.flow_control().release_capacity(chunk.len())?;
        received.extend_from_slice(&chunk);
    }
    if let Some(trailers) = body.trailers().await? {
        match grpc_status(&trailers) {
            Some((0, _)) => {}
            Some((code, message)) => bail!("gRPC status {code}: {message}"),
            None => bail!("no grpc-status in trailers"),
        }
    } else if grpc_status(&parts.headers).is_none() {
        bail!("no grpc-status");
    }
    Ok(received.freeze())
}

/// Sends `body` on the stream and ends it, respecting the peer's flow control.
async fn send_all(stream: &mut h2::SendStream<Bytes>, mut body: Bytes) -> anyhow::Result<()> {
    if body.is_empty() {
        stream.send_data(body, true)?;
        return Ok(());
    }
    while !body.is_empty() {
        stream.reserve_capacity(body.len().min(1 << 20));
        let granted = std::future::poll_fn(|context| stream.poll_capacity(context))
            .await
            .context("stream closed while sending")??;
        if granted == 0 {
            continue;
        }
        let chunk = body.split_to(granted.min(body.len()));
        stream.send_data(chunk, body.is_empty())?;
    }
    Ok(())
}

/// Decodes the single message of a unary response body.
pub fn unframe<M: prost::Message + Default>(body: &[u8]) -> anyhow::Result<M> {
    if body.len() < 5 || body[0] != 0 {
        bail!("not an uncompressed gRPC frame");
    }
    let length = u32::from_be_bytes([body[1], body[2], body[3], body[4]]) as usize;
    Ok(M::decode(&body[5..5 + length])?)
}

/// How hard to push and for how long.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub connections: usize,
    pub concurrency: usize,
    pub warmup: Duration,
    pub duration: Duration,
}

#[derive(Debug, Clone)]
pub struct Outcome {
    pub calls: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub seconds: f64,
    pub response_bytes: u64,
    /// Sorted latencies of the counted calls, in microseconds.
    pub latencies: Vec<u32>,
}

impl Outcome {
    pub fn throughput(&self) -> f64 {
        self.calls as f64 / self.seconds
    }

    pub fn percentile(&self, fraction: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let rank = ((self.latencies.len() as f64 - 1.0) * fraction).round() as usize;
        f64::from(self.latencies[rank]) / 1000.0
    }

    pub fn mean_response_bytes(&self) -> f64 {
        if self.calls == 0 {
            0.0
        } else {
            self.response_bytes as f64 / self.calls as f64
        }
    }
}

/// Drives `path` on `address` with `shape`, each call sending one of `bodies` in turn.
pub async fn drive(
    address: SocketAddr,
    path: &str,
    bodies: Arc<Vec<Bytes>>,
    shape: Shape,
) -> anyhow::Result<Outcome> {
    let uri: Uri = format!("http://{address}{path}").parse()?;
    let mut connections = Vec::with_capacity(shape.connections);
    for _ in 0..shape.connections.max(1) {
        connections.push(connect(address).await?);
    }
    let start = Instant::now() + shape.warmup;
    let end = start + shape.duration;
    let errors = Arc::new(AtomicU64::new(0));
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::with_capacity(shape.concurrency);
    for worker in 0..shape.concurrency.max(1) {
        let send = connections[worker % connections.len()].clone();
        let uri = uri.clone();
        let bodies = bodies.clone();
        let errors = errors.clone();
        let next = next.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut bytes = 0_u64;
            let mut first_error = None;
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed) as usize % bodies.len();
                let sent = Instant::now();
                if sent >= end {
                    break;
                }
                match call(&send, &uri, bodies[index].clone()).await {
                    Ok(body) => {
                        let done = Instant::now();
                        if done >= start && done < end {
                            let micros = done.duration_since(sent).as_micros();
                            latencies.push(u32::try_from(micros).unwrap_or(u32::MAX));
                            bytes += body.len() as u64;
                        }
                    }
                    Err(error) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                        if first_error.is_none() {
                            first_error = Some(format!("{error:#}"));
                        }
                        // Do not spin on a failing server.
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                }
            }
            (latencies, bytes, first_error)
        }));
    }
    let mut latencies = Vec::new();
    let mut response_bytes = 0;
    let mut first_error = None;
    for task in tasks {
        let (mut found, bytes, error) = task.await?;
        latencies.append(&mut found);
        response_bytes += bytes;
        if first_error.is_none() {
            first_error = error;
        }
    }
    latencies.sort_unstable();
    Ok(Outcome {
        calls: latencies.len() as u64,
        errors: errors.load(Ordering::Relaxed),
        first_error,
        seconds: shape.duration.as_secs_f64(),
        response_bytes,
        latencies,
    })
}
