use std::process::ExitCode;

use clap::Parser as _;

#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = briefing::cli::Cli::parse();
    match briefing::startup::run(cli.command).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("briefing: {error:#}");
            ExitCode::FAILURE
        }
    }
}
