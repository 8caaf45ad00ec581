use std::process::ExitCode;

use clap::Parser as _;

#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = briefing::cli::Cli::parse();
    if !matches!(cli.command, briefing::cli::Command::Serve(_)) {
        // A one-shot command whose reader goes away (`briefing token list | head -1`) ends as
        // Unix tools do, by SIGPIPE (status 141), not by a panic in `println!`. Rust ignores
        // SIGPIPE by default for the sake of sockets, which write with MSG_NOSIGNAL anyway;
        // the server keeps the default, so no client can end it this way.
        // SAFETY: called before any other thread exists; SIG_DFL is async-signal-safe.
        unsafe {
            let _ = nix::sys::signal::signal(
                nix::sys::signal::Signal::SIGPIPE,
                nix::sys::signal::SigHandler::SigDfl,
            );
        }
    }
    match briefing::startup::run(cli.command).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("briefing: {error:#}");
            ExitCode::FAILURE
        }
    }
}
