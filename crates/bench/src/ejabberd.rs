//! ejabberd as a bench target: Debian's package, configured and started by the bench with a
//! configuration of its own (c2s on loopback without TLS, no shaper, a raised `max_fsm_queue`
//! and listener backlog, plain passwords so 19,000 logins cost no SCRAM), people and teams made
//! over mod_http_api (one mod_shared_roster group per team, each shown to itself, so every
//! member has the others as contacts with presence both ways), and a small XMPP client: PLAIN
//! login, bind, roster, initial presence; a status change is a presence with `<show>dnd</show>`
//! (Busy) or none (Available), and a delivery is a teammate's presence read off the stream.
//!
//! The client is written here rather than taken from a crate: the XMPP crates parse every
//! stanza into a tree and hold a TLS-capable stream per connection, which would put the load
//! generator's cost, not the server's, into the figures for 19,000 connections. This one
//! looks for `<presence … from='u-bench-N@…'` and nothing else.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub const CTL: &str = "/usr/sbin/ejabberdctl";
pub const HOST: &str = "bench.test";
pub const PASSWORD: &str = "bench";
/// Where the bench raises the ejabberd user's open-file limit.
pub const LIMITS: &str = "/etc/security/limits.d/presently-bench-ejabberd.conf";

/// Whether Debian's ejabberd is installed here, or what to do.
pub fn installed() -> Result<(), String> {
    if Path::new(CTL).exists() {
        Ok(())
    } else {
        Err("ejabberd is not installed: sudo apt-get install ejabberd (Debian 12 has 23.01; the bench configures and starts its own instance, and the package's service may stay stopped)".into())
    }
}

/// A running ejabberd of the bench's own.
pub struct Ejabberd {
    pub dir: PathBuf,
    pub c2s: SocketAddr,
    pub api: SocketAddr,
    /// The Erlang VM's pid (beam.smp), whose CPU and memory are measured.
    pub beam: u32,
    node: String,
    ctl: tokio::process::Child,
}

/// The configuration: `spin` keeps Erlang's default scheduler busy-waiting; without it the
/// schedulers sleep at once when out of work (`+sbwt none +sbwtdcpu none +sbwtdio none`).
fn config(c2s_ip: IpAddr, c2s: u16, api: u16) -> String {
    format!(
        r#"hosts: ["{HOST}"]
loglevel: warning
auth_method: internal
auth_password_format: plain
default_db: mnesia
max_fsm_queue: 100000
shaper:
  fast: 100000000
shaper_rules:
  c2s_shaper: none
listen:
  -
    port: {c2s}
    ip: "{c2s_ip}"
    module: ejabberd_c2s
    starttls: false
    shaper: c2s_shaper
    access: c2s
    max_stanza_size: 65536
    max_fsm_queue: 100000
    backlog: 4096
  -
    port: {api}
    ip: "127.0.0.1"
    module: ejabberd_http
    request_handlers:
      /api: mod_http_api
acl:
  loopback:
    ip:
      - 127.0.0.0/8
access_rules:
  c2s:
    allow: all
  register:
    allow: all
api_permissions:
  "bench on loopback":
    from:
      - mod_http_api
      - ejabberd_ctl
    who:
      acl: loopback
    what: "*"
  "console commands":
    from:
      - ejabberd_ctl
    who: all
    what: "*"
modules:
  mod_roster: {{}}
  mod_shared_roster: {{}}
  mod_admin_extra: {{}}
  mod_disco: {{}}
  mod_ping: {{}}
"#
    )
}

fn run(cmd: &mut std::process::Command) -> Result<(), String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{cmd:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

impl Ejabberd {
    /// Writes the configuration under `dir` and starts ejabberd in the foreground (as its own
    /// user, as ejabberdctl does), on `cpus` when given, its c2s listener on `c2s_ip` (its HTTP
    /// API stays on loopback).
    pub async fn start(
        dir: &Path,
        spin: bool,
        cpus: Option<&str>,
        c2s_ip: IpAddr,
    ) -> Result<Ejabberd, String> {
        installed()?;
        let dir = dir.join(if spin { "ejabberd" } else { "ejabberd-nospin" });
        let _ = std::fs::remove_dir_all(&dir);
        for d in ["spool", "logs"] {
            std::fs::create_dir_all(dir.join(d)).map_err(|e| e.to_string())?;
        }
        let (c2s, api) = (crate::free_port(), crate::free_port());
        std::fs::write(dir.join("ejabberd.yml"), config(c2s_ip, c2s, api))
            .map_err(|e| e.to_string())?;
        let node = format!("presently-bench-{}-{}", std::process::id(), spin as u8);
        // Erlang's own defaults but for the node name and, without spinning, the schedulers'
        // busy wait; ports enough for 19,000 connections.
        let mut erl = String::from("-env ERL_CRASH_DUMP_BYTES 0");
        if !spin {
            erl.push_str(" +sbwt none +sbwtdcpu none +sbwtdio none");
        }
        std::fs::write(
            dir.join("ejabberdctl.cfg"),
            format!(
                "ERLANG_NODE={node}@localhost\nERL_OPTIONS=\"{erl}\"\nERL_MAX_PORTS=65536\nERL_PROCESSES=1000000\nPOLL=true\n"
            ),
        )
        .map_err(|e| e.to_string())?;
        let _ = std::fs::copy("/etc/ejabberd/inetrc", dir.join("inetrc"));
        // The package's user runs it, as the service would (ejabberdctl goes through su, whose
        // PAM session sets the user's limits): its open-file limit is raised for that user, to
        // the machine's hard limit, in a file of the bench's own.
        if nix_is_root() {
            let limits = Path::new(LIMITS);
            if !limits.exists() {
                std::fs::write(
                    limits,
                    "# Written by presently-bench: ejabberd holds one file per connection.\nejabberd soft nofile 20000\nejabberd hard nofile 20000\n",
                )
                .map_err(|e| format!("cannot raise ejabberd's open-file limit in {LIMITS}: {e}"))?;
            }
            run(std::process::Command::new("chown")
                .args(["-R", "ejabberd:ejabberd"])
                .arg(&dir))?;
        }
        let mut cmd = match cpus {
            Some(c) => {
                let mut cmd = tokio::process::Command::new("taskset");
                cmd.arg("-c").arg(c).arg(CTL);
                cmd
            }
            None => tokio::process::Command::new(CTL),
        };
        let ctl = cmd
            .arg("--config-dir")
            .arg(&dir)
            .arg("--spool")
            .arg(dir.join("spool"))
            .arg("--logs")
            .arg(dir.join("logs"))
            .arg("foreground")
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start {CTL}: {e}"))?;
        let c2s_addr = SocketAddr::new(c2s_ip, c2s);
        let api_addr: SocketAddr = format!("127.0.0.1:{api}").parse().expect("address");
        let mut beam = None;
        for _ in 0..600 {
            if beam.is_none() {
                beam = find_beam(&node);
            }
            if beam.is_some() && TcpStream::connect(c2s_addr).await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let beam = beam.ok_or_else(|| {
            format!(
                "ejabberd did not start within 60 s: see {}",
                dir.join("logs").display()
            )
        })?;
        crate::wait_for(api_addr).await;
        Ok(Ejabberd {
            dir,
            c2s: c2s_addr,
            api: api_addr,
            beam,
            node,
            ctl,
        })
    }

    async fn call(
        &self,
        http: &reqwest::Client,
        command: &str,
        body: serde_json::Value,
    ) -> Result<(), String> {
        let url = format!("http://{}/api/{command}", self.api);
        let res = http
            .post(&url)
            .json(&body)
            .send()
            .await
            .map_err(|e| format!("{command}: {e}"))?;
        let status = res.status();
        let text = res.text().await.unwrap_or_default();
        // Commands answer 0 (or the command's own result) when done.
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("{command} {body}: {status} {text}"))
        }
    }

    /// Registers `users` (u-bench-0 …) and makes one shared roster group per team of
    /// `team_size`, each shown to its own members.
    pub async fn seed(&self, users: usize, team_size: usize) -> Result<(), String> {
        let http = reqwest::Client::new();
        let teams = users.div_ceil(team_size);
        for t in 0..teams {
            let group = format!("t{t}");
            self.call(
                &http,
                "srg_create",
                serde_json::json!({"group": group, "host": HOST, "label": group, "description": "bench team", "display": group}),
            )
            .await?;
        }
        let jobs = futures_util::stream::iter(0..users).map(|i| {
            let http = http.clone();
            async move {
                let user = crate::user_name(i);
                self.call(
                    &http,
                    "register",
                    serde_json::json!({"user": user, "host": HOST, "password": PASSWORD}),
                )
                .await?;
                self.call(
                    &http,
                    "srg_user_add",
                    serde_json::json!({"user": user, "host": HOST, "group": format!("t{}", i / team_size), "grouphost": HOST}),
                )
                .await
            }
        });
        use futures_util::StreamExt;
        let results: Vec<Result<(), String>> = jobs.buffer_unordered(32).collect().await;
        results.into_iter().collect()
    }

    pub async fn stop(mut self) {
        let _ = tokio::process::Command::new(CTL)
            .arg("--config-dir")
            .arg(&self.dir)
            .arg("stop")
            .output()
            .await;
        for _ in 0..100 {
            if !Path::new(&format!("/proc/{}", self.beam)).exists() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if Path::new(&format!("/proc/{}", self.beam)).exists() {
            let _ = std::process::Command::new("kill")
                .args(["-9", &self.beam.to_string()])
                .status();
        }
        let _ = self.ctl.kill().await;
        let _ = self.node.len();
    }
}

fn nix_is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

/// The beam.smp process of `node`.
fn find_beam(node: &str) -> Option<u32> {
    std::fs::read_dir("/proc")
        .ok()?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .find(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim() == "beam.smp")
                && std::fs::read(format!("/proc/{pid}/cmdline"))
                    .is_ok_and(|c| String::from_utf8_lossy(&c).contains(node))
        })
}

/// An XMPP client's login.
struct Xmpp {
    stream: TcpStream,
    buf: Vec<u8>,
}

/// A logged-in client's incoming stream, read for teammates' presence.
#[derive(Default)]
pub struct Presences {
    buf: Vec<u8>,
}

fn header() -> String {
    format!("<?xml version='1.0'?><stream:stream to='{HOST}' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>")
}

fn base64(input: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

impl Xmpp {
    /// Reads until `ok` appears (what follows it stays buffered); an error if `fail` does.
    async fn until(&mut self, ok: &str, fail: &str) -> Result<(), String> {
        let mut chunk = [0u8; 4096];
        loop {
            let text = String::from_utf8_lossy(&self.buf);
            if let Some(p) = text.find(ok) {
                let end = p + ok.len();
                self.buf.drain(..end);
                return Ok(());
            }
            if text.contains(fail) {
                return Err(format!("refused: {text}"));
            }
            let n = self
                .stream
                .read(&mut chunk)
                .await
                .map_err(|e| e.to_string())?;
            if n == 0 {
                return Err(format!("closed by the server: {text}"));
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    async fn send(&mut self, s: &str) -> Result<(), String> {
        self.stream
            .write_all(s.as_bytes())
            .await
            .map_err(|e| e.to_string())
    }
}

/// Logs in as `user`, binds, fetches the roster and sends the initial presence; the stream
/// and what was read past the roster.
pub async fn login(stream: TcpStream, user: &str) -> Result<(TcpStream, Presences), String> {
    Xmpp::login(stream, user).await
}

impl Xmpp {
    async fn login(stream: TcpStream, user: &str) -> Result<(TcpStream, Presences), String> {
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        let mut x = Xmpp {
            stream,
            buf: Vec::new(),
        };
        x.send(&header()).await?;
        x.until("</stream:features>", "<stream:error").await?;
        let auth = base64(format!("\0{user}\0{PASSWORD}").as_bytes());
        x.send(&format!(
            "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{auth}</auth>"
        ))
        .await?;
        x.until("<success", "<failure").await?;
        x.buf.clear();
        x.send(&header()).await?;
        x.until("</stream:features>", "<stream:error").await?;
        x.send("<iq type='set' id='bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>bench</resource></bind></iq>").await?;
        x.until("</iq>", "type='error'").await?;
        x.send("<iq type='get' id='roster'><query xmlns='jabber:iq:roster'/></iq>")
            .await?;
        x.until("</iq>", "type='error'").await?;
        x.send("<presence/>").await?;
        Ok((x.stream, Presences { buf: x.buf }))
    }
}

/// What a change is on the wire: Busy is Do not disturb's `show`, Available a plain presence.
pub fn presence(busy: bool) -> &'static str {
    if busy {
        "<presence><show>dnd</show></presence>"
    } else {
        "<presence/>"
    }
}

impl Presences {
    /// Takes what arrived and returns the users whose presence it carries (not `me`'s own,
    /// which ejabberd reflects back); a stanza cut between reads waits for its rest.
    pub fn take_presences(&mut self, data: &[u8], me: usize, out: &mut Vec<usize>) {
        self.buf.extend_from_slice(data);
        let Some(last) = self.buf.iter().rposition(|b| *b == b'>') else {
            return;
        };
        let text = String::from_utf8_lossy(&self.buf[..=last]).into_owned();
        let mut rest = text.as_str();
        while let Some(p) = rest.find("<presence") {
            rest = &rest[p + 9..];
            let tag_end = rest.find('>').unwrap_or(rest.len());
            let tag = &rest[..tag_end];
            if let Some(f) = tag
                .find("from='u-bench-")
                .or_else(|| tag.find("from=\"u-bench-"))
            {
                let digits: String = tag[f + 14..]
                    .chars()
                    .take_while(|c| c.is_ascii_digit())
                    .collect();
                if let Ok(u) = digits.parse::<usize>() {
                    if u != me {
                        out.push(u);
                    }
                }
            }
        }
        self.buf.drain(..=last);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_teammates_presence_is_read_even_when_cut_between_reads() {
        let mut p = Presences::default();
        let mut got = Vec::new();
        p.take_presences(
            b"<presence xml:lang='en' to='u-bench-1@bench.test/bench' from='u-bench-",
            1,
            &mut got,
        );
        assert!(got.is_empty());
        p.take_presences(b"42@bench.test/bench'><show>dnd</show></presence><presence from='u-bench-1@bench.test/bench'/>", 1, &mut got);
        assert_eq!(got, [42], "one's own reflected presence is not a delivery");
        p.take_presences(
            b"<iq from='u-bench-7@bench.test' type='result'/>",
            1,
            &mut got,
        );
        assert_eq!(got, [42]);
    }

    #[test]
    fn base64_is_the_standard_one() {
        assert_eq!(base64(b"\0u\0p"), "AHUAcA==");
        assert_eq!(base64(b"abc"), "YWJj");
        assert_eq!(base64(b"ab"), "YWI=");
    }
}
