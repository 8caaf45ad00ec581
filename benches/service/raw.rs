//! The import's limit: the same rows the store writes for each agenda item (the item with its
//! JSON body and status, its country, participant and context index rows, its full-text row,
//! its country-pair rows and its day's activity counter) inserted straight into SQLite — prepared multi-row INSERTs, 2,000 items
//! per transaction, the store writer's pragmas — into a fresh file with the store's schema. No gRPC,
//! no parsing, no checks: what is left is SQLite's own cost.

use std::path::Path;
use std::str::FromStr as _;
use std::time::Instant;

use briefing::api::pb;
use briefing::domain::AgendaItem;
use chrono::{Duration as Days, NaiveDate};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{Connection as _, QueryBuilder, Sqlite, SqliteConnection};

use crate::data::Generator;

const BATCH: usize = 2_000;
const ROWS_PER_STATEMENT: usize = 500;

/// The domain item the server would store for a generated message, read as the API reads it.
pub fn domain_item(item: pb::AgendaItem) -> anyhow::Result<AgendaItem> {
    let (record, _, _) = briefing::api::agenda::from_proto(item)?;
    AgendaItem::parse(&record).map_err(|violations| anyhow::anyhow!("{violations}"))
}

/// One item's rows.
struct Rows {
    id: String,
    body: String,
    date: String,
    trip: Option<String>,
    leg: Option<i64>,
    event_type: &'static str,
    status: &'static str,
    countries: Vec<&'static str>,
    participants: Vec<String>,
    contexts: Vec<String>,
    title: String,
    summary: String,
    /// (day, pair, net) of each distinct country pair that scores, packed as the store packs them.
    pairs: Vec<(i64, i64, f64)>,
    /// Every distinct country pair, of an item of any status (the `pairs` filter's rows).
    item_pairs: Vec<i64>,
    /// Whether the item counts in its day's activity (REPORTED), and its sources.
    reported: bool,
    sources: i64,
}

/// The store's packing of a pair of alpha-3 codes (migration 0003).
fn pair_key(pair: briefing::domain::CountryPair) -> i64 {
    let key = |country: briefing::domain::CountryCode| {
        country
            .as_str()
            .bytes()
            .fold(0_i64, |key, letter| key * 26 + i64::from(letter - b'A'))
    };
    key(pair.first()) * 17_576 + key(pair.second())
}

fn rows(item: &AgendaItem) -> anyhow::Result<Rows> {
    let day = i64::from(chrono::Datelike::num_days_from_ce(&item.date));
    let pairs = item
        .scoring_pairs()
        .into_iter()
        .map(|pair| (day, pair_key(pair), item.intensity()))
        .collect();
    Ok(Rows {
        id: uuid::Uuid::now_v7().to_string(),
        body: serde_json::to_string(&item.to_record())?,
        date: item.date.to_string(),
        trip: item.trip.as_ref().map(ToString::to_string),
        leg: item.leg.map(i64::from),
        event_type: item.event_type.code(),
        status: item.status.code(),
        countries: item
            .countries()
            .into_iter()
            .map(|country| country.as_str())
            .collect(),
        participants: item.participants.iter().map(ToString::to_string).collect(),
        contexts: item.contexts.clone(),
        title: item.title.clone(),
        summary: item.summary.clone(),
        pairs,
        item_pairs: briefing::domain::pairs(item)
            .into_iter()
            .map(pair_key)
            .collect(),
        reported: item.status == briefing::domain::ItemStatus::Reported,
        sources: i64::try_from(item.source_count())?,
    })
}

/// Items per second for `count` items generated like the data set's first days.
pub async fn insert_rate(
    directory: &Path,
    generator: &mut Generator,
    first_day: NaiveDate,
    count: u64,
    day_items: u64,
) -> anyhow::Result<f64> {
    let url = format!("sqlite://{}", directory.join("raw.db").display());
    // The store's schema, by the store's migrations.
    briefing::store::sqlite::SqliteStore::open(&url)
        .await?
        .close()
        .await;
    let mut items = Vec::with_capacity(usize::try_from(count)?);
    for index in 0..count {
        let date = first_day + Days::days(i64::try_from(index / day_items.max(1))?);
        items.push(rows(&domain_item(generator.agenda_item(date))?)?);
    }
    let options = SqliteConnectOptions::from_str(&url)?
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(false)
        .pragma("cache_size", "-32768")
        .pragma("wal_autocheckpoint", "16384")
        .pragma("temp_store", "memory");
    let mut connection = SqliteConnection::connect_with(&options).await?;
    let timer = Instant::now();
    let mut next_seq = 1_i64;
    for batch in items.chunks(BATCH) {
        let mut transaction = connection.begin().await?;
        insert_batch(&mut transaction, batch, next_seq).await?;
        transaction.commit().await?;
        next_seq += i64::try_from(batch.len())?;
    }
    let seconds = timer.elapsed().as_secs_f64();
    connection.close().await?;
    Ok(count as f64 / seconds)
}

async fn insert_batch(
    connection: &mut SqliteConnection,
    batch: &[Rows],
    first_seq: i64,
) -> anyhow::Result<()> {
    let seqs: Vec<i64> = (first_seq..).take(batch.len()).collect();
    for (chunk, seqs) in batch
        .chunks(ROWS_PER_STATEMENT)
        .zip(seqs.chunks(ROWS_PER_STATEMENT))
    {
        let mut query = QueryBuilder::<Sqlite>::new(
            "INSERT INTO agenda_items (seq, id, revision, create_time, update_time, body, date, trip, leg, event_type, status) ",
        );
        query.push_values(chunk.iter().zip(seqs), |mut row, (item, seq)| {
            row.push_bind(*seq)
                .push_bind(&item.id)
                .push_bind(1_i64)
                .push_bind(0_i64)
                .push_bind(0_i64)
                .push_bind(&item.body)
                .push_bind(&item.date)
                .push_bind(&item.trip)
                .push_bind(item.leg)
                .push_bind(item.event_type)
                .push_bind(item.status);
        });
        query
            .build()
            .persistent(true)
            .execute(&mut *connection)
            .await?;

        let mut query =
            QueryBuilder::<Sqlite>::new("INSERT INTO agenda_search (rowid, title, summary) ");
        query.push_values(chunk.iter().zip(seqs), |mut row, (item, seq)| {
            row.push_bind(*seq)
                .push_bind(&item.title)
                .push_bind(&item.summary);
        });
        query
            .build()
            .persistent(true)
            .execute(&mut *connection)
            .await?;

        index_rows(
            connection,
            "INSERT INTO agenda_countries (country, item_seq) ",
            chunk
                .iter()
                .zip(seqs)
                .flat_map(|(item, seq)| item.countries.iter().map(move |c| ((*c).to_owned(), *seq)))
                .collect(),
        )
        .await?;
        index_rows(
            connection,
            "INSERT INTO agenda_participants (official, item_seq) ",
            chunk
                .iter()
                .zip(seqs)
                .flat_map(|(item, seq)| item.participants.iter().map(move |p| (p.clone(), *seq)))
                .collect(),
        )
        .await?;
        index_rows(
            connection,
            "INSERT INTO agenda_contexts (context, item_seq) ",
            chunk
                .iter()
                .zip(seqs)
                .flat_map(|(item, seq)| item.contexts.iter().map(move |c| (c.clone(), *seq)))
                .collect(),
        )
        .await?;
        let item_pairs: Vec<(i64, i64)> = chunk
            .iter()
            .zip(seqs)
            .flat_map(|(item, seq)| item.item_pairs.iter().map(move |pair| (*pair, *seq)))
            .collect();
        for rows in item_pairs.chunks(ROWS_PER_STATEMENT) {
            let mut query =
                QueryBuilder::<Sqlite>::new("INSERT INTO agenda_item_pairs (pair, item_seq) ");
            query.push_values(rows, |mut row, (pair, seq)| {
                row.push_bind(*pair).push_bind(*seq);
            });
            query
                .build()
                .persistent(true)
                .execute(&mut *connection)
                .await?;
        }
        let pairs: Vec<(i64, i64, i64, f64)> = chunk
            .iter()
            .zip(seqs)
            .flat_map(|(item, seq)| {
                item.pairs
                    .iter()
                    .map(move |(day, pair, net)| (*day, *pair, *seq, *net))
            })
            .collect();
        for rows in pairs.chunks(ROWS_PER_STATEMENT) {
            let mut query =
                QueryBuilder::<Sqlite>::new("INSERT INTO agenda_pairs (day, pair, item_seq, net) ");
            query.push_values(rows, |mut row, (day, pair, seq, net)| {
                row.push_bind(*day)
                    .push_bind(*pair)
                    .push_bind(*seq)
                    .push_bind(*net);
            });
            query
                .build()
                .persistent(true)
                .execute(&mut *connection)
                .await?;
            let mut query =
                QueryBuilder::<Sqlite>::new("INSERT INTO agenda_pair_days (day, pair, net) ");
            query.push_values(rows, |mut row, (day, pair, _, net)| {
                row.push_bind(*day).push_bind(*pair).push_bind(*net);
            });
            query.push(" ON CONFLICT (day, pair) DO UPDATE SET net = net + excluded.net");
            query
                .build()
                .persistent(true)
                .execute(&mut *connection)
                .await?;
        }
    }
    let mut days: std::collections::BTreeMap<&str, (i64, i64)> = Default::default();
    for item in batch.iter().filter(|item| item.reported) {
        let (items, sources) = days.entry(item.date.as_str()).or_default();
        *items += 1;
        *sources += item.sources;
    }
    let days: Vec<(&str, (i64, i64))> = days.into_iter().collect();
    for rows in days.chunks(ROWS_PER_STATEMENT) {
        let mut query =
            QueryBuilder::<Sqlite>::new("INSERT INTO agenda_item_days (date, items, sources) ");
        query.push_values(rows, |mut row, (date, (items, sources))| {
            row.push_bind(*date).push_bind(*items).push_bind(*sources);
        });
        query.push(
            " ON CONFLICT (date) DO UPDATE SET items = items + excluded.items, \
             sources = sources + excluded.sources",
        );
        query
            .build()
            .persistent(true)
            .execute(&mut *connection)
            .await?;
    }
    Ok(())
}

async fn index_rows(
    connection: &mut SqliteConnection,
    insert: &str,
    rows: Vec<(String, i64)>,
) -> anyhow::Result<()> {
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let mut query = QueryBuilder::<Sqlite>::new(insert);
        query.push_values(chunk, |mut row, (key, seq)| {
            row.push_bind(key).push_bind(*seq);
        });
        query
            .build()
            .persistent(true)
            .execute(&mut *connection)
            .await?;
    }
    Ok(())
}
