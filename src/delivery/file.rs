//! Writing a digest into a directory: `<kind>-<date>.md` and `.json`, each written to a
//! temporary name, synced and renamed, so a reader never sees half a digest.

use std::io::Write as _;
use std::path::{Component, Path, PathBuf};

use crate::domain::values::format_date;
use crate::store::digests::PublishedDigest;

/// The operator's `delivery_dir`, canonical: every file target is a directory under it, and
/// nothing is written anywhere else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryDir(PathBuf);

/// Why a file target cannot be used. The words never say what exists outside the delivery
/// directory.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileTargetError {
    #[error("must be a relative directory name under the server's delivery directory")]
    NotRelative,
    #[error("leads outside the server's delivery directory")]
    Outside,
    #[error("names a file, not a directory, in the server's delivery directory")]
    NotADirectory,
    #[error("cannot be created in the server's delivery directory")]
    CannotCreate,
    #[error("does not exist in the server's delivery directory")]
    Missing,
}

impl DeliveryDir {
    /// `path` must be an existing directory; it is kept canonical (symlinks resolved).
    pub fn open(path: &Path) -> std::io::Result<Self> {
        let canonical = std::fs::canonicalize(path)?;
        if !canonical.is_dir() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotADirectory,
                format!("{} is not a directory", path.display()),
            ));
        }
        Ok(Self(canonical))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Creates `relative` under the delivery directory, one component at a time, each checked
    /// after canonicalisation: a symlink that leads out is refused before anything is created
    /// beyond it. Returns the canonical directory.
    pub fn create(&self, relative: &Path) -> Result<PathBuf, FileTargetError> {
        let mut current = self.0.clone();
        for component in relative.components() {
            let Component::Normal(name) = component else {
                return Err(FileTargetError::NotRelative);
            };
            let next = current.join(name);
            match std::fs::symlink_metadata(&next) {
                Ok(_) => {}
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                    match std::fs::create_dir(&next) {
                        Ok(()) => {}
                        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {}
                        Err(_) => return Err(FileTargetError::CannotCreate),
                    }
                }
                Err(_) => return Err(FileTargetError::CannotCreate),
            }
            current = self.inside(&next)?;
            if !current.is_dir() {
                return Err(FileTargetError::NotADirectory);
            }
        }
        Ok(current)
    }

    /// The canonical directory `relative` names, which must exist under the delivery directory.
    pub fn resolve(&self, relative: &Path) -> Result<PathBuf, FileTargetError> {
        if !relative
            .components()
            .all(|component| matches!(component, Component::Normal(_)))
        {
            return Err(FileTargetError::NotRelative);
        }
        let joined = self.0.join(relative);
        if std::fs::symlink_metadata(&joined).is_err() {
            return Err(FileTargetError::Missing);
        }
        let canonical = self.inside(&joined)?;
        if !canonical.is_dir() {
            return Err(FileTargetError::NotADirectory);
        }
        Ok(canonical)
    }

    /// `path` canonicalised, if it stays under the delivery directory.
    fn inside(&self, path: &Path) -> Result<PathBuf, FileTargetError> {
        let canonical = std::fs::canonicalize(path).map_err(|_| FileTargetError::Outside)?;
        if canonical.starts_with(&self.0) && canonical != self.0 {
            Ok(canonical)
        } else {
            Err(FileTargetError::Outside)
        }
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_stay_under_the_delivery_directory() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let dir = DeliveryDir::open(root.path()).unwrap();
        let created = dir.create(Path::new("desk/daily")).unwrap();
        assert!(created.starts_with(dir.path()) && created.is_dir());
        assert_eq!(dir.resolve(Path::new("desk/daily")).unwrap(), created);

        std::os::unix::fs::symlink(outside.path(), root.path().join("out")).unwrap();
        assert_eq!(dir.create(Path::new("out")), Err(FileTargetError::Outside));
        assert_eq!(
            dir.create(Path::new("out/new")),
            Err(FileTargetError::Outside)
        );
        assert!(
            !outside.path().join("new").exists(),
            "nothing created outside"
        );
        assert_eq!(dir.resolve(Path::new("out")), Err(FileTargetError::Outside));
        assert_eq!(
            dir.resolve(Path::new("../x")),
            Err(FileTargetError::NotRelative)
        );
        assert_eq!(
            dir.resolve(Path::new("/etc")),
            Err(FileTargetError::NotRelative)
        );
        std::fs::write(root.path().join("plain"), b"x").unwrap();
        assert_eq!(
            dir.create(Path::new("plain")),
            Err(FileTargetError::NotADirectory)
        );
        assert_eq!(
            dir.resolve(Path::new("gone")),
            Err(FileTargetError::Missing)
        );
    }
}
