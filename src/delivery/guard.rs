//! The SSRF guard: every webhook address is resolved once, checked against the classifier
//! ([`super::address`]) and the operator's allow list, and only the checked addresses are
//! handed to the HTTP client, which connects to them without resolving the name again (so a
//! name cannot answer a public address to the check and a private one to the connection).
//!
//! Names resolve through the system's resolver, or, with `dns_server`, through that DNS server
//! alone (hickory-resolver): an operator may point the service at a filtering resolver, and
//! the tests point it at a DNS server of their own on loopback.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{NameServerConfigGroup, ResolveHosts, ResolverConfig, ResolverOpts};
use hickory_resolver::name_server::TokioConnectionProvider;

use super::address::{AllowList, Refusal};

/// How long one resolution may take before the attempt counts as failed.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a webhook target may not be reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuardError {
    /// The target is, or resolves to, an address the guard refuses.
    Refused(Refusal),
    /// The name has no address (or the resolver did not answer in time).
    Unresolved,
}

impl fmt::Display for GuardError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Refused(refusal) => write!(formatter, "refused by the address guard: {refusal}"),
            Self::Unresolved => formatter.write_str("cannot resolve the host name"),
        }
    }
}

impl std::error::Error for GuardError {}

enum Resolver {
    System,
    Dns(Box<TokioResolver>),
}

/// Resolves and checks webhook targets; shared by the subscription API (at creation) and the
/// delivery worker (at every attempt).
pub struct EgressGuard {
    allow: AllowList,
    resolver: Resolver,
}

impl fmt::Debug for EgressGuard {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("EgressGuard")
            .field("allow", &self.allow)
            .finish_non_exhaustive()
    }
}

impl EgressGuard {
    /// `dns_server`: resolve through that server alone instead of the system's resolver.
    pub fn new(allow: AllowList, dns_server: Option<SocketAddr>) -> Self {
        let resolver = match dns_server {
            None => Resolver::System,
            Some(server) => {
                let servers =
                    NameServerConfigGroup::from_ips_clear(&[server.ip()], server.port(), true);
                let mut options = ResolverOpts::default();
                options.timeout = RESOLVE_TIMEOUT;
                options.attempts = 1;
                options.use_hosts_file = ResolveHosts::Never;
                // A name is looked up at every attempt: a changed answer is seen at once.
                options.cache_size = 0;
                let resolver = TokioResolver::builder_with_config(
                    ResolverConfig::from_parts(None, Vec::new(), servers),
                    TokioConnectionProvider::default(),
                )
                .with_options(options)
                .build();
                Resolver::Dns(Box::new(resolver))
            }
        };
        Self { allow, resolver }
    }

    /// Refuses an address the classifier refuses and the allow list does not allow.
    pub fn check_address(&self, address: IpAddr) -> Result<(), GuardError> {
        self.allow.check(address).map_err(GuardError::Refused)
    }

    /// The addresses of `host`, every one of them checked: a name with one refused address is
    /// refused whole.
    pub async fn resolve(&self, host: &str) -> Result<Vec<IpAddr>, GuardError> {
        let addresses = self.lookup(host).await?;
        for address in &addresses {
            self.check_address(*address)?;
        }
        Ok(addresses)
    }

    /// The addresses of `host`, through the guard's resolver, not checked: only for a host the
    /// operator named in the configuration (a feed's), never for one a client gave.
    pub async fn lookup(&self, host: &str) -> Result<Vec<IpAddr>, GuardError> {
        let addresses = match &self.resolver {
            Resolver::System => {
                let lookup = tokio::net::lookup_host((host, 0));
                match tokio::time::timeout(RESOLVE_TIMEOUT, lookup).await {
                    Ok(Ok(found)) => found.map(|address| address.ip()).collect::<Vec<_>>(),
                    _ => return Err(GuardError::Unresolved),
                }
            }
            Resolver::Dns(resolver) => match resolver.lookup_ip(host).await {
                Ok(found) => found.iter().collect(),
                Err(_) => return Err(GuardError::Unresolved),
            },
        };
        if addresses.is_empty() {
            return Err(GuardError::Unresolved);
        }
        Ok(addresses)
    }

    /// The check at creation: a literal address is judged as it is, a name by what it resolves
    /// to now. A name that does not resolve yet is let through: it is checked again at every
    /// delivery.
    pub async fn check_url(&self, url: &url::Url) -> Result<(), GuardError> {
        match url.host() {
            Some(url::Host::Ipv4(address)) => self.check_address(address.into()),
            Some(url::Host::Ipv6(address)) => self.check_address(address.into()),
            Some(url::Host::Domain(name)) => match self.resolve(name).await {
                Err(GuardError::Unresolved) => Ok(()),
                checked => checked.map(|_| ()),
            },
            None => Err(GuardError::Unresolved),
        }
    }
}

/// The HTTP client's resolver: the guard's checked addresses, nothing else.
pub struct GuardedResolver(pub Arc<EgressGuard>);

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let guard = self.0.clone();
        Box::pin(async move {
            let addresses = guard.resolve(name.as_str()).await?;
            let addresses: reqwest::dns::Addrs = Box::new(
                addresses
                    .into_iter()
                    .map(|address| SocketAddr::new(address, 0)),
            );
            Ok(addresses)
        })
    }
}

/// A failed request through the guard (a webhook, a feed download) in generic words: what the guard refused, or what kind of failure it was,
/// never the operating system's text (which would tell a client what listens where) nor the
/// URL (which may carry a token).
pub fn failure_words(error: &reqwest::Error) -> String {
    let mut source: Option<&dyn std::error::Error> = Some(error);
    while let Some(cause) = source {
        if let Some(guarded) = cause.downcast_ref::<GuardError>() {
            return guarded.to_string();
        }
        source = cause.source();
    }
    if error.is_timeout() {
        "timed out".to_owned()
    } else if error.is_connect() {
        "connect failed".to_owned()
    } else if error.is_body() || error.is_decode() {
        "the response broke off".to_owned()
    } else {
        "request failed".to_owned()
    }
}
