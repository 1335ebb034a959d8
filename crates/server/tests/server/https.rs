//! A real HTTPS server started by a test, on loopback with a CA made in the test (which the
//! server under test is told to trust): every request is kept, and answered as the test says.
//! The webhook receiver and the calendar server of the tests.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use test_support::tls::{TestCa, Validity};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

/// One request the server took.
#[derive(Debug)]
pub struct Received {
    pub method: String,
    pub path: String,
    /// Lower-case names.
    pub headers: HashMap<String, String>,
    pub body: String,
}

/// What to answer: the status, headers, and body.
pub type Answer = (u16, Vec<(String, String)>, String);

pub struct Https {
    /// `https://127.0.0.1:<port>`.
    pub base: String,
    /// The CA to trust for it.
    pub ca_file: PathBuf,
    pub requests: mpsc::UnboundedReceiver<Received>,
}

impl Https {
    pub async fn start(
        dir: &Path,
        answer: impl Fn(&Received) -> Answer + Send + Sync + 'static,
    ) -> Https {
        let ca = TestCa::new(dir, "https");
        let issued = ca.issue(dir, "https", &["127.0.0.1"], Validity::Current);
        let config = presently_server::tls::server_config(&issued.cert_file, &issued.key_file)
            .expect("the test server's certificate");
        let acceptor = tokio_rustls::TlsAcceptor::from(config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!(
            "https://127.0.0.1:{}",
            listener.local_addr().unwrap().port()
        );
        let (tx, requests) = mpsc::unbounded_channel();
        let answer = Arc::new(answer);
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (acceptor, tx, answer) = (acceptor.clone(), tx.clone(), answer.clone());
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let Some(received) = read_request(&mut tls).await else {
                        return;
                    };
                    let (code, headers, body) = answer(&received);
                    let mut reply = format!(
                        "HTTP/1.1 {code} Test\r\ncontent-length: {}\r\nconnection: close\r\n",
                        body.len()
                    );
                    for (k, v) in headers {
                        reply.push_str(&format!("{k}: {v}\r\n"));
                    }
                    reply.push_str("\r\n");
                    reply.push_str(&body);
                    let _ = tls.write_all(reply.as_bytes()).await;
                    let _ = tls.shutdown().await;
                    let _ = tx.send(received);
                });
            }
        });
        Https {
            base,
            ca_file: ca.cert_file,
            requests,
        }
    }
}

/// Reads one HTTP/1.1 request.
async fn read_request<S: tokio::io::AsyncRead + Unpin>(s: &mut S) -> Option<Received> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let end = loop {
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..end]).to_string();
    let mut lines = head.lines();
    let mut first = lines.next()?.split(' ');
    let (method, path) = (first.next()?.to_string(), first.next()?.to_string());
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .get("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    let mut body = buf[end..].to_vec();
    while body.len() < length {
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(Received {
        method,
        path,
        headers,
        body: String::from_utf8(body).ok()?,
    })
}
