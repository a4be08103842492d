//! `import.registry`: another application's users and connection rows, read by the daemon
//! from the source the client names (an absolute path or a `postgres://` URL).

use crate::daemon::supervisor::Supervisor;
use crate::daemon::Error;
use crate::import::registry::{self, ImportError};
use crate::model::ImportReport;
use crate::protocol::ImportRegistryParams;
use crate::registry::ImportOptions;

pub async fn import_registry(
    supervisor: &Supervisor,
    params: ImportRegistryParams,
) -> Result<ImportReport, Error> {
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
