//! A webhook receiver for tests: a small HTTP/1.1 server on loopback that records every
//! request and answers with the status the test sets (or drops the connection, as a crashed
//! receiver would).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use serde_json::Value;

#[derive(Debug, Clone)]
pub struct Delivery {
    pub event_id: i64,
    pub idempotency_key: String,
    pub signature: String,
    pub body: Vec<u8>,
    pub event: Value,
    /// What the receiver answered (0: dropped the connection).
    pub answered: u16,
}

pub struct Receiver {
    pub port: u16,
    status: Arc<AtomicU16>,
    stopped: Arc<AtomicBool>,
    deliveries: Arc<Mutex<Vec<Delivery>>>,
    hold: Arc<Hold>,
}

/// A user whose requests the receiver keeps waiting, unanswered, until released.
#[derive(Default)]
struct Hold {
    user: Mutex<Option<String>>,
    released: Condvar,
    /// Event ids of the requests waiting right now.
    waiting: Mutex<Vec<i64>>,
}

impl Receiver {
    pub fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind receiver");
        let port = listener.local_addr().expect("address").port();
        let receiver = Receiver {
            port,
            status: Arc::new(AtomicU16::new(200)),
            stopped: Arc::new(AtomicBool::new(false)),
            deliveries: Arc::new(Mutex::new(Vec::new())),
            hold: Arc::new(Hold::default()),
        };
        let (status, stopped, deliveries, hold) = (
            receiver.status.clone(),
            receiver.stopped.clone(),
            receiver.deliveries.clone(),
            receiver.hold.clone(),
        );
        // A thread per connection: a request kept waiting holds up no other.
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    return;
                }
                if let Ok(stream) = stream {
                    let (status, deliveries, hold) =
                        (status.clone(), deliveries.clone(), hold.clone());
                    std::thread::spawn(move || serve(stream, &status, &deliveries, &hold));
                }
            }
        });
        receiver
    }

    /// Keeps `user`'s requests waiting, unanswered, until [`Receiver::release`].
    pub fn hold(&self, user: &str) {
        *lock(&self.hold.user) = Some(user.to_string());
    }

    pub fn release(&self) {
        *lock(&self.hold.user) = None;
        self.hold.released.notify_all();
    }

    /// Event ids of the requests kept waiting right now.
    pub fn waiting(&self) -> Vec<i64> {
        lock(&self.hold.waiting).clone()
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hooks/wasess", self.port)
    }

    /// What to answer from now on: 200, 500, … or 0 to drop connections unanswered.
    pub fn answer(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    pub fn deliveries(&self) -> Vec<Delivery> {
        self.deliveries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Event ids the receiver accepted (answered 2xx), in arrival order.
    pub fn accepted(&self) -> Vec<i64> {
        self.deliveries()
            .into_iter()
            .filter(|d| (200..300).contains(&d.answered))
            .map(|d| d.event_id)
            .collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.release();
        self.stopped.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

fn serve(stream: TcpStream, status: &AtomicU16, deliveries: &Mutex<Vec<Delivery>>, hold: &Hold) {
    let mut reader = BufReader::new(stream);
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        if line == "\r\n" {
            break;
        }
        headers.push(line.trim_end().to_string());
    }
    let header = |name: &str| {
        headers
            .iter()
            .find_map(|h| {
                let (key, value) = h.split_once(':')?;
                key.trim()
                    .eq_ignore_ascii_case(name)
                    .then(|| value.trim().to_string())
            })
            .unwrap_or_default()
    };
    let length: usize = header("content-length").parse().unwrap_or(0);
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let event: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let id = event["id"].as_i64().unwrap_or(-1);
    let mut held = lock(&hold.user);
    if held.is_some() && held.as_deref() == event["user"].as_str() {
        lock(&hold.waiting).push(id);
        while held.is_some() && held.as_deref() == event["user"].as_str() {
            held = hold.released.wait(held).unwrap_or_else(|p| p.into_inner());
        }
        lock(&hold.waiting).retain(|waiting| *waiting != id);
    }
    drop(held);
    let status = status.load(Ordering::SeqCst);
    deliveries
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(Delivery {
            event_id: id,
            idempotency_key: header("idempotency-key"),
            signature: header("x-wasess-signature"),
            body,
            event,
            answered: status,
        });
    if status == 0 {
        return;
    }
    let mut stream = reader.into_inner();
    let _ = write!(
        stream,
        "HTTP/1.1 {status} Status\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
}
