//! The run ledger, published digests and the inputs of a compilation, in PostgreSQL: the
//! shared statements.

crate::store::sql::digests!();
