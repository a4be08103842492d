//! `doctor`: what the old troubleshooting page asked people to check by hand, each as ok,
//! warning or problem with the command that fixes it. Exit 3 when a problem exists.
//!
//! It reads the data dir and the registry directly (never writing), so it works whether the
//! daemon runs, hangs or is stopped.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::cli::args::Global;
use crate::cli::client::Target;
use crate::cli::{target, Client, Error, Outcome};
use crate::exit::Exit;
use crate::protocol::{method, Empty, HelloResult};
use crate::registry::{redact, LeftLinked, Registry};
use crate::{datadir, paths};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Ok,
    Warning,
    Problem,
}

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub check: &'static str,
    pub level: Level,
    pub detail: String,
    /// The command that fixes it, when something needs fixing.
    pub fix: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub checks: Vec<Check>,
    pub problems: usize,
    pub warnings: usize,
}

fn ok(check: &'static str, detail: impl Into<String>) -> Check {
    Check {
        check,
        level: Level::Ok,
        detail: detail.into(),
        fix: None,
    }
}

fn warning(check: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
    Check {
        check,
        level: Level::Warning,
        detail: detail.into(),
        fix: Some(fix.into()),
    }
}

fn problem(check: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
    Check {
        check,
        level: Level::Problem,
        detail: detail.into(),
        fix: Some(fix.into()),
    }
}

pub async fn doctor(global: &Global) -> Result<Outcome, Error> {
    let answer = ask_daemon(global).await;
    // The running daemon says where its data dir and registry are, unless told otherwise.
    let hello = answer.hello.as_ref().ok();
    let data_dir = global
        .data_dir
        .clone()
        .or_else(|| {
            hello
                .map(|hello| PathBuf::from(&hello.data_dir))
                .filter(|dir| !dir.as_os_str().is_empty())
        })
        .unwrap_or_else(paths::default_data_dir);
    let mut checks = Vec::new();
    let holder = datadir::holder(&data_dir);
    checks.push(daemon_check(&answer, holder));
    checks.push(pid_file_check(&data_dir, holder));
    checks.push(writable_check(&data_dir));
    let daemons_url = hello
        .map(|hello| hello.database.clone())
        .filter(|url| !url.is_empty());
    if global.database_url.is_none()
        && daemons_url
            .as_deref()
            .is_some_and(|url| url.starts_with("postgres"))
    {
        checks.push(warning(
            "registry",
            format!(
                "the daemon's registry is {}",
                daemons_url.as_deref().unwrap_or_default()
            ),
            "pass --database-url (or set WASESS_DATABASE_URL) to check it too",
        ));
        return Ok(finish(checks));
    }
    let url = global
        .database_url
        .clone()
        .or(daemons_url)
        .unwrap_or_else(|| paths::default_database_url(&data_dir));
    let local_sqlite = !url.starts_with("postgres");
    if local_sqlite && !data_dir.join("registry.db").exists() && global.database_url.is_none() {
        checks.push(problem(
            "registry",
            format!("no registry at {}", data_dir.join("registry.db").display()),
            "start the daemon once (`wasessd`) to create it, or pass --data-dir",
        ));
    } else {
        let node = datadir::read_node_id(&data_dir).unwrap_or_else(paths::default_node_id);
        match Registry::open(&url, &node).await {
            Ok(registry) => {
                registry_checks(&registry, &mut checks).await;
                registry.close().await;
            }
            Err(error) => checks.push(problem(
                "registry",
                format!("cannot open {}: {error}", redact(&url)),
                "check the file or URL; restore it from a backup, or move it aside and let \
                 wasessd create a new one",
            )),
        }
    }
    Ok(finish(checks))
}

fn finish(checks: Vec<Check>) -> Outcome {
    let problems = checks.iter().filter(|c| c.level == Level::Problem).count();
    let warnings = checks.iter().filter(|c| c.level == Level::Warning).count();
    let report = Report {
        checks,
        problems,
        warnings,
    };
    let human = render(&report);
    let exit = if problems > 0 {
        Exit::Refused
    } else {
        Exit::Ok
    };
    Outcome::new(&report, human).exit(exit)
}

/// What the daemon answered to `hello`, where, and how fast.
struct DaemonAnswer {
    place: String,
    elapsed: Duration,
    hello: Result<HelloResult, Answered>,
}

enum Answered {
    Unreachable(String),
    BadTarget(String),
    Silent,
}

async fn ask_daemon(global: &Global) -> DaemonAnswer {
    let target = match target(global) {
        Ok(target) => target,
        Err(error) => {
            return DaemonAnswer {
                place: String::new(),
                elapsed: Duration::ZERO,
                hello: Err(Answered::BadTarget(error.to_string())),
            }
        }
    };
    let started = Instant::now();
    let answered = tokio::time::timeout(Duration::from_secs(5), async {
        let mut client = Client::connect(&target).await?;
        client.call::<HelloResult>(method::HELLO, Empty {}).await
    })
    .await;
    let place = match &target {
        Target::Unix(socket) => socket.display().to_string(),
        Target::Tcp { address, .. } => format!("tcp://{address}"),
    };
    DaemonAnswer {
        place,
        elapsed: started.elapsed(),
        hello: match answered {
            Ok(Ok(hello)) => Ok(hello),
            Ok(Err(error)) => Err(Answered::Unreachable(error.to_string())),
            Err(_) => Err(Answered::Silent),
        },
    }
}

fn daemon_check(answer: &DaemonAnswer, holder: Option<u32>) -> Check {
    let place = &answer.place;
    match (&answer.hello, holder) {
        (Err(Answered::BadTarget(error)), _) => problem("daemon", error.clone(), "fix --connect"),
        (Ok(hello), _) => ok(
            "daemon",
            format!(
                "wasessd {} (pid {}, node {}, {} backend) answers on {place} in {:.1} ms",
                hello.version,
                hello.pid,
                hello.node_id,
                hello.backend,
                answer.elapsed.as_secs_f64() * 1000.0
            ),
        ),
        (_, Some(pid)) => problem(
            "daemon",
            format!("wasessd (pid {pid}) holds the data dir but does not answer on {place}"),
            format!("check its log; restart it (`systemctl restart wasessd`, or `kill {pid}` and start it again)"),
        ),
        (Err(Answered::Unreachable(error)), None) => warning(
            "daemon",
            format!("no daemon answers on {place}: {error}"),
            "start it: `wasessd` (or `systemctl start wasessd`)",
        ),
        (Err(Answered::Silent), None) => warning(
            "daemon",
            format!("no answer on {place} within 5 s"),
            "start it: `wasessd` (or `systemctl start wasessd`)",
        ),
    }
}

fn pid_file_check(data_dir: &Path, holder: Option<u32>) -> Check {
    let pid_file = data_dir.join("wasessd.pid");
    let Ok(text) = std::fs::read_to_string(&pid_file) else {
        return ok("pid file", "none (foreground or systemd daemon)");
    };
    let pid: Option<u32> = text.trim().parse().ok();
    let alive = pid.is_some_and(|pid| Path::new(&format!("/proc/{pid}")).exists());
    match (pid, alive, holder) {
        (Some(pid), true, Some(holder)) if pid == holder => ok(
            "pid file",
            format!("{} names the running daemon", pid_file.display()),
        ),
        (Some(pid), true, Some(holder)) => problem(
            "pid file",
            format!(
                "{} names pid {pid}, but pid {holder} holds the data dir: two daemons were started",
                pid_file.display()
            ),
            format!("stop the extra one: `kill {pid}`"),
        ),
        _ if holder.is_some() => ok("pid file", "the daemon runs in the foreground"),
        _ => warning(
            "pid file",
            format!("{} is stale: no daemon runs", pid_file.display()),
            format!("rm {}", pid_file.display()),
        ),
    }
}

fn writable_check(data_dir: &Path) -> Check {
    if !data_dir.is_dir() {
        return problem(
            "data dir",
            format!("{} does not exist", data_dir.display()),
            "start the daemon once to create it, or pass --data-dir",
        );
    }
    let probe: PathBuf = data_dir.join(format!(".doctor-{}", std::process::id()));
    match std::fs::write(&probe, b"") {
        Ok(()) => {
            let _ = std::fs::remove_file(&probe);
            ok("data dir", format!("{} is writable", data_dir.display()))
        }
        Err(error) => problem(
            "data dir",
            format!("{} is not writable: {error}", data_dir.display()),
            format!(
                "give the daemon's user write access: `chown -R wasess: {}`",
                data_dir.display()
            ),
        ),
    }
}

async fn registry_checks(registry: &Registry, checks: &mut Vec<Check>) {
    match registry.integrity_check().await {
        Ok(result) if result == "ok" => checks.push(ok("database", "integrity check passed")),
        Ok(result) => checks.push(problem(
            "database",
            format!("integrity check failed: {result}"),
            "stop the daemon and restore the registry from a backup",
        )),
        Err(error) => checks.push(problem(
            "database",
            error.to_string(),
            "stop the daemon and restore the registry from a backup",
        )),
    }
    match registry.migration_versions().await {
        Ok((known, applied)) if known == applied => checks.push(ok(
            "migrations",
            format!("{} applied, current", applied.len()),
        )),
        Ok((known, applied)) => checks.push(problem(
            "migrations",
            format!(
                "the registry has {} of this build's {} migrations",
                applied.len(),
                known.len()
            ),
            "run a daemon of this version once (it migrates on start)",
        )),
        Err(error) => checks.push(problem(
            "migrations",
            error.to_string(),
            "restore the registry",
        )),
    }
    match registry.health().await {
        Ok(health) => {
            checks.push(if health.expired_locks > 0 {
                warning(
                    "locks",
                    format!("{} expired lock(s) not yet removed", health.expired_locks),
                    "wasess cleanup",
                )
            } else {
                ok("locks", "no expired locks")
            });
            checks.push(if health.expired_qr > 0 {
                warning(
                    "pending QR codes",
                    format!(
                        "{} pending QR code(s) past their expiry ({} pending in all)",
                        health.expired_qr, health.pending_qr
                    ),
                    "wasess cleanup",
                )
            } else {
                ok(
                    "pending QR codes",
                    format!("{} pending, none expired", health.pending_qr),
                )
            });
            checks.push(if health.users_without_row.is_empty() {
                ok("users", "every user has its connection row")
            } else {
                problem(
                    "users",
                    format!(
                        "users referenced by no connection row: {}",
                        health.users_without_row.join(", ")
                    ),
                    "remove and re-add them: `wasess users remove USER && wasess users add USER`",
                )
            });
        }
        Err(error) => checks.push(problem(
            "registry",
            error.to_string(),
            "restore the registry",
        )),
    }
    match registry.detect_conflicts().await {
        Ok(conflicts) if conflicts.is_empty() => {
            checks.push(ok("conflicts", "every number has at most one holder"))
        }
        Ok(conflicts) => checks.push(problem(
            "conflicts",
            format!("{} number(s) held by more than one user", conflicts.len()),
            "wasess resolve-conflicts --dry-run, then wasess resolve-conflicts",
        )),
        Err(error) => checks.push(problem(
            "conflicts",
            error.to_string(),
            "restore the registry",
        )),
    }
    match registry.orphan_credentials(true).await {
        Ok(orphans) if orphans.is_empty() => checks.push(ok(
            "credentials",
            "every stored credential set belongs to a row that can use it",
        )),
        Ok(orphans) => checks.push(warning(
            "credentials",
            format!(
                "{} credential set(s) no registry row needs: {}",
                orphans.len(),
                orphans
                    .iter()
                    .take(5)
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "wasess cleanup",
        )),
        Err(error) => checks.push(problem(
            "credentials",
            error.to_string(),
            "restore the registry",
        )),
    }
    checks.push(left_linked_check(
        registry.left_linked().await,
        crate::time::Clock::now(&crate::time::SystemClock),
    ));
}

/// Devices let go of without WhatsApp confirming the unlink: each may still take a slot
/// under Linked devices on its phone.
fn left_linked_check(
    found: Result<Vec<LeftLinked>, crate::registry::Error>,
    now: crate::time::Timestamp,
) -> Check {
    // An unlink owed for less than this is most likely still being tried (retried with a
    // growing pause, see `registry::LeftLinked`); an older one has no node working on it.
    let settling = now.minus(UNLINK_SETTLES_IN);
    let found = found.map(|devices| {
        let (in_progress, devices): (Vec<LeftLinked>, Vec<LeftLinked>) = devices
            .into_iter()
            .partition(|device| device.pending && device.at > settling);
        (in_progress, devices)
    });
    match found {
        Ok((in_progress, devices)) if devices.is_empty() && in_progress.is_empty() => ok(
            "linked devices",
            "every device wasess let go of was unlinked on WhatsApp",
        ),
        Ok((in_progress, devices)) if devices.is_empty() => ok(
            "linked devices",
            format!(
                "{} released device(s) are being unlinked: {}",
                in_progress.len(),
                devices_named(&in_progress)
            ),
        ),
        Ok((_, devices)) => warning(
            "linked devices",
            format!(
                "{} device(s) may still be linked: {}",
                devices.len(),
                devices_named(&devices)
            ),
            "remove them on the phones (WhatsApp > Linked devices); the record is kept as long \
             as the events of its time (event_retention)",
        ),
        Err(error) => problem("linked devices", error.to_string(), "restore the registry"),
    }
}

/// How long a released device's unlink may take before doctor calls it missing: longer than
/// every retry of it together (the pauses between them, about 8 minutes, and the attempts).
const UNLINK_SETTLES_IN: std::time::Duration = std::time::Duration::from_secs(20 * 60);

fn devices_named(devices: &[LeftLinked]) -> String {
    devices
        .iter()
        .map(|device| {
            format!(
                "{} ({}, since {}: {})",
                device.user,
                device.phone_number.as_deref().unwrap_or("number unknown"),
                device.at.to_display(),
                device.error
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn render(report: &Report) -> String {
    let mut text = String::new();
    for check in &report.checks {
        let mark = match check.level {
            Level::Ok => "ok     ",
            Level::Warning => "warning",
            Level::Problem => "PROBLEM",
        };
        text.push_str(&format!("{mark}  {:<18} {}\n", check.check, check.detail));
        if let Some(fix) = &check.fix {
            text.push_str(&format!("         {:<18} fix: {fix}\n", ""));
        }
    }
    text.push_str(&format!(
        "{} problem(s), {} warning(s).",
        report.problems, report.warnings
    ));
    text
}

#[cfg(test)]
mod left_linked_tests {
    use super::*;
    use crate::time::Timestamp;

    fn device(user: &str, at: i64, pending: bool) -> LeftLinked {
        LeftLinked {
            user: user.into(),
            phone_number: Some("573001110001".into()),
            at: Timestamp(at),
            error: "number taken by bob@example.com (newest wins): unlink not confirmed".into(),
            pending,
        }
    }

    #[test]
    fn an_owed_unlink_is_in_progress_for_a_while_then_a_device_to_remove() {
        let now = Timestamp(1_000_000_000);
        let fresh = now.minus(Duration::from_secs(5)).millis();
        let stale = now.minus(Duration::from_secs(3600)).millis();

        let check = left_linked_check(Ok(vec![device("alice@example.com", fresh, true)]), now);
        assert_eq!(check.level, Level::Ok, "{check:?}");
        assert!(check
            .detail
            .contains("being unlinked: alice@example.com (573001110001"));

        let check = left_linked_check(Ok(vec![device("alice@example.com", stale, true)]), now);
        assert_eq!(check.level, Level::Warning, "{check:?}");
        assert!(check.detail.contains("alice@example.com (573001110001"));

        let check = left_linked_check(Ok(vec![device("carol@example.com", fresh, false)]), now);
        assert_eq!(
            check.level,
            Level::Warning,
            "a failed unlink is no longer in progress"
        );

        let check = left_linked_check(Ok(Vec::new()), now);
        assert_eq!(check.level, Level::Ok);
    }
}
