//! The feed's HTTP requests, through the SSRF guard of the webhooks
//! ([`crate::delivery::guard`]): every name is resolved once by the guard and the connection
//! goes to the address it returned; redirects are not followed; every read is bounded.
//!
//! One difference, and only here: the hosts of the configured `url` and `master_url` are the
//! operator's own choice, so what they resolve to is not judged (a mirror on the operator's
//! network, or the tests' server on 127.0.0.1, may be private or loopback). Any other host a
//! list names is checked as a webhook's would be, with `webhook_allow_cidrs`: a list is data
//! from the network and must not steer the server to an internal address.

use std::sync::Arc;
use std::time::Duration;

use md5::{Digest as _, Md5};

use crate::delivery::guard::{EgressGuard, GuardError, failure_words};
use crate::store::feeds::ListedFile;

/// The HTTP client of a feed and the hosts its operator named.
pub struct FeedClient {
    client: reqwest::Client,
    guard: Arc<EgressGuard>,
    trusted: Arc<Vec<String>>,
}

/// Resolves names for the feed's client: the operator's hosts unchecked, others through the
/// guard's check.
struct FeedResolver {
    guard: Arc<EgressGuard>,
    trusted: Arc<Vec<String>>,
}

impl reqwest::dns::Resolve for FeedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let guard = self.guard.clone();
        let trusted = self.trusted.iter().any(|host| host == name.as_str());
        Box::pin(async move {
            let addresses = if trusted {
                guard.lookup(name.as_str()).await?
            } else {
                guard.resolve(name.as_str()).await?
            };
            let addresses: reqwest::dns::Addrs = Box::new(
                addresses
                    .into_iter()
                    .map(|address| std::net::SocketAddr::new(address, 0)),
            );
            Ok(addresses)
        })
    }
}

impl FeedClient {
    /// `trusted`: the configured URLs, whose hosts are the operator's.
    pub fn new(
        guard: Arc<EgressGuard>,
        trusted: &[&url::Url],
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        let trusted: Arc<Vec<String>> = Arc::new(
            trusted
                .iter()
                .filter_map(|url| url.host_str().map(str::to_owned))
                .collect(),
        );
        let client = reqwest::Client::builder()
            .dns_resolver(Arc::new(FeedResolver {
                guard: guard.clone(),
                trusted: trusted.clone(),
            }))
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            .timeout(timeout)
            .user_agent(concat!("briefing/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            client,
            guard,
            trusted,
        })
    }

    /// A literal address in a URL is judged here (the resolver is not asked about literals);
    /// a name is judged by the resolver.
    fn check(&self, url: &url::Url) -> Result<(), GuardError> {
        let literal: std::net::IpAddr = match url.host() {
            Some(url::Host::Ipv4(address)) => address.into(),
            Some(url::Host::Ipv6(address)) => address.into(),
            Some(url::Host::Domain(_)) => return Ok(()),
            None => return Err(GuardError::Unresolved),
        };
        let host = url.host_str().unwrap_or_default();
        if self.trusted.iter().any(|trusted| trusted == host) {
            return Ok(());
        }
        self.guard.check_address(literal)
    }

    async fn get(&self, url: &url::Url) -> Result<reqwest::Response, String> {
        self.check(url).map_err(|refused| refused.to_string())?;
        let response = self
            .client
            .get(url.clone())
            .send()
            .await
            .map_err(|error| failure_words(&error))?;
        let status = response.status();
        if status.is_redirection() {
            return Err(format!(
                "HTTP {} (redirects are not followed)",
                status.as_u16()
            ));
        }
        if !status.is_success() {
            return Err(format!("HTTP {}", status.as_u16()));
        }
        Ok(response)
    }

    /// Reads a list a line at a time, at most `max_bytes` in all, and hands each line (with
    /// its number) to `each`; lines longer than [`super::MAX_LIST_LINE_BYTES`] are handed
    /// over as an error. The list is never held whole.
    pub async fn each_line(
        &self,
        url: &url::Url,
        max_bytes: u64,
        mut each: impl FnMut(u64, Result<&str, String>),
    ) -> Result<(), String> {
        let mut response = self.get(url).await?;
        let mut lines = Lines::default();
        let mut read: u64 = 0;
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|error| failure_words(&error))?
        {
            read += chunk.len() as u64;
            if read > max_bytes {
                return Err(format!("the list is longer than {max_bytes} bytes"));
            }
            lines.feed(&chunk, &mut each);
        }
        lines.finish(&mut each);
        Ok(())
    }

    /// Downloads a listed file, refusing it when it is larger than `max_bytes` or than the
    /// list says, or when its size or MD5 is not the list's.
    pub async fn download(&self, file: &ListedFile, max_bytes: u64) -> Result<Vec<u8>, String> {
        if file.size_bytes > max_bytes {
            return Err(format!(
                "the list gives {} bytes, more than max_file_bytes ({max_bytes})",
                file.size_bytes
            ));
        }
        let url =
            url::Url::parse(&file.url).map_err(|_| "the listed URL is not a URL".to_owned())?;
        let mut response = self.get(&url).await?;
        if let Some(length) = response.content_length()
            && length != file.size_bytes
        {
            return Err(format!(
                "size mismatch: the server sends {length} bytes, the list gives {}",
                file.size_bytes
            ));
        }
        let capacity = usize::try_from(file.size_bytes).unwrap_or(usize::MAX);
        let mut body = Vec::with_capacity(capacity.min(16 * 1024 * 1024));
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|error| failure_words(&error))?
        {
            if (body.len() + chunk.len()) as u64 > file.size_bytes {
                return Err(format!(
                    "size mismatch: the server sends more than the {} bytes the list gives",
                    file.size_bytes
                ));
            }
            body.extend_from_slice(&chunk);
        }
        if body.len() as u64 != file.size_bytes {
            return Err(format!(
                "size mismatch: the server sent {} bytes, the list gives {}",
                body.len(),
                file.size_bytes
            ));
        }
        let md5 = hex(&Md5::digest(&body));
        if md5 != file.md5 {
            return Err(format!(
                "MD5 mismatch: the file's is {md5}, the list gives {}",
                file.md5
            ));
        }
        Ok(body)
    }
}

/// Cuts a byte stream into lines as its chunks arrive, holding at most one line
/// ([`super::MAX_LIST_LINE_BYTES`]); a longer line is skipped and reported, empty lines are
/// passed over, a `\r` before the `\n` is dropped.
#[derive(Default)]
struct Lines {
    pending: Vec<u8>,
    overlong: bool,
    number: u64,
}

impl Lines {
    fn feed(&mut self, chunk: &[u8], each: &mut impl FnMut(u64, Result<&str, String>)) {
        let mut rest = chunk;
        while let Some(end) = rest.iter().position(|byte| *byte == b'\n') {
            self.take(&rest[..end]);
            self.hand_over(each);
            rest = &rest[end + 1..];
        }
        self.take(rest);
    }

    /// The last line, when the stream does not end with a line break.
    fn finish(&mut self, each: &mut impl FnMut(u64, Result<&str, String>)) {
        if self.overlong || !self.pending.is_empty() {
            self.hand_over(each);
        }
    }

    fn take(&mut self, part: &[u8]) {
        if self.overlong {
            return;
        }
        self.pending.extend_from_slice(part);
        if self.pending.len() > super::MAX_LIST_LINE_BYTES {
            self.overlong = true;
            self.pending = Vec::new();
        }
    }

    fn hand_over(&mut self, each: &mut impl FnMut(u64, Result<&str, String>)) {
        self.number += 1;
        if std::mem::take(&mut self.overlong) {
            each(
                self.number,
                Err(format!("longer than {} bytes", super::MAX_LIST_LINE_BYTES)),
            );
        } else {
            let line = self.pending.strip_suffix(b"\r").unwrap_or(&self.pending);
            match std::str::from_utf8(line) {
                Ok("") => {}
                Ok(text) => each(self.number, Ok(text)),
                Err(_) => each(self.number, Err("not UTF-8 text".to_owned())),
            }
        }
        self.pending.clear();
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(chunks: &[&[u8]]) -> Vec<(u64, Result<String, String>)> {
        let mut seen = Vec::new();
        let mut each = |number: u64, line: Result<&str, String>| {
            seen.push((number, line.map(str::to_owned)));
        };
        let mut lines = Lines::default();
        for chunk in chunks {
            lines.feed(chunk, &mut each);
        }
        lines.finish(&mut each);
        seen
    }

    #[test]
    fn lines_are_cut_whatever_the_chunks_and_overlong_ones_are_reported() {
        let whole: &[u8] = b"1 a http://x/1\r\n\n2 b http://x/2\n3 c";
        let expected = vec![
            (1, Ok("1 a http://x/1".to_owned())),
            (3, Ok("2 b http://x/2".to_owned())),
            (4, Ok("3 c".to_owned())),
        ];
        assert_eq!(lines_of(&[whole]), expected);
        let split: Vec<&[u8]> = whole.chunks(3).collect();
        assert_eq!(lines_of(&split), expected);

        let long = vec![b'x'; super::super::MAX_LIST_LINE_BYTES + 1];
        let seen = lines_of(&[&long[..100], &long[100..], b"\nnext\n\xff\n"]);
        assert_eq!(seen.len(), 3, "{seen:?}");
        assert!(seen[0].1.as_ref().unwrap_err().starts_with("longer than"));
        assert_eq!(seen[1], (2, Ok("next".to_owned())));
        assert_eq!(seen[2], (3, Err("not UTF-8 text".to_owned())));
    }
}
