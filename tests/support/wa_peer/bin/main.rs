//! `wa-peer`: the test WhatsApp peer as a process, for clients using whatsapp-rust's
//! production WebSocket transport (`wasessd --backend whatsapp --wa-endpoint …`).
//! Prints where it listens, one line each, then serves until SIGTERM or SIGINT (or, with
//! `--until-stdin-closes`, until its parent goes away):
//!
//! ```text
//! endpoint ws://127.0.0.1:PORT/ws/chat
//! control 127.0.0.1:PORT
//! ```

use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use wasess::wa_peer::{control_port, ws, Peer, PeerConfig, QrPlan};

/// The test WhatsApp peer on a loopback WebSocket, with a line-based control port.
#[derive(Debug, Parser)]
#[command(name = "wa-peer")]
struct Args {
    /// Where clients connect (WebSocket, path /ws/chat).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Where controls are served (one request per line).
    #[arg(long, default_value = "127.0.0.1:0")]
    control: SocketAddr,
    /// Keep accounts and the server key in this file across restarts.
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
    /// QR codes per pairing.
    #[arg(long, default_value_t = 6)]
    qr_refs: u32,
    /// Rotate QR codes this often instead of at the client's own pace (e.g. 2s).
    #[arg(long, value_parser = wasess::time::parse_duration)]
    qr_rotate: Option<Duration>,
    /// Phones never share app-state keys with new companions.
    #[arg(long)]
    withhold_keys: bool,
    /// Start with a new server key (keeping the accounts in --state), as after a rotation.
    #[arg(long)]
    new_server_key: bool,
    /// Also stop when stdin closes (for test harnesses that may die without cleaning up).
    #[arg(long)]
    until_stdin_closes: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("WASESS_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("wa-peer: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(serve(args));
    // A read of stdin still blocked in its thread must not hold up the exit.
    runtime.shutdown_background();
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("wa-peer: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: Args) -> Result<(), String> {
    let peer = Peer::new(PeerConfig {
        state_file: args.state,
        qr: QrPlan {
            refs: args.qr_refs,
            rotate_every: args.qr_rotate,
        },
        withhold_app_state_keys: args.withhold_keys,
        new_server_key: args.new_server_key,
    })?;
    let bind = |address: SocketAddr| async move {
        tokio::net::TcpListener::bind(address)
            .await
            .map_err(|e| format!("cannot listen on {address}: {e}"))
    };
    let clients = bind(args.listen).await?;
    let controls = bind(args.control).await?;
    let local =
        |listener: &tokio::net::TcpListener| listener.local_addr().map_err(|e| e.to_string());
    println!("endpoint ws://{}{}", local(&clients)?, ws::PATH);
    println!("control {}", local(&controls)?);
    tokio::spawn(ws::listen(peer.clone(), clients));
    tokio::spawn(control_port::listen(peer, controls));
    let until_stdin_closes = args.until_stdin_closes;
    let stdin_closed = async move {
        if !until_stdin_closes {
            return std::future::pending().await;
        }
        // The harness holds our stdin: when it goes away, so do we.
        let _ = tokio::task::spawn_blocking(|| {
            let mut sink = [0u8; 256];
            let mut stdin = std::io::stdin();
            while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
        })
        .await;
    };
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| e.to_string())?;
    tokio::select! {
        _ = stdin_closed => {}
        _ = terminate.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(())
}
