//! AIP-158 pagination: page sizes, opaque page tokens bound to the query that made them, and
//! pages cut by bytes as well as by count ([`Pager`]), so that no list response passes
//! `max_message_bytes`.

use std::future::Future;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::{Digest as _, Sha256};

use super::error::{ApiError, ApiResult, Resume};
use super::pb;
use crate::store::{Page, PageRequest, StoreResult};

pub const DEFAULT_PAGE_SIZE: usize = 50;
pub const MAX_PAGE_SIZE: usize = 500;

/// Version 2: the tag is an HMAC under the server key (version 1 had a keyless checksum,
/// which anyone could recompute to forge a position).
const TOKEN_VERSION: u8 = 2;
const TAG_LEN: usize = 16;
const TOKEN_LEN: usize = 1 + 8 + 8 + TAG_LEN;

/// `max_message_bytes` when no server sets it (checks run on their own, unit tests): the
/// configuration's default.
const DEFAULT_MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

tokio::task_local! {
    /// What the server answering the current call pages with, set around each call by
    /// [`PagingLayer`].
    static PAGING: Paging;
}

/// The page token key and the message-size limit of the server answering a call.
#[derive(Clone)]
struct Paging {
    key: PageKey,
    max_message_bytes: usize,
}

/// The `max_message_bytes` of the server answering the current call.
pub fn max_message_bytes() -> usize {
    PAGING
        .try_with(|paging| paging.max_message_bytes)
        .unwrap_or(DEFAULT_MAX_MESSAGE_BYTES)
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
        PAGING
            .try_with(|paging| paging.key.clone())
            .unwrap_or_else(|_| {
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

/// Sets the server's [`PageKey`] and `max_message_bytes` around each call.
#[derive(Clone)]
pub struct PagingLayer {
    paging: Paging,
}

impl PagingLayer {
    pub fn new(key: PageKey, max_message_bytes: usize) -> Self {
        Self {
            paging: Paging {
                key,
                max_message_bytes,
            },
        }
    }
}

impl<S> tower::Layer<S> for PagingLayer {
    type Service = WithPaging<S>;

    fn layer(&self, inner: S) -> Self::Service {
        WithPaging {
            inner,
            paging: self.paging.clone(),
        }
    }
}

#[derive(Clone)]
pub struct WithPaging<S> {
    inner: S,
    paging: Paging,
}

impl<S, Request> tower::Service<Request> for WithPaging<S>
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
        Box::pin(PAGING.scope(self.paging.clone(), call))
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

/// Bytes a list response takes besides its items: `next_page_token` (a tag, a length and 44
/// characters) and at most one count such as `total_size` (a tag and 10 bytes), with room to
/// spare.
const ENVELOPE_BYTES: usize = 128;
/// The field every list response carries its items in.
const ITEMS_FIELD: u32 = 1;

/// An item of a list response (or a WatchDigests message's digest).
pub trait PageItem: prost::Message {
    /// How an error names the item: its resource name.
    fn describe(&self) -> String;
    /// What can be done when the item is too large for any response.
    const TOO_LARGE_HINT: &'static str = "an operator can raise max_message_bytes";
}

/// What an item adds to its list response: the item, its field tag and its length.
fn framed_len(item: &impl prost::Message) -> usize {
    let len = item.encoded_len();
    prost::encoding::key_len(ITEMS_FIELD) + prost::encoding::encoded_len_varint(len as u64) + len
}

/// A page of a list response and the token of the next one (empty at the end).
#[derive(Debug)]
pub struct Filled<P> {
    pub items: Vec<P>,
    pub next_page_token: String,
}

/// One list call: the page asked for, the query its tokens are bound to, and the bytes its
/// response may take. Every list method fills its page through [`Pager::fill`], which stops at
/// the page size or where one more item would take the response past `max_message_bytes`,
/// whichever comes first (AIP-158: a page may be short), and hands out the token that resumes
/// right after the last item it kept.
pub struct Pager<'q, Q> {
    method: &'static str,
    request: PageRequest,
    query: &'q Q,
    max_message_bytes: usize,
    /// The most items read from the store at once.
    read_at_most: usize,
}

impl<'q, Q: std::fmt::Debug> Pager<'q, Q> {
    /// Reads the request's page size and token (see [`page_request`]); `method` names the call
    /// in errors.
    pub fn new(
        method: &'static str,
        page_size_raw: i32,
        token: &str,
        query: &'q Q,
    ) -> ApiResult<Self> {
        Ok(Self {
            method,
            request: page_request(page_size_raw, token, query)?,
            query,
            max_message_bytes: max_message_bytes(),
            read_at_most: DEFAULT_PAGE_SIZE,
        })
    }

    /// Reads at most `count` items from the store at once (at least one), for items so large
    /// that [`DEFAULT_PAGE_SIZE`] of them would cost more memory than a response may carry.
    pub fn reading_at_most(mut self, count: usize) -> Self {
        self.read_at_most = count.max(1);
        self
    }

    /// Fills the page: `fetch` reads items after a position from the store, `convert` makes
    /// each the message the response carries.
    ///
    /// The store is read in rounds of at most [`Pager::reading_at_most`] items, sized by the
    /// largest item seen so far, so a page of large items never holds much more in memory than
    /// the response it becomes. An item that alone is too large for any response ends the
    /// call with RESOURCE_EXHAUSTED (`RESOURCE_TOO_LARGE`), naming it and its size, and with
    /// the token that lists past it; when items come before it, the page ends before it and
    /// the next call meets it first.
    pub async fn fill<T, P, F, Fut>(
        self,
        mut fetch: F,
        mut convert: impl FnMut(T) -> ApiResult<P>,
    ) -> ApiResult<Filled<P>>
    where
        F: FnMut(PageRequest) -> Fut,
        Fut: Future<Output = StoreResult<Page<T>>>,
        P: PageItem,
    {
        let budget = self.max_message_bytes.saturating_sub(ENVELOPE_BYTES);
        let mut items = Vec::new();
        let mut used = 0;
        let mut largest = 0;
        let mut after = self.request.after;
        let mut round = self.request.size.min(self.read_at_most);
        loop {
            let found = fetch(PageRequest { size: round, after }).await?;
            debug_assert_eq!(found.items.len(), found.positions.len());
            let read = found.items.len();
            for (item, position) in found.items.into_iter().zip(found.positions) {
                let item = convert(item)?;
                let cost = framed_len(&item);
                if used + cost > budget {
                    if items.is_empty() {
                        let size = item.encoded_len();
                        return Err(self.too_large(&item, size, Some(position)));
                    }
                    return Ok(Filled {
                        items,
                        next_page_token: self.token(after),
                    });
                }
                used += cost;
                largest = largest.max(cost);
                items.push(item);
                after = Some(position);
            }
            let Some(next) = found.next_after else {
                return Ok(Filled {
                    items,
                    next_page_token: String::new(),
                });
            };
            if items.len() >= self.request.size || read == 0 {
                return Ok(Filled {
                    items,
                    next_page_token: self.token(Some(next)),
                });
            }
            after = Some(next);
            let fitting = (budget - used) / largest.max(1) + 1;
            round = (self.request.size - items.len())
                .min(fitting)
                .min(self.read_at_most);
        }
    }

    fn token(&self, after: Option<i64>) -> String {
        next_page_token(after, self.query)
    }

    fn too_large(&self, item: &impl PageItem, size: usize, position: Option<i64>) -> ApiError {
        too_large(
            self.method,
            item,
            size,
            self.max_message_bytes,
            Resume::PageToken(self.token(position)),
        )
    }
}

/// `message`, the whole response of a call that returns one resource, if it is within the
/// call's `max_message_bytes`; else the error that names the resource and its size (rather
/// than the transport's OUT_OF_RANGE, which names nothing).
pub fn sendable<P: PageItem>(method: &'static str, message: P) -> ApiResult<P> {
    let limit = max_message_bytes();
    let size = message.encoded_len();
    if size <= limit {
        Ok(message)
    } else {
        Err(too_large(method, &message, size, limit, Resume::Nothing))
    }
}

/// The error for an item that no response of `method` can carry under `max_message_bytes`.
pub fn too_large<P: PageItem>(
    method: &'static str,
    item: &P,
    size: usize,
    max_message_bytes: usize,
    resume: Resume,
) -> ApiError {
    ApiError::TooLargeToSend {
        method,
        resource: item.describe(),
        size,
        max_message_bytes,
        hint: P::TOO_LARGE_HINT,
        resume,
    }
}

/// The items of every list method, named by their resource names.
macro_rules! named_page_items {
    ($($item:ty),* $(,)?) => {
        $(impl PageItem for $item {
            fn describe(&self) -> String {
                self.name.clone()
            }
        })*
    };
}

named_page_items!(
    pb::Trip,
    pb::Official,
    pb::AgendaItem,
    pb::Subscription,
    pb::Delivery,
    pb::DigestRun,
    pb::FeedFile,
);

impl PageItem for pb::Digest {
    fn describe(&self) -> String {
        self.name.clone()
    }
    const TOO_LARGE_HINT: &'static str =
        "view BASIC carries every digest, and an operator can raise max_message_bytes";
}

/// A row of a digest's per-pair table has no name of its own: its pair names it.
impl PageItem for pb::Dyad {
    fn describe(&self) -> String {
        format!("the dyad {}", self.countries.join("-"))
    }
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

    fn keyed(key: PageKey) -> Paging {
        Paging {
            key,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
        }
    }

    #[tokio::test]
    async fn a_token_is_honoured_only_under_the_key_that_signed_it() {
        let first = PageKey::new(vec![1; 32]);
        let second = PageKey::new(vec![2; 32]);
        let token = PAGING
            .scope(keyed(first.clone()), async {
                next_page_token(Some(7), &"f")
            })
            .await;
        let under_first = PAGING
            .scope(keyed(first), async {
                page_request(0, &token, &"f").map(|page| page.after)
            })
            .await;
        assert_eq!(under_first.unwrap(), Some(7));
        let under_second = PAGING
            .scope(keyed(second), async {
                page_request(0, &token, &"f").map(|page| page.after)
            })
            .await;
        assert!(under_second.is_err());
    }

    /// A store of `rows` (position, trip) as the list methods read one, counting its reads.
    fn read(
        rows: &[(i64, pb::Trip)],
        request: PageRequest,
        reads: &std::sync::Mutex<Vec<usize>>,
    ) -> StoreResult<Page<pb::Trip>> {
        reads.lock().unwrap().push(request.size);
        let after = request.after.unwrap_or(0);
        let rest: Vec<_> = rows
            .iter()
            .filter(|(position, _)| *position > after)
            .cloned()
            .collect();
        let more = rest.len() > request.size;
        Ok(Page::from_rows(
            rest.into_iter().take(request.size).collect(),
            more,
        ))
    }

    fn trips(sizes: &[usize]) -> Vec<(i64, pb::Trip)> {
        sizes
            .iter()
            .enumerate()
            .map(|(index, size)| {
                // Positions with gaps, as a store's are after deletions.
                let position = i64::try_from(index).unwrap() * 3 + 1;
                let trip = pb::Trip {
                    name: format!("trips/t{index}"),
                    notes: "n".repeat(*size),
                    ..Default::default()
                };
                (position, trip)
            })
            .collect()
    }

    const LIMIT: usize = 64 * 1024;

    /// Every page of `rows` from the start, as `page_size` pages them under [`LIMIT`].
    async fn walk(
        rows: &[(i64, pb::Trip)],
        page_size: i32,
    ) -> ApiResult<Vec<pb::ListTripsResponse>> {
        let reads = std::sync::Mutex::new(Vec::new());
        let paging = Paging {
            key: PageKey::new(vec![3; 32]),
            max_message_bytes: LIMIT,
        };
        PAGING
            .scope(paging, async {
                let mut pages = Vec::new();
                let mut token = String::new();
                loop {
                    let page = Pager::new("ListTrips", page_size, &token, &"q")?
                        .fill(
                            |request| std::future::ready(read(rows, request, &reads)),
                            Ok,
                        )
                        .await?;
                    let response = pb::ListTripsResponse {
                        trips: page.items,
                        next_page_token: page.next_page_token,
                    };
                    token.clone_from(&response.next_page_token);
                    pages.push(response);
                    if token.is_empty() {
                        return Ok(pages);
                    }
                }
            })
            .await
    }

    fn names(pages: &[pb::ListTripsResponse]) -> Vec<String> {
        pages
            .iter()
            .flat_map(|page| page.trips.iter().map(|trip| trip.name.clone()))
            .collect()
    }

    #[tokio::test]
    async fn pages_are_cut_by_bytes_and_resume_after_their_last_item() {
        use prost::Message as _;
        // 200 trips of 5 to 20 KB: a page of 50 would take about 600 KB.
        let sizes: Vec<usize> = (0..200)
            .map(|index| 5_000 + (index * 7_919) % 15_000)
            .collect();
        let rows = trips(&sizes);
        let pages = walk(&rows, 0).await.expect("walk");
        let expected: Vec<String> = rows.iter().map(|(_, trip)| trip.name.clone()).collect();
        assert_eq!(names(&pages), expected, "every item once, in order");
        for page in &pages {
            assert!(page.encoded_len() <= LIMIT, "{} bytes", page.encoded_len());
            assert!(!page.trips.is_empty());
        }
        assert!(pages.len() > 200 / 50, "pages cut short: {}", pages.len());
        // Small items still fill whole pages by count.
        let small = trips(&[10; 120]);
        let pages = walk(&small, 50).await.expect("walk");
        let counts: Vec<usize> = pages.iter().map(|page| page.trips.len()).collect();
        assert_eq!(counts, [50, 50, 20]);
        // A page that ends the collection exactly has no next token.
        let exact = trips(&[10; 100]);
        let pages = walk(&exact, 50).await.expect("walk");
        assert_eq!(pages.len(), 2);
    }

    #[tokio::test]
    async fn large_pages_are_read_in_rounds_that_fit() {
        let reads = std::sync::Mutex::new(Vec::new());
        let rows = trips(&[8_000; 500]);
        let paging = Paging {
            key: PageKey::new(vec![3; 32]),
            max_message_bytes: LIMIT,
        };
        let page = PAGING
            .scope(paging, async {
                Pager::new("ListTrips", 500, "", &"q")
                    .unwrap()
                    .fill(
                        |request| std::future::ready(read(&rows, request, &reads)),
                        Ok,
                    )
                    .await
            })
            .await
            .expect("page");
        let fitting = (LIMIT - ENVELOPE_BYTES) / framed_len(&rows[0].1);
        assert_eq!(page.items.len(), fitting, "as many as 64 KiB holds");
        // The first read takes the default page; none reads far beyond what fits.
        let reads = reads.into_inner().unwrap();
        assert_eq!(reads[0], DEFAULT_PAGE_SIZE);
        assert!(
            reads.iter().all(|size| *size <= DEFAULT_PAGE_SIZE),
            "{reads:?}"
        );
    }

    #[tokio::test]
    async fn an_item_too_large_for_any_page_is_named_with_the_token_past_it() {
        let rows = trips(&[1_000, 1_000, LIMIT, 1_000]);
        let paging = || Paging {
            key: PageKey::new(vec![3; 32]),
            max_message_bytes: LIMIT,
        };
        let reads = std::sync::Mutex::new(Vec::new());
        let list = |token: String| {
            let (rows, reads) = (&rows, &reads);
            PAGING.scope(paging(), async move {
                Pager::new("ListTrips", 0, &token, &"q")?
                    .fill(|request| std::future::ready(read(rows, request, reads)), Ok)
                    .await
            })
        };
        // The page ends before it...
        let first = list(String::new()).await.expect("first page");
        assert_eq!(first.items.len(), 2);
        // ...and the next call meets it first.
        let error = list(first.next_page_token).await.expect_err("too large");
        let ApiError::TooLargeToSend {
            method,
            resource,
            size,
            max_message_bytes,
            resume: Resume::PageToken(past),
            ..
        } = &error
        else {
            panic!("{error:?}");
        };
        assert_eq!(
            (*method, resource.as_str(), *max_message_bytes),
            ("ListTrips", "trips/t2", LIMIT)
        );
        assert!(*size > LIMIT);
        let past = past.clone();
        let status = tonic::Status::from(error);
        assert_eq!(status.code(), tonic::Code::ResourceExhausted);
        assert!(
            status.message().contains("trips/t2"),
            "{}",
            status.message()
        );
        // The token in the error lists what follows it.
        let rest = list(past).await.expect("past it");
        assert_eq!(rest.items.len(), 1);
        assert_eq!(rest.items[0].name, "trips/t3");
        assert!(rest.next_page_token.is_empty());
    }
}
