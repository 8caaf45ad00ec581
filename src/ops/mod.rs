//! What operators watch and probe: the metrics (`metrics.rs`, which imports nothing from the
//! crate, so every layer may record into it), whether the server is ready (`readiness.rs`),
//! and the plain HTTP/1.1 listener that serves `/metrics`, `/livez` and `/readyz` (`http.rs`).

pub mod http;
pub mod metrics;
pub mod pool_waits;
pub mod readiness;

pub use metrics::Metrics;
pub use readiness::Readiness;
