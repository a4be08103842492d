//! Messages between the peer's phones and logged-in companions, as stanzas: the phones' key
//! bundles a companion fetches before it writes to them, the key bundle a companion uploads
//! (kept so phones can write to it), the companion's `message` stanzas opened as the phone
//! they were addressed to, and a phone's text delivered to a companion the way WhatsApp
//! relays it (`message` with a `pkmsg`).

use serde::{Deserialize, Serialize};
use whatsapp_rust::wacore::iq::prekeys::{
    OneTimePreKeyNode, PreKeyBundleUserNode, SignedPreKeyNode,
};
use whatsapp_rust::wacore::messages::{decode_plaintext, MessageUtils};
use whatsapp_rust::wacore::protocol::ProtocolNode;
use whatsapp_rust::wacore::types::jid::JidExt;
use whatsapp_rust::wacore_binary::builder::NodeBuilder;
use whatsapp_rust::wacore_binary::node::{Node, NodeContent};
use whatsapp_rust::waproto::whatsapp as wa;
use whatsapp_rust::Jid;

use super::keys::{now_secs, public_bytes, random_bytes};
use super::router::{iq_error, result};
use super::signal::CompanionBundle;
use super::Inner;

/// A text a companion sent, as the phone it went to read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sent {
    /// The recipient's phone number.
    pub to: String,
    pub text: String,
    pub message_id: String,
}

fn attr(node: &Node, key: &str) -> String {
    node.attrs
        .get(key)
        .map(|value| value.as_str().into_owned())
        .unwrap_or_default()
}

fn bytes<'a>(node: &'a Node, child: &str) -> Option<&'a [u8]> {
    match &node.get_optional_child(child)?.content {
        Some(NodeContent::Bytes(bytes)) => Some(bytes),
        _ => None,
    }
}

fn big_endian(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0, |n, b| (n << 8) | u32::from(*b))
}

/// Answers the `encrypt` IQs: key bundle fetches, the companion's own uploads, and how many
/// of its one-time pre-keys the server holds. `None` for any other stanza.
pub fn answer_keys(peer: &Inner, companion: &str, iq: &Node) -> Option<Node> {
    if iq.tag != "iq" || attr(iq, "xmlns") != "encrypt" {
        return None;
    }
    let child = iq.children()?.first()?;
    match (attr(iq, "type").as_str(), child.tag.as_ref()) {
        ("get", "key") => Some(key_bundles(peer, iq, child)),
        ("get", "count") => {
            let held = peer
                .accounts()
                .bundle(companion)
                .map_or(0, |bundle| bundle.one_time_pre_keys);
            let count = NodeBuilder::new("count")
                .attr("value", held.to_string())
                .build();
            Some(result(iq, vec![count]))
        }
        ("set", "registration" | "rotate") => {
            let previous = peer.accounts().bundle(companion);
            match uploaded(iq, previous) {
                Some(bundle) => match peer.accounts().set_bundle(companion, bundle) {
                    Ok(()) => Some(result(iq, Vec::new())),
                    Err(error) => Some(iq_error(iq, 500, &error)),
                },
                None => Some(iq_error(iq, 400, "bad-request")),
            }
        }
        _ => None,
    }
}

/// Each phone asked for, with a fresh one-time pre-key. Only phones (device 0) exist here.
fn key_bundles(peer: &Inner, iq: &Node, key: &Node) -> Node {
    let users = key.children().unwrap_or_default().iter().map(|user| {
        let asked = attr(user, "jid");
        let bundle = asked
            .parse::<Jid>()
            .ok()
            .filter(|jid| jid.device == 0)
            .and_then(|jid| Some((peer.accounts().phone_of(&jid)?, jid)))
            .and_then(|(phone, jid)| {
                let keys = peer.phones.keys(&phone).ok()?;
                let id = big_endian(&random_bytes::<3>()).max(1);
                let one_time = keys.one_time_pre_key(id).ok()?;
                Some(
                    PreKeyBundleUserNode {
                        jid,
                        registration_id: keys.registration_id,
                        identity_key: public_bytes(&keys.identity).to_vec(),
                        signed_pre_key: SignedPreKeyNode::new(
                            keys.signed_pre_key_id(),
                            public_bytes(&keys.signed_pre_key).to_vec(),
                            keys.signed_pre_key_signature.clone(),
                        ),
                        one_time_pre_key: Some(OneTimePreKeyNode::new(
                            id,
                            public_bytes(&one_time).to_vec(),
                        )),
                        device_identity: None,
                    }
                    .into_node(),
                )
            });
        // No such device: 406, as WhatsApp answers for a device that is gone.
        bundle.unwrap_or_else(|| {
            NodeBuilder::new("user")
                .attr("jid", asked)
                .children([NodeBuilder::new("error")
                    .attr("code", "406")
                    .attr("text", "not-acceptable")
                    .build()])
                .build()
        })
    });
    result(iq, vec![NodeBuilder::new("list").children(users).build()])
}

/// The companion's bundle from a pre-key upload, or its new signed pre-key from a rotation.
fn uploaded(iq: &Node, previous: Option<CompanionBundle>) -> Option<CompanionBundle> {
    let skey_parent = iq.get_optional_child("rotate").unwrap_or(iq);
    let skey = skey_parent.get_optional_child("skey")?;
    let signed_pre_key_id = big_endian(bytes(skey, "id")?);
    let signed_pre_key: [u8; 32] = bytes(skey, "value")?.try_into().ok()?;
    let signed_pre_key_signature = bytes(skey, "signature")?.to_vec();
    let (registration_id, identity, one_time_pre_keys) = match bytes(iq, "registration") {
        Some(registration) => (
            big_endian(registration),
            bytes(iq, "identity")?.try_into().ok()?,
            iq.get_optional_child("list")
                .and_then(|list| list.children())
                .map_or(0, |keys| keys.len() as u32),
        ),
        None => {
            let previous = previous?;
            (
                previous.registration_id,
                previous.identity,
                previous.one_time_pre_keys,
            )
        }
    };
    Some(CompanionBundle {
        registration_id,
        identity,
        one_time_pre_keys,
        signed_pre_key_id,
        signed_pre_key,
        signed_pre_key_signature,
    })
}

/// Opens a companion's `message` as each phone it was addressed to (not the sender's own
/// phone, which only gets the sender's copy) and returns the texts they read.
pub async fn receive(peer: &Inner, sender: &str, message: &Node) -> Result<Vec<Sent>, String> {
    let sender_jid: Jid = sender
        .parse()
        .map_err(|e| format!("bad sender {sender}: {e:?}"))?;
    let own_phone = sender_jid.user.to_string();
    let id = attr(message, "id");
    let copies: Vec<(String, &Node)> = match message.get_optional_child("participants") {
        Some(participants) => participants
            .get_children_by_tag("to")
            .filter_map(|to| Some((attr(to, "jid"), to.get_optional_child("enc")?)))
            .collect(),
        None => message
            .get_optional_child("enc")
            .map(|enc| vec![(attr(message, "to"), enc)])
            .unwrap_or_default(),
    };
    let mut read = Vec::new();
    for (recipient, enc) in copies {
        let recipient: Jid = recipient
            .parse()
            .map_err(|e| format!("bad recipient {recipient}: {e:?}"))?;
        let Some(phone) = peer.accounts().phone_of(&recipient) else {
            continue;
        };
        if phone == own_phone {
            continue;
        }
        let Some(NodeContent::Bytes(ciphertext)) = &enc.content else {
            return Err("an enc without ciphertext".into());
        };
        let padded = peer
            .phones
            .decrypt(
                &phone,
                &sender_jid.to_protocol_address(),
                &attr(enc, "type"),
                ciphertext,
            )
            .await?;
        keep_sessions(peer, &phone).await?;
        if attr(enc, "type") == "msg" {
            peer.counters().read_on_existing_sessions += 1;
        }
        let content = decode_plaintext(&padded, 2).map_err(|e| e.to_string())?;
        let text = content
            .conversation
            .clone()
            .or_else(|| {
                content
                    .extended_text_message
                    .as_option()
                    .and_then(|extended| extended.text.clone())
            })
            .unwrap_or_default();
        read.push(Sent {
            to: phone,
            text,
            message_id: id.clone(),
        });
    }
    Ok(read)
}

/// A text from phone `from` to companion `to`, encrypted to the bundle it uploaded, as
/// WhatsApp delivers it. Returns the stanza and its message id.
pub async fn compose_text(
    peer: &Inner,
    to: &str,
    bundle: &CompanionBundle,
    from: &str,
    text: &str,
) -> Result<(Node, String), String> {
    let content = wa::Message {
        conversation: Some(text.to_string()),
        ..Default::default()
    };
    compose(peer, to, bundle, from, &content).await
}

/// What a phone sends a new companion once it published its keys: the app-state sync key,
/// so the companion can read (here: empty) app state. The companion waits for it before it
/// reports itself connected, as WhatsApp Web does.
pub async fn compose_key_share(
    peer: &Inner,
    to: &str,
    bundle: &CompanionBundle,
    raw_id: u32,
) -> Result<Node, String> {
    use wa::message::{
        protocol_message, AppStateSyncKey, AppStateSyncKeyData, AppStateSyncKeyFingerprint,
        AppStateSyncKeyId, AppStateSyncKeyShare, ProtocolMessage,
    };
    use whatsapp_rust::buffa::MessageField;
    let phone = to.split(':').next().unwrap_or_default().to_string();
    let key = AppStateSyncKey {
        key_id: MessageField::some(AppStateSyncKeyId {
            key_id: Some(random_bytes::<6>().to_vec()),
        }),
        key_data: MessageField::some(AppStateSyncKeyData {
            key_data: Some(random_bytes::<32>().to_vec()),
            fingerprint: MessageField::some(AppStateSyncKeyFingerprint {
                raw_id: Some(raw_id),
                current_index: Some(0),
                device_indexes: vec![0],
            }),
            timestamp: Some(now_secs() as i64 * 1000),
        }),
    };
    let content = wa::Message {
        protocol_message: MessageField::some(ProtocolMessage {
            r#type: Some(protocol_message::Type::AppStateSyncKeyShare),
            app_state_sync_key_share: MessageField::some(AppStateSyncKeyShare { keys: vec![key] }),
            ..Default::default()
        }),
        ..Default::default()
    };
    Ok(compose(peer, to, bundle, &phone, &content).await?.0)
}

/// Stores phone `user`'s sessions after a message changed them.
async fn keep_sessions(peer: &Inner, user: &str) -> Result<(), String> {
    let sessions = peer.phones.sessions_of(user).await;
    peer.accounts().set_phone_sessions(user, &sessions)
}

async fn compose(
    peer: &Inner,
    to: &str,
    bundle: &CompanionBundle,
    from: &str,
    content: &wa::Message,
) -> Result<(Node, String), String> {
    let to_jid: Jid = to
        .parse()
        .map_err(|e| format!("bad companion {to}: {e:?}"))?;
    let (kind, ciphertext, on_existing_session) = peer
        .phones
        .encrypt(
            from,
            &to_jid.to_protocol_address(),
            u32::from(to_jid.device),
            bundle,
            &MessageUtils::encode_and_pad(content),
        )
        .await?;
    if on_existing_session {
        peer.counters().sent_on_existing_sessions += 1;
    }
    keep_sessions(peer, from).await?;
    let id = format!("PEER{:016X}", u64::from_be_bytes(random_bytes::<8>()));
    let stanza = NodeBuilder::new("message")
        .attr("from", format!("{from}@s.whatsapp.net"))
        .attr("id", id.clone())
        .attr("t", now_secs().to_string())
        .attr("type", "text")
        .attr("notify", from)
        .children([NodeBuilder::new("enc")
            .attr("v", "2")
            .attr("type", kind)
            .bytes(ciphertext)
            .build()])
        .build();
    Ok((stanza, id))
}
