//! The one place where errors become gRPC statuses (AIP-193): a code, a message that names
//! the field or resource, a `google.rpc.ErrorInfo` with an UPPER_SNAKE_CASE reason in domain
//! `briefing`, and the detail that fits (`BadRequest`, `ResourceInfo`, `PreconditionFailure`).

use std::collections::HashMap;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::domain::token::{AccessRole, TokenName};
use crate::domain::{FieldViolation, Violations};
use crate::schedule::RunError;
use crate::store::StoreError;

pub const ERROR_DOMAIN: &str = "briefing";

/// Bytes of field paths and descriptions one error's details carry, each path counted twice
/// (the `BadRequest` lists it, the `ErrorInfo` `fields` entry names it again) and each
/// violation [`PER_VIOLATION_BYTES`] more for its framing. Details travel base64 in the
/// trailers (4/3 of their size), next to the message, percent-encoded (up to three bytes a
/// byte) and once more inside the details. With [`MAX_MESSAGE_BYTES`] this keeps the whole
/// trailer block, whatever script the echoed values are in, under about 7 KB: within the 8 KiB
/// of metadata a stock gRPC client (Python, C++) accepts, so it sees the real error rather
/// than its own RESOURCE_EXHAUSTED. The worst case: 2,700 + 50 × 8 bytes of details and a
/// 700-byte message inside them make 5,100 base64 bytes, and the message 2,100 bytes more.
const MAX_DETAIL_BYTES: usize = 2_700;
const PER_VIOLATION_BYTES: usize = 8;
/// Bytes of an error's message: anything longer is cut with an ellipsis.
const MAX_MESSAGE_BYTES: usize = 700;
/// Bytes of the violations a message spells out, before the count of the others.
const MAX_SUMMARY_BYTES: usize = 400;
/// Violations the message spells out; the `BadRequest` detail lists more.
const MESSAGE_VIOLATIONS: usize = 3;

/// The cause of an error whose details stay on the server: logged, never sent to the client.
pub type Cause = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("invalid request: {}", summary(.0))]
    InvalidArgument(Violations),
    #[error("{resource} does not exist")]
    NotFound { resource: String },
    #[error("{resource} already exists")]
    AlreadyExists { resource: String },
    #[error("{description}")]
    InUse {
        resource: String,
        description: String,
    },
    /// The server is not configured for what the call asks (e.g. `delivery_dir` is unset).
    #[error("{description}")]
    NotConfigured {
        setting: &'static str,
        description: String,
    },
    #[error("{resource} has changed: its etag is no longer {sent}; read it again and retry")]
    EtagMismatch { resource: String, sent: String },
    /// No token, or one that is unknown, malformed, revoked or expired.
    #[error("{message}")]
    Unauthenticated {
        reason: &'static str,
        message: String,
        /// The method refused, when known.
        method: String,
        /// The token's name, when the token is known (revoked, expired).
        token: Option<TokenName>,
    },
    /// A valid token whose role is too small for the method.
    #[error("{method} needs the {needed} role; token {token} has {role}")]
    PermissionDenied {
        method: String,
        needed: AccessRole,
        token: TokenName,
        role: AccessRole,
    },
    /// A costly call made too often.
    #[error("{call} was called too often; retry in {} s", retry_after.as_secs().max(1))]
    RateLimited {
        call: &'static str,
        retry_after: std::time::Duration,
    },
    /// The server serves its limit of calls at once (`max_requests_in_flight`).
    #[error("the server is serving its limit of {limit} calls at once; retry shortly")]
    Overloaded { limit: usize },
    /// A request message over `max_message_bytes`.
    #[error("the request is larger than this server's limit of {limit} bytes (max_message_bytes)")]
    MessageTooLarge { limit: usize },
    /// A resource that alone is larger than any response under `max_message_bytes` may be.
    #[error(
        "{resource} takes {size} bytes encoded, more than a {method} response may carry under this server's max_message_bytes of {max_message_bytes}; {}{}",
        resume.advice(),
        hint_sentence(hint)
    )]
    TooLargeToSend {
        method: &'static str,
        resource: String,
        size: usize,
        max_message_bytes: usize,
        /// What else the client can ask for, if anything.
        hint: &'static str,
        resume: Resume,
    },
    /// Bytes that are not the protobuf message the method takes.
    #[error("the request is not a valid protobuf message for this method: {problem}")]
    NotProtobuf { problem: String },
    /// The call's deadline passed: the client's `grpc-timeout` or `request_timeout_seconds`.
    #[error("the call ran past its deadline of {} ms ({setting}) and was stopped", after.as_millis())]
    DeadlineExceeded {
        after: std::time::Duration,
        setting: &'static str,
    },
    /// An import met its limit of bad records.
    #[error(
        "{limit} records were rejected, the most one import takes; first: {}",
        summary(violations)
    )]
    TooManyBadRecords { limit: i64, violations: Violations },
    /// An import that ended before its stream did (too many bad records, its deadline): what
    /// it kept is the records before `kept_before`, less those it reported rejected.
    #[error(
        "{cause}; records before index {kept_before} were handled ({imported} imported), none after"
    )]
    ImportStopped {
        cause: Box<ApiError>,
        imported: i64,
        kept_before: i64,
    },
    /// WatchDigests streams are at `max_watchers`.
    #[error("{limit} WatchDigests streams are open, the most this server serves; retry later")]
    TooManyWatchers { limit: usize },
    /// The database refuses writes (a read-only file or file system); the cause is logged.
    #[error(
        "the store is read-only: writes are refused until the operator makes the database writable"
    )]
    ReadOnly(#[source] Cause),
    /// The client sees only that it may retry; the cause is logged.
    #[error("storage is unavailable, retry later")]
    Unavailable(#[source] Cause),
    /// The client sees only "internal error"; the cause is logged.
    #[error("internal error")]
    Internal(#[source] Cause),
}

/// How a client gets past a resource too large to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resume {
    /// A list: the page token that lists what follows it.
    PageToken(String),
    /// WatchDigests: the cursor that watches what follows it.
    Cursor(String),
    /// A call that returns the one resource: nothing to resume.
    Nothing,
}

impl Resume {
    fn advice(&self) -> &'static str {
        match self {
            Self::PageToken(_) => {
                "to list past it, repeat the request with the page_token in this error's ErrorInfo metadata (next_page_token)"
            }
            Self::Cursor(_) => {
                "to watch past it, watch again from the cursor in this error's ErrorInfo metadata (cursor)"
            }
            Self::Nothing => "no response of this method can carry it",
        }
    }
}

fn hint_sentence(hint: &str) -> String {
    if hint.is_empty() {
        String::new()
    } else {
        format!("; {hint}")
    }
}

impl ApiError {
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self::InvalidArgument(Violations::single(field, description))
    }

    /// Maps a storage error; `field_prefix` places field paths of bad references in the request.
    pub fn from_store(error: StoreError, field_prefix: &str) -> Self {
        match error {
            StoreError::NotFound { resource } => Self::NotFound { resource },
            StoreError::AlreadyExists { resource } => Self::AlreadyExists { resource },
            StoreError::Stale { resource } => Self::EtagMismatch {
                resource,
                sent: "the one sent".into(),
            },
            StoreError::Referenced {
                resource,
                count,
                referrers,
            } => Self::InUse {
                description: format!("{resource} is still referred to by {count} {referrers}"),
                resource,
            },
            StoreError::InFlight { resource } => Self::InUse {
                description: format!(
                    "{resource} is being attempted right now; ask again once the attempt is over"
                ),
                resource,
            },
            StoreError::BadReference { field, description } => {
                Self::InvalidArgument(Violations::single(field, description).within(field_prefix))
            }
            unavailable @ (StoreError::Unavailable(_) | StoreError::DatabaseUnavailable(_)) => {
                Self::Unavailable(Box::new(unavailable))
            }
            read_only @ StoreError::ReadOnly(_) => Self::ReadOnly(Box::new(read_only)),
            internal @ (StoreError::Internal(_) | StoreError::Database(_)) => {
                Self::Internal(Box::new(internal))
            }
        }
    }

    /// An error whose details stay on the server, from a message (the client sees only
    /// "internal error").
    pub fn internal(detail: impl Into<String>) -> Self {
        Self::Internal(detail.into().into())
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        Self::from_store(error, "")
    }
}

/// A compilation asked for through the API (CompileDigest).
impl From<RunError> for ApiError {
    fn from(error: RunError) -> Self {
        match error {
            RunError::Store(store) => Self::from(store),
            busy @ RunError::Busy { .. } => Self::Unavailable(Box::new(busy)),
            RunError::UnknownKind { kind } => Self::invalid("kind", unknown_kind(&kind)),
            stopped @ RunError::CompilerStopped(_) => Self::Internal(Box::new(stopped)),
        }
    }
}

/// Why a digest kind is refused: only configured kinds compile.
pub fn unknown_kind(kind: &str) -> String {
    format!("{kind:?} is not a configured digest kind: configure it under [kinds.{kind}]")
}

impl From<ApiError> for Status {
    fn from(error: ApiError) -> Self {
        let message = cut_bytes(error.to_string(), MAX_MESSAGE_BYTES);
        let mut details = ErrorDetails::new();
        let (code, reason, metadata) = classify(&error, &mut details);
        details.set_error_info(reason, ERROR_DOMAIN, metadata);
        Status::with_error_details(code, message, details)
    }
}

/// The code, ErrorInfo reason and metadata of `error`; the detail that fits goes in `details`.
fn classify(
    error: &ApiError,
    details: &mut ErrorDetails,
) -> (Code, &'static str, HashMap<String, String>) {
    match error {
        ApiError::InvalidArgument(violations) => {
            let listed = within_detail_budget(violations);
            for violation in &listed {
                details.add_bad_request_violation(&violation.field, &violation.description);
            }
            let fields = listed
                .iter()
                .map(|violation| violation.field.as_str())
                .collect::<Vec<_>>()
                .join(",");
            (
                Code::InvalidArgument,
                "INVALID_FIELDS",
                HashMap::from([("fields".into(), fields)]),
            )
        }
        ApiError::NotFound { resource } => {
            details.set_resource_info(resource_type(resource), resource, "", "not found");
            (
                Code::NotFound,
                "RESOURCE_NOT_FOUND",
                resource_metadata(resource),
            )
        }
        ApiError::AlreadyExists { resource } => {
            details.set_resource_info(resource_type(resource), resource, "", "already exists");
            (
                Code::AlreadyExists,
                "RESOURCE_ALREADY_EXISTS",
                resource_metadata(resource),
            )
        }
        ApiError::InUse {
            resource,
            description,
        } => {
            details.add_precondition_failure_violation("REFERENCED", resource, description);
            (
                Code::FailedPrecondition,
                "RESOURCE_IN_USE",
                resource_metadata(resource),
            )
        }
        ApiError::NotConfigured {
            setting,
            description,
        } => {
            details.add_precondition_failure_violation("SETTING", *setting, description);
            (
                Code::FailedPrecondition,
                "NOT_CONFIGURED",
                HashMap::from([("setting".to_owned(), (*setting).to_owned())]),
            )
        }
        ApiError::EtagMismatch { resource, .. } => {
            (Code::Aborted, "ETAG_MISMATCH", resource_metadata(resource))
        }
        ApiError::Unauthenticated {
            reason,
            method,
            token,
            ..
        } => {
            let mut metadata = HashMap::new();
            if !method.is_empty() {
                metadata.insert("method".to_owned(), method.clone());
            }
            if let Some(token) = token {
                metadata.insert("token".to_owned(), token.to_string());
            }
            (Code::Unauthenticated, *reason, metadata)
        }
        ApiError::PermissionDenied {
            method,
            needed,
            token,
            role,
        } => (
            Code::PermissionDenied,
            "ROLE_TOO_SMALL",
            HashMap::from([
                ("method".to_owned(), method.clone()),
                ("required_role".to_owned(), needed.to_string()),
                ("token".to_owned(), token.to_string()),
                ("token_role".to_owned(), role.to_string()),
            ]),
        ),
        ApiError::RateLimited { call, retry_after } => {
            details.set_retry_info(Some(*retry_after));
            (
                Code::ResourceExhausted,
                "RATE_LIMITED",
                HashMap::from([("call".to_owned(), (*call).to_owned())]),
            )
        }
        ApiError::Overloaded { limit } => {
            details.set_retry_info(Some(std::time::Duration::from_secs(1)));
            (
                Code::ResourceExhausted,
                "SERVER_OVERLOADED",
                HashMap::from([("max_requests_in_flight".to_owned(), limit.to_string())]),
            )
        }
        ApiError::MessageTooLarge { limit } => (
            Code::ResourceExhausted,
            "MESSAGE_TOO_LARGE",
            HashMap::from([("max_message_bytes".to_owned(), limit.to_string())]),
        ),
        ApiError::TooLargeToSend {
            resource,
            size,
            max_message_bytes,
            resume,
            ..
        } => {
            details.set_resource_info(
                resource_type(resource),
                resource,
                "",
                format!("{size} bytes encoded, over max_message_bytes ({max_message_bytes})"),
            );
            let mut metadata = HashMap::from([
                ("resource".to_owned(), resource.clone()),
                ("size_bytes".to_owned(), size.to_string()),
                (
                    "max_message_bytes".to_owned(),
                    max_message_bytes.to_string(),
                ),
            ]);
            match resume {
                Resume::PageToken(token) => {
                    metadata.insert("next_page_token".to_owned(), token.clone());
                }
                Resume::Cursor(cursor) => {
                    metadata.insert("cursor".to_owned(), cursor.clone());
                }
                Resume::Nothing => {}
            }
            (Code::ResourceExhausted, "RESOURCE_TOO_LARGE", metadata)
        }
        ApiError::NotProtobuf { .. } => {
            (Code::InvalidArgument, "MALFORMED_MESSAGE", HashMap::new())
        }
        ApiError::DeadlineExceeded { after, setting } => (
            Code::DeadlineExceeded,
            "DEADLINE_EXCEEDED",
            HashMap::from([
                ("deadline_ms".to_owned(), after.as_millis().to_string()),
                ("set_by".to_owned(), (*setting).to_owned()),
            ]),
        ),
        ApiError::TooManyBadRecords { limit, violations } => {
            for violation in within_detail_budget(violations) {
                details.add_bad_request_violation(&violation.field, &violation.description);
            }
            (
                Code::InvalidArgument,
                "TOO_MANY_BAD_RECORDS",
                HashMap::from([("max_bad_records".to_owned(), limit.to_string())]),
            )
        }
        ApiError::ImportStopped {
            cause,
            imported,
            kept_before,
        } => {
            let (code, reason, mut metadata) = classify(cause, details);
            metadata.insert("imported_count".to_owned(), imported.to_string());
            metadata.insert("kept_before_index".to_owned(), kept_before.to_string());
            (code, reason, metadata)
        }
        ApiError::TooManyWatchers { limit } => {
            details.set_retry_info(Some(std::time::Duration::from_secs(5)));
            (
                Code::ResourceExhausted,
                "TOO_MANY_WATCHERS",
                HashMap::from([("max_watchers".to_owned(), limit.to_string())]),
            )
        }
        ApiError::ReadOnly(detail) => {
            tracing::warn!(error = %detail, "write refused: the store is read-only");
            (Code::Unavailable, "STORAGE_READ_ONLY", HashMap::new())
        }
        ApiError::Unavailable(detail) => {
            tracing::warn!(error = %detail, "storage unavailable");
            details.set_retry_info(Some(std::time::Duration::from_secs(1)));
            (Code::Unavailable, "STORAGE_UNAVAILABLE", HashMap::new())
        }
        ApiError::Internal(detail) => {
            tracing::error!(error = %detail, "internal error");
            (Code::Internal, "INTERNAL", HashMap::new())
        }
    }
}

/// The violations a `BadRequest` lists: in order, as many as [`MAX_DETAIL_BYTES`] holds, and
/// at least the first (its description cut to fit if need be).
fn within_detail_budget(violations: &Violations) -> Vec<FieldViolation> {
    let mut used = 0;
    let mut listed = Vec::new();
    for violation in violations.items() {
        let framing = 2 * violation.field.len() + PER_VIOLATION_BYTES;
        let cost = framing + violation.description.len();
        if used + cost > MAX_DETAIL_BYTES {
            if listed.is_empty() {
                listed.push(FieldViolation {
                    field: violation.field.clone(),
                    description: cut_bytes(
                        violation.description.clone(),
                        MAX_DETAIL_BYTES.saturating_sub(framing),
                    ),
                });
            }
            break;
        }
        used += cost;
        listed.push(violation.clone());
    }
    listed
}

/// `text` cut to at most `max` bytes, on a character boundary, an ellipsis marking the cut.
fn cut_bytes(mut text: String, max: usize) -> String {
    const ELLIPSIS: char = '…';
    if text.len() <= max {
        return text;
    }
    let mut end = max.saturating_sub(ELLIPSIS.len_utf8());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text.push(ELLIPSIS);
    text
}

/// The first few violations, and how many more there are: the one line a person reads.
fn summary(violations: &Violations) -> String {
    let items = violations.items();
    let text = items
        .iter()
        .take(MESSAGE_VIOLATIONS)
        .map(|violation| format!("{}: {}", violation.field, violation.description))
        .collect::<Vec<_>>()
        .join("; ");
    let mut text = cut_bytes(text, MAX_SUMMARY_BYTES);
    let more = items.len().saturating_sub(MESSAGE_VIOLATIONS) + violations.omitted();
    if more > 0 {
        text.push_str(&format!("; and {more} more"));
    }
    text
}

fn resource_metadata(resource: &str) -> HashMap<String, String> {
    HashMap::from([("resource".to_owned(), resource.to_owned())])
}

/// The type name of a resource, as in `briefing.googleapis.com/Trip` style ResourceInfo.
fn resource_type(resource: &str) -> String {
    let kind = match resource.split('/').next() {
        Some("subscriptions") if resource.contains("/deliveries/") => "Delivery",
        Some("digestRuns") => "DigestRun",
        Some("trips") => "Trip",
        Some("officials") => "Official",
        Some("agendaItems") => "AgendaItem",
        Some("digests") => "Digest",
        Some("subscriptions") => "Subscription",
        _ => "Resource",
    };
    format!("briefing.v1.{kind}")
}

pub type ApiResult<T> = Result<T, ApiError>;
