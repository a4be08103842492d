//! `import registry`: another application's users and connection rows; `import baileys`:
//! the devices Baileys linked, from their auth folders. Through the daemon (which reads the
//! source) or `--offline` with the daemon stopped (the cut-over runbook).

use std::path::{Path, PathBuf};

use crate::cli::args::{Global, ImportBaileysArgs, ImportRegistryArgs};
use crate::cli::{output, Error, Outcome, Source};
use crate::import::registry::{self, ImportError, SourceOptions};
use crate::model::{BaileysImportReport, ImportReport};
use crate::protocol::{method, BaileysTarget, ImportBaileysParams, ImportRegistryParams};
use crate::registry::ImportOptions;

pub async fn baileys(global: &Global, args: ImportBaileysArgs) -> Result<Outcome, Error> {
    let params = ImportBaileysParams {
        targets: baileys_targets(&args)?,
        dry_run: args.dry_run,
        skip_unpaired: args.skip_unpaired,
        no_reconnect: args.no_reconnect,
    };
    let report: BaileysImportReport = match Source::open(global).await? {
        daemon @ Source::Daemon(_) => {
            daemon
                .client()
                .await?
                .call(method::IMPORT_BAILEYS, params)
                .await?
        }
        Source::Offline(offline) => offline.import_baileys(&params).await?,
    };
    Ok(Outcome::deferred(report, output::baileys_import_report))
}

/// The folders to import and their users, with absolute paths.
fn baileys_targets(args: &ImportBaileysArgs) -> Result<Vec<BaileysTarget>, Error> {
    if let (Some(folder), Some(user)) = (&args.auth_dir, &args.user) {
        return Ok(vec![BaileysTarget {
            folder: absolute_folder(folder, "--auth-dir")?,
            user: user.clone(),
        }]);
    }
    let Some(all) = &args.all else {
        return Err(Error::Usage(
            "give --auth-dir DIR --user U, or --all DIR".into(),
        ));
    };
    let mapping = match &args.users {
        Some(file) => read_user_map(file)?,
        None => Vec::new(),
    };
    let root = absolute_folder(all, "--all")?;
    let mut folders: Vec<PathBuf> = std::fs::read_dir(&root)
        .map_err(|error| Error::Usage(format!("--all {}: {error}", all.display())))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        // Hidden folders (`.git`, say) are no tenant's.
        .filter(|path| {
            path.is_dir()
                && !path
                    .file_name()
                    .is_some_and(|name| name.to_string_lossy().starts_with('.'))
        })
        .collect();
    folders.sort();
    if folders.is_empty() {
        return Err(Error::Usage(format!(
            "--all {}: no auth folders in it (one folder per tenant, each with a creds.json)",
            all.display()
        )));
    }
    for (folder, _) in &mapping {
        if !folders
            .iter()
            .any(|path| path.file_name() == Some(folder.as_ref()))
        {
            return Err(Error::Usage(format!(
                "--users names '{folder}', which is not a folder of {}",
                all.display()
            )));
        }
    }
    Ok(folders
        .into_iter()
        .map(|path| {
            let name = path
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default();
            let user = mapping
                .iter()
                .find(|(folder, _)| *folder == name)
                .map_or(name, |(_, user)| user.clone());
            BaileysTarget {
                folder: path.display().to_string(),
                user,
            }
        })
        .collect())
}

/// `FOLDER USER` per line; blank lines and `#` comments are skipped.
fn read_user_map(file: &Path) -> Result<Vec<(String, String)>, Error> {
    let text = std::fs::read_to_string(file)
        .map_err(|error| Error::Usage(format!("--users {}: {error}", file.display())))?;
    let mut mapping = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        let mut words = line.split_whitespace();
        match (words.next(), words.next(), words.next()) {
            (Some(folder), Some(_), None) if mapping.iter().any(|(f, _)| f == folder) => {
                return Err(Error::Usage(format!(
                    "--users {} line {}: '{folder}' is named twice",
                    file.display(),
                    number + 1
                )))
            }
            (Some(folder), Some(user), None) => {
                mapping.push((folder.to_string(), user.to_string()))
            }
            _ => {
                return Err(Error::Usage(format!(
                    "--users {} line {}: expected `FOLDER USER`",
                    file.display(),
                    number + 1
                )))
            }
        }
    }
    Ok(mapping)
}

/// `folder` as the daemon must see it: absolute, and a folder.
fn absolute_folder(folder: &Path, flag: &str) -> Result<String, Error> {
    if !folder.is_dir() {
        return Err(Error::Usage(format!(
            "{flag} {}: no such folder",
            folder.display()
        )));
    }
    let absolute = std::path::absolute(folder)
        .map_err(|error| Error::Usage(format!("{flag} {}: {error}", folder.display())))?;
    Ok(absolute.display().to_string())
}

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
