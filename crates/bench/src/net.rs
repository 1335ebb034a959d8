//! Where the bench's clients sit on the network: on loopback beside the server (`--loopback`),
//! or in a network namespace of their own joined to the server's by a veth pair, as a second
//! machine would be.
//!
//! On loopback a client's TCP receive runs in the sender's softirq: the server's CPU pays for
//! the clients' side of every delivery. Over the veth pair the kernel hands each packet to the
//! receiving interface's queue, and Receive Packet Steering (RPS) on the clients' interface runs
//! their TCP receive on the load's CPUs; RPS on the server's interface keeps the server's own
//! receive on the server's CPUs. The server's CPU then pays for the server's side only, as over
//! a real network. Creating the pair takes root (`ip netns`, `ip link`); the namespace is
//! removed when the [`Veth`] is dropped, and namespaces of earlier runs that died are removed
//! at the next start.

use std::net::{IpAddr, Ipv4Addr};
use std::process::Command;

/// The prefix of the namespaces the bench makes (then its pid).
const NS_PREFIX: &str = "presently-bench-";

/// The server's address on its side of the pair.
pub const SERVER_IP: Ipv4Addr = Ipv4Addr::new(10, 213, 0, 1);

/// The clients' side of the network.
pub enum ClientNet {
    /// Clients on loopback (127.0.w.s), in the server's namespace.
    Loopback,
    /// Clients in their own namespace behind a veth pair.
    Veth(Veth),
}

impl ClientNet {
    /// The address the servers listen on and the clients connect to.
    pub fn server_ip(&self) -> IpAddr {
        match self {
            ClientNet::Loopback => IpAddr::V4(Ipv4Addr::LOCALHOST),
            ClientNet::Veth(_) => IpAddr::V4(SERVER_IP),
        }
    }

    /// Worker `w`'s `k`-th source address.
    pub fn client_ip(&self, w: usize, k: u8) -> IpAddr {
        match self {
            ClientNet::Loopback => client_ip([127, 0], w, k),
            ClientNet::Veth(_) => client_ip([10, 213], w, k),
        }
    }

    /// What a worker's command line starts with: `ip netns exec <ns>` over the veth pair.
    pub fn exec_prefix(&self) -> Vec<String> {
        match self {
            ClientNet::Loopback => vec![],
            ClientNet::Veth(v) => vec!["ip".into(), "netns".into(), "exec".into(), v.ns.clone()],
        }
    }

    pub fn describe(&self) -> String {
        match self {
            ClientNet::Loopback => "clients on loopback beside the server".into(),
            ClientNet::Veth(v) => format!(
                "clients in network namespace {} behind a veth pair ({} ↔ {}), their receive steered to CPUs {}",
                v.ns, v.host, v.peer, v.load_cpus
            ),
        }
    }
}

/// Worker `w`'s `k`-th address in the network `a.b.0.0/16`.
fn client_ip([a, b]: [u8; 2], w: usize, k: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, (1 + w) as u8, 2 + k))
}

/// A namespace for the clients and the veth pair into it; removed when dropped.
pub struct Veth {
    pub ns: String,
    host: String,
    peer: String,
    load_cpus: String,
}

fn ip(args: &[&str]) -> Result<(), String> {
    run(Command::new("ip").args(args))
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{cmd:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// A taskset CPU list ("1-3,5") as the hex mask RPS takes ("2e").
pub fn cpu_mask(list: &str) -> Result<String, String> {
    let mut mask: u128 = 0;
    for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (a, b),
            None => (part, part),
        };
        let (a, b): (u32, u32) = (
            a.parse().map_err(|_| format!("not a CPU list: {list}"))?,
            b.parse().map_err(|_| format!("not a CPU list: {list}"))?,
        );
        if a > b || b >= 128 {
            return Err(format!("not a CPU list: {list}"));
        }
        for c in a..=b {
            mask |= 1 << c;
        }
    }
    if mask == 0 {
        return Err(format!("no CPU in {list:?}"));
    }
    Ok(format!("{mask:x}"))
}

/// Every CPU number in a taskset list.
pub fn cpus_of(list: &str) -> Vec<usize> {
    let mask = cpu_mask(list)
        .ok()
        .and_then(|m| u128::from_str_radix(&m, 16).ok());
    (0..128)
        .filter(|c| mask.is_some_and(|m| m & (1 << c) != 0))
        .collect()
}

/// Namespaces left by runs whose process is gone.
fn remove_stale() {
    let Ok(out) = Command::new("ip").args(["netns", "list"]).output() else {
        return;
    };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let name = line.split_whitespace().next().unwrap_or_default();
        let Some(pid) = name.strip_prefix(NS_PREFIX) else {
            continue;
        };
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let _ = ip(&["netns", "del", name]);
        }
    }
}

impl Veth {
    /// Makes the namespace and the pair, gives the clients' side `workers × sources` addresses,
    /// and steers each side's receive: the clients' onto `load_cpus`, the server's onto
    /// `server_cpus`.
    pub fn create(
        workers: usize,
        sources: u8,
        server_cpus: &str,
        load_cpus: &str,
    ) -> Result<Veth, String> {
        if !nix_is_root() {
            return Err("the veth path makes a network namespace, which takes root: run the bench as root, or give --loopback for clients on loopback".into());
        }
        if workers > 250 || sources == 0 || sources > 250 {
            return Err(format!(
                "{workers} worker(s) × {sources} source address(es) do not fit the clients' 10.213.0.0/16"
            ));
        }
        remove_stale();
        let pid = std::process::id();
        // Interface names are at most 15 bytes.
        let tag = pid % 10_000_000;
        let v = Veth {
            ns: format!("{NS_PREFIX}{pid}"),
            host: format!("pbs{tag}"),
            peer: format!("pbc{tag}"),
            load_cpus: load_cpus.to_string(),
        };
        // From here on, dropping `v` removes whatever was made.
        ip(&["netns", "add", &v.ns])?;
        ip(&[
            "link", "add", &v.host, "type", "veth", "peer", "name", &v.peer,
        ])?;
        ip(&["link", "set", &v.peer, "netns", &v.ns])?;
        ip(&["addr", "add", &format!("{SERVER_IP}/16"), "dev", &v.host])?;
        ip(&["link", "set", &v.host, "up"])?;
        ip(&["-n", &v.ns, "link", "set", "lo", "up"])?;
        ip(&["-n", &v.ns, "link", "set", &v.peer, "up"])?;
        for w in 0..workers {
            for k in 0..sources {
                ip(&[
                    "-n",
                    &v.ns,
                    "addr",
                    "add",
                    &format!("{}/16", client_ip([10, 213], w, k)),
                    "dev",
                    &v.peer,
                ])?;
            }
        }
        // The server's receive on the server's CPUs; the clients' on the load's.
        std::fs::write(
            format!("/sys/class/net/{}/queues/rx-0/rps_cpus", v.host),
            cpu_mask(server_cpus)?,
        )
        .map_err(|e| format!("cannot steer {}'s receive: {e}", v.host))?;
        run(Command::new("ip").args(["netns", "exec", &v.ns, "sh", "-c"]).arg(format!(
            "echo {} > /sys/class/net/{}/queues/rx-0/rps_cpus && sysctl -qw net.ipv4.ip_local_port_range='1024 65000'",
            cpu_mask(load_cpus)?,
            v.peer
        )))?;
        Ok(v)
    }
}

impl Drop for Veth {
    fn drop(&mut self) {
        // The pair goes with the namespace its one end is in.
        let _ = ip(&["netns", "del", &self.ns]);
        let _ = ip(&["link", "del", &self.host]);
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

/// The softirq time (USER_HZ ticks) of these CPUs so far, from `/proc/stat`: where a packet's
/// receive is paid for.
pub fn softirq_ticks(cpus: &[usize]) -> u64 {
    let Ok(stat) = std::fs::read_to_string("/proc/stat") else {
        return 0;
    };
    stat.lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let cpu: usize = f.next()?.strip_prefix("cpu")?.parse().ok()?;
            // user nice system idle iowait irq softirq
            let softirq: u64 = f.nth(5)?.parse().ok()?;
            cpus.contains(&cpu).then_some(softirq)
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists_become_rps_masks() {
        assert_eq!(cpu_mask("0").unwrap(), "1");
        assert_eq!(cpu_mask("1").unwrap(), "2");
        assert_eq!(cpu_mask("1-3,5").unwrap(), "2e");
        assert_eq!(cpus_of("1-3,5"), vec![1, 2, 3, 5]);
        assert!(cpu_mask("3-1").is_err());
        assert!(cpu_mask("").is_err());
        assert!(cpu_mask("x").is_err());
    }

    #[test]
    fn client_addresses_per_worker_and_source() {
        let net = ClientNet::Loopback;
        assert_eq!(net.client_ip(0, 0).to_string(), "127.0.1.2");
        assert_eq!(net.client_ip(2, 7).to_string(), "127.0.3.9");
    }
}
