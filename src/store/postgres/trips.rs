//! Trips in PostgreSQL: the shared statements.

crate::store::sql::trips!();
