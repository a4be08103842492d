//! Per-user WhatsApp credential stores under `DATA_DIR/sessions/`: one directory per user,
//! named by the user key, so resetting or logging out one user never touches another's files
//! and an operator can see at a glance whose store is whose. Directories are 0700 and the
//! files the backends write in them 0600.

use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use std::collections::HashSet;

use crate::registry::{Registry, UserKey};

#[derive(Debug, Clone)]
pub struct CredentialStore {
    root: PathBuf,
}

impl CredentialStore {
    /// The stores under `data_dir/sessions` (created 0700 when missing).
    pub fn open(data_dir: &Path) -> io::Result<CredentialStore> {
        let root = data_dir.join("sessions");
        create_private_dir(&root)?;
        Ok(CredentialStore { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The directory holding `user`'s credentials (it may not exist).
    pub fn dir(&self, user: &UserKey) -> PathBuf {
        self.root.join(user.as_str())
    }

    pub fn exists(&self, user: &UserKey) -> bool {
        self.dir(user).is_dir()
    }

    /// Creates an empty store for `user`, replacing any previous one.
    pub fn create_fresh(&self, user: &UserKey) -> io::Result<PathBuf> {
        self.delete(user)?;
        let dir = self.dir(user);
        create_private_dir(&dir)?;
        Ok(dir)
    }

    /// Deletes `user`'s store; true when there was one.
    pub fn delete(&self, user: &UserKey) -> io::Result<bool> {
        match fs::remove_dir_all(self.dir(user)) {
            Ok(()) => Ok(true),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// The users that have a store, by key. Entries that are not valid user keys (an
    /// operator's backup folder, say) are left alone.
    pub fn users(&self) -> io::Result<Vec<String>> {
        let mut found = Vec::new();
        for entry in fs::read_dir(&self.root)? {
            let entry = entry?;
            if !entry.file_type()?.is_dir() {
                continue;
            }
            if let Some(name) = entry.file_name().to_str() {
                if UserKey::parse(name).is_ok() {
                    found.push(name.to_string());
                }
            }
        }
        found.sort();
        Ok(found)
    }
}

/// Creates `dir` (and parents) with mode 0700, and tightens it if it already existed.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
}

/// Writes `contents` to `path` with mode 0600, atomically (temp file and rename).
pub fn write_private_file(path: &Path, contents: &[u8]) -> io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let temp = path.with_extension("tmp");
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temp)?;
    file.write_all(contents)?;
    file.sync_all()?;
    fs::rename(&temp, path)
}

/// Deletes credential stores that no registry row of this node needs (and no session here
/// uses); returns how many there were.
pub async fn remove_orphan_stores(
    registry: &Registry,
    store: &CredentialStore,
    in_use: &HashSet<String>,
    dry_run: bool,
) -> std::io::Result<u64> {
    let present = store.users()?;
    let needed: HashSet<String> = registry
        .stores_needed(&present)
        .await
        .map_err(io::Error::other)?
        .into_iter()
        .collect();
    let mut removed = 0;
    for name in present {
        if needed.contains(&name) || in_use.contains(&name) {
            continue;
        }
        removed += 1;
        if !dry_run {
            if let Ok(user) = UserKey::parse(&name) {
                store.delete(&user)?;
            }
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_are_private_and_per_user() -> io::Result<()> {
        let data = tempfile::tempdir()?;
        let store = CredentialStore::open(data.path())?;
        let alice = UserKey::parse("alice@example.com").map_err(io::Error::other)?;
        let bob = UserKey::parse("bob@example.com").map_err(io::Error::other)?;
        let dir = store.create_fresh(&alice)?;
        write_private_file(&dir.join("creds.json"), b"{}")?;
        store.create_fresh(&bob)?;
        fs::create_dir(store.root().join("not a user"))?;

        let mode = |p: &Path| fs::metadata(p).map(|m| m.permissions().mode() & 0o777);
        assert_eq!(mode(&dir)?, 0o700);
        assert_eq!(mode(&dir.join("creds.json"))?, 0o600);
        assert_eq!(store.users()?, ["alice@example.com", "bob@example.com"]);
        assert!(store.delete(&alice)?);
        assert!(!store.delete(&alice)?);
        assert!(store.exists(&bob));
        Ok(())
    }
}
