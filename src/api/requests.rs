//! A request's checks without a server: decoding and every check a handler makes before its
//! request reaches the store, on raw bytes. The fuzz target (`fuzz/fuzz_targets/requests.rs`)
//! drives this with arbitrary input; whatever the bytes, the answer is `Ok` or a client error.

use prost::Message as _;

use super::error::ApiError;
use super::{agenda, officials, paging, pb, trips};
use crate::domain::{AgendaItem, Official, ResourceId, Trip};

/// The requests whose checks [`check`] runs, by the first byte of the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    CreateTrip,
    CreateOfficial,
    CreateAgendaItem,
    ImportAgendaItems,
    ListTrips,
    ListOfficials,
    ListAgendaItems,
}

impl Method {
    pub const ALL: [Method; 7] = [
        Self::CreateTrip,
        Self::CreateOfficial,
        Self::CreateAgendaItem,
        Self::ImportAgendaItems,
        Self::ListTrips,
        Self::ListOfficials,
        Self::ListAgendaItems,
    ];
}

/// Decodes `body` as `method`'s request and runs the handler's checks on it.
pub fn check(method: Method, body: &[u8]) -> Result<(), ApiError> {
    let undecodable = |error: prost::DecodeError| {
        ApiError::invalid("request", format!("is not a valid message: {error}"))
    };
    match method {
        Method::CreateTrip => {
            let request = pb::CreateTripRequest::decode(body).map_err(undecodable)?;
            let trip = request
                .trip
                .ok_or_else(|| ApiError::invalid("trip", "is required"))?;
            let (record, _, _) = trips::from_proto(trip)?;
            id(&request.trip_id, "trip_id")?;
            Trip::parse(&record)
                .map(drop)
                .map_err(|found| ApiError::InvalidArgument(found.within("trip")))
        }
        Method::CreateOfficial => {
            let request = pb::CreateOfficialRequest::decode(body).map_err(undecodable)?;
            let official = request
                .official
                .ok_or_else(|| ApiError::invalid("official", "is required"))?;
            let (record, _, _) = officials::from_proto(official);
            id(&request.official_id, "official_id")?;
            Official::parse(&record)
                .map(drop)
                .map_err(|found| ApiError::InvalidArgument(found.within("official")))
        }
        Method::CreateAgendaItem => {
            let request = pb::CreateAgendaItemRequest::decode(body).map_err(undecodable)?;
            let item = request
                .agenda_item
                .ok_or_else(|| ApiError::invalid("agenda_item", "is required"))?;
            let (record, _, _) = agenda::from_proto(item)?;
            id(&request.agenda_item_id, "agenda_item_id")?;
            AgendaItem::parse(&record)
                .map(drop)
                .map_err(|found| ApiError::InvalidArgument(found.within("agenda_item")))
        }
        Method::ImportAgendaItems => {
            let request = pb::ImportAgendaItemsRequest::decode(body).map_err(undecodable)?;
            agenda::parse_import(request)
                .map(drop)
                .map_err(ApiError::InvalidArgument)
        }
        Method::ListTrips => {
            let request = pb::ListTripsRequest::decode(body).map_err(undecodable)?;
            let filter = trips::filter(&request)?;
            paging::page_request(request.page_size, &request.page_token, &filter).map(drop)
        }
        Method::ListOfficials => {
            let request = pb::ListOfficialsRequest::decode(body).map_err(undecodable)?;
            let filter = officials::filter(&request)?;
            paging::page_request(request.page_size, &request.page_token, &filter).map(drop)
        }
        Method::ListAgendaItems => {
            let request = pb::ListAgendaItemsRequest::decode(body).map_err(undecodable)?;
            let filter = agenda::filter(&request)?;
            paging::page_request(request.page_size, &request.page_token, &filter).map(drop)
        }
    }
}

fn id(raw: &str, field: &str) -> Result<(), ApiError> {
    if raw.is_empty() {
        return Ok(());
    }
    ResourceId::parse(raw)
        .map(drop)
        .map_err(|problem| ApiError::invalid(field, problem))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_valid_request_passes_and_garbage_is_a_client_error() {
        let request = pb::ListTripsRequest {
            country: "KOR".into(),
            ..Default::default()
        };
        assert!(check(Method::ListTrips, &request.encode_to_vec()).is_ok());
        let bad = pb::ListTripsRequest {
            country: "Korea".into(),
            ..Default::default()
        };
        assert!(matches!(
            check(Method::ListTrips, &bad.encode_to_vec()),
            Err(ApiError::InvalidArgument(_))
        ));
        for method in Method::ALL {
            assert!(matches!(
                check(method, &[0xff, 0xff, 0xff]),
                Err(ApiError::InvalidArgument(_))
            ));
        }
    }
}
