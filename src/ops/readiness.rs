//! Whether this server should be sent calls: the store answers and the server is not
//! draining. Liveness is another question (does the process answer at all?): a PostgreSQL
//! outage makes every replica not ready, but restarting them would not help.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::store::Store;

/// How long `/readyz` waits for the store before it calls it unreachable.
const STORE_PATIENCE: Duration = Duration::from_secs(2);

/// The draining flag, shared by `/readyz` and the gRPC health service.
#[derive(Clone)]
pub struct Readiness {
    draining: Arc<watch::Sender<bool>>,
}

impl Default for Readiness {
    fn default() -> Self {
        Self::new()
    }
}

impl Readiness {
    pub fn new() -> Self {
        let (draining, _) = watch::channel(false);
        Self {
            draining: Arc::new(draining),
        }
    }

    /// From now on the server is not ready, whatever the store says.
    pub fn start_draining(&self) {
        self.draining.send_replace(true);
    }

    pub fn is_draining(&self) -> bool {
        *self.draining.borrow()
    }

    /// Turns true when draining starts.
    pub fn draining(&self) -> watch::Receiver<bool> {
        self.draining.subscribe()
    }

    /// Ok, or why the server is not ready, in a few words.
    pub async fn check(&self, store: &dyn Store) -> Result<(), String> {
        if self.is_draining() {
            return Err("draining: the server is shutting down".to_owned());
        }
        match tokio::time::timeout(STORE_PATIENCE, store.ping()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(format!("the store does not answer: {error}")),
            Err(_) => Err(format!(
                "the store did not answer within {} seconds",
                STORE_PATIENCE.as_secs()
            )),
        }
    }
}
