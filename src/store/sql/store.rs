/// A backend's [`Store`](crate::store::Store): each method goes to the backend's family
/// module (`officials`, `trips`, `agenda`, `digests`, `subscriptions`, `tokens`, stamped from this
/// folder) with the pool it writes through (`writer()`) or reads from (`reader()`); the
/// methods in braces are those the backend answers its own way.
macro_rules! store_impl {
    ($store:ty, { $($own:tt)* }) => {
        #[async_trait::async_trait]
        impl crate::store::Store for $store {
            async fn ping(&self) -> StoreResult<()> {
                sqlx::query("SELECT 1").execute(self.reader()).await?;
                self.check_writable().await
            }
            async fn create_official(
                &self,
                id: ResourceId,
                official: Official,
            ) -> StoreResult<Stored<Official>> {
                officials::create(&self.writer(), id, official).await
            }
            async fn list_officials(
                &self,
                filter: &OfficialFilter,
                page: PageRequest,
            ) -> StoreResult<Page<Stored<Official>>> {
                officials::list(self.reader(), filter, page).await
            }
            async fn update_official(
                &self,
                id: &ResourceId,
                precondition: Precondition,
                official: Official,
            ) -> StoreResult<Stored<Official>> {
                officials::update(&self.writer(), id, precondition, official).await
            }
            async fn delete_official(
                &self,
                id: &ResourceId,
                precondition: Precondition,
            ) -> StoreResult<()> {
                officials::delete(&self.writer(), id, precondition).await
            }
            async fn create_trip(&self, id: ResourceId, trip: Trip) -> StoreResult<Stored<Trip>> {
                trips::create(&self.writer(), id, trip).await
            }
            async fn list_trips(
                &self,
                filter: &TripFilter,
                page: PageRequest,
            ) -> StoreResult<Page<Stored<Trip>>> {
                trips::list(self.reader(), filter, page).await
            }
            async fn update_trip(
                &self,
                id: &ResourceId,
                precondition: Precondition,
                trip: Trip,
            ) -> StoreResult<Stored<Trip>> {
                trips::update(&self.writer(), id, precondition, trip).await
            }
            async fn delete_trip(
                &self,
                id: &ResourceId,
                precondition: Precondition,
                force: bool,
            ) -> StoreResult<()> {
                trips::delete(&self.writer(), id, precondition, force).await
            }
            async fn create_agenda_item(
                &self,
                id: ResourceId,
                item: AgendaItem,
            ) -> StoreResult<Stored<AgendaItem>> {
                agenda::create(&self.writer(), id, item).await
            }
            async fn update_agenda_item(
                &self,
                id: &ResourceId,
                precondition: Precondition,
                item: AgendaItem,
            ) -> StoreResult<Stored<AgendaItem>> {
                agenda::update(&self.writer(), id, precondition, item).await
            }
            async fn delete_agenda_item(
                &self,
                id: &ResourceId,
                precondition: Precondition,
            ) -> StoreResult<()> {
                agenda::delete(&self.writer(), id, precondition).await
            }
            async fn import_agenda_items(
                &self,
                items: Vec<(ResourceId, AgendaItem)>,
            ) -> StoreResult<Vec<ImportOutcome>> {
                agenda::import(&self.writer(), items).await
            }
            async fn import_agenda_batch(
                &self,
                items: Vec<(ResourceId, AgendaItem)>,
            ) -> StoreResult<crate::store::BatchOutcome> {
                agenda::import_batch(&self.writer(), items).await
            }
            async fn agenda_items_between(
                &self,
                from: NaiveDate,
                to: NaiveDate,
            ) -> StoreResult<Vec<Stored<AgendaItem>>> {
                digests::agenda_items_between(self.reader(), from, to).await
            }
            async fn all_officials(&self) -> StoreResult<Vec<Stored<Official>>> {
                digests::all_officials(self.reader()).await
            }
            async fn planned_items_between(
                &self,
                from: NaiveDate,
                to: NaiveDate,
                limit: usize,
            ) -> StoreResult<Vec<Stored<AgendaItem>>> {
                agenda::planned_items_between(self.reader(), from, to, limit).await
            }
            async fn daily_activity(
                &self,
                from: NaiveDate,
                to: NaiveDate,
            ) -> StoreResult<Vec<DailyActivity>> {
                agenda::daily_activity(self.reader(), from, to).await
            }
            async fn trips_between(
                &self,
                from: NaiveDate,
                to: NaiveDate,
            ) -> StoreResult<Vec<Stored<Trip>>> {
                digests::trips_between(self.reader(), from, to).await
            }
            async fn claim_run(
                &self,
                kind: &str,
                date: NaiveDate,
                claim: &RunClaim,
            ) -> StoreResult<ClaimOutcome> {
                dialect::claim_run(&self.writer(), kind, date, claim).await
            }
            async fn finish_run(
                &self,
                kind: &str,
                date: NaiveDate,
                owner: &str,
                compiled: &Compiled,
                deliver: bool,
            ) -> StoreResult<PublishedDigest> {
                digests::finish_run(&self.writer(), kind, date, owner, compiled, deliver).await
            }
            async fn fail_run(
                &self,
                kind: &str,
                date: NaiveDate,
                owner: &str,
                error: &str,
                retry_at: Option<DateTime<Utc>>,
            ) -> StoreResult<()> {
                digests::fail_run(&self.writer(), kind, date, owner, error, retry_at).await
            }
            async fn get_run(&self, kind: &str, date: NaiveDate) -> StoreResult<Option<DigestRun>> {
                digests::get_run(self.reader(), kind, date).await
            }
            async fn list_runs(
                &self,
                filter: &RunFilter,
                page: PageRequest,
            ) -> StoreResult<Page<DigestRun>> {
                digests::list_runs(self.reader(), filter, page).await
            }
            async fn last_done_day(&self, kind: &str) -> StoreResult<Option<NaiveDate>> {
                digests::last_done_day(self.reader(), kind).await
            }
            async fn get_digest(&self, name: &DigestName) -> StoreResult<PublishedDigest> {
                digests::get_digest(self.reader(), name).await
            }
            async fn list_digest_dyads(
                &self,
                name: &DigestName,
                order: DyadOrder,
                page: PageRequest,
            ) -> StoreResult<DyadPage> {
                digests::list_digest_dyads(self.reader(), name, order, page).await
            }
            async fn list_digests(
                &self,
                filter: &DigestFilter,
                page: PageRequest,
            ) -> StoreResult<Page<PublishedDigest>> {
                digests::list_digests(self.reader(), filter, page).await
            }
            async fn publications_after(
                &self,
                cursor: i64,
                kind: Option<&str>,
                limit: usize,
            ) -> StoreResult<Vec<PublishedDigest>> {
                digests::publications_after(self.reader(), cursor, kind, limit).await
            }
            async fn latest_publication(&self) -> StoreResult<i64> {
                digests::latest_publication(self.reader()).await
            }
            async fn create_subscription(
                &self,
                id: ResourceId,
                subscription: Subscription,
            ) -> StoreResult<Stored<Subscription>> {
                subscriptions::create(&self.writer(), self.secrets(), id, subscription).await
            }
            async fn get_subscription(&self, id: &ResourceId) -> StoreResult<Stored<Subscription>> {
                subscriptions::get(self.reader(), self.secrets(), id).await
            }
            async fn list_subscriptions(
                &self,
                kind: Option<&str>,
                page: PageRequest,
            ) -> StoreResult<Page<Stored<Subscription>>> {
                subscriptions::list(self.reader(), self.secrets(), kind, page).await
            }
            async fn delete_subscription(&self, id: &ResourceId) -> StoreResult<()> {
                subscriptions::delete(&self.writer(), id).await
            }
            async fn list_deliveries(
                &self,
                subscription: &ResourceId,
                state: Option<DeliveryState>,
                page: PageRequest,
            ) -> StoreResult<Page<Delivery>> {
                subscriptions::list_deliveries(self.reader(), subscription, state, page).await
            }
            async fn claim_due_deliveries(
                &self,
                lease: chrono::Duration,
                limit: usize,
            ) -> StoreResult<Vec<DueDelivery>> {
                subscriptions::claim_due(&self.writer(), self.secrets(), lease, limit).await
            }
            async fn record_attempt(
                &self,
                delivery_id: &str,
                outcome: &AttemptOutcome,
            ) -> StoreResult<Delivery> {
                subscriptions::record_attempt(&self.writer(), delivery_id, outcome).await
            }
            async fn defer_delivery(
                &self,
                delivery_id: &str,
                at: chrono::DateTime<chrono::Utc>,
            ) -> StoreResult<()> {
                subscriptions::defer(&self.writer(), delivery_id, at).await
            }
            async fn redeliver(
                &self,
                subscription: &ResourceId,
                delivery_id: &str,
            ) -> StoreResult<Delivery> {
                subscriptions::redeliver(&self.writer(), subscription, delivery_id).await
            }
            async fn reseal_secrets(&self, next: &crate::store::secrets::SecretSealer) -> StoreResult<usize> {
                subscriptions::reseal(&self.writer(), self.secrets(), next).await
            }
            async fn next_delivery_due(&self) -> StoreResult<Option<DateTime<Utc>>> {
                subscriptions::next_due(self.reader()).await
            }
            async fn outbox_stats(&self) -> StoreResult<crate::store::OutboxStats> {
                subscriptions::outbox_stats(self.reader()).await
            }
            async fn create_token(
                &self,
                token: &crate::domain::token::ApiToken,
                digest: crate::domain::token::TokenDigest,
            ) -> StoreResult<()> {
                tokens::create(&self.writer(), token, digest).await
            }
            async fn list_tokens(&self) -> StoreResult<Vec<crate::domain::token::ApiToken>> {
                tokens::list(self.reader()).await
            }
            async fn find_token(
                &self,
                digest: crate::domain::token::TokenDigest,
            ) -> StoreResult<Option<crate::domain::token::ApiToken>> {
                tokens::find(self.reader(), digest).await
            }
            async fn revoke_token(
                &self,
                name: &crate::domain::token::TokenName,
            ) -> StoreResult<crate::domain::token::ApiToken> {
                tokens::revoke(&self.writer(), name).await
            }
            async fn server_key(&self, purpose: &str) -> StoreResult<Vec<u8>> {
                tokens::server_key(&self.writer(), purpose).await
            }

            async fn claim_feed_file(
                &self,
                claim: &crate::store::feeds::FeedFileClaim,
            ) -> StoreResult<Option<i32>> {
                feeds::claim(&self.writer(), claim).await
            }
            async fn finish_feed_file(
                &self,
                url: &str,
                owner: &str,
                counts: crate::store::feeds::FeedFileCounts,
            ) -> StoreResult<()> {
                feeds::finish(&self.writer(), url, owner, counts).await
            }
            async fn fail_feed_file(
                &self,
                url: &str,
                owner: &str,
                error: &str,
                retry_in: Option<chrono::Duration>,
            ) -> StoreResult<()> {
                feeds::fail(&self.writer(), url, owner, error, retry_in).await
            }
            async fn due_feed_files(
                &self,
                feed: &str,
                limit: usize,
            ) -> StoreResult<Vec<crate::store::feeds::ListedFile>> {
                feeds::due(self.reader(), feed, limit).await
            }
            async fn newest_feed_file(&self, feed: &str) -> StoreResult<Option<DateTime<Utc>>> {
                feeds::newest(self.reader(), feed).await
            }
            async fn list_feed_files(
                &self,
                filter: &crate::store::feeds::FeedFileFilter,
                page: PageRequest,
            ) -> StoreResult<Page<crate::store::feeds::FeedFile>> {
                feeds::list(self.reader(), filter, page).await
            }
            async fn feed_stats(&self) -> StoreResult<crate::store::feeds::FeedStats> {
                feeds::stats(self.reader()).await
            }

            $($own)*
        }
    };
}

pub(crate) use store_impl;
