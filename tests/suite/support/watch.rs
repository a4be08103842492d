//! `wasess watch --json` in the background, as a tenant application would follow events.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::Instant;

use serde_json::Value;

use super::daemon::{signal, TestDaemon, WAIT};

/// `wasess watch --json` running in the background, its lines read on demand.
pub struct Watch {
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Watch {
    pub fn start(daemon: &TestDaemon, args: &[&str]) -> Watch {
        let mut all = vec!["--json", "watch"];
        all.extend_from_slice(args);
        let mut child = daemon
            .cli_command(&all)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("watch");
        let stdout = child.stdout.take().expect("stdout");
        let (sender, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    return;
                }
            }
        });
        Watch { child, lines }
    }

    /// Events until `done` says the last one is in (or the deadline passes).
    pub fn until(&self, mut done: impl FnMut(&[Value]) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + WAIT;
        let mut events = Vec::new();
        while !done(&events) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => events.push(serde_json::from_str(&line).expect("a JSON line")),
                Err(_) => panic!("watch stopped early; got {events:#?}"),
            }
        }
        events
    }

    pub fn stop(mut self) -> Option<i32> {
        signal(self.child.id(), libc::SIGINT);
        self.child.wait().ok().and_then(|status| status.code())
    }
}
