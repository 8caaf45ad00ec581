//! Rate limits of the calls that cost the server real work or reach out to others:
//! CompileDigest with `force` or `deliver` (a full recompile, deliveries to every
//! subscriber) and RedeliverDelivery (another POST to a subscriber). Each token, or each
//! client address when calls carry none, has its own bucket per call (GCRA through
//! `governor`): `costly_calls_burst` at once, then `costly_calls_per_minute`. Past it,
//! RESOURCE_EXHAUSTED with a RetryInfo saying when to try again.

use std::net::IpAddr;

use governor::clock::Clock as _;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::auth::Caller;
use super::error::{ApiError, ApiResult};
use crate::config::CostlyCallQuota;

/// A call the limits apply to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CostlyCall {
    /// CompileDigest with `force` or `deliver`.
    CompileDigest,
    RedeliverDelivery,
}

impl CostlyCall {
    fn name(self) -> &'static str {
        match self {
            Self::CompileDigest => "CompileDigest with force or deliver",
            Self::RedeliverDelivery => "RedeliverDelivery",
        }
    }
}

/// Who a bucket belongs to: the token's name, or the client's address without auth.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Client {
    Token(String),
    Address(Option<IpAddr>),
}

impl Client {
    /// Who made `request`.
    pub fn of<T>(request: &tonic::Request<T>) -> Self {
        match request.extensions().get::<Caller>() {
            Some(caller) => Self::Token(caller.token.as_str().to_owned()),
            None => Self::Address(request.remote_addr().map(|address| address.ip())),
        }
    }
}

/// Buckets kept before those that are full again are dropped.
const BUCKETS_KEPT: usize = 10_000;

pub struct CostlyCalls {
    limiter: DefaultKeyedRateLimiter<(CostlyCall, Client)>,
}

impl CostlyCalls {
    pub fn new(quota: CostlyCallQuota) -> Self {
        Self {
            limiter: RateLimiter::keyed(
                Quota::per_minute(quota.per_minute).allow_burst(quota.burst),
            ),
        }
    }

    /// Takes one `call` from `client`'s bucket, or says when to come back. Called once the
    /// request is known to be valid, so a mistake does not use up the caller's allowance.
    pub fn check(&self, call: CostlyCall, client: Client) -> ApiResult<()> {
        if self.limiter.len() > BUCKETS_KEPT {
            self.limiter.retain_recent();
        }
        self.limiter
            .check_key(&(call, client))
            .map_err(|not_until| ApiError::RateLimited {
                call: call.name(),
                retry_after: not_until.wait_time_from(self.limiter.clock().now()),
            })
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use super::*;

    #[test]
    fn a_token_past_its_burst_is_told_when_to_retry_and_others_are_not_affected() {
        let limits = CostlyCalls::new(CostlyCallQuota {
            per_minute: NonZeroU32::new(1).expect("not zero"),
            burst: NonZeroU32::new(2).expect("not zero"),
        });
        let request = |token: &str| {
            let mut request = tonic::Request::new(());
            request.extensions_mut().insert(Caller {
                token: crate::domain::token::TokenName::parse(token).expect("a name"),
                role: crate::domain::token::AccessRole::Admin,
            });
            request
        };
        let ops = request("ops");
        let ops = || Client::of(&ops);
        assert!(limits.check(CostlyCall::RedeliverDelivery, ops()).is_ok());
        assert!(limits.check(CostlyCall::RedeliverDelivery, ops()).is_ok());
        match limits.check(CostlyCall::RedeliverDelivery, ops()) {
            Err(ApiError::RateLimited { retry_after, .. }) => {
                assert!(retry_after.as_secs() >= 50, "{retry_after:?}");
            }
            other => panic!("expected a rate limit, got {other:?}"),
        }
        assert!(limits.check(CostlyCall::CompileDigest, ops()).is_ok());
        assert!(
            limits
                .check(CostlyCall::RedeliverDelivery, Client::of(&request("ci")))
                .is_ok()
        );
    }
}
