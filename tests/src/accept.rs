//! What the kit's in-process servers (the mock OpenRouter, the mock MCP server) share:
//! the accept loop and a lock that survives a panicking test thread.

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

/// Mutex access that survives a test thread having panicked while holding the lock.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Accepts connections forever, each served by `serve` on its own task. `name` labels an
/// accept failure (typically EMFILE under a heavy benchmark), after which the loop backs
/// off instead of spinning.
pub(crate) async fn accept_loop<S, F, Fut>(
    listener: TcpListener,
    state: Arc<S>,
    name: &'static str,
    serve: F,
) where
    S: Send + Sync + 'static,
    F: Fn(TcpStream, Arc<S>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
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
        connections.spawn(serve(socket, Arc::clone(&state)));
    }
}
