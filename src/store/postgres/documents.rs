//! The resource tables in PostgreSQL: the shared statements.

crate::store::sql::documents!();
