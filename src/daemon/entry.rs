//! What `wasessd`'s main does: turn flags into a [`Config`], optionally go to the background,
//! set up logging, and run the daemon on a multi-threaded runtime.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::args::{BackendArg, DaemonArgs, DaemonFlags, LogFormat};
use crate::daemon::{self, signals, BackendKind, Config, Settings};
use crate::exit::Exit;
use crate::{datadir, paths};

/// How long `--daemonize` waits for the background daemon to serve its socket.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

pub fn config(all: &DaemonArgs) -> Result<Config, String> {
    let args = &all.base;
    let data_dir = args
        .data_dir
        .clone()
        .unwrap_or_else(paths::default_data_dir);
    let data_dir = if data_dir.is_relative() {
        std::env::current_dir()
            .map_err(|error| format!("cannot resolve {}: {error}", data_dir.display()))?
            .join(data_dir)
    } else {
        data_dir
    };
    let settings = match &args.config {
        Some(file) => Settings::load(file).map_err(|error| error.to_string())?,
        None => Settings::default(),
    };
    // The command line, then the config file, then SQLite in the data dir.
    let database_url = match (&args.database_url, &args.database_url_file) {
        (Some(url), _) => url.clone(),
        (None, Some(file)) => crate::daemon::config::read_url_file(file)?,
        (None, None) => settings
            .database_url
            .clone()
            .unwrap_or_else(|| paths::default_database_url(&data_dir)),
    };
    let node_id = args.node_id.clone().unwrap_or_else(paths::default_node_id);
    if node_id.is_empty() || node_id.len() > 64 || node_id.chars().any(char::is_whitespace) {
        return Err(format!(
            "invalid node id '{node_id}': 1 to 64 characters, no spaces"
        ));
    }
    #[cfg(feature = "wa-peer")]
    let wa_endpoint = all.peer.wa_endpoint.clone();
    #[cfg(not(feature = "wa-peer"))]
    let wa_endpoint = None;
    // A test build skips WhatsApp's certificate check for every connection: it may only ever
    // talk to a test endpoint, never to WhatsApp's servers.
    if cfg!(feature = "wa-peer")
        && matches!(args.backend, BackendArg::Whatsapp)
        && wa_endpoint.is_none()
    {
        return Err(
            "this is a test build (feature wa-peer), which does not verify WhatsApp's \
             certificates: --backend whatsapp needs --wa-endpoint here; use a release build \
             for WhatsApp's servers"
                .into(),
        );
    }
    let tcp = match args.listen_tcp {
        Some(address) if !address.ip().is_loopback() => {
            return Err(format!(
                "--listen-tcp {address}: only loopback addresses (127.0.0.1, ::1) are served"
            ))
        }
        Some(address) => Some((
            address,
            args.token_file
                .clone()
                .unwrap_or_else(|| data_dir.join(paths::TOKEN_FILE)),
        )),
        None => None,
    };
    Ok(Config {
        tcp,
        metrics: args.metrics.or(settings.metrics),
        database_url,
        socket: args
            .socket
            .clone()
            .unwrap_or_else(|| paths::default_socket(&data_dir, true)),
        backend: match args.backend {
            BackendArg::Whatsapp => BackendKind::Whatsapp,
            BackendArg::Simulated => BackendKind::Simulated,
            #[cfg(feature = "wa-peer")]
            BackendArg::WhatsappPeer => BackendKind::WhatsappPeer,
        },
        node_id,
        config_file: args.config.clone(),
        wa_endpoint,
        settings,
        #[cfg(feature = "wa-peer")]
        peer: crate::daemon::config::PeerOptions {
            control: all.peer.wa_peer_control,
            qr: crate::wa_peer::QrPlan {
                refs: all.peer.wa_peer_qr_codes,
                rotate_every: all.peer.wa_peer_qr_rotate,
            },
            withhold_keys: all.peer.wa_peer_withhold_keys,
            new_server_key: all.peer.wa_peer_new_server_key,
        },
        data_dir,
    })
}

pub fn run(args: DaemonArgs) -> Exit {
    daemon::os::limit_malloc_arenas();
    let config = match config(&args) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("wasessd: error: {error}");
            return Exit::Usage;
        }
    };
    let _pid_file = if args.base.daemonize {
        match go_to_background(&args.base, &config) {
            Background::Exit(exit) => return exit,
            Background::Daemon(pid_file) => Some(pid_file),
        }
    } else {
        None
    };
    init_tracing(args.base.log_format);
    let runtime = match runtime_builder().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("wasessd: error: cannot start the runtime: {error}");
            return Exit::Internal;
        }
    };
    let signals = match signals::listen() {
        Ok(signals) => signals,
        Err(error) => {
            eprintln!("wasessd: error: cannot listen for signals: {error}");
            return Exit::Internal;
        }
    };
    match runtime.block_on(daemon::run(config, signals)) {
        Ok(()) => Exit::Ok,
        Err(error) => {
            tracing::error!(%error, "wasessd failed");
            eprintln!("wasessd: error: {error}");
            error.exit()
        }
    }
}

fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("WASESS_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("info,sqlx=warn,whatsapp_rust=warn,wacore=warn")
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}

/// Where `--daemonize` left this process.
enum Background {
    /// This process is done: the foreground one once the daemon serves its socket (or failed
    /// to), or a failed fork.
    Exit(Exit),
    /// The daemon itself, holding its pid file.
    Daemon(PidFile),
}

/// The pid file of a daemon gone to the background: removed when the daemon ends, so that
/// nothing names a dead process. The daemon holds the file's lock while it runs, so no other
/// daemon can have written its own pid there meanwhile; the content is still checked.
struct PidFile(PathBuf);

impl Drop for PidFile {
    fn drop(&mut self) {
        let ours = std::fs::read_to_string(&self.0)
            .is_ok_and(|text| text.trim() == std::process::id().to_string());
        if ours {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

/// Forks into the background; see [`Background`].
fn go_to_background(args: &DaemonFlags, config: &Config) -> Background {
    if let Some(pid) = datadir::holder(&config.data_dir) {
        eprintln!(
            "wasessd: error: another wasessd (pid {pid}) is already running on {}",
            config.data_dir.display()
        );
        return Background::Exit(Exit::Refused);
    }
    if let Err(error) = daemon_dirs(&config.data_dir) {
        eprintln!("wasessd: error: {error}");
        return Background::Exit(Exit::Internal);
    }
    let pid_file = args
        .pid_file
        .clone()
        .unwrap_or_else(|| config.data_dir.join("wasessd.pid"));
    let log_path = config.data_dir.join("wasessd.log");
    let log = match std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
    {
        Ok(log) => log,
        Err(error) => {
            eprintln!(
                "wasessd: error: cannot open {}: {error}",
                log_path.display()
            );
            return Background::Exit(Exit::Internal);
        }
    };
    let outcome = daemonize::Daemonize::new()
        .pid_file(&pid_file)
        .working_directory(&config.data_dir)
        .stderr(log)
        .execute();
    match outcome {
        daemonize::Outcome::Child(Ok(_)) => Background::Daemon(PidFile(pid_file)),
        daemonize::Outcome::Child(Err(error)) => {
            eprintln!("wasessd: error: cannot daemonize: {error}");
            Background::Exit(Exit::Internal)
        }
        daemonize::Outcome::Parent(Err(error)) => {
            eprintln!("wasessd: error: cannot daemonize: {error}");
            Background::Exit(Exit::Internal)
        }
        daemonize::Outcome::Parent(Ok(_)) => {
            Background::Exit(wait_ready(&config.socket, &log_path))
        }
    }
}

fn daemon_dirs(data_dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(data_dir)
        .map_err(|error| format!("cannot create {}: {error}", data_dir.display()))
}

fn wait_ready(socket: &Path, log: &Path) -> Exit {
    let started = Instant::now();
    while started.elapsed() < READY_TIMEOUT {
        if std::os::unix::net::UnixStream::connect(socket).is_ok() {
            println!(
                "wasessd is running in the background; logs in {}",
                log.display()
            );
            return Exit::Ok;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    eprintln!(
        "wasessd: error: the background daemon did not start serving {} within {}s; see {}",
        socket.display(),
        READY_TIMEOUT.as_secs(),
        log.display()
    );
    Exit::Internal
}

/// The daemon's runtime: two worker threads per core (4 to 64) unless `TOKIO_WORKER_THREADS`
/// says otherwise. Every write passes through one writer at a time, and
/// each statement wakes the writer's task from the database's thread: with spare workers the
/// woken task runs at once instead of queueing behind the sockets' tasks on busy ones, which
/// moves the whole write path (see the README's daemon figures).
fn runtime_builder() -> tokio::runtime::Builder {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if std::env::var_os("TOKIO_WORKER_THREADS").is_none() {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        builder.worker_threads((cores * 2).clamp(4, 64));
    }
    builder
}
