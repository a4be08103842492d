//! `webhooks status|retry`.

use crate::cli::args::{Global, WebhooksCommand};
use crate::cli::{connect_daemon, output, Error, Outcome};
use crate::protocol::{method, Empty, WebhooksResult, WebhooksRetryParams, WebhooksRetryResult};

pub async fn run(global: &Global, command: WebhooksCommand) -> Result<Outcome, Error> {
    let mut client = connect_daemon(global).await?;
    match command {
        WebhooksCommand::Status => {
            let status: WebhooksResult = client.call(method::WEBHOOKS_STATUS, Empty {}).await?;
            Ok(Outcome::new(&status, output::webhooks(&status)))
        }
        WebhooksCommand::Retry { endpoint } => {
            let done: WebhooksRetryResult = client
                .call(method::WEBHOOKS_RETRY, WebhooksRetryParams { endpoint })
                .await?;
            let human = format!(
                "{} dead letter(s) queued for delivery again.",
                done.requeued
            );
            Ok(Outcome::new(&done, human))
        }
    }
}
