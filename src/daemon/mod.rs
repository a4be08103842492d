//! `wasessd`: owns the live WhatsApp connections, the registry, the connect locks and the
//! periodic cleanup, and serves the CLI (and any client) on a local Unix socket.
//!
//! [`run`] is the whole daemon: it takes the data dir (one daemon per data dir), opens the
//! registry, recovers what a previous run left behind, binds the socket, resumes sessions and
//! serves until told to stop. Stopping closes sessions without logging out (they resume on
//! the next start) and cancels pairings, so no lock or pending QR outlives the process.

pub mod args;
mod cluster;
pub mod config;
pub mod entry;
mod error;
mod exporter;
mod handlers;
mod jobs;
mod metrics;
pub mod os;
mod server;
pub mod signals;
pub mod supervisor;
pub mod webhooks;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;

use tokio::net::UnixListener;
use tokio::sync::{mpsc, watch};
use tracing::{info, warn};

pub use config::{BackendKind, Config, Settings};
pub use error::Error;
pub use signals::Signal;

use crate::backend::simulated::SimulatedBackend;
use crate::backend::Backend;
use crate::datadir;
use crate::protocol::{HelloResult, PROTOCOL_VERSION};
use crate::registry::{redact, NodeHolder, Registry};
use handlers::Context;
use supervisor::Supervisor;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Runs the daemon until a [`Signal::Stop`] arrives (or the signal channel closes).
pub async fn run(config: Config, signals: mpsc::UnboundedReceiver<Signal>) -> Result<(), Error> {
    datadir::prepare(&config.data_dir)?;
    let _data_dir = datadir::lock(&config.data_dir)?;
    datadir::write_node_id(&config.data_dir, &config.node_id)?;
    let fd_limit = os::raise_fd_limit();

    let registry = Registry::open_with(
        &config.database_url,
        &config.node_id,
        Arc::new(crate::time::SystemClock),
        config.settings.registry(),
    )
    .await?;
    let served = serve(&config, &registry, signals, fd_limit).await;
    // However the daemon ends, its connections close: SQLite's last one folds the log back
    // into the database file. A registry out of reach cannot hold the exit up: the database
    // rolls back what was left uncommitted.
    if tokio::time::timeout(REGISTRY_GOODBYE, registry.close())
        .await
        .is_err()
    {
        warn!("the registry did not close in time: exiting without it");
    }
    served
}

/// How long a stopping daemon waits for each word with the registry that is not a session's
/// (whether a peer is live to drain to, its node marked stopped, its connections closed)
/// before it goes on without it.
const REGISTRY_GOODBYE: std::time::Duration = std::time::Duration::from_secs(3);

/// The daemon on an open registry: joins it, serves until told to stop, then leaves it.
async fn serve(
    config: &Config,
    registry: &Registry,
    mut signals: mpsc::UnboundedReceiver<Signal>,
    fd_limit: u64,
) -> Result<(), Error> {
    let me = NodeHolder {
        host: os::hostname(),
        pid: std::process::id(),
        instance: os::random_hex(16)
            .map_err(|error| Error::io("cannot read /dev/urandom", error))?,
    };
    // Before the lease starts: however long an import takes, it cannot eat into the lease.
    let legacy = crate::credentials::import_legacy_stores(registry, &config.data_dir)
        .await
        .map_err(|error| Error::io("cannot import the credential stores of the data dir", error))?;
    if !legacy.imported.is_empty() {
        info!(
            users = legacy.imported.len(),
            "credential stores imported into the registry"
        );
    }
    // The watchdog counts from before the registration, so it never trusts a lease longer
    // than the database grants it.
    let membership = Arc::new(cluster::Membership::new(me.clone()));
    let backend = make_backend(config)?;
    let recovered = match join_registry(registry, &me).await {
        Ok(recovered) => recovered,
        Err(error) => {
            // Registered, perhaps, before the recovery failed.
            leave(registry, &me).await;
            return Err(error);
        }
    };
    if recovered > 0 {
        info!(
            pairings = recovered,
            "ended pairings interrupted by the previous run"
        );
    }
    let supervisor = Supervisor::new(
        registry.clone(),
        backend,
        config.settings.clone(),
        membership,
    );

    let (listener, tcp, metrics) = match listen(config).await {
        Ok(listeners) => listeners,
        Err(error) => {
            // Joined but never served: the node is stopped at once, not lost in a while.
            leave(registry, &me).await;
            return Err(error);
        }
    };
    let (stop, shutdown) = watch::channel(false);
    let context = Arc::new(Context {
        supervisor: supervisor.clone(),
        hello: HelloResult {
            version: VERSION.into(),
            protocol: PROTOCOL_VERSION,
            node_id: config.node_id.clone(),
            backend: config.backend.name().into(),
            pid: std::process::id(),
            database: redact(&config.database_url),
            started_at: registry.now(),
            sessions_running: 0,
            state: String::new(),
            tasks_alive: 0,
            data_dir: config.data_dir.display().to_string(),
            events_queued: 0,
            sessions_held_back: 0,
        },
        shutdown: shutdown.clone(),
    });
    let server = tokio::spawn(server::serve(
        server::Listener::Unix(listener),
        context.clone(),
        shutdown.clone(),
    ));
    let exporter = metrics
        .map(|listener| tokio::spawn(exporter::serve(listener, context.clone(), shutdown.clone())));
    let tcp_server =
        tcp.map(|listener| tokio::spawn(server::serve(listener, context, shutdown.clone())));
    let cleanup = tokio::spawn(jobs::run_cleanup(supervisor.clone(), shutdown.clone()));
    // The lease and the watchdog outlive the drain at shutdown: a node that hands sessions
    // over must still fence itself if it loses the registry meanwhile.
    let (stop_membership, membership_shutdown) = watch::channel(false);
    let lease = tokio::spawn(cluster::run_lease(
        supervisor.clone(),
        membership_shutdown.clone(),
    ));
    let watchdog = tokio::spawn(cluster::run_watchdog(
        supervisor.clone(),
        membership_shutdown,
    ));
    let reconcile = tokio::spawn(jobs::run_reconcile(supervisor.clone(), shutdown.clone()));
    let unlinks = tokio::spawn(jobs::run_owed_unlinks(supervisor.clone(), shutdown.clone()));
    let resume = tokio::spawn(supervisor.clone().resume_all());
    let deliveries: Vec<_> = config
        .settings
        .webhooks
        .iter()
        .map(|endpoint| {
            tokio::spawn(webhooks::run(
                supervisor.clone(),
                endpoint.clone(),
                shutdown.clone(),
            ))
        })
        .collect();

    info!(
        socket = %config.socket.display(),
        data_dir = %config.data_dir.display(),
        database = %redact(&config.database_url),
        backend = config.backend.name(),
        node = %config.node_id,
        metrics = ?config.metrics,
        sessions_possible = fd_limit / 4,
        "wasessd ready"
    );
    os::sd_notify("READY=1\nSTATUS=serving");

    // Runs until a stop signal, or until the signal channel closes.
    while let Some(Signal::Reload) = signals.recv().await {
        reload(config, &supervisor);
    }

    info!("stopping");
    os::sd_notify("STOPPING=1");
    let _ = stop.send(true);
    resume.abort();
    let _ = server.await;
    if let Some(tcp_server) = tcp_server {
        let _ = tcp_server.await;
    }
    if let Some(exporter) = exporter {
        let _ = exporter.await;
    }
    // With a live peer, sessions move there; alone, this node keeps them and resumes them
    // on its next start, however long it is down. A registry that does not answer takes no
    // hand-over, and would hold every graceful close up: the node fences itself at once, as
    // it would once its lease lapsed, and its sessions move when the lease runs out.
    match tokio::time::timeout(REGISTRY_GOODBYE, registry.has_live_peer()).await {
        Ok(Ok(true)) if !supervisor.membership().is_fenced() => {
            supervisor.drain().await;
        }
        Ok(Ok(_)) => supervisor.shutdown().await,
        Ok(Err(_)) | Err(_) => {
            warn!(
                "the registry does not answer: closing every WhatsApp client without a hand-over"
            );
            cluster::fence(&supervisor, false).await;
            supervisor.shutdown().await;
        }
    }
    let _ = stop_membership.send(true);
    // The periodic jobs stop at their next turn; one stuck on a registry out of reach is
    // dropped.
    finish_within(
        REGISTRY_GOODBYE,
        vec![cleanup, lease, watchdog, reconcile, unlinks],
    )
    .await;
    // Clients still logging a device out (or a retry cut short) close before the lease goes.
    supervisor.close_set_aside().await;
    finish_within(REGISTRY_GOODBYE, deliveries).await;
    let _ = fs::remove_file(&config.socket);
    leave(registry, &me).await;
    info!("stopped");
    Ok(())
}

/// Waits for `tasks` until `within` has passed, then aborts those still running.
async fn finish_within<T>(within: std::time::Duration, tasks: Vec<tokio::task::JoinHandle<T>>) {
    let deadline = tokio::time::Instant::now() + within;
    for mut task in tasks {
        if tokio::time::timeout_at(deadline, &mut task).await.is_err() {
            task.abort();
        }
    }
}

/// Marks this node stopped, so nobody waits for its lease to run out.
async fn leave(registry: &Registry, me: &NodeHolder) {
    match tokio::time::timeout(REGISTRY_GOODBYE, registry.leave(me)).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => {
            warn!(%error, "cannot mark this node stopped; its lease runs out instead")
        }
        Err(_) => warn!("the registry did not answer: this node's lease runs out instead"),
    }
}

/// The CLI's socket, and the loopback TCP and metrics listeners when configured.
async fn listen(
    config: &Config,
) -> Result<
    (
        UnixListener,
        Option<server::Listener>,
        Option<tokio::net::TcpListener>,
    ),
    Error,
> {
    let listener = bind(&config.socket)?;
    let others = async {
        let tcp = match &config.tcp {
            Some((address, token_file)) => Some(bind_tcp(*address, token_file).await?),
            None => None,
        };
        let metrics = match config.metrics {
            Some(address) => Some(exporter::bind(address).await?),
            None => None,
        };
        Ok((tcp, metrics))
    };
    match others.await {
        Ok((tcp, metrics)) => Ok((listener, tcp, metrics)),
        Err(error) => {
            let _ = fs::remove_file(&config.socket);
            Err(error)
        }
    }
}

fn make_backend(config: &Config) -> Result<Arc<dyn Backend>, Error> {
    use crate::backend::whatsapp::WhatsappBackend;
    Ok(match config.backend {
        BackendKind::Simulated => Arc::new(SimulatedBackend::new(config.settings.simulated)),
        BackendKind::Whatsapp => {
            let backend = WhatsappBackend::new(config.wa_endpoint.clone());
            #[cfg(feature = "wa-peer")]
            let backend = match config.peer.control {
                Some(control) => {
                    backend.with_peer(crate::backend::whatsapp::peer::PeerHooks::remote(control))
                }
                None => backend,
            };
            Arc::new(backend)
        }
        #[cfg(feature = "wa-peer")]
        BackendKind::WhatsappPeer => {
            // The peer keeps its accounts next to the sessions, so a restart resumes them.
            let peer = crate::wa_peer::Peer::new(crate::wa_peer::PeerConfig {
                state_file: Some(config.data_dir.join("wa-peer.json")),
                qr: config.peer.qr,
                withhold_app_state_keys: config.peer.withhold_keys,
                new_server_key: config.peer.new_server_key,
            })
            .map_err(Error::Config)?;
            Arc::new(
                WhatsappBackend::new(None)
                    .with_peer(crate::backend::whatsapp::peer::PeerHooks::in_process(peer)),
            )
        }
    })
}

/// Re-reads the config file and applies what can change at run time.
fn reload(config: &Config, supervisor: &Supervisor) {
    let Some(path) = &config.config_file else {
        return info!("SIGHUP: no config file to reload");
    };
    match Settings::load(path) {
        Ok(settings) => {
            supervisor.registry().set_settings(settings.registry());
            supervisor.set_settings(settings);
            info!(file = %path.display(), "config reloaded");
        }
        Err(error) => warn!(%error, "config not reloaded; keeping the current one"),
    }
}

/// Binds the loopback TCP listener; its token is read from `token_file`, or created there
/// (0600, 256 random bits) when missing.
async fn bind_tcp(
    address: std::net::SocketAddr,
    token_file: &Path,
) -> Result<server::Listener, Error> {
    // A token others can read is no secret: refuse it rather than serve with it.
    if let Ok(meta) = fs::metadata(token_file) {
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(Error::Config(format!(
                "{} is readable by others (mode {:o}): `chmod 600` it, or delete it for a new token",
                token_file.display(),
                meta.permissions().mode() & 0o777
            )));
        }
    }
    let token = match fs::read_to_string(token_file) {
        Ok(text) if !text.trim().is_empty() => text.trim().to_string(),
        Ok(_) | Err(_) => {
            let token =
                os::random_hex(32).map_err(|error| Error::io("cannot read /dev/urandom", error))?;
            crate::credentials::write_private_file(token_file, format!("{token}\n").as_bytes())
                .map_err(|error| {
                    Error::io(format!("cannot write {}", token_file.display()), error)
                })?;
            token
        }
    };
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|error| Error::io(format!("cannot listen on {address}"), error))?;
    info!(%address, token_file = %token_file.display(), "serving on loopback TCP");
    Ok(server::Listener::Tcp {
        listener,
        token: Arc::new(token),
        unauthenticated: Arc::new(tokio::sync::Semaphore::new(server::MAX_UNAUTHENTICATED)),
    })
}

/// Binds the socket in a 0750 directory with mode 0660. A socket file left by a dead daemon
/// is replaced; one that answers belongs to a live daemon and is not.
fn bind(socket: &Path) -> Result<UnixListener, Error> {
    // A bare file name (`--socket wasessd.sock`) lives in the working directory as it is.
    if let Some(dir) = socket.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        if !dir.exists() {
            fs::create_dir_all(dir)
                .map_err(|error| Error::io(format!("cannot create {}", dir.display()), error))?;
            fs::set_permissions(dir, fs::Permissions::from_mode(0o750)).map_err(|error| {
                Error::io(format!("cannot set the mode of {}", dir.display()), error)
            })?;
        }
    }
    if socket.exists() {
        if std::os::unix::net::UnixStream::connect(socket).is_ok() {
            return Err(Error::AlreadyRunning(format!(
                "another daemon is serving {}",
                socket.display()
            )));
        }
        fs::remove_file(socket).map_err(|error| {
            Error::io(format!("cannot remove stale {}", socket.display()), error)
        })?;
    }
    let listener = UnixListener::bind(socket)
        .map_err(|error| Error::io(format!("cannot listen on {}", socket.display()), error))?;
    if let Err(error) = fs::set_permissions(socket, fs::Permissions::from_mode(0o660)) {
        let _ = fs::remove_file(socket);
        return Err(Error::io(
            format!("cannot set the mode of {}", socket.display()),
            error,
        ));
    }
    Ok(listener)
}

/// Registers this node and ends what its previous run left half done. A registry that is busy
/// (another node holding a lock it cannot release yet) is waited for a while, not fatal.
async fn join_registry(registry: &Registry, me: &NodeHolder) -> Result<u64, Error> {
    const ATTEMPTS: u32 = 6;
    let mut attempt = 1;
    loop {
        let joined = async {
            // A holder on another host is trusted to be alive while its lease runs; one on
            // this host only while its process exists.
            registry
                .register_node(VERSION, me, |holder| {
                    holder.host != me.host || os::process_alive(holder.pid)
                })
                .await?;
            registry.recover_node().await
        }
        .await;
        match joined {
            Err(crate::registry::Error::Database(error)) if attempt < ATTEMPTS => {
                warn!(%error, attempt, "cannot join the registry yet; trying again");
                tokio::time::sleep(std::time::Duration::from_secs(2)).await;
                attempt += 1;
            }
            other => return Ok(other?),
        }
    }
}
