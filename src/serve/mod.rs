//! Serving the application on a TCP listener, plain or over TLS, so that no client can take
//! the box down by holding connections. Each accepted connection is admitted by the connection
//! table (`table`): per client (an IPv4 address or an IPv6 /64) and in total, with the oldest
//! idle connection shed when a new one would go over a limit. A TLS handshake runs in the
//! connection's own task under a short deadline, so silent clients cannot hold the handshake
//! pool. HTTP/1 connections (hyper) close when a request's headers do not arrive within the
//! header timeout, which also bounds how long a kept-alive connection may sit idle. Handlers
//! get the client's address as axum's `ConnectInfo<SocketAddr>`.

mod table;

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use table::{Admission, ConnTable};

/// Pause after an accept error (out of file descriptors) before trying again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// How long shutdown waits for open connections to finish their responses.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// The limits one listener serves under.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_connections: usize,
    pub max_per_client: usize,
    pub header_timeout: Duration,
    pub handshake_timeout: Duration,
}

type Table = Arc<Mutex<ConnTable>>;

fn lock(table: &Table) -> MutexGuard<'_, ConnTable> {
    table.lock().unwrap_or_else(|p| p.into_inner())
}

/// Serve `app` on `listener` (over TLS with `tls`) until `stop`, then let open responses
/// finish for a moment and close everything.
pub async fn serve(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    app: Router,
    limits: Limits,
    stop: CancellationToken,
) -> io::Result<()> {
    let table: Table = Arc::new(Mutex::new(ConnTable::new(
        limits.max_connections,
        limits.max_per_client,
    )));
    let acceptor = tls.map(TlsAcceptor::from);
    let tasks = TaskTracker::new();
    loop {
        let (stream, addr) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            _ = stop.cancelled() => break,
        };
        let (id, close) = match lock(&table).admit(addr.ip()) {
            Admission::Accept { id, close, shed } => {
                for old in shed {
                    old.cancel();
                }
                (id, close)
            }
            Admission::Refuse => {
                tracing::debug!(%addr, "connection refused: every slot is busy");
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let conn = Connection {
            id,
            addr,
            close,
            table: table.clone(),
            app: app.clone(),
            limits: limits.clone(),
        };
        let acceptor = acceptor.clone();
        tasks.spawn(async move {
            conn.run(stream, acceptor).await;
        });
    }
    lock(&table).close_all();
    tasks.close();
    if tokio::time::timeout(SHUTDOWN_GRACE, tasks.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            open = lock(&table).open(),
            "connections still open at shutdown were dropped"
        );
    }
    Ok(())
}

/// One accepted connection.
struct Connection {
    id: u64,
    addr: SocketAddr,
    /// Cancelled to close it: shed for a newer one, or shutdown.
    close: CancellationToken,
    table: Table,
    app: Router,
    limits: Limits,
}

impl Connection {
    async fn run(self, stream: TcpStream, acceptor: Option<TlsAcceptor>) {
        match acceptor {
            None => self.http(stream).await,
            Some(acceptor) => {
                let handshake =
                    tokio::time::timeout(self.limits.handshake_timeout, acceptor.accept(stream));
                let tls = tokio::select! {
                    done = handshake => done,
                    _ = self.close.cancelled() => {
                        lock(&self.table).release(self.id);
                        return;
                    }
                };
                match tls {
                    Ok(Ok(tls)) => self.http(tls).await,
                    Ok(Err(e)) => {
                        tracing::debug!(addr = %self.addr, error = %e, "TLS handshake failed");
                        lock(&self.table).release(self.id);
                    }
                    Err(_) => {
                        tracing::debug!(addr = %self.addr, "TLS handshake timed out");
                        lock(&self.table).release(self.id);
                    }
                }
            }
        }
    }

    /// HTTP/1 on `io` until the client or the header timer ends it, or it is told to close.
    async fn http<I>(self, io: I)
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let service = Tracked {
            app: self.app.clone(),
            addr: self.addr,
            id: self.id,
            table: self.table.clone(),
        };
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(self.limits.header_timeout)
            .keep_alive(true);
        let conn = builder.serve_connection(TokioIo::new(io), service);
        tokio::pin!(conn);
        let result = tokio::select! {
            r = conn.as_mut() => r,
            _ = self.close.cancelled() => {
                // In-flight responses finish; an idle connection closes at once.
                conn.as_mut().graceful_shutdown();
                conn.await
            }
        };
        if let Err(e) = result {
            tracing::debug!(addr = %self.addr, error = %e, "connection ended");
        }
        lock(&self.table).release(self.id);
    }
}

/// The application as hyper calls it: the client's address added to each request, and each
/// request counted in flight on its connection until its response body ends.
#[derive(Clone)]
struct Tracked {
    app: Router,
    addr: SocketAddr,
    id: u64,
    table: Table,
}

impl hyper::service::Service<hyper::Request<Incoming>> for Tracked {
    type Response = hyper::Response<Body>;
    type Error = Infallible;
    type Future =
        Pin<Box<dyn std::future::Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn call(&self, mut req: hyper::Request<Incoming>) -> Self::Future {
        req.extensions_mut().insert(ConnectInfo(self.addr));
        lock(&self.table).request_started(self.id);
        let guard = InFlight {
            id: self.id,
            table: self.table.clone(),
        };
        let app = self.app.clone();
        Box::pin(async move {
            let response = tower::ServiceExt::oneshot(app, req.map(Body::new))
                .await
                .unwrap_or_else(|e| match e {});
            Ok(response.map(|body| Body::new(Guarded { body, guard })))
        })
    }
}

/// Ends its request's count on the connection when dropped (the body was sent, or the
/// client went away).
struct InFlight {
    id: u64,
    table: Table,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        lock(&self.table).request_ended(self.id);
    }
}

/// A response body that holds its request's [`InFlight`] until it ends.
struct Guarded {
    body: Body,
    guard: InFlight,
}

impl http_body::Body for Guarded {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let _ = &self.guard;
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}
