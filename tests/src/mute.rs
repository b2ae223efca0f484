//! A stand-in for an upstream that takes connections and then says nothing: for tests of
//! connect and handshake timeouts, where a closed port would fail too fast to tell.

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// A loopback listener that accepts every connection and holds it open without sending a
/// byte. Returns its port and the task holding the connections; abort it to close them.
pub async fn mute_listener() -> std::io::Result<(u16, JoinHandle<()>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    Ok((port, holder))
}
