//! Mail: invites and password resets sent through the organisation's SMTP relay (lettre, over
//! rustls with the system's roots and an optional CA file; STARTTLS or implicit TLS), each with a
//! plain-text and an HTML part carrying the link and the code. A failure is said, never hidden:
//! it is kept on the invite or reset for administrators to see, and the code stays valid.

use crate::error::AppError;
use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// How long one delivery to the relay may take (connect, TLS, sign-in, send).
pub const SEND_TIMEOUT: Duration = Duration::from_secs(20);

/// How the connection to the relay is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// Plain connection upgraded with STARTTLS before anything is sent (port 587); refused if the
    /// relay does not offer it.
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No TLS: only for a relay on this machine (port 25 on loopback).
    None,
}

impl Security {
    pub fn parse(s: &str) -> Result<Security, AppError> {
        match s.to_ascii_lowercase().as_str() {
            "starttls" => Ok(Security::StartTls),
            "tls" | "implicit" | "smtps" => Ok(Security::Tls),
            "none" => Ok(Security::None),
            _ => Err(AppError::config(format!(
                "[mail] security \"{s}\" is not known: use starttls (port 587), tls (port 465) or none (a relay on this machine)"
            ))),
        }
    }

    pub fn default_port(self) -> u16 {
        match self {
            Security::StartTls => 587,
            Security::Tls => 465,
            Security::None => 25,
        }
    }
}

/// `[mail]`, checked.
#[derive(Debug, Clone)]
pub struct MailOptions {
    /// The relay's host name (checked against its certificate) or address.
    pub relay: String,
    pub port: u16,
    pub security: Security,
    /// User name and password for the relay, if it asks for them.
    pub credentials: Option<(String, String)>,
    /// Who the mail is from: `Presently <presently@example.org>`.
    pub from: String,
    /// A PEM file of CA certificates trusted beside the system's (a company relay).
    pub ca_file: Option<PathBuf>,
}

impl MailOptions {
    /// Checks what the file gave: a sender that is an address, credentials never in the clear
    /// over a network.
    pub fn check(&self) -> Result<(), AppError> {
        if self.relay.trim().is_empty() {
            return Err(AppError::config(
                "[mail] relay is empty: give the SMTP relay's host name, such as smtp.example.org",
            ));
        }
        self.from.parse::<Mailbox>().map_err(|e| {
            AppError::config(format!(
                "[mail] from \"{}\" is not an address ({e}): use such as Presently <presently@example.org>",
                self.from
            ))
        })?;
        if self.security == Security::None && !is_loopback(&self.relay) {
            return Err(AppError::config(format!(
                "[mail] security = \"none\" sends mail (and any password) in the clear: it is allowed only for a relay on this machine, not {}; use starttls or tls",
                self.relay
            )));
        }
        Ok(())
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|a| a.is_loopback())
}

/// What a sending came to, kept on the code it carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// The relay accepted it.
    Sent,
    /// Why not, in words an administrator can act on.
    Failed(String),
}

/// One mail to send.
pub struct Letter {
    pub to: String,
    pub to_name: Option<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
}

struct Sender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    relay: String,
}

/// The server's mail: unset until `[mail]` configures it.
#[derive(Default)]
pub struct Mail {
    sender: RwLock<Option<Arc<Sender>>>,
}

impl Mail {
    /// Takes `[mail]` (`None`: invites and resets are not mailed, only shown).
    pub fn configure(&self, options: Option<&MailOptions>) -> Result<(), AppError> {
        let sender = match options {
            None => None,
            Some(o) => Some(Arc::new(build(o)?)),
        };
        *self.sender.write().unwrap_or_else(|p| p.into_inner()) = sender;
        Ok(())
    }

    /// Whether mail is configured.
    pub fn on(&self) -> bool {
        self.sender
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
    }

    /// Sends `letter`; `None` when mail is not configured.
    pub async fn send(&self, letter: Letter) -> Option<Delivery> {
        let sender = self
            .sender
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()?;
        Some(match sender.send(letter).await {
            Ok(()) => Delivery::Sent,
            Err(e) => {
                tracing::warn!(relay = %sender.relay, error = %e, "mail not sent");
                Delivery::Failed(e)
            }
        })
    }
}

fn build(o: &MailOptions) -> Result<Sender, AppError> {
    o.check()?;
    let from: Mailbox = o
        .from
        .parse()
        .map_err(|e| AppError::config(format!("[mail] from: {e}")))?;
    let mut tls = TlsParameters::builder(o.relay.clone());
    if let Some(path) = &o.ca_file {
        let pem = std::fs::read(path).map_err(|e| {
            AppError::config(format!(
                "[mail] ca_file {}: cannot read it: {e}",
                path.display()
            ))
        })?;
        let cert = Certificate::from_pem(&pem).map_err(|e| {
            AppError::config(format!(
                "[mail] ca_file {} is not a PEM certificate: {e}",
                path.display()
            ))
        })?;
        tls = tls.add_root_certificate(cert);
    }
    let tls = tls
        .build_rustls()
        .map_err(|e| AppError::config(format!("[mail] TLS settings for {}: {e}", o.relay)))?;
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(o.relay.clone())
        .port(o.port)
        .timeout(Some(SEND_TIMEOUT))
        .tls(match o.security {
            Security::StartTls => Tls::Required(tls),
            Security::Tls => Tls::Wrapper(tls),
            Security::None => Tls::None,
        });
    if let Some((user, password)) = &o.credentials {
        builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
    }
    Ok(Sender {
        transport: builder.build(),
        from,
        relay: format!("{}:{}", o.relay, o.port),
    })
}

impl Sender {
    async fn send(&self, letter: Letter) -> Result<(), String> {
        let to = Mailbox::new(
            letter.to_name.clone(),
            letter
                .to
                .parse()
                .map_err(|e| format!("{} is not an address mail can go to: {e}", letter.to))?,
        );
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(letter.subject)
            .multipart(
                MultiPart::alternative()
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_PLAIN)
                            .body(letter.text),
                    )
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_HTML)
                            .body(letter.html),
                    ),
            )
            .map_err(|e| format!("the mail could not be written: {e}"))?;
        match tokio::time::timeout(SEND_TIMEOUT, self.transport.send(message)).await {
            Err(_) => Err(format!(
                "the mail relay {} did not answer within {} s: check [mail] relay and port, and that this server may reach it",
                self.relay,
                SEND_TIMEOUT.as_secs()
            )),
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(explain(&self.relay, &e)),
        }
    }
}

/// A relay's refusal or a failure to reach it, in words that say what to check.
fn explain(relay: &str, e: &lettre::transport::smtp::Error) -> String {
    use std::error::Error as _;
    let mut detail = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        detail.push_str(": ");
        detail.push_str(&s.to_string());
        source = s.source();
    }
    let hint = match e.status() {
        Some(code) if code.to_string().starts_with("535") || code.to_string().starts_with("530") => {
            "the relay refused the sign-in: check [mail] user and password"
        }
        Some(_) if e.is_permanent() => "the relay refused the mail: check [mail] from and the address",
        Some(_) => "the relay could not take it now: send again later",
        None if e.is_tls() => {
            "the TLS handshake failed: check the relay's certificate (and [mail] ca_file for a company CA)"
        }
        None if detail.contains("STARTTLS") || detail.to_lowercase().contains("starttls") => {
            "the relay does not offer STARTTLS: use security = \"tls\" (port 465) if it speaks TLS from the start"
        }
        None => "check [mail] relay and port, and that this server may reach it",
    };
    format!("mail relay {relay}: {detail} ({hint})")
}

/// Text for HTML: `&`, `<`, `>`, `"` and `'` escaped.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A short HTML mail: a heading, paragraphs, one button, the code in a box.
pub fn html_page(heading: &str, paragraphs: &[String], button: (&str, &str), code: &str) -> String {
    let e = html_escape;
    let body: String = paragraphs
        .iter()
        .map(|p| format!("<p style=\"margin:0 0 16px\">{}</p>", e(p)))
        .collect();
    format!(
        "<!doctype html><html><body style=\"margin:0;padding:24px;background:#f4f5f7;font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;color:#1d2433\">\
<div style=\"max-width:520px;margin:0 auto;background:#ffffff;border-radius:12px;padding:32px\">\
<h1 style=\"font-size:20px;margin:0 0 16px\">{heading}</h1>{body}\
<p style=\"margin:24px 0\"><a href=\"{href}\" style=\"background:#2f5fd0;color:#ffffff;text-decoration:none;padding:12px 20px;border-radius:8px;display:inline-block\">{label}</a></p>\
<p style=\"margin:0 0 8px;color:#4a5468\">Or enter this code in the Presently app:</p>\
<p style=\"font-family:ui-monospace,Menlo,Consolas,monospace;font-size:15px;background:#f4f5f7;padding:10px 12px;border-radius:6px;word-break:break-all\">{code}</p>\
</div></body></html>",
        heading = e(heading),
        href = e(button.1),
        label = e(button.0),
        code = e(code),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            html_escape("<b>\"Tom & Jerry's\"</b>"),
            "&lt;b&gt;&quot;Tom &amp; Jerry&#39;s&quot;&lt;/b&gt;"
        );
        let page = html_page(
            "Hi <there>",
            &["a & b".into()],
            ("Go", "https://x/?a=1&b=2"),
            "c<1>",
        );
        assert!(page.contains("Hi &lt;there&gt;"));
        assert!(page.contains("href=\"https://x/?a=1&amp;b=2\""));
        assert!(page.contains("c&lt;1&gt;"));
        assert!(!page.contains("<there>"));
    }

    #[test]
    fn plain_mail_is_for_this_machine_only() {
        let options = |relay: &str, security| MailOptions {
            relay: relay.into(),
            port: 25,
            security,
            credentials: None,
            from: "Presently <presently@example.org>".into(),
            ca_file: None,
        };
        assert!(options("127.0.0.1", Security::None).check().is_ok());
        assert!(options("localhost", Security::None).check().is_ok());
        let e = options("smtp.example.org", Security::None)
            .check()
            .unwrap_err();
        assert!(e.to_string().contains("in the clear"), "{e}");
        assert!(options("smtp.example.org", Security::StartTls)
            .check()
            .is_ok());
        let mut bad = options("smtp.example.org", Security::Tls);
        bad.from = "not an address".into();
        assert!(bad
            .check()
            .unwrap_err()
            .to_string()
            .contains("not an address"));
    }
}
