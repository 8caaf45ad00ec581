//! API tokens in SQLite: the shared statements.

crate::store::sql::tokens!();
