//! Wrappers around whatsapp-rust's transport and HTTP client that remember the last error.
//! The library only logs why a connect attempt failed; these let wasess tell the operator
//! ("WhatsApp unreachable: dns error …") instead of a bare "failed".

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use whatsapp_rust::http::{HttpClient, HttpRequest, HttpResponse};
use whatsapp_rust::transport::{Transport, TransportEvent, TransportFactory};
use whatsapp_rust::{anyhow, async_channel};

/// The last connection error, shared by both wrappers.
#[derive(Debug, Default, Clone)]
pub struct LastError(Arc<Mutex<Option<String>>>);

impl LastError {
    pub fn take(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    fn record(&self, what: &str, error: &anyhow::Error) {
        let text = format!("{what}: {error:#}");
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(text);
    }
}

pub struct RecordingTransport {
    pub inner: Arc<dyn TransportFactory>,
    pub last_error: LastError,
}

#[async_trait]
impl TransportFactory for RecordingTransport {
    async fn create_transport(
        &self,
    ) -> Result<(Arc<dyn Transport>, async_channel::Receiver<TransportEvent>), anyhow::Error> {
        let created = self.inner.create_transport().await;
        if let Err(error) = &created {
            self.last_error
                .record("cannot open the WhatsApp connection", error);
        }
        created
    }
}

pub struct RecordingHttp<C> {
    pub inner: C,
    pub last_error: LastError,
}

#[async_trait]
impl<C: HttpClient> HttpClient for RecordingHttp<C> {
    async fn execute(&self, request: HttpRequest) -> anyhow::Result<HttpResponse> {
        let response = self.inner.execute(request).await;
        if let Err(error) = &response {
            self.last_error
                .record("cannot reach WhatsApp's servers", error);
        }
        response
    }

    fn supports_streaming(&self) -> bool {
        self.inner.supports_streaming()
    }

    fn execute_streaming(
        &self,
        request: HttpRequest,
    ) -> anyhow::Result<whatsapp_rust::wacore::net::StreamingHttpResponse> {
        self.inner.execute_streaming(request)
    }
}
