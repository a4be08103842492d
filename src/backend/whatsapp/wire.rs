//! A switch on a session's connection to WhatsApp, that hangs it up whatever the client is
//! doing. The client's own `disconnect` first flushes its state to the store, that is to the
//! registry, and only then closes the socket: a node that lost the registry and fences itself
//! would keep the connection open for as long as those writes hang, while another node logs
//! the device in. A cut stops the connection's reading at once and sends the close frame (a
//! send stuck on a full socket can hold the writing side until the client lets go of it);
//! once cut, the session opens no connection again.

use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use async_trait::async_trait;
use whatsapp_rust::transport::{Transport, TransportEvent, TransportFactory};
use whatsapp_rust::{anyhow, async_channel};

/// How long the close frame may take to go out; the reading side stops at once regardless.
const CUT_TIMEOUT: Duration = Duration::from_secs(1);

#[derive(Default)]
pub struct Switch {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    cut: bool,
    /// The connection open now, if any: the client owns it, the switch only reaches it.
    current: Option<Weak<dyn Transport>>,
}

impl Switch {
    /// Hangs up the open connection, and refuses every later one.
    pub async fn cut(&self) {
        if let Some(transport) = self.disarm() {
            hang_up(transport.as_ref()).await;
        }
    }

    /// [`Switch::cut`] from code that cannot wait (a drop): the hang-up runs on a task.
    pub fn cut_soon(&self) {
        if let Some(transport) = self.disarm() {
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move { hang_up(transport.as_ref()).await });
            }
        }
    }

    /// Refuses every later connection; returns the open one.
    fn disarm(&self) -> Option<Arc<dyn Transport>> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.cut = true;
        state.current.take().and_then(|current| current.upgrade())
    }

    fn is_cut(&self) -> bool {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).cut
    }
}

/// The connections of one session, each reachable through its [`Switch`].
pub struct SwitchedTransport {
    pub inner: Arc<dyn TransportFactory>,
    pub switch: Arc<Switch>,
}

#[async_trait]
impl TransportFactory for SwitchedTransport {
    async fn create_transport(
        &self,
    ) -> Result<(Arc<dyn Transport>, async_channel::Receiver<TransportEvent>), anyhow::Error> {
        if self.switch.is_cut() {
            return Err(anyhow::anyhow!("the session is closed"));
        }
        let (transport, events) = self.inner.create_transport().await?;
        let raced = {
            let mut state = self.switch.state.lock().unwrap_or_else(|p| p.into_inner());
            if !state.cut {
                state.current = Some(Arc::downgrade(&transport));
            }
            state.cut
        };
        if raced {
            // Cut while this connection was opening.
            hang_up(transport.as_ref()).await;
            return Err(anyhow::anyhow!("the session is closed"));
        }
        Ok((transport, events))
    }
}

async fn hang_up(transport: &dyn Transport) {
    let _ = tokio::time::timeout(CUT_TIMEOUT, transport.disconnect()).await;
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use whatsapp_rust::bytes::Bytes;

    use super::*;

    /// Connections that count their hang-ups.
    #[derive(Default)]
    struct Counting {
        hung_up: Arc<AtomicUsize>,
    }

    struct Connection(Arc<AtomicUsize>);

    #[async_trait]
    impl Transport for Connection {
        async fn send(&self, _: Bytes) -> Result<(), anyhow::Error> {
            Ok(())
        }

        async fn disconnect(&self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[async_trait]
    impl TransportFactory for Counting {
        async fn create_transport(
            &self,
        ) -> Result<(Arc<dyn Transport>, async_channel::Receiver<TransportEvent>), anyhow::Error>
        {
            let (_, events) = async_channel::unbounded();
            Ok((Arc::new(Connection(self.hung_up.clone())), events))
        }
    }

    /// A switched factory of counting connections, its switch and its count of hang-ups.
    fn switched() -> (SwitchedTransport, Arc<Switch>, Arc<AtomicUsize>) {
        let counting = Counting::default();
        let hung_up = counting.hung_up.clone();
        let switch = Arc::new(Switch::default());
        let factory = SwitchedTransport {
            inner: Arc::new(counting),
            switch: switch.clone(),
        };
        (factory, switch, hung_up)
    }

    #[tokio::test]
    async fn a_cut_hangs_up_the_open_connection_and_refuses_new_ones() {
        let (factory, switch, hung_up) = switched();
        let (_first, _) = factory.create_transport().await.expect("first connection");
        let (_open, _) = factory.create_transport().await.expect("a reconnect");

        switch.cut().await;
        // Only the connection open now: the first one was replaced already.
        assert_eq!(hung_up.load(Ordering::SeqCst), 1);
        assert!(factory.create_transport().await.is_err());
        switch.cut().await;
        assert_eq!(hung_up.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_cut_that_cannot_wait_hangs_up_on_a_task() {
        let (factory, switch, hung_up) = switched();
        let (_open, _) = factory.create_transport().await.expect("a connection");

        switch.cut_soon();
        assert!(factory.create_transport().await.is_err());
        for _ in 0..100 {
            if hung_up.load(Ordering::SeqCst) == 1 {
                return;
            }
            tokio::task::yield_now().await;
        }
        panic!("the connection was not hung up");
    }
}
