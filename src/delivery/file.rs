//! Writing a digest into a directory: `<kind>-<date>.md` and `.json`, each written to a
//! temporary name, synced and renamed, so a reader never sees half a digest.

use std::io::Write as _;
use std::path::Path;

use crate::domain::values::format_date;
use crate::store::digests::PublishedDigest;

pub fn write_digest(
    directory: &Path,
    published: &PublishedDigest,
    json: &[u8],
    delivery_id: &str,
) -> std::io::Result<()> {
    let stem = format!(
        "{}-{}",
        published.digest.kind,
        format_date(published.digest.date)
    );
    write_atomically(
        directory,
        &format!("{stem}.md"),
        published.digest.markdown.as_bytes(),
        delivery_id,
    )?;
    write_atomically(directory, &format!("{stem}.json"), json, delivery_id)?;
    // The renames are durable once the directory itself is synced.
    std::fs::File::open(directory)?.sync_all()
}

fn write_atomically(
    directory: &Path,
    name: &str,
    contents: &[u8],
    delivery_id: &str,
) -> std::io::Result<()> {
    let temporary = directory.join(format!(".{name}.{delivery_id}.tmp"));
    let result = (|| {
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(contents)?;
        file.sync_all()?;
        std::fs::rename(&temporary, directory.join(name))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    result
}
