//! The test WhatsApp peer in its own process, for the benches that run the real backend
//! (feature `wa-peer`); include it with `#[path = "common/peer.rs"] mod peer;`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// The `wa-peer` binary, killed when dropped.
pub struct Peer {
    child: Child,
    endpoint: String,
    control: String,
    _dir: tempfile::TempDir,
}

impl Peer {
    pub fn start() -> Peer {
        let dir = super::common::disk_tempdir();
        let mut child = Command::new(env!("CARGO_BIN_EXE_wa-peer"))
            .arg("--state")
            .arg(dir.path().join("wa-peer.json"))
            .args(["--listen", "127.0.0.1:0", "--control", "127.0.0.1:0"])
            .arg("--until-stdin-closes")
            .env("WASESS_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start wa-peer");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut announced = |what: &str| -> String {
            let mut line = String::new();
            stdout.read_line(&mut line).expect("wa-peer output");
            line.trim_end()
                .strip_prefix(&format!("{what} "))
                .unwrap_or_else(|| panic!("wa-peer said '{line}', not its {what}"))
                .to_string()
        };
        let endpoint = announced("endpoint");
        let control = announced("control");
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        Peer {
            child,
            endpoint,
            control,
            _dir: dir,
        }
    }

    /// The daemon arguments that point the real backend at this peer.
    pub fn daemon_args(&self) -> Vec<String> {
        vec![
            "--wa-endpoint".into(),
            self.endpoint.clone(),
            "--wa-peer-control".into(),
            self.control.clone(),
        ]
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
