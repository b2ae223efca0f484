//! What a listener holding thousands of open streams needs from the OS: a file-descriptor
//! limit that is not the shell's usual 1,024 (each open stream costs two: the client's
//! connection and the one to OpenRouter), and an accept backlog deeper than tokio's
//! default, so a burst of connections is queued by the kernel instead of retried by
//! clients a second later.

use anyhow::Context;
use std::net::SocketAddr;
use tokio::net::{TcpListener, TcpSocket};

/// Connections the kernel queues before `accept` (capped by `net.core.somaxconn`).
const BACKLOG: u32 = 4096;

/// Raises the soft `RLIMIT_NOFILE` to the hard limit; logs what it is now.
pub fn raise_fd_limit() {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::debug!(limit, "open-file limit"),
        // Not fatal: orpipe works, with fewer connections at once.
        Err(error) => tracing::warn!(%error, "could not raise the open-file limit"),
    }
}

/// A listener on `addr` with a backlog of [`BACKLOG`].
pub fn bind(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .context("creating the listening socket")?;
    // As std's and tokio's `bind` do: a restart can listen again at once, while the
    // previous process's connections are still in TIME_WAIT.
    socket.set_reuseaddr(true)?;
    socket
        .bind(addr)
        .with_context(|| format!("binding {addr}"))?;
    socket
        .listen(BACKLOG)
        .with_context(|| format!("listening on {addr}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn binds_an_ephemeral_port_that_accepts() {
        let listener = bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = listener.local_addr().unwrap();
        let (accepted, connected) =
            tokio::join!(listener.accept(), tokio::net::TcpStream::connect(addr));
        assert!(accepted.is_ok() && connected.is_ok());
    }

    #[tokio::test]
    async fn a_port_in_use_is_a_clear_error() {
        let first = bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = first.local_addr().unwrap();
        let error = bind(addr).unwrap_err();
        assert!(
            format!("{error:#}").contains(&addr.to_string()),
            "{error:#}"
        );
    }
}
