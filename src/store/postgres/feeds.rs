//! The feeds' file ledger in PostgreSQL: the shared statements.

crate::store::sql::feeds!();
