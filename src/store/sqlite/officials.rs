//! Officials in SQLite: the shared statements.

crate::store::sql::officials!();
