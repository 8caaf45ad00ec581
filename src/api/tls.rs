//! TLS and mTLS over rustls, with the server's certificate reloaded while it runs.
//!
//! tonic's own `ServerTlsConfig` fixes the certificate at start-up, so the server accepts
//! its connections here instead and hands tonic finished TLS streams
//! (`serve_with_incoming`). The certificate comes from a [`ReloadingCertificate`], a rustls
//! `ResolvesServerCert` that every handshake asks: a task looks at the files' modification
//! times every [`RELOAD_EVERY`] and swaps in the new pair once it loads and matches; a file
//! that does not load leaves the old certificate in place and says so in a warning. A renewal
//! (certbot, cert-manager) therefore needs no restart; connections already open keep theirs.
//!
//! Connections are accepted by `connections.rs`, as plain ones are: each handshake runs on a
//! task of its own within `handshake_timeout_seconds`, and `max_connections` holds for both.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use tokio_rustls::TlsAcceptor;

use crate::config::TlsFiles;

/// How often the certificate and key files are looked at for changes.
pub const RELOAD_EVERY: Duration = Duration::from_secs(2);

/// The server's certificate and key, as the files last held them when they loaded.
#[derive(Debug)]
pub struct ReloadingCertificate {
    cert_path: PathBuf,
    key_path: PathBuf,
    provider: Arc<CryptoProvider>,
    current: RwLock<Arc<CertifiedKey>>,
}

impl ResolvesServerCert for ReloadingCertificate {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.current.read().ok().map(|current| current.clone())
    }
}

/// When a file last changed, and its size: a new file in its place changes one of them.
type Stamp = Option<(SystemTime, u64)>;

fn stamp(path: &Path) -> Stamp {
    let metadata = std::fs::metadata(path).ok()?;
    Some((metadata.modified().ok()?, metadata.len()))
}

impl ReloadingCertificate {
    fn load(
        cert_path: &Path,
        key_path: &Path,
        provider: &CryptoProvider,
    ) -> anyhow::Result<CertifiedKey> {
        let chain = CertificateDer::pem_file_iter(cert_path)
            .and_then(|certificates| certificates.collect::<Result<Vec<_>, _>>())
            .map_err(|error| anyhow::anyhow!("tls_cert {}: {error}", cert_path.display()))?;
        anyhow::ensure!(
            !chain.is_empty(),
            "tls_cert {}: no PEM certificate in it",
            cert_path.display()
        );
        let key = PrivateKeyDer::from_pem_file(key_path)
            .map_err(|error| anyhow::anyhow!("tls_key {}: {error}", key_path.display()))?;
        CertifiedKey::from_der(chain, key, provider).map_err(|error| {
            anyhow::anyhow!(
                "tls_key {} does not go with tls_cert {}: {error}",
                key_path.display(),
                cert_path.display()
            )
        })
    }

    /// Watches the files until the process ends, swapping in each new pair that loads.
    async fn watch(self: Arc<Self>) {
        let mut seen = (stamp(&self.cert_path), stamp(&self.key_path));
        loop {
            tokio::time::sleep(RELOAD_EVERY).await;
            let now = (stamp(&self.cert_path), stamp(&self.key_path));
            if now == seen {
                continue;
            }
            // Remembered whatever happens next: a bad file is reported once, not every tick.
            seen = now;
            match Self::load(&self.cert_path, &self.key_path, &self.provider) {
                Ok(loaded) => {
                    if let Ok(mut current) = self.current.write() {
                        *current = Arc::new(loaded);
                    }
                    tracing::info!(cert = %self.cert_path.display(), "tls certificate reloaded");
                }
                Err(error) => tracing::warn!(
                    error = format!("{error:#}"),
                    "tls certificate files changed but do not load; still serving the previous certificate"
                ),
            }
        }
    }
}

/// Loads every file of `files` as the server would, so a bad one is reported before the
/// server says it is serving.
pub fn check(files: &TlsFiles) -> anyhow::Result<()> {
    server_config(files).map(|_| ())
}

/// The acceptor for `files`, and the task that reloads its certificate (the caller ends it
/// with the server).
pub fn acceptor(files: &TlsFiles) -> anyhow::Result<(TlsAcceptor, tokio::task::JoinHandle<()>)> {
    let (config, certificate) = server_config(files)?;
    let watcher = tokio::spawn(certificate.watch());
    Ok((TlsAcceptor::from(Arc::new(config)), watcher))
}

fn server_config(
    files: &TlsFiles,
) -> anyhow::Result<(rustls::ServerConfig, Arc<ReloadingCertificate>)> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let certificate = Arc::new(ReloadingCertificate {
        current: RwLock::new(Arc::new(ReloadingCertificate::load(
            &files.cert,
            &files.key,
            &provider,
        )?)),
        cert_path: files.cert.clone(),
        key_path: files.key.clone(),
        provider: provider.clone(),
    });
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?;
    let builder = match &files.client_ca {
        None => builder.with_no_client_auth(),
        Some(path) => {
            let mut roots = rustls::RootCertStore::empty();
            let certificates = CertificateDer::pem_file_iter(path)
                .and_then(|certificates| certificates.collect::<Result<Vec<_>, _>>())
                .map_err(|error| anyhow::anyhow!("tls_client_ca {}: {error}", path.display()))?;
            for certificate in certificates {
                roots.add(certificate).map_err(|error| {
                    anyhow::anyhow!("tls_client_ca {}: {error}", path.display())
                })?;
            }
            anyhow::ensure!(
                !roots.is_empty(),
                "tls_client_ca {}: no PEM certificate in it",
                path.display()
            );
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|error| anyhow::anyhow!("tls_client_ca {}: {error}", path.display()))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder.with_cert_resolver(certificate.clone());
    // gRPC is HTTP/2 only; clients such as grpcurl insist on ALPN saying so.
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok((config, certificate))
}
