//! One user's session: `check`, `disconnect`, `logout`, `reconnect`, `send`.

use crate::cli::args::{CheckArgs, Global, SendArgs, UserArg};
use crate::cli::{connect_daemon, output, phone_number, user_key, Error, Outcome};
use crate::exit::Exit;
use crate::model::{Connection, ReasonCode, Verdict};
use crate::protocol::{method, CheckParams, SendParams, SendResult, UserParams};

pub async fn check(global: &Global, args: CheckArgs) -> Result<Outcome, Error> {
    let user = user_key(&args.user)?;
    let phone = args.phone.as_deref().map(phone_number).transpose()?;
    let verdict: Verdict = connect_daemon(global)
        .await?
        .call(
            method::CHECK,
            CheckParams {
                user: user.to_string(),
                phone: phone.map(|p| p.to_string()),
            },
        )
        .await?;
    let exit = match verdict.reason_code {
        ReasonCode::Allowed => Exit::Ok,
        ReasonCode::UnknownUser => Exit::NotFound,
        _ => Exit::Refused,
    };
    Ok(Outcome::new(&verdict, output::verdict(&verdict)).exit(exit))
}

async fn user_call(global: &Global, name: &str, user: &str) -> Result<Outcome, Error> {
    let user = user_key(user)?;
    let row: Connection = connect_daemon(global)
        .await?
        .call(
            name,
            UserParams {
                user: user.to_string(),
            },
        )
        .await?;
    Ok(Outcome::new(&row, output::connection(&row)))
}

pub async fn disconnect(global: &Global, args: UserArg) -> Result<Outcome, Error> {
    user_call(global, method::DISCONNECT, &args.user).await
}

pub async fn logout(global: &Global, args: UserArg) -> Result<Outcome, Error> {
    user_call(global, method::LOGOUT, &args.user).await
}

pub async fn reconnect(global: &Global, args: UserArg) -> Result<Outcome, Error> {
    user_call(global, method::RECONNECT, &args.user).await
}

pub async fn send(global: &Global, args: SendArgs) -> Result<Outcome, Error> {
    let user = user_key(&args.user)?;
    let to = phone_number(&args.to)?;
    if args.text.is_empty() {
        return Err(Error::Usage("the message text is empty".into()));
    }
    let sent: SendResult = connect_daemon(global)
        .await?
        .call(
            method::SEND,
            SendParams {
                user: user.to_string(),
                to: to.to_string(),
                text: args.text,
                idempotency_key: args.idempotency_key,
            },
        )
        .await?;
    let human = if sent.duplicate {
        format!(
            "already sent to {} as {} with this key: message id {} (nothing sent again)",
            sent.to, sent.user, sent.message_id
        )
    } else {
        format!(
            "sent to {} as {}: message id {}",
            sent.to, sent.user, sent.message_id
        )
    };
    Ok(Outcome::new(&sent, human))
}
