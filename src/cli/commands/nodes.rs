//! `nodes` and `nodes drain`: the daemons sharing the registry, and emptying one of them.

use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::cli::args::{Global, NodesArgs, NodesCommand};
use crate::cli::{connect_daemon, output, Error, Outcome};
use crate::model::NodeInfo;
use crate::protocol::{method, DrainParams, DrainResult, Empty, NodesResult};

/// How often the drain's progress is read.
const POLL: Duration = Duration::from_millis(250);

pub async fn run(global: &Global, args: NodesArgs) -> Result<Outcome, Error> {
    match args.command {
        None => list(global).await,
        Some(NodesCommand::Drain {
            node,
            no_wait,
            timeout,
        }) => drain(global, node, no_wait, timeout).await,
    }
}

async fn list(global: &Global) -> Result<Outcome, Error> {
    let result: NodesResult = connect_daemon(global)
        .await?
        .call(method::NODES, Empty {})
        .await?;
    Ok(Outcome::new(&result, output::nodes(&result.nodes)))
}

#[derive(Serialize)]
struct Drained {
    node: NodeInfo,
    /// Sessions the node held when the drain was asked for.
    sessions_before: u64,
    /// Whether its last session was handed over before the command returned.
    finished: bool,
    elapsed_ms: u64,
}

async fn drain(
    global: &Global,
    node: String,
    no_wait: bool,
    timeout: Duration,
) -> Result<Outcome, Error> {
    let started = Instant::now();
    let mut client = connect_daemon(global).await?;
    let asked: DrainResult = client
        .call(method::NODES_DRAIN, DrainParams { node: node.clone() })
        .await?;
    let before = asked.node.connected + asked.node.pending_qr;
    let mut current = asked.node;
    let spinner = progress(global.json || no_wait);
    while !no_wait && !drained(&current) {
        if started.elapsed() > timeout {
            spinner.finish_and_clear();
            return Err(Error::TimedOut(format!(
                "node '{node}' still holds {} session(s) after {}s; the drain goes on \
                 (follow it with `wasess nodes`)",
                current.connected + current.pending_qr,
                timeout.as_secs()
            )));
        }
        spinner.set_message(format!(
            "draining {node}: {} of {before} session(s) left",
            current.connected + current.pending_qr
        ));
        tokio::time::sleep(POLL).await;
        let nodes: NodesResult = client.call(method::NODES, Empty {}).await?;
        current = nodes
            .nodes
            .into_iter()
            .find(|found| found.node_id == node)
            .ok_or_else(|| Error::Io(format!("node '{node}' left the registry")))?;
    }
    spinner.finish_and_clear();
    let finished = drained(&current);
    let elapsed = started.elapsed();
    let human = if finished {
        format!(
            "Node {node} drained: {before} session(s) handed to the live nodes in {:.1}s.",
            elapsed.as_secs_f64()
        )
    } else {
        format!("Node {node} is draining {before} session(s); follow it with `wasess nodes`.")
    };
    let result = Drained {
        node: current,
        sessions_before: before,
        finished,
        elapsed_ms: elapsed.as_millis() as u64,
    };
    Ok(Outcome::new(&result, human))
}

/// Nothing left on the node, or the node is gone (its sessions then go to the survivors).
fn drained(node: &NodeInfo) -> bool {
    node.connected + node.pending_qr == 0 || !node.alive
}

fn progress(hidden: bool) -> ProgressBar {
    if hidden {
        return ProgressBar::hidden();
    }
    let spinner = ProgressBar::new_spinner();
    spinner.set_style(
        ProgressStyle::with_template("{spinner} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    spinner.enable_steady_tick(Duration::from_millis(120));
    spinner
}
