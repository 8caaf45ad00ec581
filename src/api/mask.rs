//! AIP-134 update masks, applied to the JSON form of a record so one implementation serves
//! every resource: named fields are copied from the request, the rest stay as stored.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::error::{ApiError, ApiResult};

/// Fields clients may not set; named in a mask, they are ignored (AIP-203).
const OUTPUT_ONLY: &[&str] = &[
    "name",
    "create_time",
    "update_time",
    "etag",
    "state",
    "quad_class",
];

/// Merges `patch` into `stored` as the mask says: empty mask → the populated fields of
/// `patch`, `*` → all of `patch`, otherwise the named top-level fields.
pub fn apply<R: Serialize + DeserializeOwned>(
    stored: &R,
    patch: &R,
    mask: &[String],
    mutable_fields: &[&str],
) -> ApiResult<R> {
    let stored = to_object(stored)?;
    let patch = to_object(patch)?;
    let merged = if mask.iter().any(|path| path == "*") {
        if mask.len() > 1 {
            return Err(ApiError::invalid(
                "update_mask",
                "`*` must be the only path",
            ));
        }
        patch
    } else {
        let paths: Vec<String> = if mask.is_empty() {
            patch
                .iter()
                .filter(|(_, value)| is_populated(value))
                .map(|(key, _)| key.clone())
                .collect()
        } else {
            check_paths(mask, mutable_fields)?
        };
        let mut merged = stored;
        for path in paths {
            match patch.get(&path) {
                Some(value) => merged.insert(path, value.clone()),
                None => merged.remove(&path),
            };
        }
        merged
    };
    serde_json::from_value(Value::Object(merged)).map_err(|error| {
        ApiError::internal(format!("cannot rebuild record after masking: {error}"))
    })
}

fn check_paths(mask: &[String], mutable_fields: &[&str]) -> ApiResult<Vec<String>> {
    let mut paths = Vec::new();
    let mut violations = crate::domain::Violations::new();
    for (position, path) in mask.iter().enumerate() {
        if OUTPUT_ONLY.contains(&path.as_str()) {
            continue;
        }
        if mutable_fields.contains(&path.as_str()) {
            paths.push(path.clone());
        } else {
            violations.add(
                format!("update_mask.paths[{position}]"),
                format!(
                    "{path:?} is not a field that can be updated: use one of {}",
                    mutable_fields.join(", ")
                ),
            );
        }
    }
    violations
        .finish(|| paths)
        .map_err(ApiError::InvalidArgument)
}

fn to_object(record: &impl Serialize) -> ApiResult<Map<String, Value>> {
    match serde_json::to_value(record) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(ApiError::internal("record is not an object")),
        Err(error) => Err(ApiError::internal(format!("cannot encode record: {error}"))),
    }
}

fn is_populated(value: &Value) -> bool {
    match value {
        Value::Null | Value::Bool(false) => false,
        Value::String(text) => !text.is_empty(),
        Value::Array(items) => !items.is_empty(),
        Value::Object(fields) => !fields.is_empty(),
        Value::Bool(true) | Value::Number(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::TripRecord;

    const FIELDS: &[&str] = &[
        "title",
        "traveler",
        "purpose",
        "legs",
        "sources",
        "cancelled",
        "notes",
    ];

    fn stored() -> TripRecord {
        TripRecord {
            title: "Old".into(),
            purpose: "Keep".into(),
            notes: "Note".into(),
            ..TripRecord::default()
        }
    }

    #[test]
    fn masks_pick_fields() {
        let patch = TripRecord {
            title: "New".into(),
            ..TripRecord::default()
        };
        let empty_mask = apply(&stored(), &patch, &[], FIELDS).unwrap();
        assert_eq!(
            (empty_mask.title.as_str(), empty_mask.purpose.as_str()),
            ("New", "Keep")
        );
        let named = apply(&stored(), &patch, &["notes".into(), "etag".into()], FIELDS).unwrap();
        assert_eq!((named.title.as_str(), named.notes.as_str()), ("Old", ""));
        let all = apply(&stored(), &patch, &["*".into()], FIELDS).unwrap();
        assert_eq!(all, patch);
        assert!(apply(&stored(), &patch, &["legs.city".into()], FIELDS).is_err());
    }
}
