//! Signals, as the daemon's main loop sees them: SIGTERM/SIGINT stop it, SIGHUP reloads the
//! config. signal-hook's handler only records the signal; a thread forwards it to the async
//! side, where the real work happens.

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use tokio::sync::mpsc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Stop,
    Reload,
}

pub fn listen() -> std::io::Result<mpsc::UnboundedReceiver<Signal>> {
    let mut signals = Signals::new([SIGTERM, SIGINT, SIGHUP])?;
    let (sender, receiver) = mpsc::unbounded_channel();
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for signal in signals.forever() {
                let forwarded = match signal {
                    SIGHUP => Signal::Reload,
                    _ => Signal::Stop,
                };
                if sender.send(forwarded).is_err() {
                    return;
                }
            }
        })?;
    Ok(receiver)
}
