//! The resource tables in SQLite: the shared statements, and reads by id that take the fast
//! readers when there are.

crate::store::sql::documents!();

/// A document by id: on the calling thread through the fast readers when there are.
pub(super) async fn lookup<D: Document>(
    pool: &Pool,
    fast: Option<&super::fast::Readers>,
    id: &ResourceId,
) -> StoreResult<Stored<D>> {
    sql::parse_record(lookup_record::<D>(pool, fast, id).await?)
}

/// The stored record of a document, not parsed into its domain value (for responses: it was
/// checked when it was written).
pub(super) async fn lookup_record<D: Document>(
    pool: &Pool,
    fast: Option<&super::fast::Readers>,
    id: &ResourceId,
) -> StoreResult<Stored<D::Record>> {
    let Some(readers) = fast else {
        return get_record::<D>(pool, id).await;
    };
    let sql = format!("SELECT {SELECT_COLUMNS} FROM {} WHERE id = ?", D::TABLE);
    let mut found = None;
    readers.with(|connection| {
        connection.query(
            &sql,
            &[super::fast::Param::Text(id.as_str().to_owned())],
            |row| {
                found = Some(sql::decode_record_columns::<D>(
                    row.int(0),
                    row.text(1)?,
                    row.int(2),
                    row.int(3),
                    row.int(4),
                    row.text(5)?,
                )?);
                Ok(false)
            },
        )
    })?;
    found
        .map(|row| row.stored)
        .ok_or_else(|| StoreError::NotFound {
            resource: D::resource_name(id),
        })
}
