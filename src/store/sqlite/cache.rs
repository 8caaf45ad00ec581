//! Records read lately, kept decoded so the hottest reads (a trip by id, the items of a list
//! page) do not go to SQLite and parse JSON again.
//!
//! **Why it stays correct.** A cache is cleared whenever the database may have changed:
//!
//! - by this process: every write goes through [`SqliteStore::writer`](super::SqliteStore),
//!   whose guard clears the caches when the write's statement is done (after its commit), before
//!   the call that wrote returns to its client;
//! - by another process on the same file (`briefing import` while the server runs): any commit
//!   appends to the write-ahead log, and an inotify watch on the database's directory clears
//!   the caches when the log or the file changes. Such a write is seen as soon as the kernel
//!   reports it (microseconds), which is the delay a reader of a replica would see too. If the
//!   watch cannot be set up, the store runs without caches.
//!
//! A read that raced a clear must not put what it read back: it takes the cache's generation
//! before going to the database and inserts only if no clear happened since (checked under the
//! map's lock), so a record read from a snapshot older than a write is never kept.
//!
//! Each cache holds a bounded number of records; when full, it drops an arbitrary half (the
//! map's order), which keeps the hot records coming back at the cost of a few misses.

use std::collections::HashMap;
use std::hash::Hash;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

/// One cache: `K` to a decoded record.
pub(super) struct RecordCache<K, V> {
    map: RwLock<HashMap<K, Arc<V>>>,
    generation: AtomicU64,
    capacity: usize,
}

impl<K: Eq + Hash + Clone, V> RecordCache<K, V> {
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            map: RwLock::new(HashMap::with_capacity(capacity.min(4_096))),
            generation: AtomicU64::new(0),
            capacity: capacity.max(2),
        }
    }

    pub(super) fn get<Q>(&self, key: &Q) -> Option<Arc<V>>
    where
        K: std::borrow::Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        self.map
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(key)
            .cloned()
    }

    /// Taken before reading the database; passed back to [`insert`](Self::insert).
    pub(super) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Keeps `value`, read after `generation` was taken, unless the cache was cleared since.
    pub(super) fn insert(&self, generation: u64, key: K, value: Arc<V>) {
        let mut map = self
            .map
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if self.generation.load(Ordering::Acquire) != generation {
            return;
        }
        if map.len() >= self.capacity {
            let drop: Vec<K> = map.keys().take(self.capacity / 2).cloned().collect();
            for key in drop {
                map.remove(&key);
            }
        }
        map.insert(key, value);
    }

    pub(super) fn clear(&self) {
        let mut map = self
            .map
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Under the lock, so no insert of a read older than this clear can slip in between.
        self.generation.fetch_add(1, Ordering::AcqRel);
        map.clear();
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.map
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }
}

/// Calls `clear` whenever the database file or its write-ahead log at `database` changes.
/// The watch lasts as long as the returned watcher.
pub(super) fn watch_changes(
    database: &Path,
    clear: impl Fn() + Send + 'static,
) -> notify::Result<notify::RecommendedWatcher> {
    use notify::{EventKind, RecursiveMode, Watcher as _};

    let directory = match database.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let name = database
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let wal = format!("{name}-wal");
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else {
            // Events may have been lost (the kernel's queue overflowed): assume a change.
            clear();
            return;
        };
        if matches!(event.kind, EventKind::Access(_)) {
            return;
        }
        let ours = event.paths.iter().any(|path| {
            path.file_name()
                .is_some_and(|file| file.to_string_lossy() == name || file.to_string_lossy() == wal)
        });
        if ours || event.need_rescan() {
            clear();
        }
    })?;
    watcher.watch(&directory, RecursiveMode::NonRecursive)?;
    Ok(watcher)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_older_than_a_clear_is_not_kept() {
        let cache: RecordCache<String, u32> = RecordCache::new(8);
        let before = cache.generation();
        cache.clear();
        cache.insert(before, "a".into(), Arc::new(1));
        assert!(cache.get("a").is_none());
        let now = cache.generation();
        cache.insert(now, "a".into(), Arc::new(2));
        assert_eq!(cache.get("a").as_deref(), Some(&2));
    }

    #[test]
    fn a_full_cache_drops_half_and_keeps_the_new_record() {
        let cache: RecordCache<u32, u32> = RecordCache::new(8);
        for key in 0..8 {
            cache.insert(cache.generation(), key, Arc::new(key));
        }
        assert_eq!(cache.len(), 8);
        cache.insert(cache.generation(), 100, Arc::new(100));
        assert_eq!(cache.len(), 5);
        assert_eq!(cache.get(&100).as_deref(), Some(&100));
    }

    #[test]
    fn a_write_by_another_connection_clears_the_cache() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("watched.db");
        let writer = rusqlite::Connection::open(&path).unwrap();
        writer.pragma_update(None, "journal_mode", "wal").unwrap();
        writer.execute("CREATE TABLE t (x)", []).unwrap();
        let cache = Arc::new(RecordCache::<u32, u32>::new(8));
        let watched = cache.clone();
        let _watcher = watch_changes(&path, move || watched.clear()).unwrap();
        cache.insert(cache.generation(), 1, Arc::new(1));
        writer.execute("INSERT INTO t VALUES (1)", []).unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while cache.get(&1).is_some() {
            assert!(
                std::time::Instant::now() < deadline,
                "the write was not seen"
            );
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }
}
