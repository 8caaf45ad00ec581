//! FeedService, and the one place where the feeds' file ledger crosses into proto.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::convert::timestamp;
use super::error::ApiError;
use super::paging::Pager;
use super::pb::{self, feed_service_server::FeedService};
use crate::domain::Violations;
use crate::domain::values::redacted_setting;
use crate::store::Store;
use crate::store::feeds::{FeedFile, FeedFileFilter, FeedFileState};

/// The feeds a `parent` may name: the GDELT feed, the only one.
const FEEDS: &[&str] = &[crate::feed::GDELT];

pub struct FeedApi {
    store: Arc<dyn Store>,
}

impl FeedApi {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }
}

#[tonic::async_trait]
impl FeedService for FeedApi {
    async fn list_feed_files(
        &self,
        request: Request<pb::ListFeedFilesRequest>,
    ) -> Result<Response<pb::ListFeedFilesResponse>, Status> {
        let request = request.into_inner();
        let mut violations = Violations::new();
        let feed = match request.parent.as_str() {
            "" => Some(crate::feed::GDELT),
            parent => parent
                .strip_prefix("feeds/")
                .and_then(|feed| FEEDS.iter().copied().find(|known| *known == feed)),
        };
        if feed.is_none() {
            violations.add(
                "parent",
                format!(
                    "{:?} is not a feed: use feeds/gdelt (or leave it empty)",
                    request.parent.chars().take(200).collect::<String>()
                ),
            );
        }
        let state = match pb::FeedFileState::try_from(request.state) {
            Ok(pb::FeedFileState::Unspecified) => None,
            Ok(pb::FeedFileState::Claimed) => Some(FeedFileState::Claimed),
            Ok(pb::FeedFileState::Imported) => Some(FeedFileState::Imported),
            Ok(pb::FeedFileState::Failed) => Some(FeedFileState::Failed),
            Err(_) => {
                violations.add(
                    "state",
                    format!("{} is not a feed file state", request.state),
                );
                None
            }
        };
        violations
            .finish(|| ())
            .map_err(ApiError::InvalidArgument)?;
        let filter = FeedFileFilter {
            feed: feed.unwrap_or(crate::feed::GDELT).to_owned(),
            state,
        };
        let page = Pager::new(
            "ListFeedFiles",
            request.page_size,
            &request.page_token,
            &filter,
        )?
        .fill(
            |page| self.store.list_feed_files(&filter, page),
            |file| Ok(file_to_proto(&file)),
        )
        .await?;
        Ok(Response::new(pb::ListFeedFilesResponse {
            feed_files: page.items,
            next_page_token: page.next_page_token,
        }))
    }
}

fn file_to_proto(file: &FeedFile) -> pb::FeedFile {
    let count = |value: u64| i64::try_from(value).unwrap_or(i64::MAX);
    pb::FeedFile {
        name: format!("feeds/{}/files/{}", file.feed, file.file.file_name),
        // A URL with a password or a query keeps them to itself, as settings do in logs.
        url: redacted_setting(&file.file.url),
        file_time: Some(timestamp(file.file.file_time)),
        state: match file.state {
            FeedFileState::Claimed => pb::FeedFileState::Claimed,
            FeedFileState::Imported => pb::FeedFileState::Imported,
            FeedFileState::Failed => pb::FeedFileState::Failed,
        }
        .into(),
        size_bytes: count(file.file.size_bytes),
        md5: file.file.md5.clone(),
        rows_read: count(file.counts.rows_read),
        rows_imported: count(file.counts.rows_imported),
        rows_skipped: count(file.counts.rows_skipped),
        attempts: file.attempts,
        error: file.error.clone(),
        next_attempt_time: file.next_attempt_time.map(timestamp),
        claimed_by: file.claimed_by.clone().unwrap_or_default(),
        create_time: Some(timestamp(file.create_time)),
        update_time: Some(timestamp(file.update_time)),
        import_time: file.import_time.map(timestamp),
    }
}
