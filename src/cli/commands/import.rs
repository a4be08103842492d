//! `import registry`: another application's users and connection rows, through the daemon
//! (which reads the source) or `--offline` with the daemon stopped (the cut-over runbook).

use crate::cli::args::{Global, ImportRegistryArgs};
use crate::cli::{output, Error, Outcome, Source};
use crate::import::registry::{self, ImportError, SourceOptions};
use crate::model::ImportReport;
use crate::protocol::{method, ImportRegistryParams};
use crate::registry::ImportOptions;

pub async fn registry(global: &Global, args: ImportRegistryArgs) -> Result<Outcome, Error> {
    let source = SourceOptions {
        from: absolute_source(&args.from)?,
        table: args.table,
        users_table: args.users_table,
        user_key: args.user_key,
        map: args.map,
    };
    let report: ImportReport = match Source::open(global).await? {
        daemon @ Source::Daemon(_) => {
            let params = ImportRegistryParams {
                source,
                dry_run: args.dry_run,
                merge: args.merge,
            };
            daemon
                .client()
                .await?
                .call(method::IMPORT_REGISTRY, params)
                .await?
        }
        Source::Offline(offline) => {
            let options = ImportOptions {
                dry_run: args.dry_run,
                merge: args.merge,
            };
            registry::import(&offline.registry, &source, options)
                .await
                .map_err(|error| match error {
                    ImportError::Source(error) => Error::Usage(error.to_string()),
                    ImportError::Registry(error) => error.into(),
                })?
        }
    };
    Ok(Outcome::deferred(report, output::import_report))
}

/// The source as the daemon must see it: a SQLite path made absolute (the daemon does not
/// share this shell's working directory), a PostgreSQL URL as it is.
fn absolute_source(from: &str) -> Result<String, Error> {
    if from.starts_with("postgres://") || from.starts_with("postgresql://") {
        return Ok(from.to_string());
    }
    let path = from
        .strip_prefix("sqlite://")
        .or_else(|| from.strip_prefix("sqlite:"))
        .unwrap_or(from);
    let path = std::path::Path::new(path);
    if !path.is_file() {
        return Err(Error::Usage(format!(
            "--from {from}: no such file (give sqlite:PATH to a SQLite database, or a \
             postgres:// URL)"
        )));
    }
    let absolute = std::path::absolute(path)
        .map_err(|error| Error::Usage(format!("--from {from}: {error}")))?;
    Ok(format!("sqlite:{}", absolute.display()))
}
