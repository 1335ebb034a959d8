//! What the benchmark programs share: a free loopback port, waiting for a server to listen, and
//! a process's memory from `/proc`.

use std::net::SocketAddr;
use std::time::Duration;

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Waits up to 30 s for something to listen on `addr`.
pub async fn wait_for(addr: SocketAddr) {
    for _ in 0..300 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the server did not start listening on {addr} within 30 s");
}

/// A KiB figure of `/proc/<pid>/status` (`VmRSS`, `VmHWM`, …); 0 when it cannot be read.
pub fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.strip_prefix(field).is_some_and(|r| r.starts_with(':')))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

pub mod ejabberd;

/// The bench's user `i` (its id in Presently, its XMPP user name in ejabberd).
pub fn user_name(i: usize) -> String {
    format!("u-bench-{i}")
}
pub mod net;
