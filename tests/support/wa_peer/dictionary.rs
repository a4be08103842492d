//! The stanza dictionaries a client may speak. The fourth byte of the `WA` header names the
//! token dictionary its stanzas are written with: 3 is the one wacore-binary reads and
//! writes, 2 is the older one Baileys still speaks. The two share the binary layout and
//! differ in which string each token byte stands for, so a v2 stanza is translated to v3
//! token by token on the way in, and back on the way out. A string the other dictionary
//! has no token for is written out as bytes.
//!
//! `tokens_v2.json` is Baileys' table, written by `tests/fixtures/baileys/tokens.js`.

use std::collections::HashMap;
use std::sync::OnceLock;

use whatsapp_rust::wacore_binary::token::{get_double_token, get_single_token, index_of_token};

const LIST_EMPTY: u8 = 0;
const DICTIONARY_0: u8 = 236;
const DICTIONARY_3: u8 = 239;
const INTEROP_JID: u8 = 245;
const FB_JID: u8 = 246;
const AD_JID: u8 = 247;
const LIST_8: u8 = 248;
const LIST_16: u8 = 249;
const JID_PAIR: u8 = 250;
const HEX_8: u8 = 251;
const BINARY_8: u8 = 252;
const BINARY_20: u8 = 253;
const BINARY_32: u8 = 254;
const NIBBLE_8: u8 = 255;

/// The dictionary a connection's stanzas use, from its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dictionary {
    V2,
    V3,
}

impl Dictionary {
    /// The dictionary a `WA 6 n` header names; `None` for one the peer does not speak.
    pub fn from_header(header: &[u8]) -> Option<Dictionary> {
        match header {
            [b'W', b'A', 6, 2] => Some(Dictionary::V2),
            [b'W', b'A', 6, 3] => Some(Dictionary::V3),
            _ => None,
        }
    }
}

/// One token table: strings by token, and tokens by string.
struct Table {
    single: Vec<String>,
    double: Vec<Vec<String>>,
    index: HashMap<String, Token>,
}

#[derive(Clone, Copy)]
enum Token {
    Single(u8),
    Double(u8, u8),
}

fn v2() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        #[derive(serde::Deserialize)]
        struct File {
            single_byte: Vec<String>,
            double_byte: Vec<Vec<String>>,
        }
        let file: File =
            serde_json::from_str(include_str!("tokens_v2.json")).expect("tokens_v2.json is valid");
        let mut index = HashMap::new();
        for (i, token) in file.single_byte.iter().enumerate().skip(1) {
            index.insert(token.clone(), Token::Single(i as u8));
        }
        for (d, dictionary) in file.double_byte.iter().enumerate() {
            for (i, token) in dictionary.iter().enumerate() {
                index
                    .entry(token.clone())
                    .or_insert(Token::Double(d as u8, i as u8));
            }
        }
        Table {
            single: file.single_byte,
            double: file.double_byte,
            index,
        }
    })
}

/// Which way a stanza is translated.
#[derive(Clone, Copy)]
enum Direction {
    V2ToV3,
    V3ToV2,
}

impl Direction {
    fn lookup(self, token: Token) -> Option<&'static str> {
        match (self, token) {
            (Direction::V2ToV3, Token::Single(i)) => v2().single.get(usize::from(i)),
            (Direction::V2ToV3, Token::Double(d, i)) => v2()
                .double
                .get(usize::from(d))
                .and_then(|d| d.get(usize::from(i))),
            (Direction::V3ToV2, Token::Single(i)) => return get_single_token(i),
            (Direction::V3ToV2, Token::Double(d, i)) => return get_double_token(d, i),
        }
        .map(String::as_str)
    }

    fn token_for(self, text: &str) -> Option<Token> {
        match self {
            Direction::V2ToV3 => index_of_token(text).map(|kind| match kind {
                whatsapp_rust::wacore_binary::token::TokenKind::Single(i) => Token::Single(i),
                whatsapp_rust::wacore_binary::token::TokenKind::Double(d, i) => Token::Double(d, i),
            }),
            Direction::V3ToV2 => v2().index.get(text).copied(),
        }
    }
}

/// A v2 stanza (without the frame's flag byte) in v3's tokens.
pub fn to_v3(stanza: &[u8]) -> Result<Vec<u8>, String> {
    translate(stanza, Direction::V2ToV3)
}

/// A v3 stanza (without the frame's flag byte) in v2's tokens.
pub fn to_v2(stanza: &[u8]) -> Result<Vec<u8>, String> {
    translate(stanza, Direction::V3ToV2)
}

fn translate(stanza: &[u8], direction: Direction) -> Result<Vec<u8>, String> {
    let mut walk = Walk {
        input: stanza,
        at: 0,
        output: Vec::with_capacity(stanza.len() + 16),
        direction,
    };
    walk.node()?;
    if walk.at != stanza.len() {
        return Err(format!("{} bytes after the stanza", stanza.len() - walk.at));
    }
    Ok(walk.output)
}

/// Copies a stanza byte by byte, rewriting only tokens.
struct Walk<'a> {
    input: &'a [u8],
    at: usize,
    output: Vec<u8>,
    direction: Direction,
}

impl<'a> Walk<'a> {
    fn byte(&mut self) -> Result<u8, String> {
        let byte = *self.input.get(self.at).ok_or("the stanza ends early")?;
        self.at += 1;
        Ok(byte)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let input: &'a [u8] = self.input;
        let end = self.at.checked_add(n).filter(|&end| end <= input.len());
        let end = end.ok_or("the stanza ends early")?;
        let bytes = &input[self.at..end];
        self.at = end;
        Ok(bytes)
    }

    fn copy(&mut self, n: usize) -> Result<(), String> {
        let bytes = self.take(n)?;
        self.output.extend_from_slice(bytes);
        Ok(())
    }

    /// Reads a list header, copying it, and returns its size.
    fn list_size(&mut self, tag: u8) -> Result<usize, String> {
        self.output.push(tag);
        match tag {
            LIST_EMPTY => Ok(0),
            LIST_8 => {
                let size = self.byte()?;
                self.output.push(size);
                Ok(usize::from(size))
            }
            LIST_16 => {
                let size = self.take(2)?;
                let size = u16::from_be_bytes([size[0], size[1]]);
                self.output.extend_from_slice(&size.to_be_bytes());
                Ok(usize::from(size))
            }
            other => Err(format!("expected a list, found tag {other}")),
        }
    }

    fn node(&mut self) -> Result<(), String> {
        let tag = self.byte()?;
        let size = self.list_size(tag)?;
        if size == 0 {
            return Err("empty node".into());
        }
        self.string()?;
        for _ in 0..(size - 1) / 2 {
            self.string()?;
            self.string()?;
        }
        if size % 2 == 0 {
            self.content()?;
        }
        Ok(())
    }

    fn content(&mut self) -> Result<(), String> {
        let tag = *self.input.get(self.at).ok_or("the stanza ends early")?;
        match tag {
            LIST_EMPTY | LIST_8 | LIST_16 => {
                self.at += 1;
                let children = self.list_size(tag)?;
                for _ in 0..children {
                    self.node()?;
                }
                Ok(())
            }
            _ => self.string(),
        }
    }

    fn string(&mut self) -> Result<(), String> {
        let tag = self.byte()?;
        match tag {
            LIST_EMPTY => {
                self.output.push(tag);
                Ok(())
            }
            1..DICTIONARY_0 => self.token(Token::Single(tag)),
            DICTIONARY_0..=DICTIONARY_3 => {
                let index = self.byte()?;
                self.token(Token::Double(tag - DICTIONARY_0, index))
            }
            BINARY_8 => {
                self.output.push(tag);
                let n = self.byte()?;
                self.output.push(n);
                self.copy(usize::from(n))
            }
            BINARY_20 => {
                self.output.push(tag);
                let n = self.take(3)?;
                let len =
                    (usize::from(n[0] & 0x0f) << 16) | (usize::from(n[1]) << 8) | usize::from(n[2]);
                self.output.extend_from_slice(&[n[0], n[1], n[2]]);
                self.copy(len)
            }
            BINARY_32 => {
                self.output.push(tag);
                let n = self.take(4)?;
                let len = u32::from_be_bytes([n[0], n[1], n[2], n[3]]) as usize;
                self.output.extend_from_slice(&[n[0], n[1], n[2], n[3]]);
                self.copy(len)
            }
            NIBBLE_8 | HEX_8 => {
                self.output.push(tag);
                let packed = self.byte()?;
                self.output.push(packed);
                self.copy(usize::from(packed & 0x7f))
            }
            JID_PAIR => {
                self.output.push(tag);
                self.string()?;
                self.string()
            }
            AD_JID => {
                self.output.push(tag);
                self.copy(2)?;
                self.string()
            }
            INTEROP_JID | FB_JID => Err(format!("tag {tag} has no equivalent in dictionary 2")),
            other => Err(format!("unknown tag {other}")),
        }
    }

    /// Writes `token`'s string with the other dictionary's token, or as bytes.
    fn token(&mut self, token: Token) -> Result<(), String> {
        let text = self
            .direction
            .lookup(token)
            .ok_or("a token outside the dictionary")?;
        match self.direction.token_for(text) {
            Some(Token::Single(i)) => self.output.push(i),
            Some(Token::Double(d, i)) => self.output.extend_from_slice(&[DICTIONARY_0 + d, i]),
            None => {
                let bytes = text.as_bytes();
                // Every token is shorter than 256 bytes.
                self.output.push(BINARY_8);
                self.output.push(bytes.len() as u8);
                self.output.extend_from_slice(bytes);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use whatsapp_rust::wacore_binary::builder::NodeBuilder;
    use whatsapp_rust::wacore_binary::marshal::{marshal, unmarshal_ref};

    #[test]
    fn a_stanza_survives_the_round_trip_through_dictionary_2() {
        let node = NodeBuilder::new("iq")
            .attr("xmlns", "encrypt")
            .attr("type", "get")
            .attr("to", "s.whatsapp.net")
            .children([NodeBuilder::new("count").build()])
            .build();
        let v3 = marshal(&node).expect("marshal");
        let v2 = to_v2(&v3[1..]).expect("to v2");
        assert_ne!(v2, v3[1..], "the two dictionaries differ");
        let back = to_v3(&v2).expect("to v3");
        assert_eq!(back, v3[1..]);
        let decoded = unmarshal_ref(&back).expect("decode").to_owned();
        assert_eq!(decoded.tag, "iq");
    }
}
