//! `briefing backup` and `briefing restore` for a SQLite store.
//!
//! A backup is `VACUUM INTO`: one read transaction, so the copy is the database as of one
//! moment (every write committed before it began, none after), taken beside a running server
//! without its lock, as any reader would. The copy is written under a temporary name and
//! renamed, so a half-written backup never takes the name. A restore needs the serving lock
//! (no server may run on the file), checks the backup with `PRAGMA integrity_check`, removes
//! the old write-ahead log (replayed onto the new file, it would corrupt it) and renames the
//! copy into place.

use std::path::{Path, PathBuf};
use std::str::FromStr as _;
use std::time::Duration;

use anyhow::Context as _;
use sqlx::Connection as _;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};

use super::lock::{LockError, lock_for_serving};

/// How long a backup waits for a writer's lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Copies the database `url` names to `to`; an existing `to` only with `force`. Returns the
/// size of the copy in bytes.
pub async fn backup(url: &str, to: &Path, force: bool) -> anyhow::Result<u64> {
    let database = file_of(url)?;
    anyhow::ensure!(
        database.exists(),
        "{} does not exist: nothing to back up",
        database.display()
    );
    if to.exists() {
        anyhow::ensure!(
            force,
            "{} exists already: give --force to overwrite it",
            to.display()
        );
    }
    let partial = with_suffix(to, ".partial");
    let _ = std::fs::remove_file(&partial);
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(false)
        .read_only(true)
        .busy_timeout(BUSY_TIMEOUT);
    let mut connection = SqliteConnection::connect_with(&options)
        .await
        .with_context(|| format!("cannot open {}", database.display()))?;
    let copied = sqlx::query("VACUUM INTO ?")
        .bind(partial.to_string_lossy().into_owned())
        .execute(&mut connection)
        .await;
    connection.close().await?;
    if let Err(error) = copied {
        let _ = std::fs::remove_file(&partial);
        return Err(error).with_context(|| format!("cannot write {}", partial.display()));
    }
    std::fs::File::open(&partial)?.sync_all()?;
    std::fs::rename(&partial, to)
        .with_context(|| format!("cannot rename {} to {}", partial.display(), to.display()))?;
    Ok(std::fs::metadata(to)?.len())
}

/// Replaces the database `url` names with the backup `from`, once no server runs on it and
/// the backup passes its integrity check.
pub async fn restore(url: &str, from: &Path) -> anyhow::Result<()> {
    let database = file_of(url)?;
    anyhow::ensure!(
        from.is_file(),
        "{} is not a file: nothing to restore",
        from.display()
    );
    // Held until the copy is in place: no server starts on a half-restored file.
    let _lock = match lock_for_serving(url) {
        Ok(lock) => lock,
        Err(LockError::Held { .. }) => anyhow::bail!(
            "a briefing server is running on {}: stop it before restoring",
            database.display()
        ),
        Err(other) => return Err(other.into()),
    };
    check_integrity(from).await?;
    let partial = with_suffix(&database, ".restoring");
    std::fs::copy(from, &partial)
        .with_context(|| format!("cannot copy {} to {}", from.display(), partial.display()))?;
    std::fs::File::open(&partial)?.sync_all()?;
    for stale in ["-wal", "-shm"] {
        match std::fs::remove_file(with_suffix(&database, stale)) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                return Err(error).context("cannot remove the old write-ahead log");
            }
            _ => {}
        }
    }
    std::fs::rename(&partial, &database).with_context(|| {
        format!(
            "cannot rename {} to {}",
            partial.display(),
            database.display()
        )
    })?;
    Ok(())
}

/// `PRAGMA integrity_check` of `path`, opened read-only; and it must be a briefing database.
async fn check_integrity(path: &Path) -> anyhow::Result<()> {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .create_if_missing(false);
    let mut connection = SqliteConnection::connect_with(&options)
        .await
        .with_context(|| format!("cannot open {} as a SQLite database", path.display()))?;
    let report: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(&mut connection)
        .await
        .with_context(|| format!("{} is not a SQLite database", path.display()))?;
    anyhow::ensure!(
        report == ["ok"],
        "{} fails its integrity check: {}",
        path.display(),
        report.join("; ")
    );
    let tables: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'agenda_items'",
    )
    .fetch_one(&mut connection)
    .await?;
    anyhow::ensure!(
        tables == 1,
        "{} is a SQLite database but not a briefing one (it has no agenda_items table)",
        path.display()
    );
    connection.close().await?;
    Ok(())
}

/// The file a `sqlite:` URL names.
fn file_of(url: &str) -> anyhow::Result<PathBuf> {
    anyhow::ensure!(
        url.starts_with("sqlite:"),
        "backup and restore copy SQLite databases; for PostgreSQL use pg_dump and pg_restore, e.g. `pg_dump --format=custom --file briefing.dump postgres://USER@HOST:PORT/DATABASE`"
    );
    let options = SqliteConnectOptions::from_str(url)?;
    let file = options.get_filename();
    anyhow::ensure!(
        !file.as_os_str().is_empty() && file != Path::new(":memory:"),
        "an in-memory database has nothing to back up or restore"
    );
    Ok(file.to_path_buf())
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}
