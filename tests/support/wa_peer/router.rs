//! What the server says to a logged-in client: the `success`/`failure` of a login, the
//! stanzas that end a session, and the answers to the client's IQs. Answers are minimal but
//! well-formed for the whatsapp-rust client: an empty offline queue (so it goes on to
//! `Connected`), empty app-state collections, one device (the phone) per user, and an empty
//! `result` for anything else. Pure functions of the stanza; the session acts on [`Heard`].

use whatsapp_rust::wacore_binary::builder::NodeBuilder;
use whatsapp_rust::wacore_binary::node::Node;

use super::accounts::Refusal;
use super::keys::now_secs;

pub const SERVER: &str = "s.whatsapp.net";
/// How long a temporary ban lasts.
pub const BAN_SECONDS: u64 = 3600;

/// What the session must know about a stanza, besides answering it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Heard {
    Nothing,
    /// The client unlinked companion `jid` (a logout).
    RemoveCompanion(String),
    /// The client sent a message to `to`.
    Message {
        to: String,
        id: String,
    },
    /// The client synced its critical app state (what a new device does last before it is up).
    CriticalSync,
}

pub struct Answer {
    pub nodes: Vec<Node>,
    pub heard: Heard,
}

fn attr(node: &Node, key: &str) -> String {
    node.attrs
        .get(key)
        .map(|value| value.as_str().into_owned())
        .unwrap_or_default()
}

fn children(node: &Node) -> &[Node] {
    node.children().unwrap_or_default()
}

pub fn result(request: &Node, content: Vec<Node>) -> Node {
    let reply = NodeBuilder::new("iq")
        .attr("from", SERVER)
        .attr("type", "result")
        .attr("id", attr(request, "id"));
    if content.is_empty() {
        reply.build()
    } else {
        reply.children(content).build()
    }
}

pub fn iq_error(request: &Node, code: u16, text: &str) -> Node {
    NodeBuilder::new("iq")
        .attr("from", SERVER)
        .attr("type", "error")
        .attr("id", attr(request, "id"))
        .children([NodeBuilder::new("error")
            .attr("code", code.to_string())
            .attr("text", text)
            .build()])
        .build()
}

pub fn success(lid: &str) -> Node {
    NodeBuilder::new("success")
        .attr("t", now_secs().to_string())
        .attr("lid", lid)
        .attr("location", "peer")
        .build()
}

pub fn failure(refusal: &Refusal) -> Node {
    match refusal {
        Refusal::LoggedOut => NodeBuilder::new("failure")
            .attr("reason", "401")
            .attr("location", "peer")
            .build(),
        Refusal::Banned(seconds) => ban(*seconds),
    }
}

/// A temporary ban for sending to too many people (code 101).
pub fn ban(seconds: u64) -> Node {
    NodeBuilder::new("failure")
        .attr("reason", "402")
        .attr("code", "101")
        .attr("expire", seconds.to_string())
        .attr("location", "peer")
        .build()
}

pub fn outdated() -> Node {
    NodeBuilder::new("failure")
        .attr("reason", "405")
        .attr("location", "peer")
        .build()
}

pub fn stream_error(code: &str) -> Node {
    NodeBuilder::new("stream:error").attr("code", code).build()
}

pub fn replaced() -> Node {
    NodeBuilder::new("stream:error")
        .children([NodeBuilder::new("conflict")
            .attr("type", "replaced")
            .build()])
        .build()
}

/// The end of the (always empty) offline queue: the client waits for it before `Connected`.
fn offline_done() -> Node {
    NodeBuilder::new("ib")
        .children([NodeBuilder::new("offline").attr("count", "0").build()])
        .build()
}

/// Answers one stanza from a logged-in client.
pub fn answer(node: &Node) -> Answer {
    let quiet = |nodes| Answer {
        nodes,
        heard: Heard::Nothing,
    };
    match node.tag.as_ref() {
        "iq" if matches!(attr(node, "type").as_str(), "get" | "set") => answer_iq(node),
        "message" => {
            let to = attr(node, "to");
            let id = attr(node, "id");
            let ack = NodeBuilder::new("ack")
                .attr("class", "message")
                .attr("id", id.clone())
                .attr("from", to.clone())
                .attr("t", now_secs().to_string())
                .build();
            Answer {
                nodes: vec![ack],
                heard: Heard::Message { to, id },
            }
        }
        // Results of server IQs, acks, receipts, presence, ib: nothing to say.
        _ => quiet(Vec::new()),
    }
}

fn answer_iq(iq: &Node) -> Answer {
    let quiet = |nodes| Answer {
        nodes,
        heard: Heard::Nothing,
    };
    let first = children(iq).first();
    let first_tag = first.map(|child| child.tag.as_ref()).unwrap_or_default();
    match (attr(iq, "xmlns").as_str(), first_tag) {
        ("md", "remove-companion-device") => Answer {
            nodes: vec![result(iq, Vec::new())],
            heard: Heard::RemoveCompanion(first.map(|c| attr(c, "jid")).unwrap_or_default()),
        },
        // Going active is when WhatsApp delivers the offline queue; ours is empty.
        ("passive", "active") => quiet(vec![result(iq, Vec::new()), offline_done()]),
        ("w:sync:app:state", "sync") => {
            let critical = first
                .map(children)
                .unwrap_or_default()
                .iter()
                .any(|collection| attr(collection, "name") == "critical_block");
            Answer {
                nodes: vec![result(iq, vec![app_state(first)])],
                heard: if critical {
                    Heard::CriticalSync
                } else {
                    Heard::Nothing
                },
            }
        }
        ("usync", "usync") => quiet(vec![result(iq, vec![usync(first)])]),
        // "Service unavailable": the client keeps its keys (404 would force a re-upload).
        ("encrypt", "digest") => quiet(vec![iq_error(iq, 503, "service-unavailable")]),
        ("abt", "props") => quiet(vec![result(
            iq,
            vec![NodeBuilder::new("props")
                .attr("protocol", "1")
                .attr("hash", "peer")
                .build()],
        )]),
        ("blocklist", _) => quiet(vec![result(iq, vec![NodeBuilder::new("list").build()])]),
        ("privacy", "privacy") => {
            quiet(vec![result(iq, vec![NodeBuilder::new("privacy").build()])])
        }
        _ => {
            tracing::debug!(xmlns = %attr(iq, "xmlns"), child = first_tag, "wa-peer: empty answer");
            quiet(vec![result(iq, Vec::new())])
        }
    }
}

/// Every requested collection, empty at version 0.
fn app_state(sync: Option<&Node>) -> Node {
    let collections = sync.map(children).unwrap_or_default().iter().map(|c| {
        NodeBuilder::new("collection")
            .attr("name", attr(c, "name"))
            .attr("version", "0")
            .build()
    });
    NodeBuilder::new("sync").children(collections).build()
}

/// Each user in the query, with what was asked: the phone as its only device, no LID.
fn usync(query: Option<&Node>) -> Node {
    let query = query.expect("matched on the usync child");
    let asked: Vec<String> = query
        .get_optional_child("query")
        .map(children)
        .unwrap_or_default()
        .iter()
        .map(|protocol| protocol.tag.to_string())
        .collect();
    let users = query
        .get_optional_child("list")
        .map(children)
        .unwrap_or_default()
        .iter()
        .map(|user| {
            let parts = asked.iter().map(|protocol| match protocol.as_str() {
                "devices" => NodeBuilder::new("devices")
                    .children([NodeBuilder::new("device-list")
                        .attr("hash", "2:peer")
                        .children([NodeBuilder::new("device").attr("id", "0").build()])
                        .build()])
                    .build(),
                "contact" => NodeBuilder::new("contact").attr("type", "in").build(),
                other => NodeBuilder::new_dynamic(other.to_string()).build(),
            });
            NodeBuilder::new("user")
                .attr("jid", attr(user, "jid"))
                .children(parts)
                .build()
        });
    NodeBuilder::new("usync")
        .children([NodeBuilder::new("list").children(users).build()])
        .build()
}
