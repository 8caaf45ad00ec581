//! Subscriptions and the delivery outbox in PostgreSQL: the shared statements.

crate::store::sql::subscriptions!();
