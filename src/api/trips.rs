//! TripService, and the one place where trips cross between proto and domain.

use std::sync::Arc;

use chrono::Utc;
use tonic::{Request, Response, Status};

use super::convert::{source_to_proto, sources_to_records, timestamp};
use super::error::ApiError;
use super::paging::{self, Pager};
use super::pb::{self, trip_service_server::TripService};
use super::resource::{self, parse_name};
use crate::domain::Stored;
use crate::domain::names::{Officials, Trips};
use crate::domain::trip::LegRecord;
use crate::domain::values::{CountryCode, parse_date};
use crate::domain::{Trip, TripRecord, TripState, Violations};
use crate::store::{Store, StoreError, TripFilter};

pub struct TripApi {
    store: Arc<dyn Store>,
}

impl TripApi {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }
}

#[tonic::async_trait]
impl TripService for TripApi {
    async fn get_trip(
        &self,
        request: Request<pb::GetTripRequest>,
    ) -> Result<Response<pb::Trip>, Status> {
        let stored = resource::get_record::<Trip>(&self.store, &request.into_inner().name).await?;
        let state = stored.value.state_at(Utc::now()).ok_or_else(|| {
            ApiError::from(StoreError::Internal(format!(
                "stored trips/{} has legs whose dates or zones do not parse",
                stored.id
            )))
        })?;
        Ok(Response::new(paging::sendable(
            "GetTrip",
            record_to_proto(stored, state),
        )?))
    }

    async fn list_trips(
        &self,
        request: Request<pb::ListTripsRequest>,
    ) -> Result<Response<pb::ListTripsResponse>, Status> {
        let request = request.into_inner();
        let filter = filter(&request)?;
        let page = Pager::new("ListTrips", request.page_size, &request.page_token, &filter)?
            .fill(
                |page| self.store.list_trips(&filter, page),
                |trip| Ok(to_proto(&trip)),
            )
            .await?;
        Ok(Response::new(pb::ListTripsResponse {
            trips: page.items,
            next_page_token: page.next_page_token,
        }))
    }

    async fn create_trip(
        &self,
        request: Request<pb::CreateTripRequest>,
    ) -> Result<Response<pb::Trip>, Status> {
        let request = request.into_inner();
        let trip = request
            .trip
            .ok_or_else(|| ApiError::invalid("trip", "is required"))?;
        let (record, _, _) = from_proto(trip)?;
        let stored = resource::create::<Trip>(&self.store, record, &request.trip_id).await?;
        tracing::info!(trip = %format!("trips/{}", stored.id), "trip created");
        Ok(Response::new(paging::sendable(
            "CreateTrip",
            to_proto(&stored),
        )?))
    }

    async fn update_trip(
        &self,
        request: Request<pb::UpdateTripRequest>,
    ) -> Result<Response<pb::Trip>, Status> {
        let request = request.into_inner();
        let trip = request
            .trip
            .ok_or_else(|| ApiError::invalid("trip", "is required"))?;
        let (record, name, etag) = from_proto(trip)?;
        let paths = request
            .update_mask
            .map(|mask| mask.paths)
            .unwrap_or_default();
        let stored = resource::update::<Trip>(&self.store, &name, &etag, record, &paths).await?;
        Ok(Response::new(paging::sendable(
            "UpdateTrip",
            to_proto(&stored),
        )?))
    }

    async fn delete_trip(
        &self,
        request: Request<pb::DeleteTripRequest>,
    ) -> Result<Response<()>, Status> {
        let request = request.into_inner();
        let name = parse_name::<Trips>("name", &request.name)?;
        let precondition =
            resource::delete_precondition::<Trip>(&self.store, &name, &request.etag).await?;
        self.store
            .delete_trip(name.id(), precondition, request.force)
            .await
            .map_err(|error| resource::stale_as_etag_mismatch(error, &request.etag))?;
        tracing::info!(trip = %name, force = request.force, "trip deleted");
        Ok(Response::new(()))
    }
}

pub(crate) fn filter(request: &pb::ListTripsRequest) -> Result<TripFilter, ApiError> {
    let mut violations = Violations::new();
    let mut filter = TripFilter::default();
    if !request.traveler.is_empty() {
        filter.traveler = violations.check(
            "traveler",
            crate::domain::Name::<Officials>::parse(&request.traveler),
        );
    }
    if !request.country.is_empty() {
        filter.country = violations.check("country", CountryCode::parse(&request.country));
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
    violations
        .finish(|| filter)
        .map_err(ApiError::InvalidArgument)
}

/// The record a client sent, with its name and etag; bad timestamps are reported under `trip.`.
pub(crate) fn from_proto(trip: pb::Trip) -> Result<(TripRecord, String, String), ApiError> {
    let mut violations = Violations::new();
    let record = TripRecord {
        title: trip.title,
        traveler: trip.traveler,
        purpose: trip.purpose,
        legs: trip
            .legs
            .into_iter()
            .map(|leg| LegRecord {
                country: leg.country,
                city: leg.city,
                start_date: leg.start_date,
                end_date: leg.end_date,
                time_zone: leg.time_zone,
                purpose: leg.purpose,
            })
            .collect(),
        sources: sources_to_records(trip.sources, &mut violations),
        cancelled: trip.cancelled,
        notes: trip.notes,
    };
    violations
        .within("trip")
        .finish(|| (record, trip.name, trip.etag))
        .map_err(ApiError::InvalidArgument)
}

pub fn to_proto(stored: &Stored<Trip>) -> pb::Trip {
    let record = Stored {
        id: stored.id.clone(),
        value: stored.value.to_record(),
        create_time: stored.create_time,
        update_time: stored.update_time,
        revision: stored.revision,
    };
    record_to_proto(record, stored.value.state_at(Utc::now()))
}

/// The response for a stored record in `state`: what [`to_proto`] gives for the trip the
/// record holds, without parsing the record into the trip first.
fn record_to_proto(stored: Stored<TripRecord>, state: TripState) -> pb::Trip {
    let state = match state {
        TripState::Planned => pb::TripState::Planned,
        TripState::InProgress => pb::TripState::InProgress,
        TripState::Completed => pb::TripState::Completed,
        TripState::Cancelled => pb::TripState::Cancelled,
    };
    let etag = stored.etag();
    let record = stored.value;
    pb::Trip {
        name: format!("trips/{}", stored.id),
        title: record.title,
        traveler: record.traveler,
        purpose: record.purpose,
        legs: record
            .legs
            .into_iter()
            .map(|leg| pb::Leg {
                country: leg.country,
                city: leg.city,
                start_date: leg.start_date,
                end_date: leg.end_date,
                time_zone: leg.time_zone,
                purpose: leg.purpose,
            })
            .collect(),
        state: state.into(),
        sources: record.sources.into_iter().map(source_to_proto).collect(),
        create_time: Some(timestamp(stored.create_time)),
        update_time: Some(timestamp(stored.update_time)),
        etag,
        cancelled: record.cancelled,
        notes: record.notes,
    }
}
