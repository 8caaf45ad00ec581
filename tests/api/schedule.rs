//! The schedule and its run ledger. With the library and a hand-moved clock on a real database
//! of the suite's backend: catch-up after an outage compiles exactly the missed days, and a
//! month across a daylight-saving change runs once per local day at the configured local hour.
//! With the real server: a cron schedule compiles a day once and delivers it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use briefing::api::pb;
use briefing::digest::{DigestName, Side};
use briefing::schedule::{
    Clock, KindSettings, Plan, RetryPolicy, Runner, RunnerSettings, Scheduler, Trigger,
};
use briefing::store::digests::{DigestRun, RunFilter, RunState};
use briefing::store::{PageRequest, Store};
use chrono::{DateTime, NaiveDate, Timelike as _, Utc};
use chrono_tz::Tz;

use crate::digest_helpers::{runs, subscribe_webhook, wait_for_delivery};
use crate::helpers::{DatabaseGuard, eventually, fresh_database, spawn_app_with_args};
use crate::receiver::Receiver;

/// A clock that only moves when the test says so.
struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    fn set(&self, now: DateTime<Utc>) {
        *self.0.lock().unwrap() = now;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

/// A scheduler on a fresh database, wired as `briefing serve` wires it, with a manual clock.
struct Ledger {
    store: Arc<dyn Store>,
    runner: Arc<Runner>,
    clock: Arc<ManualClock>,
    scheduler: Scheduler,
    _database: DatabaseGuard,
}

impl Ledger {
    async fn new(plan: Plan, catch_up_days: u32, demo: bool) -> Self {
        let (database, url) = fresh_database().await;
        let store = briefing::startup::open_store(&url)
            .await
            .expect("open the store");
        if demo {
            briefing::import::load_demo_if_empty(store.as_ref())
                .await
                .expect("load the demo data set");
        }
        let settings = RunnerSettings {
            kinds: vec![(
                plan.kind.clone(),
                KindSettings {
                    time_zone: plan.time_zone,
                    side: Side::default(),
                },
            )],
            lease: Duration::from_secs(60),
            wait: Duration::from_secs(65),
        };
        let runner = Arc::new(Runner::new(
            store.clone(),
            settings,
            Arc::new(tokio::sync::Notify::new()),
        ));
        let clock = Arc::new(ManualClock(Mutex::new(DateTime::UNIX_EPOCH)));
        let scheduler = Scheduler::new(
            store.clone(),
            runner.clone(),
            vec![plan],
            catch_up_days,
            RetryPolicy {
                attempts: 1,
                first_delay: Duration::ZERO,
                max_delay: Duration::ZERO,
            },
            clock.clone() as Arc<dyn Clock>,
        );
        Self {
            store,
            runner,
            clock,
            scheduler,
            _database: database,
        }
    }

    /// Moves the clock to `now` and runs what is due, as a tick of `trigger` would.
    async fn run_at(&self, now: DateTime<Utc>, trigger: Trigger) -> Vec<NaiveDate> {
        self.clock.set(now);
        self.scheduler
            .run_due(trigger)
            .await
            .into_iter()
            .map(|(kind, day)| {
                assert_eq!(kind, "daily");
                day
            })
            .collect()
    }

    /// The whole ledger, oldest day first.
    async fn runs(&self) -> Vec<DigestRun> {
        let mut found = Vec::new();
        let mut page = PageRequest {
            size: 500,
            after: None,
        };
        loop {
            let listed = self
                .store
                .list_runs(&RunFilter::default(), page)
                .await
                .expect("list runs");
            found.extend(listed.items);
            match listed.next_after {
                Some(after) => page.after = Some(after),
                None => break,
            }
        }
        found.reverse();
        found
    }
}

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("an RFC 3339 instant")
        .with_timezone(&Utc)
}

fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("a date")
}

fn days(texts: &[&str]) -> Vec<NaiveDate> {
    texts.iter().map(|text| day(text)).collect()
}

fn six_every_morning(zone: Tz) -> Plan {
    Plan::parse("daily", "0 0 6 * * *", zone).expect("the default cron parses")
}

#[tokio::test]
async fn catch_up_after_three_days_down_compiles_exactly_those_days_in_order() {
    let ledger = Ledger::new(six_every_morning(chrono_tz::UTC), 7, true).await;
    assert_eq!(
        ledger
            .run_at(utc("2025-01-06T06:00:00Z"), Trigger::Schedule)
            .await,
        days(&["2025-01-06"]),
        "a first run compiles only the day that is due"
    );

    // Down from just after that run until three days later, past 06:00.
    let back = utc("2025-01-09T07:30:00Z");
    assert_eq!(
        ledger.run_at(back, Trigger::CatchUp).await,
        days(&["2025-01-07", "2025-01-08", "2025-01-09"])
    );
    let ledger_rows = ledger.runs().await;
    let summary: Vec<(NaiveDate, RunState, i32, &str)> = ledger_rows
        .iter()
        .map(|run| (run.date, run.state, run.attempts, run.trigger.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            (day("2025-01-06"), RunState::Done, 1, "schedule"),
            (day("2025-01-07"), RunState::Done, 1, "catch-up"),
            (day("2025-01-08"), RunState::Done, 1, "catch-up"),
            (day("2025-01-09"), RunState::Done, 1, "catch-up"),
        ]
    );
    let started: Vec<DateTime<Utc>> = ledger_rows
        .iter()
        .map(|run| run.start_time.expect("a start time"))
        .collect();
    assert!(
        started.windows(2).all(|pair| pair[0] <= pair[1]),
        "compiled oldest first: {started:?}"
    );
    // The caught-up digests hold their days' items.
    let caught_up = ledger
        .store
        .get_digest(&DigestName {
            kind: "daily".into(),
            date: day("2025-01-07"),
        })
        .await
        .expect("the caught-up digest is stored");
    // The Tokyo talks are planned for that day in the demo data: cited, not scored.
    let cited: Vec<&str> = caught_up
        .digest
        .items
        .iter()
        .map(|item| item.name.as_str())
        .collect();
    for tokyo in [
        "agendaItems/tokyo-alliance-importance",
        "agendaItems/tokyo-alliance-review",
        "agendaItems/tokyo-trilateral-momentum",
    ] {
        assert!(cited.contains(&tokyo), "{tokyo} not in {cited:?}");
    }
    assert_eq!(caught_up.digest.headline.item_count, 0);

    // Running again, or ticking later that day, compiles nothing.
    assert!(ledger.run_at(back, Trigger::CatchUp).await.is_empty());
    assert!(
        ledger
            .run_at(utc("2025-01-09T23:59:59Z"), Trigger::Schedule)
            .await
            .is_empty()
    );
    assert_eq!(ledger.runs().await, ledger_rows, "the ledger is unchanged");

    // A longer outage is caught up only as far back as configured (7 days).
    let compiled = ledger
        .run_at(utc("2025-01-25T06:00:00Z"), Trigger::CatchUp)
        .await;
    let expected: Vec<NaiveDate> = (19..=25)
        .map(|date| day(&format!("2025-01-{date}")))
        .collect();
    assert_eq!(compiled, expected);
}

#[tokio::test]
async fn a_day_compiled_ahead_on_request_does_not_stop_the_schedule() {
    let ledger = Ledger::new(six_every_morning(chrono_tz::UTC), 7, false).await;
    assert_eq!(
        ledger
            .run_at(utc("2025-01-06T06:00:00Z"), Trigger::Schedule)
            .await,
        days(&["2025-01-06"])
    );
    // Someone previews the 10th through CompileDigest.
    ledger
        .runner
        .compile_day("daily", day("2025-01-10"), false, false, Trigger::Api)
        .await
        .expect("compile a day ahead");
    assert_eq!(
        ledger
            .run_at(utc("2025-01-07T06:00:00Z"), Trigger::Schedule)
            .await,
        days(&["2025-01-07"]),
        "the days before the previewed one are still compiled"
    );
    assert_eq!(
        ledger
            .run_at(utc("2025-01-09T06:00:00Z"), Trigger::CatchUp)
            .await,
        days(&["2025-01-08", "2025-01-09"])
    );
    assert!(
        ledger
            .run_at(utc("2025-01-10T06:00:00Z"), Trigger::Schedule)
            .await
            .is_empty(),
        "the previewed day is done already"
    );
    assert_eq!(
        ledger
            .run_at(utc("2025-01-11T06:00:00Z"), Trigger::Schedule)
            .await,
        days(&["2025-01-11"])
    );
}

/// Ticks at every fire of the plan from `start` for `count` days, as the armed jobs would,
/// checking that nothing is due between fires. Returns the fires.
async fn follow_the_schedule(
    ledger: &Ledger,
    plan: &Plan,
    start: &str,
    count: usize,
) -> Vec<DateTime<Utc>> {
    let mut fires = Vec::new();
    let mut now = utc(start);
    for _ in 0..count {
        let fire = plan.next_fire_after(now).expect("the plan fires again");
        if !fires.is_empty() {
            for early in [
                fire - chrono::Duration::minutes(61),
                fire - chrono::Duration::seconds(1),
            ] {
                assert!(
                    ledger.run_at(early, Trigger::Schedule).await.is_empty(),
                    "something was due at {early}, before the fire at {fire}"
                );
            }
        }
        assert_eq!(
            ledger.run_at(fire, Trigger::Schedule).await,
            [plan.local_day(fire)],
            "the fire at {fire} compiles its local day"
        );
        fires.push(fire);
        now = fire;
    }
    fires
}

#[tokio::test]
async fn across_both_daylight_saving_changes_one_run_per_local_day_at_six() {
    let zone = chrono_tz::America::New_York;
    let plan = six_every_morning(zone);
    // 2025: clocks spring forward on 9 March and fall back on 2 November.
    for (start, first_day, count) in [
        ("2025-02-25T12:00:00Z", "2025-02-26", 28),
        ("2025-10-20T12:00:00Z", "2025-10-21", 28),
    ] {
        let ledger = Ledger::new(plan.clone(), 7, false).await;
        let fires = follow_the_schedule(&ledger, &plan, start, count).await;
        for fire in &fires {
            let local = fire.with_timezone(&zone);
            assert_eq!(
                (local.hour(), local.minute(), local.second()),
                (6, 0, 0),
                "fire {fire} is at 06:00 local"
            );
        }
        // The UTC hour moves with the offset: 11:00Z under EST and 10:00Z under EDT.
        let utc_hours: std::collections::BTreeSet<u32> =
            fires.iter().map(|fire| fire.hour()).collect();
        assert_eq!(
            utc_hours,
            std::collections::BTreeSet::from([10, 11]),
            "the window crosses a change"
        );

        let ledger_rows = ledger.runs().await;
        let expected: Vec<NaiveDate> = day(first_day).iter_days().take(count).collect();
        assert_eq!(
            ledger_rows.iter().map(|run| run.date).collect::<Vec<_>>(),
            expected,
            "exactly one run per local day, none skipped"
        );
        for run in &ledger_rows {
            assert_eq!(run.state, RunState::Done, "{run:?}");
            assert_eq!(run.attempts, 1, "{run:?}");
            assert_eq!(run.trigger, "schedule", "{run:?}");
        }
    }
}

/// A zone in which it is not within ten minutes of midnight, so "today" stays one day
/// while the test runs.
fn zone_away_from_midnight() -> Tz {
    [chrono_tz::UTC, chrono_tz::Asia::Kolkata]
        .into_iter()
        .find(|zone| {
            let minutes = Utc::now().with_timezone(zone).num_seconds_from_midnight() / 60;
            (10..24 * 60 - 10).contains(&minutes)
        })
        .expect("midnight is not near in two zones 5.5 hours apart")
}

fn today_in(zone: Tz) -> String {
    Utc::now()
        .with_timezone(&zone)
        .date_naive()
        .format("%Y-%m-%d")
        .to_string()
}

/// Subscribes a receiver through a first server without a schedule, so the subscription
/// exists before the scheduled server's first run.
async fn subscribe_before_start(url: &str, receiver: &Receiver) -> pb::Subscription {
    let app = spawn_app_with_args(url, &["--schedule=false"]).await;
    let subscription = subscribe_webhook(&app, receiver).await;
    app.stop().await;
    subscription
}

#[tokio::test]
async fn a_server_on_a_cron_schedule_compiles_today_once_and_delivers_it() {
    let (_database, url) = fresh_database().await;
    let zone = zone_away_from_midnight();
    let receiver = Receiver::start().await;
    let subscription = subscribe_before_start(&url, &receiver).await;

    let app = spawn_app_with_args(
        &url,
        &[
            "--digest-cron",
            "*/1 * * * * *",
            "--digest-time-zone",
            zone.name(),
            "--schedule=true",
        ],
    )
    .await;
    let today = today_in(zone);
    let digest = format!("digests/daily-{today}");
    let run = eventually("the schedule has compiled today", || async {
        runs(&app)
            .await
            .into_iter()
            .find(|run| run.date == today && run.state() == pb::DigestRunState::Done)
    })
    .await;
    assert!(
        ["schedule", "catch-up"].contains(&run.trigger.as_str()),
        "{run:?}"
    );
    let delivery = wait_for_delivery(
        &app,
        &subscription.name,
        &digest,
        pb::DeliveryState::Succeeded,
    )
    .await;

    // The schedule keeps ticking every second; none of its ticks compiles the day again.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let ledger = runs(&app).await;
    assert_eq!(ledger.len(), 1, "{ledger:#?}");
    assert_eq!(ledger[0].attempts, 1, "{ledger:#?}");
    let received = receiver.received();
    assert_eq!(received.len(), 1, "delivered once");
    assert!(received[0].verified.is_ok(), "{:?}", received[0].verified);
    assert_eq!(received[0].webhook_id, delivery.idempotency_key);
    assert_eq!(received[0].digest_name(), digest);
}

#[tokio::test]
async fn a_cron_fire_compiles_its_day_with_the_schedule_trigger() {
    let (_database, url) = fresh_database().await;
    let zone = zone_away_from_midnight();
    let receiver = Receiver::start().await;
    let subscription = subscribe_before_start(&url, &receiver).await;

    // A cron that fires once a day, a few seconds from now: until then, today is not due.
    let fire = (Utc::now() + chrono::Duration::seconds(5))
        .with_nanosecond(0)
        .expect("valid");
    let local = fire.with_timezone(&zone);
    let cron = format!(
        "{} {} {} * * *",
        local.second(),
        local.minute(),
        local.hour()
    );
    let app = spawn_app_with_args(
        &url,
        &[
            "--digest-cron",
            &cron,
            "--digest-time-zone",
            zone.name(),
            "--schedule=true",
        ],
    )
    .await;
    assert!(
        Utc::now() < fire - chrono::Duration::milliseconds(500),
        "the server took too long to start for this test to mean anything"
    );
    let today = local.date_naive();
    let yesterday = today.pred_opt().expect("a day before");
    let ledger = eventually("the fire has compiled today", || async {
        let ledger = runs(&app).await;
        ledger
            .iter()
            .any(|run| {
                run.date == today.format("%Y-%m-%d").to_string()
                    && run.state() == pb::DigestRunState::Done
            })
            .then_some(ledger)
    })
    .await;
    let summary: Vec<(String, &str, i32)> = ledger
        .iter()
        .map(|run| (run.date.clone(), run.trigger.as_str(), run.attempts))
        .collect();
    assert_eq!(
        summary,
        [
            (today.format("%Y-%m-%d").to_string(), "schedule", 1),
            // On start, before the fire, the latest day that was due is caught up.
            (yesterday.format("%Y-%m-%d").to_string(), "catch-up", 1),
        ]
    );
    let delivered = wait_for_delivery(
        &app,
        &subscription.name,
        &format!("digests/daily-{}", today.format("%Y-%m-%d")),
        pb::DeliveryState::Succeeded,
    )
    .await;
    assert!(delivered.deliver_time.is_some());
}

/// Runs a statement on the suite's database behind the store's back (to break and mend data).
async fn execute_behind_the_store(url: &str, statement: &str) {
    if url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(url).await.expect("sqlite");
        sqlx::query(statement)
            .execute(&pool)
            .await
            .expect("statement runs");
        pool.close().await;
    } else {
        let pool = sqlx::PgPool::connect(url).await.expect("postgres");
        sqlx::query(statement)
            .execute(&pool)
            .await
            .expect("statement runs");
        pool.close().await;
    }
}

#[tokio::test]
async fn a_failed_run_is_retried_with_backoff_recorded_and_caught_up_later() {
    let (database, url) = fresh_database().await;
    let store = briefing::startup::open_store(&url)
        .await
        .expect("open the store");
    briefing::import::load_demo_if_empty(store.as_ref())
        .await
        .expect("demo data");
    let plan = Plan::parse("daily", "0 0 6 * * *", chrono_tz::UTC).expect("plan");
    let settings = RunnerSettings {
        kinds: vec![(
            "daily".into(),
            KindSettings {
                time_zone: chrono_tz::UTC,
                side: Side::default(),
            },
        )],
        lease: Duration::from_secs(60),
        wait: Duration::from_secs(65),
    };
    let runner = Arc::new(Runner::new(
        store.clone(),
        settings,
        Arc::new(tokio::sync::Notify::new()),
    ));
    let clock = Arc::new(ManualClock(Mutex::new(DateTime::UNIX_EPOCH)));
    let scheduler = Scheduler::new(
        store.clone(),
        runner,
        vec![plan],
        7,
        RetryPolicy {
            attempts: 3,
            first_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(40),
        },
        clock.clone() as Arc<dyn Clock>,
    );
    let day = |text: &str| NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("day");
    let morning = |text: &str| {
        DateTime::parse_from_rfc3339(&format!("{text}T07:00:00Z"))
            .expect("time")
            .with_timezone(&Utc)
    };

    clock.set(morning("2025-01-05"));
    assert_eq!(
        scheduler.run_due(Trigger::Schedule).await,
        vec![("daily".to_owned(), day("2025-01-05"))]
    );

    // An agenda item of the 6th that cannot be read makes that day's compilation fail.
    execute_behind_the_store(
        &url,
        "UPDATE agenda_items SET body = '{' WHERE id = 'seoul-talks'",
    )
    .await;
    clock.set(morning("2025-01-06"));
    assert!(
        scheduler.run_due(Trigger::Schedule).await.is_empty(),
        "the 6th fails"
    );
    let failed = store
        .get_run("daily", day("2025-01-06"))
        .await
        .expect("ledger")
        .expect("run of the 6th");
    assert_eq!(failed.state, RunState::Failed);
    assert_eq!(
        failed.attempts, 3,
        "tried as often as the retry policy says"
    );
    assert!(
        failed.error.contains("agendaItems/seoul-talks"),
        "the error names the cause: {}",
        failed.error
    );
    assert!(failed.finish_time.is_some());

    // Mended, the failed day is compiled at the next tick, before the new day.
    let record = briefing::import::parse_file(briefing::import::DEMO_DATA)
        .expect("demo")
        .into_iter()
        .find(|record| record.id == "seoul-talks")
        .and_then(|record| record.agenda_item)
        .expect("the demo item");
    let body = serde_json::to_string(&record)
        .expect("json")
        .replace('\'', "''");
    execute_behind_the_store(
        &url,
        &format!("UPDATE agenda_items SET body = '{body}' WHERE id = 'seoul-talks'"),
    )
    .await;
    clock.set(morning("2025-01-07"));
    let compiled = scheduler.run_due(Trigger::Schedule).await;
    assert_eq!(
        compiled,
        vec![
            ("daily".to_owned(), day("2025-01-06")),
            ("daily".to_owned(), day("2025-01-07"))
        ]
    );
    let mended = store
        .get_run("daily", day("2025-01-06"))
        .await
        .expect("ledger")
        .expect("run");
    assert_eq!((mended.state, mended.attempts), (RunState::Done, 4));
    assert!(
        store
            .get_digest(&DigestName {
                kind: "daily".into(),
                date: day("2025-01-06")
            })
            .await
            .is_ok()
    );
    drop(database);
}
