//! Trips in SQLite: the shared statements.

crate::store::sql::trips!();
