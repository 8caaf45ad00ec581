//! One server per SQLite file. Two servers on one file both run, and each write of one waits
//! on the other's until SQLite gives up with "database is locked": a quarter of the updates
//! failed that way. So `briefing serve` takes an exclusive lock on `<file>.lock` beside the
//! database before opening it, and holds it until it stops; a second server finds it taken and
//! refuses to start. The lock is the operating system's (`flock`): it goes with the process,
//! so a server that was killed leaves nothing to clean up. Other commands (`briefing token`,
//! `briefing import`) take no lock and may still run beside a server.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::str::FromStr as _;

use nix::fcntl::{Flock, FlockArg};
use sqlx::sqlite::SqliteConnectOptions;

/// Held while the server serves the file; released when dropped (or the process ends).
#[derive(Debug)]
pub struct ServingLock {
    _lock: Flock<File>,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "another briefing server is already serving {database} (it holds {lock}): stop it, or give this one its own --database"
    )]
    Held { database: PathBuf, lock: PathBuf },
    #[error("cannot lock {lock}, which keeps a second server off {database}: {error}")]
    Io {
        database: PathBuf,
        lock: PathBuf,
        #[source]
        error: std::io::Error,
    },
}

/// Locks the file a `sqlite:` URL names for this server; None for an in-memory database.
pub fn lock_for_serving(url: &str) -> Result<Option<ServingLock>, LockError> {
    let Ok(options) = SqliteConnectOptions::from_str(url) else {
        // Opening the store reports the bad URL.
        return Ok(None);
    };
    let database = options.get_filename();
    if is_in_memory(url, database) {
        return Ok(None);
    }
    let database = database.to_path_buf();
    let mut name = database.clone().into_os_string();
    name.push(".lock");
    let lock = PathBuf::from(name);
    let io = |error: std::io::Error| LockError::Io {
        database: database.clone(),
        lock: lock.clone(),
        error,
    };
    // Opened for reading too: a lock file left by another user may not be writable, and
    // flock needs no write access.
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock)
        .or_else(|_| File::open(&lock))
        .map_err(io)?;
    match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(locked) => Ok(Some(ServingLock { _lock: locked })),
        Err((_, nix::errno::Errno::EWOULDBLOCK)) => Err(LockError::Held {
            database: database.clone(),
            lock: lock.clone(),
        }),
        Err((_, errno)) => Err(io(std::io::Error::from(errno))),
    }
}

fn is_in_memory(url: &str, database: &Path) -> bool {
    url.contains(":memory:")
        || url.contains("mode=memory")
        || database.as_os_str().is_empty()
        || database == Path::new(":memory:")
}
