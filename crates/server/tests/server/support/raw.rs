//! A WebSocket spoken by hand, byte by byte, for the frames a WebSocket library will not send.

use super::client::WAIT;
use std::net::SocketAddr;
use std::time::Duration;

/// A WebSocket opened by hand on a TCP socket, to send frames no WebSocket library would.
pub struct RawWs(tokio::net::TcpStream);

impl RawWs {
    pub async fn open(addr: SocketAddr) -> RawWs {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
        tcp.write_all(
            format!(
                "GET /api/v1/ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                 Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            )
            .as_bytes(),
        )
        .await
        .expect("the upgrade request is sent");
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            let mut byte = [0u8; 1];
            tcp.read_exact(&mut byte).await.expect("the upgrade answer");
            head.push(byte[0]);
        }
        assert!(
            head.starts_with(b"HTTP/1.1 101"),
            "upgraded: {}",
            String::from_utf8_lossy(&head)
        );
        RawWs(tcp)
    }

    /// Sends one masked frame: `first` is the FIN / RSV / opcode byte; the length is announced as
    /// `announced` (the payload's own length when `None`).
    pub async fn send(&mut self, first: u8, payload: &[u8], announced: Option<u64>) {
        self.send_in_pieces(first, payload, announced, &[]).await;
    }

    /// The same, written in pieces cut at `cuts` (offsets into the whole frame, header
    /// included), each written and flushed on its own after a pause, so the server reads them
    /// apart (and finds nothing more to read between them).
    pub async fn send_in_pieces(
        &mut self,
        first: u8,
        payload: &[u8],
        announced: Option<u64>,
        cuts: &[usize],
    ) {
        use tokio::io::AsyncWriteExt;
        let len = announced.unwrap_or(payload.len() as u64);
        let mut frame = vec![first];
        match len {
            0..=125 => frame.push(0x80 | len as u8),
            126..=0xffff => {
                frame.push(0x80 | 126);
                frame.extend_from_slice(&(len as u16).to_be_bytes());
            }
            _ => {
                frame.push(0x80 | 127);
                frame.extend_from_slice(&len.to_be_bytes());
            }
        }
        let mask = [0x12, 0x34, 0x56, 0x78];
        frame.extend_from_slice(&mask);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        let mut from = 0;
        for &cut in cuts.iter().chain(std::iter::once(&frame.len())) {
            let cut = cut.clamp(from, frame.len());
            // The peer may close before all of it is written: that is what some tests expect.
            if self.0.write_all(&frame[from..cut]).await.is_err() {
                return;
            }
            let _ = self.0.flush().await;
            from = cut;
            if from < frame.len() {
                // Not a timing assertion: only so the pieces reach the server apart.
                tokio::time::sleep(Duration::from_millis(30)).await;
            }
        }
    }

    /// The next frame's opcode and payload; `None` if the connection ends first.
    async fn frame(&mut self) -> Option<(u8, Vec<u8>)> {
        use tokio::io::AsyncReadExt;
        let mut head = [0u8; 2];
        self.0.read_exact(&mut head).await.ok()?;
        let mut len = u64::from(head[1] & 0x7f);
        if len == 126 {
            let mut ext = [0u8; 2];
            self.0.read_exact(&mut ext).await.ok()?;
            len = u64::from(u16::from_be_bytes(ext));
        } else if len == 127 {
            let mut ext = [0u8; 8];
            self.0.read_exact(&mut ext).await.ok()?;
            len = u64::from_be_bytes(ext);
        }
        let mut payload = vec![0u8; len as usize];
        self.0.read_exact(&mut payload).await.ok()?;
        Some((head[0] & 0x0f, payload))
    }

    /// The next text frame's text (other frames skipped); `None` if the connection ends or
    /// closes first.
    pub async fn text(&mut self) -> Option<String> {
        let read = async {
            loop {
                match self.frame().await? {
                    (0x1, payload) => return String::from_utf8(payload).ok(),
                    (0x8, _) => return None,
                    _ => {}
                }
            }
        };
        tokio::time::timeout(WAIT, read).await.ok().flatten()
    }

    /// The close frame's code and reason (frames before it are skipped); `None` if the
    /// connection ended without one.
    pub async fn close_code(&mut self) -> Option<(u16, String)> {
        let read = async {
            loop {
                let (opcode, payload) = self.frame().await?;
                if opcode == 0x8 {
                    let code = u16::from_be_bytes([*payload.first()?, *payload.get(1)?]);
                    return Some((code, String::from_utf8_lossy(&payload[2..]).into_owned()));
                }
            }
        };
        tokio::time::timeout(WAIT, read).await.ok().flatten()
    }
}
