//! A resource as the store keeps it: the value and the metadata every write updates.

use chrono::{DateTime, Utc};
use sha2::{Digest as _, Sha256};

use super::ResourceId;

/// A stored resource with the metadata the store keeps for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored<T> {
    pub id: ResourceId,
    pub value: T,
    pub create_time: DateTime<Utc>,
    pub update_time: DateTime<Utc>,
    /// Bumped by every write; guards updates against lost writes.
    pub revision: i64,
}

impl<T> Stored<T> {
    /// The same resource with its value turned into another shape (e.g. its record).
    pub fn map<U>(self, into: impl FnOnce(T) -> U) -> Stored<U> {
        Stored {
            id: self.id,
            value: into(self.value),
            create_time: self.create_time,
            update_time: self.update_time,
            revision: self.revision,
        }
    }

    /// An opaque etag that changes with every write and differs for a re-created resource.
    pub fn etag(&self) -> String {
        let mut hasher = Sha256::new();
        hasher.update(self.id.as_str());
        hasher.update(self.create_time.timestamp_micros().to_be_bytes());
        hasher.update(self.revision.to_be_bytes());
        let digest = hasher.finalize();
        format!("\"{}\"", hex(&digest[..8]))
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    text
}
