//! The feeds' file ledger in SQLite: the shared statements.

crate::store::sql::feeds!();
