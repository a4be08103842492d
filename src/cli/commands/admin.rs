//! Registry-wide commands: conflicts, cleanup, reset, stats, list, log, ping. The
//! recovery ones also run `--offline`.

use std::io::{BufRead, IsTerminal, Write};
use std::time::Instant;

use crate::cli::args::{CleanupArgs, Global, ListArgs, LogArgs, ResetArgs, ResolveArgs};
use crate::cli::{connect_daemon, output, phone_number, user_key, Error, Outcome, Source};
use crate::exit::Exit;
use crate::model::{CleanupReport, ResetReport, Resolution, Stats};
use crate::protocol::{
    method, CleanupParams, ConflictsResult, Empty, EventsResult, HelloResult, ListParams,
    ListResult, LogParams, ResetParams, ResolveParams,
};
use crate::time::{parse_duration, Clock, SystemClock};

pub async fn detect_conflicts(global: &Global) -> Result<Outcome, Error> {
    let report: ConflictsResult = match Source::open(global).await? {
        source @ Source::Daemon(_) => {
            source
                .client()
                .await?
                .call(method::DETECT_CONFLICTS, Empty {})
                .await?
        }
        Source::Offline(offline) => ConflictsResult {
            conflicts: offline.registry.detect_conflicts().await?,
        },
    };
    let exit = if report.conflicts.is_empty() {
        Exit::Ok
    } else {
        Exit::Refused
    };
    Ok(Outcome::deferred(report, output::conflicts).exit(exit))
}

pub async fn resolve_conflicts(global: &Global, args: ResolveArgs) -> Result<Outcome, Error> {
    let phone = args.phone.as_deref().map(phone_number).transpose()?;
    let resolution: Resolution = match Source::open(global).await? {
        source @ Source::Daemon(_) => {
            let params = ResolveParams {
                dry_run: args.dry_run,
                phone: phone.as_ref().map(|p| p.to_string()),
            };
            source
                .client()
                .await?
                .call(method::RESOLVE_CONFLICTS, params)
                .await?
        }
        Source::Offline(offline) => {
            offline
                .resolve_conflicts(args.dry_run, phone.as_ref())
                .await?
        }
    };
    Ok(Outcome::deferred(resolution, output::resolution))
}

pub async fn cleanup(global: &Global, args: CleanupArgs) -> Result<Outcome, Error> {
    let report: CleanupReport = match Source::open(global).await? {
        source @ Source::Daemon(_) => {
            let params = CleanupParams {
                dry_run: args.dry_run,
            };
            source.client().await?.call(method::CLEANUP, params).await?
        }
        Source::Offline(offline) => offline.cleanup(args.dry_run).await?,
    };
    Ok(Outcome::deferred(report, output::cleanup))
}

pub async fn reset(global: &Global, args: ResetArgs) -> Result<Outcome, Error> {
    let user = args.user.as_deref().map(user_key).transpose()?;
    if args.all && !args.yes {
        confirm_reset_all(global.json)?;
    }
    let report: ResetReport = match Source::open(global).await? {
        source @ Source::Daemon(_) => {
            let params = ResetParams {
                user: user.as_ref().map(|u| u.to_string()),
                all: args.all,
            };
            source
                .client()
                .await?
                .call(method::RESET_SESSIONS, params)
                .await?
        }
        Source::Offline(offline) => offline.reset(user.as_ref()).await?,
    };
    Ok(Outcome::deferred(report, output::reset))
}

/// `--all` logs out every device: ask on a terminal, insist on `--yes` elsewhere.
fn confirm_reset_all(json: bool) -> Result<(), Error> {
    let stdin = std::io::stdin();
    if json || !stdin.is_terminal() {
        return Err(Error::Usage(
            "refusing to reset every session without --yes".into(),
        ));
    }
    eprint!(
        "This logs out every device, deletes every credential store and frees every number.\n\
         Type 'yes' to reset all sessions: "
    );
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    stdin
        .lock()
        .read_line(&mut answer)
        .map_err(|error| Error::io("cannot read the answer", error))?;
    if answer.trim() == "yes" {
        Ok(())
    } else {
        Err(Error::Refused(
            "reset not confirmed: nothing changed".into(),
        ))
    }
}

pub async fn stats(global: &Global) -> Result<Outcome, Error> {
    let stats: Stats = match Source::open(global).await? {
        source @ Source::Daemon(_) => source.client().await?.call(method::STATS, Empty {}).await?,
        Source::Offline(offline) => offline.registry.stats().await?,
    };
    Ok(Outcome::deferred(stats, output::stats))
}

pub async fn list(global: &Global, args: ListArgs) -> Result<Outcome, Error> {
    let limit = args.limit.max(1);
    let result: ListResult = match Source::open(global).await? {
        source @ Source::Daemon(_) => {
            let params = ListParams {
                status: args.status,
                node: args.node.clone(),
                limit: Some(limit),
            };
            source.client().await?.call(method::LIST, params).await?
        }
        Source::Offline(offline) => {
            let mut connections = offline
                .registry
                .connections(args.status, args.node.as_deref(), limit.saturating_add(1))
                .await?;
            let truncated = connections.len() > limit as usize;
            connections.truncate(limit as usize);
            ListResult {
                connections,
                truncated,
            }
        }
    };
    Ok(Outcome::deferred(result, |result| {
        output::connections(&result.connections, result.truncated)
    }))
}

pub async fn log(global: &Global, args: LogArgs) -> Result<Outcome, Error> {
    let user = args.user.as_deref().map(user_key).transpose()?;
    let since = args
        .since
        .as_deref()
        .map(parse_duration)
        .transpose()
        .map_err(Error::Usage)?
        .map(|ago| SystemClock.now().minus(ago));
    let result: EventsResult = match Source::open(global).await? {
        source @ Source::Daemon(_) => {
            let params = LogParams {
                user: user.as_ref().map(|u| u.to_string()),
                since,
                limit: Some(args.limit),
            };
            source.client().await?.call(method::LOG, params).await?
        }
        Source::Offline(offline) => EventsResult {
            events: offline
                .registry
                .log(
                    user.as_ref(),
                    since.unwrap_or(crate::time::Timestamp(0)),
                    args.limit.max(1),
                )
                .await?,
        },
    };
    Ok(Outcome::deferred(result, |result| {
        output::events(&result.events)
    }))
}

pub async fn ping(global: &Global) -> Result<Outcome, Error> {
    let started = Instant::now();
    let mut client = connect_daemon(global).await?;
    let hello: HelloResult = client.call(method::HELLO, Empty {}).await?;
    let elapsed = started.elapsed();
    let human = format!(
        "wasessd {} (protocol {}) on node {} ({}, {} session(s) running), {} backend, pid {}: \
         answered in {:.1} ms",
        hello.version,
        hello.protocol,
        hello.node_id,
        hello.state,
        hello.sessions_running,
        hello.backend,
        hello.pid,
        elapsed.as_secs_f64() * 1000.0
    );
    let human = if hello.sessions_held_back > 0 {
        format!(
            "{human}\n{} session(s) held back, {} event(s) queued: the registry is not keeping up",
            hello.sessions_held_back, hello.events_queued
        )
    } else {
        human
    };
    let mut json = serde_json::to_value(&hello).unwrap_or_default();
    json["round_trip_ms"] = serde_json::json!(elapsed.as_secs_f64() * 1000.0);
    Ok(Outcome::new(&json, human))
}
