//! OfficialService, and the one place where officials cross between proto and domain.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::convert::timestamp;
use super::error::ApiError;
use super::paging::{self, Pager};
use super::pb::{self, official_service_server::OfficialService};
use super::resource::{self, parse_name};
use crate::domain::Stored;
use crate::domain::names::Officials;
use crate::domain::official::RoleRecord;
use crate::domain::values::{CountryCode, parse_text};
use crate::domain::{Official, OfficialRecord, RoleState, Violations};
use crate::store::{OfficialFilter, Store};

pub struct OfficialApi {
    store: Arc<dyn Store>,
}

impl OfficialApi {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }
}

#[tonic::async_trait]
impl OfficialService for OfficialApi {
    async fn get_official(
        &self,
        request: Request<pb::GetOfficialRequest>,
    ) -> Result<Response<pb::Official>, Status> {
        let stored = resource::get::<Official>(&self.store, &request.into_inner().name).await?;
        Ok(Response::new(paging::sendable(
            "GetOfficial",
            to_proto(&stored),
        )?))
    }

    async fn list_officials(
        &self,
        request: Request<pb::ListOfficialsRequest>,
    ) -> Result<Response<pb::ListOfficialsResponse>, Status> {
        let request = request.into_inner();
        let filter = filter(&request)?;
        let page = Pager::new(
            "ListOfficials",
            request.page_size,
            &request.page_token,
            &filter,
        )?
        .fill(
            |page| self.store.list_officials(&filter, page),
            |official| Ok(to_proto(&official)),
        )
        .await?;
        Ok(Response::new(pb::ListOfficialsResponse {
            officials: page.items,
            next_page_token: page.next_page_token,
        }))
    }

    async fn create_official(
        &self,
        request: Request<pb::CreateOfficialRequest>,
    ) -> Result<Response<pb::Official>, Status> {
        let request = request.into_inner();
        let official = request
            .official
            .ok_or_else(|| ApiError::invalid("official", "is required"))?;
        let (record, _, _) = from_proto(official);
        let stored =
            resource::create::<Official>(&self.store, record, &request.official_id).await?;
        tracing::info!(official = %format!("officials/{}", stored.id), "official created");
        Ok(Response::new(paging::sendable(
            "CreateOfficial",
            to_proto(&stored),
        )?))
    }

    async fn update_official(
        &self,
        request: Request<pb::UpdateOfficialRequest>,
    ) -> Result<Response<pb::Official>, Status> {
        let request = request.into_inner();
        let official = request
            .official
            .ok_or_else(|| ApiError::invalid("official", "is required"))?;
        let (record, name, etag) = from_proto(official);
        let paths = request
            .update_mask
            .map(|mask| mask.paths)
            .unwrap_or_default();
        let stored =
            resource::update::<Official>(&self.store, &name, &etag, record, &paths).await?;
        Ok(Response::new(paging::sendable(
            "UpdateOfficial",
            to_proto(&stored),
        )?))
    }

    async fn delete_official(
        &self,
        request: Request<pb::DeleteOfficialRequest>,
    ) -> Result<Response<()>, Status> {
        let request = request.into_inner();
        let name = parse_name::<Officials>("name", &request.name)?;
        let precondition =
            resource::delete_precondition::<Official>(&self.store, &name, &request.etag).await?;
        self.store
            .delete_official(name.id(), precondition)
            .await
            .map_err(|error| resource::stale_as_etag_mismatch(error, &request.etag))?;
        tracing::info!(official = %name, "official deleted");
        Ok(Response::new(()))
    }
}

pub(crate) fn filter(request: &pb::ListOfficialsRequest) -> Result<OfficialFilter, ApiError> {
    let mut violations = Violations::new();
    let mut filter = OfficialFilter::default();
    if !request.country.is_empty() {
        filter.country = violations.check("country", CountryCode::parse(&request.country));
    }
    if !request.query.is_empty() {
        filter.query = violations
            .check("query", parse_text(&request.query, 200, true))
            .map(|text| text.trim().to_lowercase());
    }
    violations
        .finish(|| filter)
        .map_err(ApiError::InvalidArgument)
}

pub(crate) fn from_proto(official: pb::Official) -> (OfficialRecord, String, String) {
    let record = OfficialRecord {
        display_name: official.display_name,
        aliases: official.aliases,
        country: official.country,
        wikidata_id: official.wikidata_id,
        roles: official
            .roles
            .into_iter()
            .map(|role| RoleRecord {
                title: role.title,
                organization: role.organization,
                start_date: role.start_date,
                end_date: role.end_date,
                acting: role.acting,
                state: match pb::RoleState::try_from(role.state) {
                    Ok(pb::RoleState::Unspecified) => String::new(),
                    Ok(state) => state.as_str_name().to_owned(),
                    Err(_) => role.state.to_string(),
                },
                state_date: role.state_date,
                note: role.note,
            })
            .collect(),
    };
    (record, official.name, official.etag)
}

pub fn to_proto(stored: &Stored<Official>) -> pb::Official {
    let record = stored.value.to_record();
    pb::Official {
        name: format!("officials/{}", stored.id),
        display_name: record.display_name,
        aliases: record.aliases,
        country: record.country,
        wikidata_id: record.wikidata_id,
        roles: stored
            .value
            .roles
            .iter()
            .zip(record.roles)
            .map(|(role, record)| pb::Role {
                title: record.title,
                organization: record.organization,
                start_date: record.start_date,
                end_date: record.end_date,
                acting: record.acting,
                state: match role.state {
                    RoleState::Active => pb::RoleState::Active,
                    RoleState::Suspended => pb::RoleState::Suspended,
                    RoleState::Ended => pb::RoleState::Ended,
                }
                .into(),
                state_date: record.state_date,
                note: record.note,
            })
            .collect(),
        create_time: Some(timestamp(stored.create_time)),
        update_time: Some(timestamp(stored.update_time)),
        etag: stored.etag(),
    }
}
