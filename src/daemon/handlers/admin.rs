//! The operator's registry-wide commands: conflicts, cleanup, reset, stats, list, log, nodes.

use super::{phone_number, user_key};
use crate::daemon::supervisor::Supervisor;
use crate::daemon::Error;
use crate::model::{CleanupReport, ResetReport, Resolution, Stats};
use crate::protocol::{
    CleanupParams, ConflictsResult, DrainParams, DrainResult, EventsResult, ListParams, ListResult,
    LogParams, NodesResult, ResetParams, ResolveParams,
};
use crate::time::Timestamp;

/// Rows `list` returns when no limit is given.
pub const DEFAULT_LIST_LIMIT: u32 = 1000;
/// Events `log` returns when no limit is given.
pub const DEFAULT_LOG_LIMIT: u32 = 200;

pub async fn detect_conflicts(supervisor: &Supervisor) -> Result<ConflictsResult, Error> {
    Ok(ConflictsResult {
        conflicts: supervisor.registry().detect_conflicts().await?,
    })
}

pub async fn resolve_conflicts(
    supervisor: &Supervisor,
    params: ResolveParams,
) -> Result<Resolution, Error> {
    let phone = params.phone.as_deref().map(phone_number).transpose()?;
    supervisor
        .resolve_conflicts(params.dry_run, phone.as_ref())
        .await
}

pub async fn cleanup(
    supervisor: &Supervisor,
    params: CleanupParams,
) -> Result<CleanupReport, Error> {
    supervisor.cleanup(params.dry_run).await
}

pub async fn reset(supervisor: &Supervisor, params: ResetParams) -> Result<ResetReport, Error> {
    match (params.user.as_deref(), params.all) {
        (Some(user), false) => supervisor.reset(Some(&user_key(user)?)).await,
        (None, true) => supervisor.reset(None).await,
        _ => Err(Error::InvalidParams(
            "reset-sessions needs exactly one of user or all".into(),
        )),
    }
}

pub async fn stats(supervisor: &Supervisor) -> Result<Stats, Error> {
    Ok(supervisor.registry().stats().await?)
}

pub async fn list(supervisor: &Supervisor, params: ListParams) -> Result<ListResult, Error> {
    let limit = params.limit.unwrap_or(DEFAULT_LIST_LIMIT).max(1);
    let mut connections = supervisor
        .registry()
        .connections(
            params.status,
            params.node.as_deref(),
            limit.saturating_add(1),
        )
        .await?;
    let truncated = connections.len() > limit as usize;
    connections.truncate(limit as usize);
    Ok(ListResult {
        connections,
        truncated,
    })
}

pub async fn log(supervisor: &Supervisor, params: LogParams) -> Result<EventsResult, Error> {
    let user = params.user.as_deref().map(user_key).transpose()?;
    let events = supervisor
        .registry()
        .log(
            user.as_ref(),
            params.since.unwrap_or(Timestamp(0)),
            params.limit.unwrap_or(DEFAULT_LOG_LIMIT).max(1),
        )
        .await?;
    Ok(EventsResult { events })
}

pub async fn nodes(supervisor: &Supervisor) -> Result<NodesResult, Error> {
    Ok(NodesResult {
        nodes: supervisor.registry().nodes().await?,
    })
}

/// Asks a node to drain; the node itself (this one or another) acts on it at its next
/// heartbeat.
pub async fn drain(supervisor: &Supervisor, params: DrainParams) -> Result<DrainResult, Error> {
    let registry = supervisor.registry();
    registry.request_drain(&params.node).await?;
    let node = registry
        .nodes()
        .await?
        .into_iter()
        .find(|node| node.node_id == params.node)
        .ok_or_else(|| Error::NotFound(format!("no node '{}'", params.node)))?;
    Ok(DrainResult { node })
}
