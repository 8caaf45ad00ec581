//! Who may call what: the role each method needs, declared once in [`METHOD_ROLES`], and the
//! tower layer that checks a call's `authorization: Bearer TOKEN` against it before any
//! service sees the call.
//!
//! A layer over the whole server rather than a tonic interceptor per service: an interceptor
//! does not see the method's path, and a table keyed by path is what makes "every method has
//! an entry" checkable (the test below walks the descriptor set). A method missing from the
//! table needs `admin`, so a new RPC is never open by accident; health and reflection are open
//! by design (load balancers and grpcurl must reach them without a token).
//!
//! Tokens are looked up by the SHA-256 of what the client sent ([`crate::domain::token`]). A
//! verdict is cached for [`CACHE_FOR`], so a busy client costs one hash and one map lookup per
//! call, not a database read, while a token revoked on any replica is refused everywhere
//! within that time. Expiry is judged at every call from the cached row, so it is exact.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::future::{BoxFuture, Either};

use super::error::ApiError;
use crate::domain::token::{AccessRole, ApiToken, TokenDigest, TokenName, TokenRefusal};
use crate::store::Store;

/// The role each method needs, by its path. Every method of every `briefing.v1` service is
/// here (a test checks it against the descriptor set).
pub const METHOD_ROLES: &[(&str, AccessRole)] = &[
    ("/briefing.v1.TripService/GetTrip", AccessRole::Reader),
    ("/briefing.v1.TripService/ListTrips", AccessRole::Reader),
    ("/briefing.v1.TripService/CreateTrip", AccessRole::Writer),
    ("/briefing.v1.TripService/UpdateTrip", AccessRole::Writer),
    ("/briefing.v1.TripService/DeleteTrip", AccessRole::Writer),
    (
        "/briefing.v1.OfficialService/GetOfficial",
        AccessRole::Reader,
    ),
    (
        "/briefing.v1.OfficialService/ListOfficials",
        AccessRole::Reader,
    ),
    (
        "/briefing.v1.OfficialService/CreateOfficial",
        AccessRole::Writer,
    ),
    (
        "/briefing.v1.OfficialService/UpdateOfficial",
        AccessRole::Writer,
    ),
    (
        "/briefing.v1.OfficialService/DeleteOfficial",
        AccessRole::Writer,
    ),
    (
        "/briefing.v1.AgendaService/GetAgendaItem",
        AccessRole::Reader,
    ),
    (
        "/briefing.v1.AgendaService/ListAgendaItems",
        AccessRole::Reader,
    ),
    (
        "/briefing.v1.AgendaService/CreateAgendaItem",
        AccessRole::Writer,
    ),
    (
        "/briefing.v1.AgendaService/UpdateAgendaItem",
        AccessRole::Writer,
    ),
    (
        "/briefing.v1.AgendaService/DeleteAgendaItem",
        AccessRole::Writer,
    ),
    (
        "/briefing.v1.AgendaService/ImportAgendaItems",
        AccessRole::Writer,
    ),
    ("/briefing.v1.DigestService/GetDigest", AccessRole::Reader),
    ("/briefing.v1.DigestService/ListDigests", AccessRole::Reader),
    (
        "/briefing.v1.DigestService/WatchDigests",
        AccessRole::Reader,
    ),
    (
        "/briefing.v1.DigestService/ListDigestRuns",
        AccessRole::Reader,
    ),
    (
        "/briefing.v1.DigestService/ListDigestDyads",
        AccessRole::Reader,
    ),
    (
        "/briefing.v1.DigestService/CompileDigest",
        AccessRole::Writer,
    ),
    ("/briefing.v1.FeedService/ListFeedFiles", AccessRole::Reader),
    (
        "/briefing.v1.SubscriptionService/CreateSubscription",
        AccessRole::Admin,
    ),
    (
        "/briefing.v1.SubscriptionService/GetSubscription",
        AccessRole::Admin,
    ),
    (
        "/briefing.v1.SubscriptionService/ListSubscriptions",
        AccessRole::Admin,
    ),
    (
        "/briefing.v1.SubscriptionService/DeleteSubscription",
        AccessRole::Admin,
    ),
    (
        "/briefing.v1.SubscriptionService/ListDeliveries",
        AccessRole::Admin,
    ),
    (
        "/briefing.v1.SubscriptionService/RedeliverDelivery",
        AccessRole::Admin,
    ),
];

/// Services anyone may call: health checks and reflection.
pub const OPEN_SERVICES: &[&str] = &[
    "/grpc.health.v1.Health/",
    "/grpc.reflection.v1.ServerReflection/",
    "/grpc.reflection.v1alpha.ServerReflection/",
];

/// What a call to `path` needs: nothing (`None`) for health and reflection, else the role in
/// [`METHOD_ROLES`], and `admin` for a path that is in neither.
pub fn required_role(path: &str) -> Option<AccessRole> {
    if OPEN_SERVICES.iter().any(|prefix| path.starts_with(prefix)) {
        return None;
    }
    Some(
        METHOD_ROLES
            .iter()
            .find(|(method, _)| *method == path)
            .map_or(AccessRole::Admin, |(_, role)| *role),
    )
}

/// The token a call was made with, once verified: in the request's extensions for the
/// services (rate limits are per token) and in the response's for the access log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub token: TokenName,
    pub role: AccessRole,
}

/// How long a token's row, or its absence, is trusted before it is read again: the longest a
/// revocation on another replica goes unnoticed here.
pub const CACHE_FOR: Duration = Duration::from_millis(500);
/// Verdicts kept at most; past it, those older than [`CACHE_FOR`] are dropped, and if that is
/// not enough, all of them (a flood of made-up tokens cannot grow memory without bound).
const CACHE_CAPACITY: usize = 10_000;

/// Verifies tokens against the store, caching verdicts briefly. A map behind a mutex rather
/// than a cache crate: entries live half a second and the bound is one check on insert.
pub struct Authenticator {
    store: Arc<dyn Store>,
    verdicts: Mutex<HashMap<TokenDigest, Verdict>>,
}

#[derive(Clone)]
struct Verdict {
    token: Option<ApiToken>,
    read: Instant,
}

impl Authenticator {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            verdicts: Mutex::new(HashMap::new()),
        }
    }

    /// The caller a bearer token stands for, or why it is refused.
    pub async fn verify(&self, presented: &str) -> Result<Caller, ApiError> {
        let digest = TokenDigest::of(presented);
        let token = match self.cached(digest) {
            Some(token) => token,
            None => {
                let token = self.store.find_token(digest).await?;
                self.remember(digest, token.clone());
                token
            }
        };
        let Some(token) = token else {
            return Err(ApiError::Unauthenticated {
                reason: "TOKEN_UNKNOWN",
                message: "the token is not known: make one with `briefing token create`".into(),
                method: String::new(),
                token: None,
            });
        };
        match token.refusal(chrono::Utc::now()) {
            None => Ok(Caller {
                token: token.name,
                role: token.role,
            }),
            Some(TokenRefusal::Revoked) => Err(ApiError::Unauthenticated {
                reason: "TOKEN_REVOKED",
                message: format!("token {} was revoked", token.name),
                method: String::new(),
                token: Some(token.name),
            }),
            Some(TokenRefusal::Expired) => Err(ApiError::Unauthenticated {
                reason: "TOKEN_EXPIRED",
                message: format!(
                    "token {} expired at {}",
                    token.name,
                    token
                        .expire_time
                        .map(|time| time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                        .unwrap_or_default()
                ),
                method: String::new(),
                token: Some(token.name),
            }),
        }
    }

    fn cached(&self, digest: TokenDigest) -> Option<Option<ApiToken>> {
        let verdicts = self.verdicts.lock().ok()?;
        verdicts
            .get(&digest)
            .filter(|verdict| verdict.read.elapsed() < CACHE_FOR)
            .map(|verdict| verdict.token.clone())
    }

    fn remember(&self, digest: TokenDigest, token: Option<ApiToken>) {
        let Ok(mut verdicts) = self.verdicts.lock() else {
            return;
        };
        if verdicts.len() >= CACHE_CAPACITY {
            verdicts.retain(|_, verdict| verdict.read.elapsed() < CACHE_FOR);
            if verdicts.len() >= CACHE_CAPACITY {
                verdicts.clear();
            }
        }
        verdicts.insert(
            digest,
            Verdict {
                token,
                read: Instant::now(),
            },
        );
    }
}

/// A refusal that says which method was refused.
fn naming_the_method(refused: ApiError, path: String) -> ApiError {
    match refused {
        ApiError::Unauthenticated {
            reason,
            message,
            token,
            ..
        } => ApiError::Unauthenticated {
            reason,
            message,
            method: path,
            token,
        },
        other => other,
    }
}

/// The token of an `authorization` header: `Bearer TOKEN` (the scheme in any case).
fn bearer_token(headers: &http::HeaderMap) -> Result<&str, ApiError> {
    let Some(value) = headers.get(http::header::AUTHORIZATION) else {
        return Err(ApiError::Unauthenticated {
            reason: "TOKEN_MISSING",
            message: "this call needs a token: send `authorization: Bearer TOKEN` (make one with `briefing token create`)".into(),
            method: String::new(),
            token: None,
        });
    };
    let malformed = || ApiError::Unauthenticated {
        reason: "TOKEN_MALFORMED",
        message: "the authorization header must be `Bearer TOKEN`".into(),
        method: String::new(),
        token: None,
    };
    let text = value.to_str().map_err(|_| malformed())?;
    let (scheme, token) = text.split_once(' ').ok_or_else(malformed)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(malformed());
    }
    Ok(token)
}

/// Checks every call's token when `auth = "token"`; passes calls straight through otherwise.
#[derive(Clone)]
pub struct AuthLayer {
    authenticator: Option<Arc<Authenticator>>,
}

impl AuthLayer {
    /// With `None`, every call is let through (`auth = "none"`).
    pub fn new(authenticator: Option<Arc<Authenticator>>) -> Self {
        Self { authenticator }
    }
}

impl<S> tower::Layer<S> for AuthLayer {
    type Service = Auth<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Auth {
            inner,
            authenticator: self.authenticator.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Auth<S> {
    inner: S,
    authenticator: Option<Arc<Authenticator>>,
}

type Response = http::Response<tonic::body::Body>;

impl<S, ReqBody> tower::Service<http::Request<ReqBody>> for Auth<S>
where
    S: tower::Service<http::Request<ReqBody>, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Either<S::Future, BoxFuture<'static, Result<Response, S::Error>>>;

    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(context)
    }

    fn call(&mut self, mut request: http::Request<ReqBody>) -> Self::Future {
        let Some(authenticator) = self.authenticator.clone() else {
            return Either::Left(self.inner.call(request));
        };
        let Some(needed) = required_role(request.uri().path()) else {
            return Either::Left(self.inner.call(request));
        };
        // Read before the call is boxed: the future holds only owned values.
        let method = request.uri().path().to_owned();
        let presented = bearer_token(request.headers()).map(str::to_owned);
        // The inner service was made ready for this call; a clone takes its place.
        let fresh = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, fresh);
        Either::Right(Box::pin(async move {
            let checked = match presented {
                Ok(token) => authenticator.verify(&token).await,
                Err(refused) => Err(refused),
            };
            let checked = checked.and_then(|caller| {
                if caller.role.allows(needed) {
                    Ok(caller)
                } else {
                    Err(ApiError::PermissionDenied {
                        method: method.clone(),
                        needed,
                        token: caller.token,
                        role: caller.role,
                    })
                }
            });
            match checked {
                Ok(caller) => {
                    request.extensions_mut().insert(caller.clone());
                    let mut response = inner.call(request).await?;
                    response.extensions_mut().insert(caller);
                    Ok(response)
                }
                Err(refused) => {
                    Ok(tonic::Status::from(naming_the_method(refused, method)).into_http())
                }
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use prost::Message as _;

    use super::*;

    #[test]
    fn every_method_of_every_service_has_a_role_and_every_entry_is_a_method() {
        let descriptors =
            prost_types::FileDescriptorSet::decode(super::super::BRIEFING_DESCRIPTOR_SET)
                .expect("the descriptor set decodes");
        let mut methods = Vec::new();
        for file in &descriptors.file {
            for service in &file.service {
                for method in &service.method {
                    methods.push(format!(
                        "/{}.{}/{}",
                        file.package(),
                        service.name(),
                        method.name()
                    ));
                }
            }
        }
        assert!(methods.len() >= 28, "the descriptor set has the services");
        for method in &methods {
            assert!(
                METHOD_ROLES.iter().any(|(path, _)| path == method),
                "{method} has no entry in METHOD_ROLES: say which role it needs"
            );
        }
        for (path, _) in METHOD_ROLES {
            assert!(
                methods.contains(&(*path).to_owned()),
                "METHOD_ROLES names {path}, which no service has"
            );
        }
    }

    #[test]
    fn health_and_reflection_are_open_and_unknown_paths_need_admin() {
        assert_eq!(required_role("/grpc.health.v1.Health/Check"), None);
        assert_eq!(
            required_role("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"),
            None
        );
        assert_eq!(
            required_role("/briefing.v1.TripService/GetTrip"),
            Some(AccessRole::Reader)
        );
        assert_eq!(
            required_role("/briefing.v1.TripService/Nothing"),
            Some(AccessRole::Admin)
        );
        assert_eq!(
            required_role("/grpc.health.v1.HealthX/Check"),
            Some(AccessRole::Admin)
        );
    }

    #[test]
    fn the_bearer_token_is_read_from_the_header() {
        let mut headers = http::HeaderMap::new();
        assert!(matches!(
            bearer_token(&headers),
            Err(ApiError::Unauthenticated {
                reason: "TOKEN_MISSING",
                ..
            })
        ));
        headers.insert(
            http::header::AUTHORIZATION,
            http::HeaderValue::from_static("bearer brf_abc"),
        );
        assert_eq!(bearer_token(&headers).ok(), Some("brf_abc"));
        headers.insert(
            http::header::AUTHORIZATION,
            http::HeaderValue::from_static("Basic dXNlcjpwYXNz"),
        );
        assert!(matches!(
            bearer_token(&headers),
            Err(ApiError::Unauthenticated {
                reason: "TOKEN_MALFORMED",
                ..
            })
        ));
    }
}
