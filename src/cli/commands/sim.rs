//! `sim scan|event|message|sent`: act as the phone against a simulated daemon.

use crate::cli::args::{Global, SimCommand};
use crate::cli::{connect_daemon, phone_number, user_key, Error, Outcome};
use crate::protocol::{
    method, SimEventParams, SimMessageParams, SimResult, SimScanParams, SimSentResult, UserParams,
};

pub async fn run(global: &Global, command: SimCommand) -> Result<Outcome, Error> {
    let mut client = connect_daemon(global).await?;
    let done: SimResult = match command {
        SimCommand::Scan { user, phone } => {
            let params = SimScanParams {
                user: user_key(&user)?.to_string(),
                phone: phone_number(&phone)?.to_string(),
            };
            client.call(method::SIM_SCAN, params).await?
        }
        SimCommand::Event { user, event } => {
            let params = SimEventParams {
                user: user_key(&user)?.to_string(),
                event,
            };
            client.call(method::SIM_EVENT, params).await?
        }
        SimCommand::Message {
            user,
            from,
            text,
            count,
        } => {
            let params = SimMessageParams {
                user: user_key(&user)?.to_string(),
                from: phone_number(&from)?.to_string(),
                text,
                count,
            };
            client.call(method::SIM_MESSAGE, params).await?
        }
        SimCommand::Sent { user } => {
            let params = UserParams {
                user: user_key(&user)?.to_string(),
            };
            let sent: SimSentResult = client.call(method::SIM_SENT, params).await?;
            let human = sent
                .messages
                .iter()
                .map(|m| format!("{} → {}: {}", m.message_id, m.to, m.text))
                .collect::<Vec<_>>()
                .join("\n");
            return Ok(Outcome::new(&sent, human));
        }
    };
    Ok(Outcome::new(&done, format!("{}: {}", done.user, done.done)))
}
