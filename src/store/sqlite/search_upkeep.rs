//! Keeps the full-text index in few segments. FTS5 writes a new segment with every
//! transaction and merges them only so far (automerge), so after imports a query reads a dozen
//! segments or more; merged into one, the same queries ran 3–4 × faster on a store of a million
//! items (BENCHMARKS.md). Merging rewrites the whole index, so it waits until the index has
//! many segments and no write has touched it for a while, works in bounded steps that let
//! writers in between, and stops as soon as a writer comes back.

use std::time::Duration;

use sqlx::SqlitePool;

use crate::store::StoreResult;

/// How often the index's structure is looked at.
const CHECK_EVERY: Duration = Duration::from_secs(5);
/// How long the index must go unwritten before a merge starts.
const QUIET_FOR: Duration = Duration::from_secs(10);
/// Segments a query may read before the index is merged.
const MAX_SEGMENTS: u64 = 8;
/// The least time between two merges: each rewrites the whole index (about 2 s per million
/// items here), so a steady trickle of writes costs at most that much per period.
const MERGE_INTERVAL: Duration = Duration::from_secs(600);
/// Pages a merge step writes before it lets other writers in (FTS5's own optimize step).
const PAGES_PER_STEP: i64 = 1000;

/// What the structure record says of the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Structure {
    pub segments: u64,
    /// Grows with every write that flushes into the index.
    pub writes: u64,
}

/// Runs until the task is aborted (the store is dropped or closed).
pub(super) async fn run(reader: SqlitePool, writer: SqlitePool) {
    let mut last_writes = None;
    let mut quiet_since = tokio::time::Instant::now();
    let mut last_merge: Option<tokio::time::Instant> = None;
    loop {
        tokio::time::sleep(CHECK_EVERY).await;
        let structure = match structure(&reader).await {
            Ok(structure) => structure,
            Err(error) => {
                tracing::debug!(%error, "cannot read the full-text index's structure");
                continue;
            }
        };
        if last_writes != Some(structure.writes) {
            last_writes = Some(structure.writes);
            quiet_since = tokio::time::Instant::now();
            continue;
        }
        let due = last_merge.is_none_or(|merged| merged.elapsed() >= MERGE_INTERVAL);
        if structure.segments <= MAX_SEGMENTS || quiet_since.elapsed() < QUIET_FOR || !due {
            continue;
        }
        let started = std::time::Instant::now();
        match merge(&writer).await {
            Ok(finished) => {
                last_merge = Some(tokio::time::Instant::now());
                tracing::info!(
                    segments = structure.segments,
                    finished,
                    seconds = started.elapsed().as_secs_f64(),
                    "full-text index merged"
                );
            }
            Err(error) => tracing::warn!(%error, "full-text index merge failed"),
        }
        last_writes = None;
    }
}

/// Merges every segment into one, a step at a time; `false` when a writer came back first
/// (the merge resumes from where it stopped next time).
pub(super) async fn merge(writer: &SqlitePool) -> StoreResult<bool> {
    let mut after_step = None;
    loop {
        let mut connection = writer.acquire().await?;
        let before = structure(&mut *connection).await?;
        if after_step.is_some_and(|writes| writes != before.writes) {
            return Ok(false);
        }
        let changes_before: i64 = sqlx::query_scalar("SELECT total_changes()")
            .fetch_one(&mut *connection)
            .await?;
        sqlx::query("INSERT INTO agenda_search (agenda_search, rank) VALUES ('merge', ?)")
            .bind(-PAGES_PER_STEP)
            .execute(&mut *connection)
            .await?;
        let changes_after: i64 = sqlx::query_scalar("SELECT total_changes()")
            .fetch_one(&mut *connection)
            .await?;
        // FTS5's documented test: fewer than two changes means there was nothing to merge.
        if changes_after - changes_before < 2 {
            return Ok(true);
        }
        after_step = Some(structure(&mut *connection).await?.writes);
        drop(connection);
        tokio::task::yield_now().await;
    }
}

pub(super) async fn structure<'c, E>(executor: E) -> StoreResult<Structure>
where
    E: sqlx::Executor<'c, Database = sqlx::Sqlite>,
{
    // FTS5_STRUCTURE_ROWID: the record that lists the index's segments.
    let record: Option<Vec<u8>> =
        sqlx::query_scalar("SELECT block FROM agenda_search_data WHERE id = 10")
            .fetch_optional(executor)
            .await?;
    Ok(record
        .as_deref()
        .and_then(decode_structure)
        .unwrap_or(Structure {
            segments: 0,
            writes: 0,
        }))
}

/// The start of FTS5's structure record (fts5_index.c, fts5StructureDecode): a 4-byte cookie,
/// the 4-byte V2 marker of `contentless_delete` tables, then varints: levels, segments, writes.
fn decode_structure(record: &[u8]) -> Option<Structure> {
    const V2: [u8; 4] = [0xff, 0x00, 0x00, 0x01];
    let mut rest = record.get(4..)?;
    if rest.starts_with(&V2) {
        rest = &rest[4..];
    }
    let (_levels, rest) = varint(rest)?;
    let (segments, rest) = varint(rest)?;
    let (writes, _) = varint(rest)?;
    Some(Structure { segments, writes })
}

/// SQLite's varint: big-endian groups of seven bits, the high bit set on all but the last;
/// a ninth byte carries eight bits.
fn varint(bytes: &[u8]) -> Option<(u64, &[u8])> {
    let mut value = 0_u64;
    for (index, &byte) in bytes.iter().enumerate().take(9) {
        if index == 8 {
            return Some(((value << 8) | u64::from(byte), &bytes[9..]));
        }
        value = (value << 7) | u64::from(byte & 0x7f);
        if byte & 0x80 == 0 {
            return Some((value, &bytes[index + 1..]));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_read_as_sqlite_writes_them() {
        assert_eq!(varint(&[0x05, 0xaa]), Some((5, &[0xaa][..])));
        assert_eq!(varint(&[0x81, 0x00]), Some((128, &[][..])));
        assert_eq!(varint(&[0xff, 0x7f]), Some((16_383, &[][..])));
        assert_eq!(varint(&[0xff; 9]), Some((u64::MAX, &[][..])));
        assert_eq!(varint(&[0x81]), None);
    }

    #[test]
    fn both_structure_formats_are_read() {
        let legacy = [0, 0, 0, 0, 1, 3, 0x81, 0x00];
        assert_eq!(
            decode_structure(&legacy),
            Some(Structure {
                segments: 3,
                writes: 128
            })
        );
        let v2 = [0, 0, 0, 7, 0xff, 0, 0, 1, 2, 9, 40];
        assert_eq!(
            decode_structure(&v2),
            Some(Structure {
                segments: 9,
                writes: 40
            })
        );
        assert_eq!(decode_structure(&[0, 0]), None);
    }

    #[tokio::test]
    async fn many_segments_merge_into_one_and_queries_find_the_same_rows() {
        let directory = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", directory.path().join("search.db").display());
        let store = super::super::SqliteStore::open(&url).await.unwrap();
        let writer = &store.writer;
        // One transaction per row: a segment each, as single writes and import batches make.
        for row in 1..=40_i64 {
            let title = if row % 3 == 0 {
                "ceasefire talks"
            } else {
                "grain exports"
            };
            sqlx::query("INSERT INTO agenda_search (rowid, title, summary) VALUES (?, ?, ?)")
                .bind(row)
                .bind(title)
                .bind(format!("summary number {row}"))
                .execute(writer)
                .await
                .unwrap();
        }
        let matches = || async {
            sqlx::query_scalar::<_, i64>(
                "SELECT rowid FROM agenda_search WHERE agenda_search MATCH 'ceasefire' ORDER BY rowid",
            )
            .fetch_all(writer)
            .await
            .unwrap()
        };
        let found = matches().await;
        assert_eq!(
            found,
            (1..=40).filter(|row| row % 3 == 0).collect::<Vec<_>>()
        );
        let before = structure(writer).await.unwrap();
        assert!(before.segments > MAX_SEGMENTS, "{before:?}");

        assert!(merge(writer).await.unwrap());
        let after = structure(writer).await.unwrap();
        assert_eq!(after.segments, 1, "{after:?}");
        assert_eq!(matches().await, found);
        // Nothing left to merge: the next call finds no work.
        assert!(merge(writer).await.unwrap());
        assert_eq!(structure(writer).await.unwrap().segments, 1);
        store.close().await;
    }
}
