//! Officials in PostgreSQL: the shared statements.

crate::store::sql::officials!();
