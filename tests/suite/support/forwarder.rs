//! A TCP forwarder that can cut a link without closing it: while held, bytes stay where
//! they are (no error, no reset), as on a partitioned network; released, they flow again.
//! Nodes reach PostgreSQL through one to be cut off from the registry.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex};

pub struct Forwarder {
    /// Where clients connect: `127.0.0.1:port`.
    pub address: String,
    gate: Arc<Gate>,
}

#[derive(Default)]
struct Gate {
    held: Mutex<bool>,
    changed: Condvar,
}

impl Gate {
    fn wait_open(&self) {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        while *held {
            held = self.changed.wait(held).unwrap_or_else(|p| p.into_inner());
        }
    }

    fn set(&self, hold: bool) {
        *self.held.lock().unwrap_or_else(|p| p.into_inner()) = hold;
        self.changed.notify_all();
    }
}

impl Forwarder {
    /// Forwards a new loopback port to `target` (`host:port`).
    pub fn start(target: &str) -> Forwarder {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the forwarder");
        let address = listener.local_addr().expect("address").to_string();
        let gate = Arc::new(Gate::default());
        let target = target.to_string();
        let accepting = gate.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                // A connection opened while held waits, as a SYN would on a dead link.
                accepting.wait_open();
                let Ok(server) = TcpStream::connect(&target) else {
                    continue;
                };
                pipe(&client, &server, accepting.clone());
                pipe(&server, &client, accepting.clone());
            }
        });
        Forwarder { address, gate }
    }

    /// Stops every byte in both directions, keeping the connections open.
    pub fn hold(&self) {
        self.gate.set(true);
    }

    pub fn release(&self) {
        self.gate.set(false);
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        self.release();
    }
}

/// Copies `from` to `to` until either closes, waiting at the gate before each write.
fn pipe(from: &TcpStream, to: &TcpStream, gate: Arc<Gate>) {
    let (Ok(mut from), Ok(mut to)) = (from.try_clone(), to.try_clone()) else {
        return;
    };
    std::thread::spawn(move || {
        let mut buffer = [0u8; 16 * 1024];
        loop {
            let read = match from.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(read) => read,
            };
            gate.wait_open();
            if to.write_all(&buffer[..read]).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    });
}
