//! A relay between the clients and the server that can go silent.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};

/// A relay between the clients and the server that can go silent: it keeps every connection
/// open and stops passing bytes either way, as a path that drops everything does (no reset, no
/// close: only silence).
pub struct Relay {
    pub addr: SocketAddr,
    silent: Arc<AtomicBool>,
}

impl Relay {
    pub async fn start(to: SocketAddr) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let silent = Arc::new(AtomicBool::new(false));
        let flag = silent.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(to).await else {
                    continue;
                };
                let (client_r, client_w) = client.into_split();
                let (server_r, server_w) = server.into_split();
                tokio::spawn(Relay::pipe(client_r, server_w, flag.clone()));
                tokio::spawn(Relay::pipe(server_r, client_w, flag.clone()));
            }
        });
        Relay { addr, silent }
    }

    async fn pipe(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, silent: Arc<AtomicBool>) {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let read = from.read(&mut buf).await;
            if silent.load(Ordering::SeqCst) {
                // What arrives is dropped, and an end is not passed on.
                if matches!(read, Ok(0) | Err(_)) {
                    return std::future::pending().await;
                }
                continue;
            }
            match read {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if to.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                }
            }
        }
    }

    pub fn go_silent(&self, silent: bool) {
        self.silent.store(silent, Ordering::SeqCst);
    }
}
