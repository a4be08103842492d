//! whatsapp-rust's events in wasess's words. Pure functions, so every mapping is tested with
//! the library's own payload builders.

use std::time::Duration;

use whatsapp_rust::prelude::{Event, MessageExt};
use whatsapp_rust::transport::DisconnectReason;
use whatsapp_rust::types::events::ConnectFailureReason;

use crate::backend::{EventKind, IncomingMessage};
use crate::registry::PhoneNumber;
use crate::time::Timestamp;

/// What the session driver must know about an event, besides reporting it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Nothing for the driver.
    None,
    /// The link is up.
    Up,
    /// Paired: WhatsApp restarts the stream (515) and the client must log in again at once.
    Restart,
    /// The session is over for good (replaced, logged out, banned, outdated, QR exhausted).
    Terminal,
    /// An established connection dropped: wait for the supervisor's reconnect.
    Dropped,
}

/// The events a session reports for `event`, and what it means for the driver.
pub fn translate(event: &Event, now: Timestamp) -> (Vec<EventKind>, Effect) {
    let one = |kind: EventKind, effect: Effect| (vec![kind], effect);
    match event {
        Event::PairingQrCode(qr) => one(
            EventKind::Qr {
                code: qr.code.clone(),
                valid_for: qr.timeout,
            },
            Effect::None,
        ),
        Event::PairingCode(code) => one(
            EventKind::PairCode {
                code: code.code.clone(),
                valid_for: code.timeout,
            },
            Effect::None,
        ),
        Event::PairingQrCodesExhausted(_) => one(EventKind::QrExhausted, Effect::Terminal),
        Event::PairSuccess(success) => match PhoneNumber::parse(success.id.user.as_str()) {
            Ok(phone) => one(EventKind::Paired { phone }, Effect::Restart),
            Err(error) => one(
                EventKind::PairFailed {
                    reason: format!("WhatsApp reported an unusable number: {error}"),
                },
                Effect::Terminal,
            ),
        },
        Event::PairError(error) => one(
            EventKind::PairFailed {
                reason: error.error.clone(),
            },
            Effect::Terminal,
        ),
        Event::PairingCodeError(error) => one(
            EventKind::PairFailed {
                reason: format!("pair code refused: {}", error.error),
            },
            Effect::Terminal,
        ),
        Event::Connected(_) => one(EventKind::Connected, Effect::Up),
        Event::Disconnected(disconnected) => one(
            EventKind::NetworkLost {
                reason: describe_disconnect(&disconnected.reason),
            },
            Effect::Dropped,
        ),
        Event::StreamReplaced(_) => one(EventKind::Replaced, Effect::Terminal),
        Event::LoggedOut(logged_out) => one(
            EventKind::LoggedOut {
                reason: describe_failure(logged_out.reason),
            },
            Effect::Terminal,
        ),
        Event::TemporaryBan(ban) => {
            let expire = ban.expire.to_std().unwrap_or(Duration::ZERO);
            one(
                EventKind::TemporaryBan {
                    code: ban.code.code(),
                    until: (!expire.is_zero()).then(|| now.plus(expire)),
                },
                Effect::Terminal,
            )
        }
        Event::ClientOutdated(_) => one(EventKind::ClientOutdated, Effect::Terminal),
        Event::ConnectFailure(failure) => {
            let mut reason = format!(
                "WhatsApp refused the connection: {}",
                describe_failure(failure.reason)
            );
            if let Some(message) = &failure.message {
                reason.push_str(&format!(" ({message})"));
            }
            let effect = if failure.reason.should_reconnect() {
                Effect::Dropped
            } else {
                Effect::Terminal
            };
            one(EventKind::ConnectFailed { reason }, effect)
        }
        Event::StreamError(error) => one(
            EventKind::NetworkLost {
                reason: format!("stream error {}", error.code),
            },
            Effect::Dropped,
        ),
        Event::Messages(_) => (
            event
                .messages()
                .filter(|message| !message.info.source.is_from_me)
                .map(|message| {
                    let info = &message.info;
                    let source = &info.source;
                    let from = if source.sender.is_pn() {
                        Some(source.sender.user.to_string())
                    } else {
                        source
                            .sender_alt
                            .as_ref()
                            .filter(|jid| jid.is_pn())
                            .map(|jid| jid.user.to_string())
                    };
                    let text = message.message.text_content().map(str::to_string);
                    let message_type = if text.is_some() {
                        "text".to_string()
                    } else if info.r#type.is_empty() {
                        "unknown".to_string()
                    } else {
                        info.r#type.clone()
                    };
                    EventKind::Message(IncomingMessage {
                        message_id: info.id.to_string(),
                        from,
                        chat: source.chat.to_string(),
                        at: Timestamp(info.timestamp.timestamp_millis()),
                        message_type,
                        text,
                    })
                })
                .collect(),
            Effect::None,
        ),
        _ => (Vec::new(), Effect::None),
    }
}

fn describe_disconnect(reason: &DisconnectReason) -> String {
    match reason {
        DisconnectReason::ServerClose { code, reason } => match code {
            Some(code) => format!("server closed the connection ({code} {reason})"),
            None => format!("server closed the connection ({reason})"),
        },
        DisconnectReason::StreamEnded => "connection closed by the server".into(),
        DisconnectReason::ReadError(error) => format!("connection lost: {error}"),
        _ => "connection lost".into(),
    }
}

fn describe_failure(reason: ConnectFailureReason) -> String {
    let text = match reason {
        ConnectFailureReason::LoggedOut => "device logged out",
        ConnectFailureReason::TempBanned => "temporarily banned",
        ConnectFailureReason::AccountLocked => "account locked",
        ConnectFailureReason::ClientOutdated => "client outdated",
        ConnectFailureReason::UnknownLogout => "logged out",
        ConnectFailureReason::BadUserAgent => "bad user agent",
        ConnectFailureReason::ServiceUnavailable => "service unavailable",
        ConnectFailureReason::InternalServerError => "internal server error",
        _ => "connection failure",
    };
    format!("{text} (code {})", reason.code())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use whatsapp_rust::prelude::{wa, BatchOrigin, InboundMessage, MessageBatch};
    use whatsapp_rust::types::events::{
        ClientOutdated, ConnectFailure, Connected, Disconnected, LoggedOut, PairError, PairSuccess,
        PairingCode, PairingCodeError, PairingQrCode, PairingQrCodesExhausted, StreamError,
        StreamReplaced, TempBanReason, TemporaryBan,
    };
    use whatsapp_rust::types::message::{MessageInfo, MessageSource};
    use whatsapp_rust::{chrono, Jid};

    use super::*;

    const NOW: Timestamp = Timestamp(1_800_000_000_000);

    fn single(event: Event) -> (EventKind, Effect) {
        let (mut kinds, effect) = translate(&event, NOW);
        assert_eq!(kinds.len(), 1, "{event:?}");
        (kinds.remove(0), effect)
    }

    #[test]
    fn pairing_events_map_to_the_pairing_flow() {
        let qr = PairingQrCode::builder()
            .code("2@ref,noise,identity,adv".to_string())
            .timeout(Duration::from_secs(60))
            .build();
        assert_eq!(
            single(Event::PairingQrCode(qr)),
            (
                EventKind::Qr {
                    code: "2@ref,noise,identity,adv".into(),
                    valid_for: Duration::from_secs(60)
                },
                Effect::None
            )
        );
        let exhausted = PairingQrCodesExhausted::builder()
            .disconnected(true)
            .build();
        assert_eq!(
            single(Event::PairingQrCodesExhausted(exhausted)),
            (EventKind::QrExhausted, Effect::Terminal)
        );
        let success = PairSuccess::builder()
            .id(Jid::pn_device("573001234567", 12))
            .lid(Jid::lid("123456789012345"))
            .business_name(String::new())
            .platform("android".to_string())
            .build();
        assert_eq!(
            single(Event::PairSuccess(success)),
            (
                EventKind::Paired {
                    phone: PhoneNumber::parse("573001234567").expect("phone")
                },
                Effect::Restart
            )
        );
        let error = PairError::builder()
            .id(Jid::pn("1"))
            .lid(Jid::lid("1"))
            .business_name(String::new())
            .platform(String::new())
            .error("bad signature".to_string())
            .build();
        assert_eq!(
            single(Event::PairError(error)),
            (
                EventKind::PairFailed {
                    reason: "bad signature".into()
                },
                Effect::Terminal
            )
        );
        let code = PairingCode::builder()
            .code("ABCD1234".to_string())
            .timeout(Duration::from_secs(180))
            .build();
        assert!(matches!(
            single(Event::PairingCode(code)),
            (EventKind::PairCode { .. }, Effect::None)
        ));
        let refused = PairingCodeError::builder()
            .error("rate limited".to_string())
            .build();
        assert!(matches!(
            single(Event::PairingCodeError(refused)),
            (EventKind::PairFailed { reason }, Effect::Terminal) if reason.contains("rate limited")
        ));
    }

    #[test]
    fn session_events_map_to_states() {
        assert_eq!(
            single(Event::Connected(Connected::builder().build())),
            (EventKind::Connected, Effect::Up)
        );
        let dropped = Disconnected::builder()
            .reason(DisconnectReason::ReadError("reset by peer".into()))
            .build();
        assert!(matches!(
            single(Event::Disconnected(dropped)),
            (EventKind::NetworkLost { reason }, Effect::Dropped) if reason.contains("reset by peer")
        ));
        assert_eq!(
            single(Event::StreamReplaced(StreamReplaced::builder().build())),
            (EventKind::Replaced, Effect::Terminal)
        );
        let logged_out = LoggedOut::builder()
            .on_connect(true)
            .reason(ConnectFailureReason::LoggedOut)
            .build();
        assert!(matches!(
            single(Event::LoggedOut(logged_out)),
            (EventKind::LoggedOut { reason }, Effect::Terminal) if reason.contains("401")
        ));
        let ban = TemporaryBan::builder()
            .code(TempBanReason::BlockedByUsers)
            .expire(chrono::Duration::seconds(3600))
            .build();
        assert_eq!(
            single(Event::TemporaryBan(ban)),
            (
                EventKind::TemporaryBan {
                    code: 102,
                    until: Some(NOW.plus(Duration::from_secs(3600)))
                },
                Effect::Terminal
            )
        );
        assert_eq!(
            single(Event::ClientOutdated(ClientOutdated::builder().build())),
            (EventKind::ClientOutdated, Effect::Terminal)
        );
        let retryable = ConnectFailure::builder()
            .reason(ConnectFailureReason::ServiceUnavailable)
            .build();
        assert!(matches!(
            single(Event::ConnectFailure(retryable)),
            (EventKind::ConnectFailed { .. }, Effect::Dropped)
        ));
        let fatal = ConnectFailure::builder()
            .reason(ConnectFailureReason::BadUserAgent)
            .build();
        assert!(matches!(
            single(Event::ConnectFailure(fatal)),
            (EventKind::ConnectFailed { .. }, Effect::Terminal)
        ));
        let stream = StreamError::builder().code("999".to_string()).build();
        assert!(matches!(
            single(Event::StreamError(stream)),
            (EventKind::NetworkLost { .. }, Effect::Dropped)
        ));
    }

    #[test]
    fn incoming_texts_carry_sender_chat_and_text() {
        let info = |id: &str, sender: Jid, from_me: bool| MessageInfo {
            id: id.to_string(),
            timestamp: chrono::DateTime::from_timestamp(1_800_000_000, 0).expect("time"),
            source: MessageSource {
                chat: Jid::pn("573009998888"),
                sender,
                is_from_me: from_me,
                ..Default::default()
            },
            ..Default::default()
        };
        let text = |body: &str| {
            Arc::new(wa::Message {
                conversation: Some(body.to_string()),
                ..Default::default()
            })
        };
        let messages = vec![
            InboundMessage::builder()
                .message(text("hola"))
                .info(Arc::new(info(
                    "IN1",
                    Jid::pn_device("573009998888", 3),
                    false,
                )))
                .build(),
            InboundMessage::builder()
                .message(text("mine"))
                .info(Arc::new(info("OUT1", Jid::pn("573001234567"), true)))
                .build(),
        ];
        let batch = MessageBatch::builder()
            .messages(Arc::from(messages))
            .origin(BatchOrigin::Live)
            .build();
        let (kinds, effect) = translate(&Event::Messages(batch), NOW);
        assert_eq!(effect, Effect::None);
        assert_eq!(
            kinds,
            [EventKind::Message(IncomingMessage {
                message_id: "IN1".into(),
                from: Some("573009998888".into()),
                chat: "573009998888@s.whatsapp.net".into(),
                at: Timestamp(1_800_000_000_000),
                message_type: "text".into(),
                text: Some("hola".into()),
            })]
        );
    }
}
