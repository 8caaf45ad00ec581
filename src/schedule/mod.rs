//! The daily schedule: cron ticks (driven by tokio-cron-scheduler) → the run ledger → the
//! outbox. The day a tick compiles is its local day in the kind's zone, computed at the tick.

pub mod plan;
pub mod runner;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use tokio_cron_scheduler::{Job, JobScheduler};

pub use plan::Plan;
pub use runner::{KindSettings, RunError, Runner, RunnerSettings, Trigger};

use crate::store::digests::{RunFilter, RunState};
use crate::store::{PageRequest, Store, StoreResult};

/// Where "now" comes from, so tests can move time without sleeping.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// How a failed scheduled compilation is retried.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub first_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 5,
            first_delay: Duration::from_secs(2),
            max_delay: Duration::from_secs(300),
        }
    }
}

pub struct Scheduler {
    store: Arc<dyn Store>,
    runner: Arc<Runner>,
    plans: Vec<Plan>,
    catch_up_days: u32,
    retry: RetryPolicy,
    clock: Arc<dyn Clock>,
}

impl Scheduler {
    pub fn new(
        store: Arc<dyn Store>,
        runner: Arc<Runner>,
        plans: Vec<Plan>,
        catch_up_days: u32,
        retry: RetryPolicy,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
            runner,
            plans,
            catch_up_days,
            retry,
            clock,
        }
    }

    /// Compiles, oldest first, every due day of every plan that the ledger does not show done.
    /// Run on start (catch-up after downtime) and at every tick.
    pub async fn run_due(&self, trigger: Trigger) -> Vec<(String, NaiveDate)> {
        let mut compiled = Vec::new();
        for plan in &self.plans {
            let now = self.clock.now();
            let last_done = match self.last_done_by(&plan.kind, plan.local_day(now)).await {
                Ok(day) => day,
                Err(error) => {
                    tracing::warn!(kind = %plan.kind, %error, "cannot read the run ledger");
                    continue;
                }
            };
            let mut days = plan.due_days(now, last_done, self.catch_up_days);
            if let Some(last_done) = last_done {
                days.extend(self.failed_days_by(plan, now, last_done).await);
                days.sort();
            }
            for day in days {
                if self.compile_with_retries(&plan.kind, day, trigger).await {
                    compiled.push((plan.kind.clone(), day));
                }
            }
        }
        compiled
    }

    /// Days in the catch-up window, up to `last_done`, whose run failed: a failure followed by
    /// a good day is still retried.
    async fn failed_days_by(
        &self,
        plan: &Plan,
        now: DateTime<Utc>,
        last_done: NaiveDate,
    ) -> Vec<NaiveDate> {
        let mut failed = Vec::new();
        for day in plan.due_days(now, Some(NaiveDate::MIN), self.catch_up_days) {
            if day > last_done {
                continue;
            }
            match self.store.get_run(&plan.kind, day).await {
                Ok(Some(run)) if run.state == RunState::Failed => failed.push(day),
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(kind = %plan.kind, day = %day, %error, "cannot read the run ledger")
                }
            }
        }
        failed
    }

    /// The latest day done on or before `today`. A day compiled ahead on request does not
    /// count, or the days before it would never be compiled.
    async fn last_done_by(&self, kind: &str, today: NaiveDate) -> StoreResult<Option<NaiveDate>> {
        let latest = self.store.last_done_day(kind).await?;
        if latest.is_none_or(|day| day <= today) {
            return Ok(latest);
        }
        let filter = RunFilter {
            kind: Some(kind.to_owned()),
            state: Some(RunState::Done),
        };
        let mut page = PageRequest {
            size: 100,
            after: None,
        };
        loop {
            // Newest day first: the first one not after today is the one.
            let runs = self.store.list_runs(&filter, page).await?;
            if let Some(run) = runs.items.iter().find(|run| run.date <= today) {
                return Ok(Some(run.date));
            }
            match runs.next_after {
                Some(after) => page.after = Some(after),
                None => return Ok(None),
            }
        }
    }

    async fn compile_with_retries(&self, kind: &str, day: NaiveDate, trigger: Trigger) -> bool {
        let mut delay = self.retry.first_delay;
        for attempt in 1..=self.retry.attempts.max(1) {
            match self
                .runner
                .compile_day(kind, day, false, true, trigger)
                .await
            {
                Ok(_) => return true,
                Err(RunError::Busy { .. }) => {
                    tracing::info!(kind, day = %day, "another worker holds this day");
                    return false;
                }
                Err(error) if attempt < self.retry.attempts => {
                    tracing::warn!(kind, day = %day, attempt, %error, retry_in = ?delay, "digest run failed, retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(self.retry.max_delay);
                }
                Err(error) => {
                    tracing::error!(kind, day = %day, attempt, %error, "digest run failed, giving up until the next tick");
                }
            }
        }
        false
    }

    /// Catches up, then keeps one one-shot job per plan in tokio-cron-scheduler, each armed
    /// for the plan's next fire as computed with the zone's rules right then.
    pub async fn start(self: Arc<Self>) -> anyhow::Result<JobScheduler> {
        let jobs = JobScheduler::new().await?;
        jobs.start().await?;
        // The first fires are those after the start, not after the catch-up: a fire that falls
        // while missed days compile runs as soon as they are done, instead of a day later.
        let started = self.clock.now();
        let caught_up = self.run_due(Trigger::CatchUp).await;
        if !caught_up.is_empty() {
            tracing::info!(days = caught_up.len(), "caught up missed digests");
        }
        for index in 0..self.plans.len() {
            self.clone().arm(&jobs, index, started).await?;
        }
        Ok(jobs)
    }

    /// Arms the plan's first fire after `after` (at once when that is already past). Boxed
    /// because each run arms the next: the future refers to itself.
    fn arm(
        self: Arc<Self>,
        jobs: &JobScheduler,
        index: usize,
        after: DateTime<Utc>,
    ) -> futures::future::BoxFuture<'static, anyhow::Result<()>> {
        let jobs = jobs.clone();
        Box::pin(async move { self.arm_now(&jobs, index, after).await })
    }

    async fn arm_now(
        self: Arc<Self>,
        jobs: &JobScheduler,
        index: usize,
        after: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let plan = &self.plans[index];
        let now = self.clock.now();
        let Some(fire) = plan.next_fire_after(after) else {
            tracing::warn!(kind = %plan.kind, cron = plan.expression(), "the schedule never fires again");
            return Ok(());
        };
        let wait = (fire - now).to_std().unwrap_or_default();
        tracing::debug!(kind = %plan.kind, next = %fire, "digest run armed");
        let scheduler = self.clone();
        let job = Job::new_one_shot_at_instant_async(
            std::time::Instant::now() + wait,
            move |_, jobs| {
                let scheduler = scheduler.clone();
                Box::pin(async move {
                    scheduler.run_due(Trigger::Schedule).await;
                    // The next fire is the one after this fire, not after the run, so a long
                    // run does not skip it; and after now when the timer went off early (then
                    // this fire is armed again and today is compiled when it is due).
                    let after = scheduler.clock.now().min(fire);
                    if let Err(error) = scheduler.clone().arm(&jobs, index, after).await {
                        tracing::error!(%error, "cannot arm the next digest run");
                    }
                })
            },
        )?;
        jobs.add(job).await?;
        Ok(())
    }
}
