//! The data directory and the one-daemon-per-data-dir rule: a daemon holds an exclusive lock
//! on `DATA_DIR/wasessd.lock` for its whole life (the lock dies with the process, so a crash
//! never leaves it behind), and writes its pid there for messages and `doctor`.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// What can go wrong with the data dir. The daemon and the offline CLI each turn it into
/// their own errors: this module sits below both.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Another daemon holds the data dir.
    #[error("{0}")]
    AlreadyRunning(String),
    #[error("{0}")]
    Io(String),
}

impl Error {
    fn io(context: impl std::fmt::Display, error: std::io::Error) -> Error {
        Error::Io(format!("{context}: {error}"))
    }
}

pub const LOCK_FILE: &str = "wasessd.lock";
pub const NODE_ID_FILE: &str = "node-id";

/// Holds the data dir for as long as it lives.
#[derive(Debug)]
pub struct DataDirGuard {
    _file: File,
    path: PathBuf,
}

impl DataDirGuard {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Creates the data dir (0750) when missing.
pub fn prepare(data_dir: &Path) -> Result<(), Error> {
    fs::create_dir_all(data_dir)
        .map_err(|error| Error::io(format!("cannot create {}", data_dir.display()), error))?;
    fs::set_permissions(data_dir, fs::Permissions::from_mode(0o750)).map_err(|error| {
        Error::io(
            format!("cannot set the mode of {}", data_dir.display()),
            error,
        )
    })
}

/// Takes the data dir, or says which daemon has it.
pub fn lock(data_dir: &Path) -> Result<DataDirGuard, Error> {
    let path = data_dir.join(LOCK_FILE);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|error| Error::io(format!("cannot open {}", path.display()), error))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(fs::TryLockError::WouldBlock) => {
            let holder = read_pid(&mut file)
                .map(|pid| format!(" (pid {pid})"))
                .unwrap_or_default();
            return Err(Error::AlreadyRunning(format!(
                "another wasessd{holder} is already running on {}",
                data_dir.display()
            )));
        }
        Err(fs::TryLockError::Error(error)) => {
            return Err(Error::io(format!("cannot lock {}", path.display()), error))
        }
    }
    file.set_len(0)
        .and_then(|()| file.rewind())
        .and_then(|()| writeln!(file, "{}", std::process::id()))
        .and_then(|()| file.sync_all())
        .map_err(|error| Error::io(format!("cannot write {}", path.display()), error))?;
    Ok(DataDirGuard { _file: file, path })
}

/// Who holds `data_dir`, without taking it: `Some(pid)` (0 when unknown) while a daemon runs.
pub fn holder(data_dir: &Path) -> Option<u32> {
    let path = data_dir.join(LOCK_FILE);
    let mut file = OpenOptions::new().read(true).write(true).open(path).ok()?;
    match file.try_lock() {
        Ok(()) => None,
        Err(_) => Some(read_pid(&mut file).unwrap_or(0)),
    }
}

fn read_pid(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.rewind().ok()?;
    file.read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

/// Records the node id, so offline tools act as the node that owns this data dir.
pub fn write_node_id(data_dir: &Path, node_id: &str) -> Result<(), Error> {
    let path = data_dir.join(NODE_ID_FILE);
    fs::write(&path, format!("{node_id}\n"))
        .map_err(|error| Error::io(format!("cannot write {}", path.display()), error))
}

pub fn read_node_id(data_dir: &Path) -> Option<String> {
    fs::read_to_string(data_dir.join(NODE_ID_FILE))
        .ok()
        .map(|text| text.trim().to_string())
        .filter(|id| !id.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_daemon_per_data_dir() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        prepare(dir.path())?;
        assert_eq!(holder(dir.path()), None);
        let guard = lock(dir.path())?;
        assert_eq!(holder(dir.path()), Some(std::process::id()));
        let second = lock(dir.path()).expect_err("second lock");
        assert!(second.to_string().contains("already running"), "{second}");
        drop(guard);
        assert_eq!(holder(dir.path()), None);
        Ok(())
    }
}
