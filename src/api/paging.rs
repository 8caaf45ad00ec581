//! AIP-158 pagination: page sizes and opaque page tokens bound to the query that made them.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::{Digest as _, Sha256};

use super::error::{ApiError, ApiResult};
use crate::store::PageRequest;

pub const DEFAULT_PAGE_SIZE: usize = 50;
pub const MAX_PAGE_SIZE: usize = 500;

/// Version 2: the tag is an HMAC under the server key (version 1 had a keyless checksum,
/// which anyone could recompute to forge a position).
const TOKEN_VERSION: u8 = 2;
const TAG_LEN: usize = 16;
const TOKEN_LEN: usize = 1 + 8 + 8 + TAG_LEN;

tokio::task_local! {
    /// The key of the server answering the current call, set around each call by
    /// [`PageKeyLayer`].
    static PAGE_KEY: PageKey;
}

/// The key page tokens are signed with. Every replica on one store reads the same key from it
/// (`Store::server_key`), so a token one replica issues is honoured by the others.
#[derive(Clone)]
pub struct PageKey(Arc<[u8]>);

impl PageKey {
    pub const PURPOSE: &str = "page_tokens";

    pub fn new(key: Vec<u8>) -> Self {
        Self(key.into())
    }

    /// The key of the current call; outside a server (checks run on their own, as the fuzz
    /// target runs them), one random key of this process.
    fn current() -> Self {
        PAGE_KEY.try_with(Clone::clone).unwrap_or_else(|_| {
            static PROCESS: std::sync::OnceLock<PageKey> = std::sync::OnceLock::new();
            PROCESS
                .get_or_init(|| PageKey::new(rand::random::<[u8; 32]>().to_vec()))
                .clone()
        })
    }

    fn tag(&self, body: &[u8]) -> [u8; TAG_LEN] {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("HMAC takes any key");
        mac.update(b"briefing-page-token");
        mac.update(body);
        let full = mac.finalize().into_bytes();
        let mut tag = [0; TAG_LEN];
        tag.copy_from_slice(&full[..TAG_LEN]);
        tag
    }
}

/// Sets the server's [`PageKey`] around each call.
#[derive(Clone)]
pub struct PageKeyLayer {
    key: PageKey,
}

impl PageKeyLayer {
    pub fn new(key: PageKey) -> Self {
        Self { key }
    }
}

impl<S> tower::Layer<S> for PageKeyLayer {
    type Service = WithPageKey<S>;

    fn layer(&self, inner: S) -> Self::Service {
        WithPageKey {
            inner,
            key: self.key.clone(),
        }
    }
}

#[derive(Clone)]
pub struct WithPageKey<S> {
    inner: S,
    key: PageKey,
}

impl<S, Request> tower::Service<Request> for WithPageKey<S>
where
    S: tower::Service<Request>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = futures::future::BoxFuture<'static, Result<S::Response, S::Error>>;

    fn poll_ready(
        &mut self,
        context: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(context)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let call = self.inner.call(request);
        Box::pin(PAGE_KEY.scope(self.key.clone(), call))
    }
}

/// 0 → 50, above 500 → 500, negative → INVALID_ARGUMENT.
pub fn page_size(raw: i32) -> ApiResult<usize> {
    match usize::try_from(raw) {
        Err(_) => Err(ApiError::invalid(
            "page_size",
            format!("must not be negative, got {raw}"),
        )),
        Ok(0) => Ok(DEFAULT_PAGE_SIZE),
        Ok(size) => Ok(size.min(MAX_PAGE_SIZE)),
    }
}

/// A fingerprint of a list query's filters: a token is only valid for the same filters.
pub fn fingerprint(filter: &impl std::fmt::Debug) -> [u8; 8] {
    let digest = Sha256::digest(format!("{filter:?}").as_bytes());
    let mut fingerprint = [0; 8];
    fingerprint.copy_from_slice(&digest[..8]);
    fingerprint
}

/// Reads the request's page size and token into a store page request.
pub fn page_request(
    page_size_raw: i32,
    token: &str,
    filter: &impl std::fmt::Debug,
) -> ApiResult<PageRequest> {
    Ok(PageRequest {
        size: page_size(page_size_raw)?,
        after: decode_token(token, fingerprint(filter))?,
    })
}

pub fn next_page_token(next_after: Option<i64>, filter: &impl std::fmt::Debug) -> String {
    next_after
        .map(|after| encode_token(fingerprint(filter), after))
        .unwrap_or_default()
}

fn encode_token(fingerprint: [u8; 8], after: i64) -> String {
    let mut bytes = Vec::with_capacity(TOKEN_LEN);
    bytes.push(TOKEN_VERSION);
    bytes.extend_from_slice(&fingerprint);
    bytes.extend_from_slice(&after.to_be_bytes());
    let tag = PageKey::current().tag(&bytes);
    bytes.extend_from_slice(&tag);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn decode_token(token: &str, expected: [u8; 8]) -> ApiResult<Option<i64>> {
    if token.is_empty() {
        return Ok(None);
    }
    let malformed = || ApiError::invalid("page_token", "is not a page token this service issued");
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| malformed())?;
    if bytes.len() != TOKEN_LEN || bytes[0] != TOKEN_VERSION {
        return Err(malformed());
    }
    let (body, tag) = bytes.split_at(TOKEN_LEN - TAG_LEN);
    // Compared in constant time: a client probing tags learns nothing from the timing.
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(&PageKey::current().0).expect("HMAC takes any key");
    mac.update(b"briefing-page-token");
    mac.update(body);
    if mac.verify_truncated_left(tag).is_err() {
        return Err(malformed());
    }
    if body[1..9] != expected {
        return Err(ApiError::invalid(
            "page_token",
            "was issued for a query with other filters: repeat the first request's filters or start without a token",
        ));
    }
    let mut after = [0; 8];
    after.copy_from_slice(&body[9..17]);
    let after = i64::from_be_bytes(after);
    if after < 0 {
        return Err(malformed());
    }
    Ok(Some(after))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_follow_aip_158() {
        assert_eq!(page_size(0).unwrap(), 50);
        assert_eq!(page_size(7).unwrap(), 7);
        assert_eq!(page_size(10_000).unwrap(), 500);
        assert!(page_size(-1).is_err());
    }

    #[test]
    fn tokens_are_bound_to_their_filters() {
        let token = next_page_token(Some(42), &"country=KOR");
        assert_eq!(
            page_request(0, &token, &"country=KOR").unwrap().after,
            Some(42)
        );
        assert!(page_request(0, &token, &"country=JPN").is_err());
        let mut tampered = token.clone().into_bytes();
        tampered[5] = if tampered[5] == b'A' { b'B' } else { b'A' };
        assert!(page_request(0, &String::from_utf8(tampered).unwrap(), &"country=KOR").is_err());
        assert!(page_request(0, "not a token!", &"country=KOR").is_err());
        assert_eq!(next_page_token(None, &"x"), "");
    }

    #[tokio::test]
    async fn a_token_is_honoured_only_under_the_key_that_signed_it() {
        let first = PageKey::new(vec![1; 32]);
        let second = PageKey::new(vec![2; 32]);
        let token = PAGE_KEY
            .scope(first.clone(), async { next_page_token(Some(7), &"f") })
            .await;
        let under_first = PAGE_KEY
            .scope(first, async {
                page_request(0, &token, &"f").map(|page| page.after)
            })
            .await;
        assert_eq!(under_first.unwrap(), Some(7));
        let under_second = PAGE_KEY
            .scope(second, async {
                page_request(0, &token, &"f").map(|page| page.after)
            })
            .await;
        assert!(under_second.is_err());
    }
}
