//! Compiles `proto/` with protox (no system `protoc`), generates the tonic code for
//! `briefing.v1`, and writes the descriptor sets that the reflection service serves.

use std::path::PathBuf;

use prost::Message as _;

const BRIEFING_PROTOS: &[&str] = &[
    "briefing/v1/common.proto",
    "briefing/v1/trip.proto",
    "briefing/v1/official.proto",
    "briefing/v1/agenda.proto",
    "briefing/v1/digest.proto",
    "briefing/v1/subscription.proto",
    "briefing/v1/feed.proto",
];

/// Not generated (tonic-types has them); compiled so grpcurl can decode error details.
const ERROR_DETAIL_PROTOS: &[&str] = &["google/rpc/status.proto", "google/rpc/error_details.proto"];

/// Set to a PostgreSQL server URL (`postgres://postgres@127.0.0.1:5432`) to compile the tests
/// that need one; `.ci/run` always sets it.
const POSTGRES_TESTS_VARIABLE: &str = "BRIEFING_TEST_POSTGRES";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    println!("cargo:rerun-if-env-changed={POSTGRES_TESTS_VARIABLE}");
    println!("cargo:rustc-check-cfg=cfg(postgres_tests)");
    if std::env::var_os(POSTGRES_TESTS_VARIABLE).is_some_and(|url| !url.is_empty()) {
        println!("cargo:rustc-cfg=postgres_tests");
    }
    embed_build_commit();
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);

    let briefing = protox::compile(BRIEFING_PROTOS, ["proto"])?;
    std::fs::write(
        out_dir.join("briefing_descriptor.bin"),
        briefing.encode_to_vec(),
    )?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(briefing)?;

    let error_details = protox::compile(ERROR_DETAIL_PROTOS, ["proto"])?;
    std::fs::write(
        out_dir.join("error_details_descriptor.bin"),
        error_details.encode_to_vec(),
    )?;
    Ok(())
}

/// Sets `BRIEFING_BUILD_COMMIT` to the commit being built (12 hex digits), or `unknown`
/// outside a git checkout: `--version`, the start-up line and `briefing_build_info` give it.
fn embed_build_commit() {
    let commit = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|output| output.status.success())
        .and_then(|output| String::from_utf8(output.stdout).ok())
        .map(|text| text.trim().to_owned())
        .filter(|text| !text.is_empty())
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=BRIEFING_BUILD_COMMIT={commit}");
    // A new commit, or a checkout of another branch, changes HEAD or the ref it names. In a
    // worktree `.git` is a file naming the real directory; `git rev-parse --git-dir` finds it.
    let git_dir = std::process::Command::new("git")
        .args(["rev-parse", "--git-dir"])
        .output()
        .ok()
        .filter(|output| output.status.success())
        .and_then(|output| String::from_utf8(output.stdout).ok())
        .map(|text| PathBuf::from(text.trim()));
    if let Some(git_dir) = git_dir {
        let head = git_dir.join("HEAD");
        println!("cargo:rerun-if-changed={}", head.display());
        if let Ok(text) = std::fs::read_to_string(&head)
            && let Some(reference) = text.trim().strip_prefix("ref: ")
        {
            let common = std::process::Command::new("git")
                .args(["rev-parse", "--git-common-dir"])
                .output()
                .ok()
                .filter(|output| output.status.success())
                .and_then(|output| String::from_utf8(output.stdout).ok())
                .map(|text| PathBuf::from(text.trim()))
                .unwrap_or(git_dir.clone());
            println!(
                "cargo:rerun-if-changed={}",
                common.join(reference).display()
            );
            // A ref packed by `git gc` lives here instead.
            println!(
                "cargo:rerun-if-changed={}",
                common.join("packed-refs").display()
            );
        }
    }
}
