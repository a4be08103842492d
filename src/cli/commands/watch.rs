//! `watch`: events as they happen, a line each (`--json`: one JSON object per line). Ends
//! cleanly on Ctrl-C or when the daemon stops.

use std::io::Write;

use crate::cli::args::{Global, WatchArgs};
use crate::cli::client::{decode, Message};
use crate::cli::{connect_daemon, output, user_key, Error, Outcome};
use crate::exit::Exit;
use crate::model::Event;
use crate::protocol::{method, notification, SubscribeParams};

pub async fn watch(global: &Global, args: WatchArgs) -> Result<Outcome, Error> {
    let user = args.user.as_deref().map(user_key).transpose()?;
    let mut client = connect_daemon(global).await?;
    client
        .send(
            method::SUBSCRIBE,
            SubscribeParams {
                user: user.map(|u| u.to_string()),
                since: args.since,
                kinds: args.kinds,
            },
        )
        .await?;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        tokio::select! {
            message = client.next() => match message {
                Ok(Message::Notification(note)) if note.method == notification::EVENT => {
                    let event: Event = decode(note.params)?;
                    let line = if global.json {
                        serde_json::to_string(&event).unwrap_or_default()
                    } else {
                        output::event_line(&event)
                    };
                    let mut stdout = std::io::stdout().lock();
                    // A closed pipe (`watch | head`) ends the watch.
                    if writeln!(stdout, "{line}").and_then(|()| stdout.flush()).is_err() {
                        return Ok(Outcome::printed(Exit::Ok));
                    }
                }
                Ok(Message::Notification(_)) => {}
                Ok(Message::Done(result)) => {
                    result?;
                    return Ok(Outcome::printed(Exit::Ok));
                }
                Err(Error::ConnectionLost) => {
                    eprintln!("wasess: the daemon stopped");
                    return Ok(Outcome::printed(Exit::Ok));
                }
                Err(error) => return Err(error),
            },
            _ = &mut ctrl_c => return Ok(Outcome::printed(Exit::Ok)),
        }
    }
}
