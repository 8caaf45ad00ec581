//! Subscriptions and the delivery outbox in SQLite: the shared statements.

crate::store::sql::subscriptions!();
