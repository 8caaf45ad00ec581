//! AgendaService, and the one place where agenda items cross between proto and domain.

use std::sync::Arc;

use futures::StreamExt as _;
use tonic::{Request, Response, Status, Streaming};

use super::codec_errors::client_fault;
use super::convert::{source_to_proto, sources_to_records, timestamp};
use super::deadline::CallDeadline;
use super::error::ApiError;
use super::paging::{self, Pager};
use super::pb::{self, agenda_service_server::AgendaService};
use super::resource::{self, parse_name};
use crate::domain::SearchQuery;
use crate::domain::Stored;
use crate::domain::names::{AgendaItems, Officials, Trips};
use crate::domain::values::{CountryCode, parse_date, parse_keyword};
use crate::domain::{
    AgendaItem, AgendaItemRecord, CountryPair, EventType, Intensity, ItemStatus, Name, QuadClass,
    ResourceId, Violations,
};
use crate::store::{AgendaFilter, Store, StoreError};

/// Items handed to the store per transaction during an import.
const IMPORT_BATCH: usize = 2_000;
/// Errors listed in an import response; the counts cover the rest.
const MAX_LISTED_ERRORS: usize = 1_000;
/// Bad records an import tolerates: at this many it stops with INVALID_ARGUMENT, so a stream
/// of garbage costs neither memory nor a long answer.
const MAX_BAD_RECORDS: i64 = 100;
/// Pairs a ListAgendaItems request may name (as documented in agenda.proto).
const MAX_FILTER_PAIRS: usize = 10;

pub struct AgendaApi {
    store: Arc<dyn Store>,
}

impl AgendaApi {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }
}

#[tonic::async_trait]
impl AgendaService for AgendaApi {
    async fn get_agenda_item(
        &self,
        request: Request<pb::GetAgendaItemRequest>,
    ) -> Result<Response<pb::AgendaItem>, Status> {
        let stored =
            resource::get_record::<AgendaItem>(&self.store, &request.into_inner().name).await?;
        Ok(Response::new(paging::sendable(
            "GetAgendaItem",
            stored_to_proto(stored)?,
        )?))
    }

    async fn list_agenda_items(
        &self,
        request: Request<pb::ListAgendaItemsRequest>,
    ) -> Result<Response<pb::ListAgendaItemsResponse>, Status> {
        let request = request.into_inner();
        let filter = filter(&request)?;
        let page = Pager::new(
            "ListAgendaItems",
            request.page_size,
            &request.page_token,
            &filter,
        )?
        .fill(
            |page| self.store.list_agenda_records(&filter, page),
            stored_to_proto,
        )
        .await?;
        Ok(Response::new(pb::ListAgendaItemsResponse {
            agenda_items: page.items,
            next_page_token: page.next_page_token,
        }))
    }

    async fn create_agenda_item(
        &self,
        request: Request<pb::CreateAgendaItemRequest>,
    ) -> Result<Response<pb::AgendaItem>, Status> {
        let request = request.into_inner();
        let item = request
            .agenda_item
            .ok_or_else(|| ApiError::invalid("agenda_item", "is required"))?;
        let (record, _, _) = from_proto(item)?;
        let stored =
            resource::create::<AgendaItem>(&self.store, record, &request.agenda_item_id).await?;
        tracing::info!(agenda_item = %format!("agendaItems/{}", stored.id), "agenda item created");
        Ok(Response::new(paging::sendable(
            "CreateAgendaItem",
            to_proto(&stored),
        )?))
    }

    async fn update_agenda_item(
        &self,
        request: Request<pb::UpdateAgendaItemRequest>,
    ) -> Result<Response<pb::AgendaItem>, Status> {
        let request = request.into_inner();
        let item = request
            .agenda_item
            .ok_or_else(|| ApiError::invalid("agenda_item", "is required"))?;
        let (record, name, etag) = from_proto(item)?;
        let paths = request
            .update_mask
            .map(|mask| mask.paths)
            .unwrap_or_default();
        let stored =
            resource::update::<AgendaItem>(&self.store, &name, &etag, record, &paths).await?;
        Ok(Response::new(paging::sendable(
            "UpdateAgendaItem",
            to_proto(&stored),
        )?))
    }

    async fn delete_agenda_item(
        &self,
        request: Request<pb::DeleteAgendaItemRequest>,
    ) -> Result<Response<()>, Status> {
        let request = request.into_inner();
        let name = parse_name::<AgendaItems>("name", &request.name)?;
        let precondition =
            resource::delete_precondition::<AgendaItem>(&self.store, &name, &request.etag).await?;
        self.store
            .delete_agenda_item(name.id(), precondition)
            .await
            .map_err(|error| resource::stale_as_etag_mismatch(error, &request.etag))?;
        tracing::info!(agenda_item = %name, "agenda item deleted");
        Ok(Response::new(()))
    }

    async fn import_agenda_items(
        &self,
        request: Request<Streaming<pb::ImportAgendaItemsRequest>>,
    ) -> Result<Response<pb::ImportAgendaItemsResponse>, Status> {
        let deadline = request.extensions().get::<CallDeadline>().copied();
        let mut stream = request.into_inner();
        let mut import = Import::default();
        let mut batch: Vec<(i64, ResourceId, AgendaItem)> = Vec::with_capacity(IMPORT_BATCH);
        // The store writes one batch while the next is received and parsed. Rejections are
        // recorded in the order a batch-at-a-time import gives: a batch's parse errors, then
        // its store outcomes, then the next batch's parse errors.
        let mut in_flight: Option<InFlight> = None;
        let mut parse_errors: Vec<(i64, Violations)> = Vec::new();
        let until = deadline.map(|deadline| deadline.at);
        loop {
            let next = match until {
                Some(at) => match tokio::time::timeout_at(at, stream.next()).await {
                    Ok(next) => next,
                    Err(_) => {
                        let deadline = deadline.expect("set with `until`");
                        return Err(import.stop(in_flight, deadline.exceeded()).await.into());
                    }
                },
                None => stream.next().await,
            };
            let Some(message) = next else { break };
            let message = match message {
                Ok(message) => message,
                // A message it cannot decode ends the import like a bad record: the error says
                // what was kept. Anything else (the client went away) ends it as it is.
                Err(status) => match client_fault(&status, paging::max_message_bytes()) {
                    Some(fault) => return Err(import.stop(in_flight, fault).await.into()),
                    None => return Err(status),
                },
            };
            let index = import.received;
            import.received += 1;
            match parse_import_off_runtime(message).await? {
                Ok((id, item)) => batch.push((index, id, item)),
                Err(violations) => {
                    parse_errors.push((index, violations));
                    if import.rejected + parse_errors.len() as i64 >= MAX_BAD_RECORDS {
                        import.reject_all(std::mem::take(&mut parse_errors));
                        let bad = ApiError::TooManyBadRecords {
                            limit: MAX_BAD_RECORDS,
                            violations: import.violations(),
                        };
                        return Err(import.stop(in_flight, bad).await.into());
                    }
                }
            }
            if batch.len() >= IMPORT_BATCH {
                if let Some(previous) = in_flight.take() {
                    import.finish(previous).await?;
                }
                import.reject_all(std::mem::take(&mut parse_errors));
                import.kept_before = batch
                    .last()
                    .map_or(import.kept_before, |(last, _, _)| last + 1);
                in_flight = Some(InFlight::start(
                    self.store.clone(),
                    std::mem::replace(&mut batch, Vec::with_capacity(IMPORT_BATCH)),
                ));
            }
        }
        if let Some(previous) = in_flight.take() {
            import.finish(previous).await?;
        }
        import.reject_all(parse_errors);
        import.kept_before = import.received;
        if !batch.is_empty() {
            import
                .finish(InFlight::start(self.store.clone(), batch))
                .await?;
        }
        tracing::info!(
            received = import.received,
            imported = import.imported,
            "agenda items imported"
        );
        Ok(Response::new(pb::ImportAgendaItemsResponse {
            received_count: import.received,
            imported_count: import.imported,
            rejected_count: import.rejected,
            errors: import.errors,
        }))
    }
}

#[derive(Default)]
struct Import {
    received: i64,
    imported: i64,
    rejected: i64,
    errors: Vec<pb::ImportError>,
    /// Every record before this index has been handed to the store (and is kept, unless it
    /// is listed as rejected); none from it on will be.
    kept_before: i64,
}

/// A batch the store is writing while the import reads on. It is never aborted: a call that
/// ends early (client gone, deadline, too many bad records) lets the batch finish, so what the
/// store keeps is always the records before [`Import::kept_before`], never a torn batch.
struct InFlight {
    indexes: Vec<i64>,
    outcomes: Option<StoreTask>,
}

type StoreTask =
    tokio::task::JoinHandle<crate::store::StoreResult<Vec<crate::store::ImportOutcome>>>;

impl InFlight {
    fn start(store: Arc<dyn Store>, batch: Vec<(i64, ResourceId, AgendaItem)>) -> Self {
        let indexes = batch.iter().map(|(index, _, _)| *index).collect();
        let items = batch.into_iter().map(|(_, id, item)| (id, item)).collect();
        Self {
            indexes,
            outcomes: Some(tokio::spawn(async move {
                store.import_agenda_items(items).await
            })),
        }
    }
}

/// The call was dropped (the client went away) while a batch was being written: the batch
/// finishes, and the log says where the kept records end.
impl Drop for InFlight {
    fn drop(&mut self) {
        let Some(outcomes) = self.outcomes.take() else {
            return;
        };
        let kept_before = self.indexes.last().map_or(0, |last| last + 1);
        tokio::spawn(async move {
            match outcomes.await {
                Ok(Ok(_)) => tracing::warn!(
                    kept_before,
                    "import ended early: records before index {kept_before} were kept, none after"
                ),
                Ok(Err(error)) => tracing::warn!(
                    %error,
                    "import ended early and its last batch failed: that batch was not kept"
                ),
                Err(error) => tracing::error!(%error, "import batch stopped"),
            }
        });
    }
}

impl Import {
    fn reject_all(&mut self, rejected: Vec<(i64, Violations)>) {
        for (index, violations) in rejected {
            self.reject(index, &violations);
        }
    }

    /// Waits for a batch in flight and records its outcomes.
    async fn finish(&mut self, mut in_flight: InFlight) -> Result<(), ApiError> {
        let task = in_flight.outcomes.take().expect("a batch is awaited once");
        let outcomes = task
            .await
            .map_err(|error| ApiError::internal(format!("import stopped: {error}")))??;
        self.record(std::mem::take(&mut in_flight.indexes), outcomes)
    }

    /// Ends the import early with `error`, after the batch in flight is written: the error
    /// says which records were kept.
    async fn stop(&mut self, in_flight: Option<InFlight>, error: ApiError) -> ApiError {
        if let Some(previous) = in_flight
            && let Err(failed) = self.finish(previous).await
        {
            return failed;
        }
        tracing::warn!(
            received = self.received,
            imported = self.imported,
            kept_before = self.kept_before,
            %error,
            "import stopped early"
        );
        ApiError::ImportStopped {
            cause: Box::new(error),
            imported: self.imported,
            kept_before: self.kept_before,
        }
    }

    /// The rejections so far, as violations of the stream's messages.
    fn violations(&self) -> Violations {
        let mut violations = Violations::new();
        for error in &self.errors {
            violations.add(
                format!("messages[{}].{}", error.index, error.field),
                error.description.clone(),
            );
        }
        violations
    }

    fn reject(&mut self, index: i64, violations: &Violations) {
        self.rejected += 1;
        for violation in violations.items() {
            if self.errors.len() < MAX_LISTED_ERRORS {
                self.errors.push(pb::ImportError {
                    index,
                    field: violation.field.clone(),
                    description: violation.description.clone(),
                });
            }
        }
    }

    fn record(
        &mut self,
        indexes: Vec<i64>,
        outcomes: Vec<crate::store::ImportOutcome>,
    ) -> Result<(), ApiError> {
        for (index, outcome) in indexes.into_iter().zip(outcomes) {
            match outcome {
                Ok(_) => self.imported += 1,
                Err(StoreError::BadReference { field, description }) => {
                    self.reject(
                        index,
                        &Violations::single(field, description).within("agenda_item"),
                    );
                }
                Err(StoreError::AlreadyExists { resource }) => {
                    self.reject(
                        index,
                        &Violations::single("agenda_item_id", format!("{resource} already exists")),
                    );
                }
                Err(other) => return Err(other.into()),
            }
        }
        Ok(())
    }
}

/// Parses one streamed message on the blocking pool, as `resource::parse_off_runtime` does for
/// the other writes.
async fn parse_import_off_runtime(
    message: pb::ImportAgendaItemsRequest,
) -> Result<Result<(ResourceId, AgendaItem), Violations>, ApiError> {
    tokio::task::spawn_blocking(move || parse_import(message))
        .await
        .map_err(|error| ApiError::internal(format!("validation stopped: {error}")))
}

pub(crate) fn parse_import(
    message: pb::ImportAgendaItemsRequest,
) -> Result<(ResourceId, AgendaItem), Violations> {
    let item = message
        .agenda_item
        .ok_or_else(|| Violations::single("agenda_item", "is required"))?;
    let (record, _, _) = from_proto(item).map_err(|error| match error {
        ApiError::InvalidArgument(violations) => violations,
        other => Violations::single("agenda_item", other.to_string()),
    })?;
    let mut violations = Violations::new();
    let id = if message.agenda_item_id.is_empty() {
        Some(ResourceId::generate())
    } else {
        violations.check("agenda_item_id", ResourceId::parse(&message.agenda_item_id))
    };
    let item = AgendaItem::parse(&record).map_err(|found| found.within("agenda_item"));
    match (id, item) {
        (Some(id), Ok(item)) if violations.is_empty() => Ok((id, item)),
        (_, item) => {
            let mut all = item.err().unwrap_or_default();
            for violation in violations.items() {
                all.add(violation.field.clone(), violation.description.clone());
            }
            Err(all)
        }
    }
}

pub(crate) fn filter(request: &pb::ListAgendaItemsRequest) -> Result<AgendaFilter, ApiError> {
    let mut violations = Violations::new();
    let mut filter = AgendaFilter::default();
    if !request.trip.is_empty() {
        filter.trip = violations.check("trip", Name::<Trips>::parse(&request.trip));
    }
    if !request.country.is_empty() {
        filter.country = violations.check("country", CountryCode::parse(&request.country));
    }
    if !request.official.is_empty() {
        filter.official = violations.check("official", Name::<Officials>::parse(&request.official));
    }
    if request.event_type != 0 {
        filter.event_type =
            violations.check("event_type", event_type_from_proto(request.event_type));
    }
    if !request.context.is_empty() {
        filter.context = violations.check("context", parse_keyword(&request.context));
    }
    if !request.from_date.is_empty() {
        filter.from_date = violations.check("from_date", parse_date(&request.from_date));
    }
    if !request.to_date.is_empty() {
        filter.to_date = violations.check("to_date", parse_date(&request.to_date));
    }
    if let (Some(from), Some(to)) = (filter.from_date, filter.to_date)
        && to < from
    {
        violations.add("to_date", "must not be before from_date");
    }
    if !request.query.is_empty() {
        filter.query = violations.check("query", SearchQuery::parse(&request.query));
    }
    if request.status != 0 {
        filter.status = violations.check("status", status_from_proto(request.status));
    }
    if request.pairs.len() > MAX_FILTER_PAIRS {
        violations.add(
            "pairs",
            format!(
                "at most {MAX_FILTER_PAIRS} pairs, got {}",
                request.pairs.len()
            ),
        );
    } else {
        for (position, raw) in request.pairs.iter().enumerate() {
            if let Some(pair) =
                violations.check(format!("pairs[{position}]"), CountryPair::parse(raw))
            {
                filter.pairs.push(pair);
            }
        }
        // The same pairs in another order or repeated are the same query, and the same token.
        filter.pairs.sort_unstable();
        filter.pairs.dedup();
    }
    violations
        .finish(|| filter)
        .map_err(ApiError::InvalidArgument)
}

fn event_type_from_proto(raw: i32) -> Result<EventType, String> {
    pb::EventType::try_from(raw)
        .map_err(|_| format!("{raw} is not a PLOVER event type"))
        .and_then(|known| EventType::parse(known.as_str_name()))
}

fn status_from_proto(raw: i32) -> Result<ItemStatus, String> {
    match pb::ItemStatus::try_from(raw) {
        Ok(pb::ItemStatus::Unspecified) | Err(_) => Err(format!(
            "{raw} is not an item status: expected REPORTED (1), PLANNED (2) or BACKGROUND (3)"
        )),
        Ok(known) => ItemStatus::parse(known.as_str_name()),
    }
}

/// The stored status (checked when it was written; empty is the default, REPORTED).
pub(super) fn status_to_proto(stored: &str) -> pb::ItemStatus {
    match ItemStatus::parse(stored).unwrap_or_default() {
        ItemStatus::Reported => pb::ItemStatus::Reported,
        ItemStatus::Planned => pb::ItemStatus::Planned,
        ItemStatus::Background => pb::ItemStatus::Background,
    }
}

pub(super) fn event_type_to_proto(event_type: EventType) -> pb::EventType {
    pb::EventType::from_str_name(&format!("EVENT_TYPE_{}", event_type.code()))
        .unwrap_or(pb::EventType::Unspecified)
}

/// The record a client sent, with its name and etag; bad values are reported under
/// `agenda_item.` (the benchmark harness reads its generated items through this too).
pub fn from_proto(item: pb::AgendaItem) -> Result<(AgendaItemRecord, String, String), ApiError> {
    let mut violations = Violations::new();
    // Checked here and not only by the domain: an update's field mask works on the JSON form
    // of the record, where NaN and infinities turn into null and would silently unset it.
    if let Some(raw) = item.intensity
        && !raw.is_finite()
    {
        violations.check("intensity", Intensity::parse(raw));
    }
    let event_type = match pb::EventType::try_from(item.event_type) {
        Ok(pb::EventType::Unspecified) => String::new(),
        Ok(known) => known.as_str_name().to_owned(),
        Err(_) => item.event_type.to_string(),
    };
    let record = AgendaItemRecord {
        title: item.title,
        summary: item.summary,
        date: item.date,
        trip: item.trip,
        leg: item.leg.map(i64::from),
        participants: item.participants,
        actors: item.actors,
        recipients: item.recipients,
        event_type,
        mode: item.mode,
        contexts: item.contexts,
        intensity: item.intensity,
        sources: sources_to_records(item.sources, &mut violations),
        notes: item.notes,
        status: match pb::ItemStatus::try_from(item.status) {
            Ok(pb::ItemStatus::Unspecified) => String::new(),
            Ok(known) => known.as_str_name().to_owned(),
            Err(_) => item.status.to_string(),
        },
        hedged: item.hedged,
        goldstein_scale: item.goldstein_scale,
        num_sources: count(item.num_sources, "num_sources", &mut violations),
        num_articles: count(item.num_articles, "num_articles", &mut violations),
        num_mentions: count(item.num_mentions, "num_mentions", &mut violations),
    };
    violations
        .within("agenda_item")
        .finish(|| (record, item.name, item.etag))
        .map_err(ApiError::InvalidArgument)
}

pub fn to_proto(stored: &Stored<AgendaItem>) -> pb::AgendaItem {
    record_to_proto(
        Stored {
            id: stored.id.clone(),
            value: stored.value.to_record(),
            create_time: stored.create_time,
            update_time: stored.update_time,
            revision: stored.revision,
        },
        stored.value.event_type,
    )
}

/// The response for a stored record whose event type is `event_type`: what [`to_proto`] gives
/// for the item the record holds, without parsing the record into the item first.
fn record_to_proto(stored: Stored<AgendaItemRecord>, event_type: EventType) -> pb::AgendaItem {
    let quad_class = match event_type.quad_class() {
        QuadClass::VerbalCooperation => pb::QuadClass::VerbalCooperation,
        QuadClass::MaterialCooperation => pb::QuadClass::MaterialCooperation,
        QuadClass::VerbalConflict => pb::QuadClass::VerbalConflict,
        QuadClass::MaterialConflict => pb::QuadClass::MaterialConflict,
    };
    let name = format!("agendaItems/{}", stored.id);
    let etag = stored.etag();
    let record = stored.value;
    pb::AgendaItem {
        name,
        title: record.title,
        summary: record.summary,
        date: record.date,
        trip: record.trip,
        leg: record.leg.and_then(|leg| i32::try_from(leg).ok()),
        participants: record.participants,
        actors: record.actors,
        recipients: record.recipients,
        event_type: event_type_to_proto(event_type).into(),
        mode: record.mode,
        contexts: record.contexts,
        intensity: Some(record.intensity.unwrap_or_else(|| event_type.score())),
        quad_class: quad_class.into(),
        sources: record.sources.into_iter().map(source_to_proto).collect(),
        create_time: Some(timestamp(stored.create_time)),
        update_time: Some(timestamp(stored.update_time)),
        etag,
        notes: record.notes,
        status: status_to_proto(&record.status).into(),
        hedged: record.hedged,
        goldstein_scale: record.goldstein_scale,
        num_sources: i32::try_from(record.num_sources).unwrap_or(i32::MAX),
        num_articles: i32::try_from(record.num_articles).unwrap_or(i32::MAX),
        num_mentions: i32::try_from(record.num_mentions).unwrap_or(i32::MAX),
    }
}

/// A count a client sent: 0 or more.
fn count(raw: i32, field: &str, violations: &mut Violations) -> u32 {
    u32::try_from(raw).unwrap_or_else(|_| {
        violations.add(field, format!("must be 0 or more, got {raw}"));
        0
    })
}

/// A stored record as a response; its event type was checked when it was stored.
fn stored_to_proto(stored: Stored<AgendaItemRecord>) -> Result<pb::AgendaItem, ApiError> {
    let event_type = EventType::parse(&stored.value.event_type).map_err(|problem| {
        ApiError::from(StoreError::Internal(format!(
            "stored agendaItems/{} is invalid: {problem}",
            stored.id
        )))
    })?;
    Ok(record_to_proto(stored, event_type))
}
