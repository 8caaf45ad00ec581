//! API tokens in PostgreSQL: the shared statements.

crate::store::sql::tokens!();
