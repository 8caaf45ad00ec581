//! Child processes the harness starts — the release `briefing serve` and the ceiling — and
//! stops again, whatever happens to the harness (they die with it: PR_SET_PDEATHSIG).

use std::net::{SocketAddr, TcpListener};
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

pub struct Process {
    pub name: &'static str,
    pub address: SocketAddr,
    child: Child,
}

impl Process {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident memory of the process, from /proc.
    pub fn memory(&self) -> anyhow::Result<Memory> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))?;
        let field = |name: &str| -> u64 {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|kib| kib.parse().ok())
                .unwrap_or(0)
        };
        Ok(Memory {
            rss_kib: field("VmRSS:"),
            peak_kib: field("VmHWM:"),
            anon_kib: field("RssAnon:"),
            file_kib: field("RssFile:"),
        })
    }

    /// Stops the process and waits for it.
    pub fn stop(mut self) {
        self.kill();
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Memory {
    pub rss_kib: u64,
    pub peak_kib: u64,
    pub anon_kib: u64,
    pub file_kib: u64,
}

impl Memory {
    pub fn rss_mib(&self) -> f64 {
        self.rss_kib as f64 / 1024.0
    }
    pub fn peak_mib(&self) -> f64 {
        self.peak_kib as f64 / 1024.0
    }
}

impl std::fmt::Display for Memory {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            formatter,
            "RSS {:.0} MiB (anon {:.0}, file {:.0}), peak {:.0} MiB",
            self.rss_mib(),
            self.anon_kib as f64 / 1024.0,
            self.file_kib as f64 / 1024.0,
            self.peak_mib()
        )
    }
}

pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn spawn(name: &'static str, mut command: Command, address: SocketAddr) -> anyhow::Result<Process> {
    // SAFETY: prctl is async-signal-safe; the closure touches nothing else.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = command
        .spawn()
        .with_context(|| format!("cannot start {name}"))?;
    let process = Process {
        name,
        address,
        child,
    };
    wait_for_port(&process)?;
    Ok(process)
}

fn wait_for_port(process: &Process) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(process.address).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    bail!("{} did not listen on {}", process.name, process.address)
}

/// `briefing serve` as a user runs it (default settings: info logging, the schedule on), on
/// the database at `url`, its log in `log`; `extra` is appended to its arguments.
pub fn start_briefing(
    binary: Option<&Path>,
    url: &str,
    log: &Path,
    env: &[String],
    extra: &[&str],
) -> anyhow::Result<Process> {
    let port = free_port()?;
    let address: SocketAddr = format!("127.0.0.1:{port}").parse()?;
    let mut command = Command::new(binary.unwrap_or(Path::new(env!("CARGO_BIN_EXE_briefing"))));
    command
        .args(["serve", "--listen", &address.to_string(), "--database", url])
        // A free port each: benchmarks run several servers at once.
        .args(["--http-listen", "127.0.0.1:0"])
        .args(extra)
        .env_remove("BRIEFING_LOG")
        .env_remove("RUST_LOG")
        .envs(env.iter().filter_map(|pair| pair.split_once('=')))
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(log)?)
        .stderr(std::fs::OpenOptions::new().append(true).open(log)?);
    spawn("briefing", command, address)
}

/// This bench binary as the ceiling server, serving the encoded trip in `canned`.
pub fn start_ceiling(canned: &Path) -> anyhow::Result<Process> {
    let port = free_port()?;
    let address: SocketAddr = format!("127.0.0.1:{port}").parse()?;
    let mut command = Command::new(std::env::current_exe()?);
    command
        .args(["ceiling", "--listen", &address.to_string(), "--canned"])
        .arg(canned)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    spawn("ceiling", command, address)
}
