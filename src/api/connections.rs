//! Accepting connections, bounded: at most `max_connections` open at once, and each one given
//! `handshake_timeout` to finish its TLS handshake (when TLS is on) and to send HTTP/2's
//! connection preface and its first SETTINGS frame. Only then is it handed to the server.
//!
//! hyper, under tonic, waits for a silent connection forever and accepts as many as the
//! process has file descriptors; a client that opens thousands and sends nothing would keep a
//! real one out. Here a connection that has not finished its handshake holds a slot only until
//! its time runs out, and when every slot is taken the one that has waited longest for its
//! handshake is closed to make room for the newcomer: the slots go to clients that speak.
//! Connections past their handshake are never closed to make room; when they fill every slot,
//! accepting pauses until one closes (the kernel's backlog holds the newcomers meanwhile).
//!
//! What was read to check the preface is handed to the server first ([`Admitted`]), so hyper
//! sees the connection from its first byte.

use std::collections::BTreeMap;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::server::Connected;

/// What every client must send first (RFC 9113, section 3.4).
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// An HTTP/2 frame header: length (3 bytes), type, flags, stream id (4 bytes).
const FRAME_HEADER: usize = 9;
const SETTINGS_FRAME: u8 = 0x4;
/// The largest SETTINGS frame a client may send before the server's SETTINGS arrive (the
/// initial maximum frame size).
const MAX_SETTINGS_LENGTH: usize = 16_384;
/// Admitted connections waiting for the server to take them.
const ADMITTED_QUEUE: usize = 128;

/// How many connections may be open, and how long each has to say hello.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    pub max_connections: usize,
    pub handshake_timeout: Duration,
}

/// A connection past its handshake, with the bytes read to check it still to be read, and its
/// slot among `max_connections`, given back when the server drops it.
pub struct Admitted<IO> {
    io: IO,
    read_ahead: Vec<u8>,
    consumed: usize,
    _slot: OwnedSemaphorePermit,
}

impl<IO: AsyncRead + Unpin> AsyncRead for Admitted<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.consumed < this.read_ahead.len() {
            let rest = &this.read_ahead[this.consumed..];
            let count = rest.len().min(buffer.remaining());
            buffer.put_slice(&rest[..count]);
            this.consumed += count;
            if this.consumed == this.read_ahead.len() {
                this.read_ahead = Vec::new();
                this.consumed = 0;
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.io).poll_read(context, buffer)
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Admitted<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(context, buffer)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffers: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(context, buffers)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(context)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(context)
    }
}

impl<IO: Connected> Connected for Admitted<IO> {
    type ConnectInfo = IO::ConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.io.connect_info()
    }
}

/// The connections that finished their handshake (`handshake` turns an accepted TCP stream
/// into the stream the server speaks over: itself, or a TLS stream), for
/// `serve_with_incoming`. Accepting stops when the stream is dropped (the server has stopped).
pub fn incoming<IO, Handshake, Handshaking>(
    listener: TcpListener,
    limits: ConnectionLimits,
    handshake: Handshake,
) -> ReceiverStream<io::Result<Admitted<IO>>>
where
    IO: AsyncRead + Unpin + Send + 'static,
    Handshake: Fn(TcpStream) -> Handshaking + Send + 'static,
    Handshaking: Future<Output = io::Result<IO>> + Send + 'static,
{
    let (sender, receiver) = tokio::sync::mpsc::channel(ADMITTED_QUEUE);
    tokio::spawn(async move {
        let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
        // The connections still in their handshake, oldest first, each with the means to
        // close it.
        let handshaking: Arc<Mutex<BTreeMap<u64, oneshot::Sender<()>>>> = Arc::default();
        let mut next_id = 0_u64;
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                () = sender.closed() => break,
            };
            let (stream, peer) = match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, most likely: pause rather than spin.
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            // Small responses would otherwise wait on delayed ACKs (40 ms each).
            let _ = stream.set_nodelay(true);
            let mut slot = slots.clone().try_acquire_owned();
            if slot.is_err() {
                // Connections accepted in the same burst may not have been looked at yet: let
                // them read what they have sent, so that a client whose handshake is already
                // here is admitted rather than taken for a silent one.
                tokio::task::yield_now().await;
                slot = slots.clone().try_acquire_owned();
            }
            let slot = match slot {
                Ok(slot) => slot,
                Err(_) => {
                    let oldest = handshaking.lock().ok().and_then(|mut map| map.pop_first());
                    match oldest {
                        Some((_, close)) => {
                            let _ = close.send(());
                        }
                        None => tracing::warn!(
                            max_connections = limits.max_connections,
                            "every connection slot is taken by a connection in use: new connections wait until one closes"
                        ),
                    }
                    let acquired = tokio::select! {
                        acquired = slots.clone().acquire_owned() => acquired,
                        () = sender.closed() => break,
                    };
                    match acquired {
                        Ok(slot) => slot,
                        Err(_) => break,
                    }
                }
            };
            let id = next_id;
            next_id += 1;
            let (close, closed) = oneshot::channel();
            if let Ok(mut map) = handshaking.lock() {
                map.insert(id, close);
            }
            let handshaking = handshaking.clone();
            let handshaken = handshake(stream);
            let sender = sender.clone();
            tokio::spawn(async move {
                let greeted = tokio::time::timeout(limits.handshake_timeout, async move {
                    let mut io = handshaken.await?;
                    let read_ahead = read_preface(&mut io).await?;
                    io::Result::Ok((io, read_ahead))
                });
                let outcome = tokio::select! {
                    // A connection told to make room before it was first looked at goes,
                    // even if its handshake is already here.
                    biased;
                    _ = closed => None,
                    outcome = greeted => Some(outcome),
                };
                // Whoever takes the connection off the list decides: if the accept loop took
                // it to make room, it waits for this slot, so the connection must go even
                // when its handshake finished at the same moment.
                let still_listed = handshaking
                    .lock()
                    .map_or(true, |mut map| map.remove(&id).is_some());
                match outcome {
                    Some(Ok(Ok(_))) if !still_listed => tracing::debug!(
                        %peer,
                        "connection closed as its handshake finished: its slot went to a new one"
                    ),
                    Some(Ok(Ok((io, read_ahead)))) => {
                        let admitted = Admitted {
                            io,
                            read_ahead,
                            consumed: 0,
                            _slot: slot,
                        };
                        let _ = sender.send(Ok(admitted)).await;
                    }
                    Some(Ok(Err(error))) => tracing::debug!(%peer, %error, "handshake failed"),
                    Some(Err(_)) => {
                        tracing::debug!(%peer, "handshake timed out: connection closed")
                    }
                    None => tracing::debug!(
                        %peer,
                        "connection closed before its handshake to make room for a new one"
                    ),
                }
            });
        }
    });
    ReceiverStream::new(receiver)
}

/// File descriptors kept for everything but client connections: the listener, the database
/// and its log, webhook and PostgreSQL sockets, files being delivered.
const RESERVED_DESCRIPTORS: u64 = 256;

/// Raises the process's open-file limit to its hard limit, and returns `max_connections`, or
/// less, with a warning, when that many connections would not fit under the limit beside
/// [`RESERVED_DESCRIPTORS`]: the server then refuses connections itself rather than running
/// out of descriptors (and failing to open its database or send a webhook).
pub fn connection_budget(max_connections: usize) -> usize {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return max_connections;
    };
    let limit = if soft < hard && setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_ok() {
        hard
    } else {
        soft
    };
    let fits = usize::try_from(limit.saturating_sub(RESERVED_DESCRIPTORS))
        .unwrap_or(usize::MAX)
        .max(1);
    if max_connections > fits {
        tracing::warn!(
            max_connections,
            open_file_limit = limit,
            serving = fits,
            "max_connections does not fit under the open-file limit: serving fewer connections (raise the hard limit, `ulimit -Hn`, to serve more)"
        );
        fits
    } else {
        max_connections
    }
}

/// Reads until the client has sent the connection preface and a whole SETTINGS frame;
/// returns what was read (perhaps a little more), or why this is not HTTP/2.
async fn read_preface<IO: AsyncRead + Unpin>(io: &mut IO) -> io::Result<Vec<u8>> {
    let mut read = Vec::with_capacity(128);
    let mut chunk = [0_u8; 512];
    loop {
        if let Some(needed) = preface_needs(&read)?
            && read.len() >= needed
        {
            return Ok(read);
        }
        let count = io.read(&mut chunk).await?;
        if count == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the client closed the connection before its HTTP/2 preface",
            ));
        }
        read.extend_from_slice(&chunk[..count]);
    }
}

/// How many bytes the preface and first SETTINGS frame take, once `read` shows it (None: read
/// more), or why `read` is not the start of an HTTP/2 connection.
fn preface_needs(read: &[u8]) -> io::Result<Option<usize>> {
    let invalid = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_owned());
    let compared = read.len().min(PREFACE.len());
    if read[..compared] != PREFACE[..compared] {
        return Err(invalid("not an HTTP/2 connection preface"));
    }
    let Some(header) = read.get(PREFACE.len()..PREFACE.len() + FRAME_HEADER) else {
        return Ok(None);
    };
    let length =
        usize::from(header[0]) << 16 | usize::from(header[1]) << 8 | usize::from(header[2]);
    if header[3] != SETTINGS_FRAME || header[5..9] != [0, 0, 0, 0] {
        return Err(invalid("the preface is not followed by a SETTINGS frame"));
    }
    if length > MAX_SETTINGS_LENGTH || length % 6 != 0 {
        return Err(invalid("the first SETTINGS frame has a bad length"));
    }
    Ok(Some(PREFACE.len() + FRAME_HEADER + length))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(length: u8) -> Vec<u8> {
        let mut bytes = PREFACE.to_vec();
        bytes.extend_from_slice(&[0, 0, length, SETTINGS_FRAME, 0, 0, 0, 0, 0]);
        bytes.extend(std::iter::repeat_n(0, usize::from(length)));
        bytes
    }

    #[test]
    fn the_preface_and_settings_are_recognised_as_they_arrive() {
        let whole = settings(12);
        assert_eq!(preface_needs(&whole[..5]).unwrap(), None);
        assert_eq!(preface_needs(&whole[..30]).unwrap(), None);
        assert_eq!(preface_needs(&whole[..33]).unwrap(), Some(45));
        assert_eq!(preface_needs(&whole).unwrap(), Some(45));
    }

    #[test]
    fn anything_else_is_refused() {
        assert!(preface_needs(b"GET / HTTP/1.1\r\n").is_err());
        let mut headers_first = settings(0);
        headers_first[PREFACE.len() + 3] = 0x1;
        assert!(preface_needs(&headers_first).is_err());
        let odd_length = settings(7);
        assert!(preface_needs(&odd_length).is_err());
    }

    #[tokio::test]
    async fn what_was_read_ahead_is_read_first() {
        let (mut client, server) = tokio::io::duplex(1024);
        let mut bytes = settings(6);
        bytes.extend_from_slice(b"next frame");
        tokio::io::AsyncWriteExt::write_all(&mut client, &bytes)
            .await
            .unwrap();
        drop(client);
        let mut server = server;
        let read_ahead = read_preface(&mut server).await.unwrap();
        let slot = Arc::new(Semaphore::new(1)).try_acquire_owned().unwrap();
        let mut admitted = Admitted {
            io: server,
            read_ahead,
            consumed: 0,
            _slot: slot,
        };
        let mut everything = Vec::new();
        admitted.read_to_end(&mut everything).await.unwrap();
        assert_eq!(everything, bytes);
    }
}
