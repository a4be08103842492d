//! `--offline`: recovery with the daemon stopped. It takes the data dir's lock itself, so it
//! refuses while a daemon runs and no daemon can start under it, then uses the registry's own
//! operations (never its tables) and the credential stores of the data dir.

use std::path::PathBuf;

use super::args::Global;
use super::Error;
use crate::credentials::{remove_orphan_stores, CredentialStore};
use crate::datadir::{self, DataDirGuard};
use crate::model::{CleanupReport, Connection, ResetReport, Resolution};
use crate::paths;
use crate::registry::{CleanupScope, PhoneNumber, Registry, UserKey};

pub struct Offline {
    pub registry: Registry,
    store: CredentialStore,
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
            crate::daemon::Error::AlreadyRunning(message) => Error::Refused(format!(
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
        let store = CredentialStore::open(&data_dir)
            .map_err(|error| Error::io("cannot open the credential stores", error))?;
        Ok(Offline {
            registry,
            store,
            _lock: lock,
        })
    }

    fn forget(&self, user: &str) -> Result<(), Error> {
        if let Ok(user) = UserKey::parse(user) {
            self.store
                .delete(&user)
                .map_err(|error| Error::io(format!("cannot delete the store of {user}"), error))?;
        }
        Ok(())
    }

    pub async fn resolve_conflicts(
        &self,
        dry_run: bool,
        phone: Option<&PhoneNumber>,
    ) -> Result<Resolution, Error> {
        let resolution = self.registry.resolve_conflicts(dry_run, phone).await?;
        if !dry_run {
            for holder in resolution.actions.iter().flat_map(|a| &a.detached) {
                if holder.node_id.as_deref() == Some(self.registry.node_id()) {
                    self.forget(&holder.user)?;
                }
            }
        }
        Ok(resolution)
    }

    /// The registry's cleanup without the "no live session" step (a stopped daemon resumes
    /// its `CONNECTED` rows on start), plus orphan stores.
    pub async fn cleanup(&self, dry_run: bool) -> Result<CleanupReport, Error> {
        let mut report = self
            .registry
            .cleanup(&CleanupScope::default(), dry_run)
            .await?;
        report.orphan_stores =
            remove_orphan_stores(&self.registry, &self.store, &Default::default(), dry_run)
                .await
                .map_err(|error| Error::io("cannot clean credential stores", error))?;
        Ok(report)
    }

    pub async fn reset(&self, user: Option<&UserKey>) -> Result<ResetReport, Error> {
        let report = self.registry.reset(user).await?;
        match user {
            Some(user) => self.forget(user.as_str())?,
            None => {
                let stored = self
                    .store
                    .users()
                    .map_err(|error| Error::io("cannot list credential stores", error))?;
                for user in stored {
                    self.forget(&user)?;
                }
            }
        }
        Ok(report)
    }

    pub async fn remove_user(&self, user: &UserKey) -> Result<Connection, Error> {
        let before = self.registry.remove_user(user).await?;
        self.forget(user.as_str())?;
        Ok(before)
    }
}
