//! The desktop client core: everything the app does that needs no window, so it can be tested
//! for real without one and shared with `presently-cli`.
//!
//! - [`store`]: the local SQLite store (missed-notification center, outbox, last snapshot).
//! - [`sync`]: the connection to the server (resume, outbox replay, reconnect with backoff).
//! - [`idle`]: auto-away (X11 idle time, the Wayland compositor's idle protocol, GNOME's idle
//!   monitor, or "unavailable").
//! - [`notifier`]: desktop notifications (notify-rust).
//! - [`api`]: the REST calls (sign in, explain, preferences, statuses).
//! - [`windows`], [`macos`]: what those desktops say (idle, lock, microphone), on each.
//! - [`server`]: which server, and how it is trusted (TLS roots, an extra CA, plain HTTP only on
//!   loopback unless allowed).

pub mod api;
pub mod calls;
pub mod desktop_dnd;
pub mod faces;
pub mod idle;
pub mod idle_source;
pub mod local;
#[cfg(target_os = "macos")]
pub mod macos;
pub mod notifier;
pub mod server;
pub mod session;
pub mod sso;
pub mod store;
pub mod sync;
#[cfg(target_os = "linux")]
pub mod wayland_idle;
#[cfg(windows)]
pub mod windows;

/// Parses "500ms", "90s", "30m", "2h", "1d" (or a plain number of minutes).
pub fn parse_duration(raw: &str) -> Result<std::time::Duration, String> {
    let raw = raw.trim();
    let (num, unit) = raw.split_at(raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len()));
    let n: u64 = num
        .parse()
        .map_err(|_| format!("\"{raw}\" is not a duration: use 90s, 30m, 2h or 1d"))?;
    let ms = match unit {
        "ms" => n,
        "s" => n * 1000,
        "" | "m" | "min" => n * 60_000,
        "h" => n * 3_600_000,
        "d" => n * 86_400_000,
        _ => {
            return Err(format!(
                "\"{raw}\" is not a duration: use 90s, 30m, 2h or 1d"
            ))
        }
    };
    if ms == 0 {
        return Err("the duration must be more than zero".into());
    }
    Ok(std::time::Duration::from_millis(ms))
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("300ms"), Ok(Duration::from_millis(300)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("30"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert!(parse_duration("0m").is_err());
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5 parsecs").is_err());
    }
}
