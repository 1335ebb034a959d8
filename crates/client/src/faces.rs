//! People's photos on this device: fetched from the server once per version and size, kept in
//! a folder beside the store (`faces/`), so the window, the tray's panel and the desktop
//! banners show them without asking again, and offline. A new version (a teammate changed
//! their photo) is fetched at once and the old one's files removed.

use crate::api::{Api, ApiError};
use presence::UserId;
use std::path::{Path, PathBuf};

/// The sizes the server stores; a request is rounded up to one of them.
pub const SIZES: [u32; 4] = [32, 64, 128, 256];

#[derive(Debug, Clone)]
pub struct Faces {
    dir: PathBuf,
}

impl Faces {
    /// Photos kept in `dir` (made when the first is kept).
    pub fn new(dir: impl Into<PathBuf>) -> Faces {
        Faces { dir: dir.into() }
    }

    /// Beside a store at `store_path`.
    pub fn beside(store_path: &Path) -> Faces {
        Faces::new(
            store_path
                .parent()
                .unwrap_or_else(|| Path::new("."))
                .join("faces"),
        )
    }

    fn file(&self, user: &UserId, version: &str, size: u32) -> PathBuf {
        self.dir
            .join(format!("{}-{version}-{size}.jpg", safe(user.as_str())))
    }

    /// The photo kept for this version and size, if it is here.
    pub fn cached(&self, user: &UserId, version: &str, size: u32) -> Option<PathBuf> {
        let path = self.file(user, version, rounded(size));
        path.is_file().then_some(path)
    }

    /// The file of `user`'s photo `version` at `size` (rounded up to a stored size): kept, or
    /// fetched now. None when the server has no photo for them (any more).
    pub async fn get(
        &self,
        api: &Api,
        token: &str,
        user: &UserId,
        version: &str,
        size: u32,
    ) -> Result<Option<PathBuf>, FaceError> {
        if !is_version(version) {
            return Ok(None);
        }
        let size = rounded(size);
        if let Some(path) = self.cached(user, version, size) {
            return Ok(Some(path));
        }
        let Some(jpeg) = api.avatar(token, user, size).await? else {
            return Ok(None);
        };
        std::fs::create_dir_all(&self.dir).map_err(|e| FaceError::Disk(e.to_string()))?;
        self.forget_other_versions(user, version);
        let path = self.file(user, version, size);
        // Written whole, then named: a reader never sees half a photo.
        let part = path.with_extension("part");
        std::fs::write(&part, &jpeg)
            .and_then(|_| std::fs::rename(&part, &path))
            .map_err(|e| {
                let _ = std::fs::remove_file(&part);
                FaceError::Disk(e.to_string())
            })?;
        Ok(Some(path))
    }

    /// Removes the files of `user`'s other photos (replaced ones).
    fn forget_other_versions(&self, user: &UserId, keep: &str) {
        let me = safe(user.as_str());
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            // "<id>-<version>-<size>.jpg", read from the end: ids may hold "-".
            let Some(stem) = name.strip_suffix(".jpg") else {
                continue;
            };
            let mut parts = stem.rsplitn(3, '-');
            let (_size, version, id) = (parts.next(), parts.next(), parts.next());
            if let (Some(version), Some(id)) = (version, id) {
                if id == me && is_version(version) && version != keep {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FaceError {
    #[error("{0}")]
    Api(#[from] ApiError),
    #[error("a photo could not be kept on this computer: {0}")]
    Disk(String),
}

fn rounded(size: u32) -> u32 {
    SIZES
        .iter()
        .copied()
        .find(|&s| s >= size)
        .unwrap_or(SIZES[SIZES.len() - 1])
}

/// A version as the server makes them (16 hex digits): nothing else names a file.
fn is_version(v: &str) -> bool {
    v.len() == 16 && v.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A person's id as part of a file name (ids may hold `:`, which Windows refuses).
fn safe(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_servers_version_names_a_file() {
        assert!(is_version("0123456789abcdef"));
        assert!(!is_version("../../etc/passwd"));
        assert!(!is_version("0123456789abcdeg"));
        assert_eq!(safe("a:b@c+d"), "a_b_c_d");
        assert_eq!(rounded(1), 32);
        assert_eq!(rounded(65), 128);
        assert_eq!(rounded(9999), 256);
    }

    #[test]
    fn a_new_version_removes_the_old_ones_files() {
        let dir = tempfile::tempdir().unwrap();
        let faces = Faces::new(dir.path());
        let user = UserId::parse("u-1").unwrap();
        let other = UserId::parse("u-1-aaaaaaaaaaaaaaaa").unwrap();
        std::fs::write(faces.file(&user, "aaaaaaaaaaaaaaaa", 64), b"old").unwrap();
        std::fs::write(faces.file(&other, "cccccccccccccccc", 64), b"theirs").unwrap();
        std::fs::write(faces.file(&user, "bbbbbbbbbbbbbbbb", 32), b"new").unwrap();
        faces.forget_other_versions(&user, "bbbbbbbbbbbbbbbb");
        assert!(faces.cached(&user, "bbbbbbbbbbbbbbbb", 32).is_some());
        assert!(faces.cached(&user, "aaaaaaaaaaaaaaaa", 64).is_none());
        assert!(faces.cached(&other, "cccccccccccccccc", 64).is_some());
    }
}
