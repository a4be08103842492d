//! `--offline`: recovery with the daemon stopped. It takes the data dir's lock itself, so it
//! refuses while a daemon runs and no daemon can start under it, then uses the registry's own
//! operations (never its tables); credentials live in the registry and go with the changes
//! that make them useless.

use std::path::PathBuf;

use super::args::Global;
use super::Error;
use crate::datadir::{self, DataDirGuard};
use crate::import::baileys;
use crate::model::{BaileysImportReport, CleanupReport, Connection, ResetReport, Resolution};
use crate::paths;
use crate::protocol::ImportBaileysParams;
use crate::registry::{CleanupScope, PhoneNumber, Registry, UserKey};

pub struct Offline {
    pub registry: Registry,
    _lock: DataDirGuard,
}

impl Offline {
    pub async fn open(global: &Global) -> Result<Offline, Error> {
        let data_dir: PathBuf = global
            .data_dir
            .clone()
            .unwrap_or_else(paths::default_data_dir);
        if !data_dir.is_dir() {
            return Err(Error::Usage(format!(
                "no data dir at {} (use --data-dir)",
                data_dir.display()
            )));
        }
        let lock = datadir::lock(&data_dir).map_err(|error| match error {
            datadir::Error::AlreadyRunning(message) => Error::Refused(format!(
                "{message}: stop it first, or run the command without --offline"
            )),
            other => Error::Io(other.to_string()),
        })?;
        let url = global
            .database_url
            .clone()
            .unwrap_or_else(|| paths::default_database_url(&data_dir));
        let node = datadir::read_node_id(&data_dir).unwrap_or_else(paths::default_node_id);
        let registry = Registry::open(&url, &node).await?;
        Ok(Offline {
            registry,
            _lock: lock,
        })
    }

    /// Adopts Baileys devices (see `import::baileys`).
    pub async fn import_baileys(
        &self,
        params: &ImportBaileysParams,
    ) -> Result<BaileysImportReport, Error> {
        baileys::import(&self.registry, params)
            .await
            .map_err(|error| match error {
                baileys::ImportError::Folder { .. } => Error::Refused(error.to_string()),
                baileys::ImportError::Usage(message) => Error::Usage(message),
                baileys::ImportError::Registry(error) => error.into(),
            })
    }

    pub async fn resolve_conflicts(
        &self,
        dry_run: bool,
        phone: Option<&PhoneNumber>,
    ) -> Result<Resolution, Error> {
        Ok(self.registry.resolve_conflicts(dry_run, phone).await?)
    }

    /// The registry's cleanup without the "no live session" step (a stopped daemon resumes
    /// its `CONNECTED` rows on start), plus orphaned credentials.
    pub async fn cleanup(&self, dry_run: bool) -> Result<CleanupReport, Error> {
        let mut report = self
            .registry
            .cleanup(&CleanupScope::default(), dry_run)
            .await?;
        report.orphan_stores = self.registry.orphan_credentials(dry_run).await?.len() as u64;
        Ok(report)
    }

    pub async fn reset(&self, user: Option<&UserKey>) -> Result<ResetReport, Error> {
        Ok(self.registry.reset(user).await?)
    }

    pub async fn remove_user(&self, user: &UserKey) -> Result<Connection, Error> {
        Ok(self.registry.remove_user(user).await?)
    }
}
