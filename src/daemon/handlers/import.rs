//! `import.registry`: another application's users and connection rows, read by the daemon
//! from the source the client names (an absolute path or a `postgres://` URL); and
//! `import.baileys`: devices Baileys linked, from the auth folders the client names.

use std::sync::Arc;

use crate::daemon::supervisor::Supervisor;
use crate::daemon::Error;
use crate::import::baileys;
use crate::import::registry::{self, ImportError};
use crate::model::{BaileysImportReport, ImportReport};
use crate::protocol::{ImportBaileysParams, ImportRegistryParams};
use crate::registry::ImportOptions;

/// `import.baileys`: devices Baileys linked, adopted from their auth folders.
pub async fn import_baileys(
    supervisor: &Arc<Supervisor>,
    params: ImportBaileysParams,
) -> Result<BaileysImportReport, Error> {
    let report = baileys::import(supervisor.registry(), &params)
        .await
        .map_err(|error| match error {
            baileys::ImportError::Folder { .. } => Error::refused(error.to_string()),
            baileys::ImportError::Usage(message) => Error::InvalidParams(message),
            baileys::ImportError::Registry(error) => error.into(),
        })?;
    if !report.dry_run {
        supervisor.changed();
        if report.log_in {
            // Now rather than at the next heartbeat.
            tokio::spawn(supervisor.clone().log_in_adopted());
        }
    }
    Ok(report)
}

pub async fn import_registry(
    supervisor: &Supervisor,
    params: ImportRegistryParams,
    hello: &crate::protocol::HelloResult,
) -> Result<ImportReport, Error> {
    if refers_to_own_registry(&params.source.from, hello) {
        return Err(Error::InvalidParams(
            "--from names wasess's own registry: import from the other application's database"
                .into(),
        ));
    }
    let options = ImportOptions {
        dry_run: params.dry_run,
        merge: params.merge,
    };
    let report = registry::import(supervisor.registry(), &params.source, options)
        .await
        .map_err(|error| match error {
            ImportError::Source(error) => Error::InvalidParams(error.to_string()),
            ImportError::Registry(error) => error.into(),
        })?;
    if !report.dry_run {
        supervisor.changed();
    }
    Ok(report)
}

/// Whether `from` is this daemon's own registry (or a file in its data dir).
fn refers_to_own_registry(from: &str, hello: &crate::protocol::HelloResult) -> bool {
    let path = from
        .strip_prefix("sqlite://")
        .or_else(|| from.strip_prefix("sqlite:"))
        .unwrap_or(from);
    let in_data_dir = std::path::Path::new(path)
        .canonicalize()
        .ok()
        .zip(std::path::Path::new(&hello.data_dir).canonicalize().ok())
        .is_some_and(|(path, data_dir)| path.starts_with(data_dir));
    in_data_dir || crate::registry::redact(from) == hello.database
}
