//! What the kit's in-process servers (the mock OpenRouter, the mock MCP server) share:
//! accepting connections, serving HTTP/1.1 on each, and a lock that survives a panicking
//! test thread.

use crate::mock::script::ScriptBody;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

/// Mutex access that survives a test thread having panicked while holding the lock.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Serves every connection `listener` accepts with `handle`, each on its own task, until
/// the task is aborted. `name` labels an accept failure (typically EMFILE under a heavy
/// benchmark), after which the loop backs off instead of spinning.
pub(crate) async fn serve_forever<S, H, Fut>(
    listener: TcpListener,
    state: Arc<S>,
    name: &'static str,
    handle: H,
) where
    S: Send + Sync + 'static,
    H: Fn(Arc<S>, Request<Incoming>) -> Fut + Copy + Send + Sync + 'static,
    Fut: Future<Output = Result<Response<ScriptBody>, Infallible>> + Send + 'static,
{
    let mut connections = JoinSet::new();
    loop {
        let socket = match listener.accept().await {
            Ok((socket, _peer)) => socket,
            Err(error) => {
                eprintln!("{name}: accept failed: {error}");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        while connections.try_join_next().is_some() {}
        let state = Arc::clone(&state);
        connections.spawn(async move {
            // Without TCP_NODELAY a small event can sit in the kernel waiting for the ACK
            // of the previous one (Nagle + delayed ACK, the 40 ms trap of METHOD.md §3.3).
            if let Err(error) = socket.set_nodelay(true) {
                eprintln!("{name}: TCP_NODELAY: {error}");
            }
            let service = service_fn(move |request| handle(Arc::clone(&state), request));
            // Errors here are clients going away mid-answer, or the deliberate cuts and
            // timeouts under test; nothing to report.
            let _ = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(socket), service)
                .await;
        });
    }
}
