//! One pace for every login from stored credentials, whatever set it off: a resume after a
//! restart, a takeover, the end of a fencing, a reconnect after a network drop, an operator's
//! `reconnect`. The node as a whole logs in at most `resume_rate` sessions per second, so a
//! restart or a network blip never turns into a storm of logins at WhatsApp.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug)]
pub struct LoginPacer {
    /// The earliest moment the next login may start.
    next: Mutex<Instant>,
}

impl LoginPacer {
    pub fn new() -> LoginPacer {
        LoginPacer {
            next: Mutex::new(Instant::now()),
        }
    }

    /// Waits for this login's slot: slots are `1 / rate` seconds apart, handed out in call
    /// order.
    pub async fn wait(&self, rate: u32) {
        let slot = {
            let mut next = self
                .next
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let slot = (*next).max(Instant::now());
            *next = slot + Duration::from_secs(1) / rate.max(1);
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

#[cfg(test)]
mod tests {
    use super::LoginPacer;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn logins_are_spaced_by_the_rate_in_call_order() {
        let pacer = LoginPacer::new();
        let started = tokio::time::Instant::now();
        for _ in 0..5 {
            pacer.wait(10).await;
        }
        // Five slots, 100 ms apart: the first at once, the last 400 ms later.
        assert_eq!(started.elapsed(), Duration::from_millis(400));
        // An idle pacer gives the next slot at once.
        tokio::time::sleep(Duration::from_secs(5)).await;
        let now = tokio::time::Instant::now();
        pacer.wait(10).await;
        assert_eq!(now.elapsed(), Duration::ZERO);
    }
}
