//! AIP-158 pagination: page sizes and opaque page tokens bound to the query that made them.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};

use super::error::{ApiError, ApiResult};
use crate::store::PageRequest;

pub const DEFAULT_PAGE_SIZE: usize = 50;
pub const MAX_PAGE_SIZE: usize = 500;

const TOKEN_VERSION: u8 = 1;
const TOKEN_LEN: usize = 1 + 8 + 8 + 4;

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
    let checksum = checksum(&bytes);
    bytes.extend_from_slice(&checksum);
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
    let (body, sum) = bytes.split_at(TOKEN_LEN - 4);
    if checksum(body) != sum {
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

fn checksum(bytes: &[u8]) -> [u8; 4] {
    let digest = Sha256::digest([b"briefing-page-token".as_slice(), bytes].concat());
    [digest[0], digest[1], digest[2], digest[3]]
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
}
