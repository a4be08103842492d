//! A real `wasessd` running the real `whatsapp` backend against the test WhatsApp peer
//! (feature `wa-peer`): either the peer inside the daemon (`--backend whatsapp-peer`, the
//! client's transport trait) or the `wa-peer` binary on a loopback WebSocket
//! (`--wa-endpoint`, the client's production transport). Either way `wasess sim …` acts as
//! the phone and `sim.peer` reads what the peer counted.

use std::io::{BufRead, BufReader};
use std::ops::{Deref, DerefMut};
use std::process::{Child, ChildStdout, Command, Stdio};

use serde_json::Value;
use tempfile::TempDir;

use super::daemon::{TestDaemon, FAST_CONFIG};

pub const WA_PEER: &str = env!("CARGO_BIN_EXE_wa-peer");

/// How the daemon's clients reach the peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    InProcess,
    WebSocket,
}

/// How the peer behaves: `qr_codes` per pairing, rotated every `qr_rotate` (a duration) or,
/// when `None`, at the client's own pace (60 s, then 20 s); `withhold_keys`: its phones
/// never share app-state keys, so new devices take 10 s to report themselves connected.
#[derive(Debug, Clone, Copy)]
pub struct PeerOptions {
    pub qr_codes: u32,
    pub qr_rotate: Option<&'static str>,
    pub withhold_keys: bool,
    /// A state file for the peer to start from (a copy: the peer writes to its own), with
    /// the phones and devices it already knows ([`Transport::WebSocket`] only).
    pub state: Option<&'static str>,
}

impl Default for PeerOptions {
    fn default() -> Self {
        PeerOptions {
            qr_codes: 6,
            qr_rotate: None,
            withhold_keys: false,
            state: None,
        }
    }
}

pub struct PeerSetup {
    daemon: TestDaemon,
    /// The `wa-peer` process, for [`Transport::WebSocket`]; outlives daemon restarts.
    process: Option<PeerProcess>,
}

impl PeerSetup {
    pub fn start(transport: Transport, options: PeerOptions) -> PeerSetup {
        PeerSetup::start_with(transport, options, FAST_CONFIG)
    }

    /// [`PeerSetup::start`] with the daemon's config file.
    pub fn start_with(transport: Transport, options: PeerOptions, config: &str) -> PeerSetup {
        let codes = options.qr_codes.to_string();
        match transport {
            Transport::InProcess => {
                let mut args = vec!["--wa-peer-qr-codes", codes.as_str()];
                if let Some(rotate) = options.qr_rotate {
                    args.extend(["--wa-peer-qr-rotate", rotate]);
                }
                if options.withhold_keys {
                    args.push("--wa-peer-withhold-keys");
                }
                PeerSetup {
                    daemon: TestDaemon::start_backend("whatsapp-peer", config, &args),
                    process: None,
                }
            }
            Transport::WebSocket => {
                let process = PeerProcess::start(options);
                let daemon = TestDaemon::start_backend("whatsapp", config, &process.daemon_args());
                PeerSetup {
                    daemon,
                    process: Some(process),
                }
            }
        }
    }

    /// Stops the daemon and brings it back against a peer with a new server key (WhatsApp
    /// rotating its key): stored sessions then try IK with a key the peer no longer has.
    pub fn restart_with_new_server_key(&mut self) {
        self.daemon.stop();
        match self.process.as_mut() {
            Some(process) => process.restart_with_new_server_key(),
            None => self
                .daemon
                .extra_args
                .push("--wa-peer-new-server-key".into()),
        }
        self.daemon.restart();
        self.daemon
            .extra_args
            .retain(|arg| arg != "--wa-peer-new-server-key");
    }

    /// The peer's counters (`sim.peer`).
    pub fn counters(&self) -> Value {
        counters(&self.daemon)
    }

    /// One counter, as a number.
    pub fn counter(&self, name: &str) -> u64 {
        let counters = self.counters();
        counters[name]
            .as_u64()
            .unwrap_or_else(|| panic!("no counter {name}: {counters}"))
    }
}

/// The peer's counters, read through any daemon pointed at it (`sim.peer`).
pub fn counters(daemon: &TestDaemon) -> Value {
    let answers = daemon
        .raw(r#"{"jsonrpc":"2.0","id":1,"method":"sim.peer"}"#)
        .expect("sim.peer");
    answers
        .first()
        .and_then(|answer| answer.get("result").cloned())
        .unwrap_or_else(|| panic!("sim.peer failed: {answers:?}"))
}

impl Deref for PeerSetup {
    type Target = TestDaemon;

    fn deref(&self) -> &TestDaemon {
        &self.daemon
    }
}

impl DerefMut for PeerSetup {
    fn deref_mut(&mut self) -> &mut TestDaemon {
        &mut self.daemon
    }
}

/// The `wa-peer` binary, killed when dropped.
pub struct PeerProcess {
    child: Child,
    options: PeerOptions,
    /// Where it listens for clients and for controls.
    listen: String,
    control: String,
    endpoint: String,
    dir: TempDir,
}

impl PeerProcess {
    pub fn start(options: PeerOptions) -> PeerProcess {
        let dir = tempfile::tempdir().expect("temp dir");
        if let Some(state) = options.state {
            std::fs::copy(state, dir.path().join("wa-peer.json")).expect("copy the peer's state");
        }
        let (child, listen, control) =
            PeerProcess::spawn(&dir, options, "127.0.0.1:0", "127.0.0.1:0", false);
        PeerProcess {
            child,
            options,
            endpoint: format!("ws://{listen}/ws/chat"),
            listen,
            control,
            dir,
        }
    }

    /// The daemon arguments that point the real backend at this peer.
    pub fn daemon_args(&self) -> [&str; 4] {
        [
            "--wa-endpoint",
            &self.endpoint,
            "--wa-peer-control",
            &self.control,
        ]
    }

    /// The same peer (same state, same ports) started again with a new server key.
    fn restart_with_new_server_key(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let (child, _, _) =
            PeerProcess::spawn(&self.dir, self.options, &self.listen, &self.control, true);
        self.child = child;
    }

    fn spawn(
        dir: &TempDir,
        options: PeerOptions,
        listen: &str,
        control: &str,
        new_server_key: bool,
    ) -> (Child, String, String) {
        let mut command = Command::new(WA_PEER);
        command
            .arg("--state")
            .arg(dir.path().join("wa-peer.json"))
            .args(["--listen", listen, "--control", control])
            .args(["--qr-refs", &options.qr_codes.to_string()])
            .arg("--until-stdin-closes")
            .env("WASESS_LOG", "info")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            // The test's own output: shown when the test fails.
            .stderr(Stdio::inherit());
        if let Some(rotate) = options.qr_rotate {
            command.args(["--qr-rotate", rotate]);
        }
        if options.withhold_keys {
            command.arg("--withhold-keys");
        }
        if new_server_key {
            command.arg("--new-server-key");
        }
        let mut child = command.spawn().expect("start wa-peer");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut announced = |what: &str| -> String {
            let mut line = String::new();
            if stdout.read_line(&mut line).unwrap_or(0) == 0 {
                panic!("wa-peer did not announce its {what}");
            }
            line.trim_end()
                .strip_prefix(&format!("{what} "))
                .unwrap_or_else(|| panic!("wa-peer said '{line}', not its {what}"))
                .to_string()
        };
        let endpoint = announced("endpoint");
        let control = announced("control");
        drain(stdout);
        let listen = endpoint
            .strip_prefix("ws://")
            .and_then(|rest| rest.strip_suffix("/ws/chat"))
            .unwrap_or_else(|| panic!("wa-peer listens on '{endpoint}'"))
            .to_string();
        (child, listen, control)
    }
}

/// Keeps reading the peer's stdout so it never blocks on a full pipe.
fn drain(mut stdout: BufReader<ChildStdout>) {
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
}

impl Drop for PeerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
