//! `webhooks.status`, `webhooks.retry`.

use crate::daemon::supervisor::Supervisor;
use crate::daemon::Error;
use crate::protocol::{WebhooksResult, WebhooksRetryParams, WebhooksRetryResult};

pub async fn status(supervisor: &Supervisor) -> Result<WebhooksResult, Error> {
    let mut endpoints = Vec::new();
    for webhook in supervisor.settings().webhooks {
        endpoints.push(
            supervisor
                .registry()
                .webhook_status(&webhook.name, &webhook.url)
                .await?,
        );
    }
    Ok(WebhooksResult { endpoints })
}

pub async fn retry(
    supervisor: &Supervisor,
    params: WebhooksRetryParams,
) -> Result<WebhooksRetryResult, Error> {
    if let Some(name) = &params.endpoint {
        if !supervisor
            .settings()
            .webhooks
            .iter()
            .any(|w| &w.name == name)
        {
            return Err(Error::NotFound(format!(
                "no webhook named '{name}' is configured"
            )));
        }
    }
    let requeued = supervisor
        .registry()
        .webhook_retry_dead(params.endpoint.as_deref())
        .await?;
    supervisor.outbox().notify_waiters();
    Ok(WebhooksRetryResult { requeued })
}
