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
}

impl Default for PeerOptions {
    fn default() -> Self {
        PeerOptions {
            qr_codes: 6,
            qr_rotate: None,
            withhold_keys: false,
        }
    }
}

pub struct PeerSetup {
    daemon: TestDaemon,
    /// The `wa-peer` process, for [`Transport::WebSocket`]; outlives daemon restarts.
    _process: Option<PeerProcess>,
}

impl PeerSetup {
    pub fn start(transport: Transport, options: PeerOptions) -> PeerSetup {
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
                    daemon: TestDaemon::start_backend("whatsapp-peer", FAST_CONFIG, &args),
                    _process: None,
                }
            }
            Transport::WebSocket => {
                let process = PeerProcess::start(options);
                let daemon = TestDaemon::start_backend(
                    "whatsapp",
                    FAST_CONFIG,
                    &[
                        "--wa-endpoint",
                        &process.endpoint,
                        "--wa-peer-control",
                        &process.control,
                    ],
                );
                PeerSetup {
                    daemon,
                    _process: Some(process),
                }
            }
        }
    }

    /// The peer's counters (`sim.peer`).
    pub fn counters(&self) -> Value {
        let answers = self
            .daemon
            .raw(r#"{"jsonrpc":"2.0","id":1,"method":"sim.peer"}"#)
            .expect("sim.peer");
        answers
            .first()
            .and_then(|answer| answer.get("result").cloned())
            .unwrap_or_else(|| panic!("sim.peer failed: {answers:?}"))
    }

    /// One counter, as a number.
    pub fn counter(&self, name: &str) -> u64 {
        let counters = self.counters();
        counters[name]
            .as_u64()
            .unwrap_or_else(|| panic!("no counter {name}: {counters}"))
    }
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
struct PeerProcess {
    child: Child,
    endpoint: String,
    control: String,
    _dir: TempDir,
}

impl PeerProcess {
    fn start(options: PeerOptions) -> PeerProcess {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut command = Command::new(WA_PEER);
        command
            .arg("--state")
            .arg(dir.path().join("wa-peer.json"))
            .args(["--qr-refs", &options.qr_codes.to_string()])
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
        PeerProcess {
            child,
            endpoint,
            control,
            _dir: dir,
        }
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
