//! Credential files on disk: the per-user stores earlier versions kept under
//! `DATA_DIR/sessions/<user>/`, imported into the registry on the first start, and the private
//! files the daemon writes (0600, atomically).

use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;

use tracing::{info, warn};

use crate::backend::whatsapp::STORE_FILE;
use crate::registry::credentials::import_store_file;
use crate::registry::{Registry, UserKey};

/// Where the stores of earlier versions live, and where they go once imported.
const LEGACY_DIR: &str = "sessions";
const IMPORTED_DIR: &str = "sessions.imported";

/// What the import of a data dir's old stores did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct LegacyImport {
    pub imported: Vec<String>,
    /// Stores left where they are, with why (unknown user, already imported, unreadable).
    pub skipped: Vec<(String, String)>,
}

/// Imports every `DATA_DIR/sessions/<user>/whatsapp.db` into the registry. Each store is
/// copied in one transaction and then moved to `DATA_DIR/sessions.imported/<user>/`, so a
/// restart never imports it twice and nothing is deleted.
pub async fn import_legacy_stores(
    registry: &Registry,
    data_dir: &Path,
) -> io::Result<LegacyImport> {
    let root = data_dir.join(LEGACY_DIR);
    let mut report = LegacyImport::default();
    let entries = match fs::read_dir(&root) {
        Ok(entries) => entries,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(report),
        Err(error) => return Err(error),
    };
    let mut names: Vec<String> = entries
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.file_type().is_ok_and(|kind| kind.is_dir()))
        .filter_map(|entry| entry.file_name().to_str().map(str::to_string))
        .collect();
    names.sort();
    for name in names {
        let file = root.join(&name).join(STORE_FILE);
        let skip = |why: String| (name.clone(), why);
        let Ok(user) = UserKey::parse(&name) else {
            continue;
        };
        if !file.is_file() {
            continue;
        }
        match import_store_file(registry, &user, &file).await {
            Ok(Some(copied)) => {
                info!(%user, rows = copied.rows, "imported the credential store of an earlier version");
                let target = data_dir.join(IMPORTED_DIR);
                create_private_dir(&target)?;
                fs::rename(root.join(&name), target.join(&name))?;
                report.imported.push(name.clone());
            }
            Ok(None) => report.skipped.push(skip("no device in the store".into())),
            Err(error) => {
                warn!(%user, %error, "credential store not imported; left in place");
                report.skipped.push(skip(error.to_string()));
            }
        }
    }
    Ok(report)
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
