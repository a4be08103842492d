//! `--offline` where there is no daemon to stand in for (Windows): recovery with the daemon
//! stopped happens on the daemon's own host, so every offline command says so.

use super::args::Global;
use super::Error;
use crate::model::{BaileysImportReport, CleanupReport, Connection, ResetReport, Resolution};
use crate::protocol::ImportBaileysParams;
use crate::registry::{PhoneNumber, Registry, UserKey};

pub struct Offline {
    pub registry: Registry,
}

fn unsupported<T>() -> Result<T, Error> {
    Err(Error::Usage(
        "--offline works on the daemon's host only (Linux); here, reach the daemon with --connect"
            .into(),
    ))
}

impl Offline {
    pub async fn open(_global: &Global) -> Result<Offline, Error> {
        unsupported()
    }

    pub async fn import_baileys(
        &self,
        _params: &ImportBaileysParams,
    ) -> Result<BaileysImportReport, Error> {
        unsupported()
    }

    pub async fn resolve_conflicts(
        &self,
        _dry_run: bool,
        _phone: Option<&PhoneNumber>,
    ) -> Result<Resolution, Error> {
        unsupported()
    }

    pub async fn cleanup(&self, _dry_run: bool) -> Result<CleanupReport, Error> {
        unsupported()
    }

    pub async fn reset(&self, _user: Option<&UserKey>) -> Result<ResetReport, Error> {
        unsupported()
    }

    pub async fn remove_user(&self, _user: &UserKey) -> Result<Connection, Error> {
        unsupported()
    }
}
