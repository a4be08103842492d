//! Reading Baileys' JSON: its files are written with `BufferJSON`, so a byte string may be
//! `{"type":"Buffer","data":"<base64>"}`, the same with an array of bytes, an object with
//! numbered keys, or (inside protobuf messages and Signal records) plain base64 text.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde_json::Value;

/// The bytes `value` stands for, in any of Baileys' spellings.
pub fn bytes(value: &Value) -> Option<Vec<u8>> {
    match value {
        Value::String(text) => B64.decode(text).ok(),
        Value::Array(items) => items
            .iter()
            .map(|item| item.as_u64().and_then(|b| u8::try_from(b).ok()))
            .collect(),
        Value::Object(map) => match (map.get("type"), map.get("data"), map.get("value")) {
            (Some(Value::String(kind)), Some(data), _) if kind == "Buffer" => bytes(data),
            (_, _, Some(inner)) if map.get("buffer").is_some() => bytes(inner),
            _ => {
                // `{"0": 12, "1": 34, …}`: a Uint8Array as JSON.stringify writes it.
                let mut numbered: Vec<(usize, u8)> = map
                    .iter()
                    .map(|(k, v)| Some((k.parse().ok()?, u8::try_from(v.as_u64()?).ok()?)))
                    .collect::<Option<_>>()?;
                numbered.sort_unstable();
                let in_order = numbered.iter().enumerate().all(|(i, (k, _))| i == *k);
                (in_order && !numbered.is_empty())
                    .then(|| numbered.into_iter().map(|(_, b)| b).collect())
            }
        },
        _ => None,
    }
}

/// Exactly `N` bytes.
pub fn array<const N: usize>(value: &Value) -> Option<[u8; N]> {
    bytes(value)?.try_into().ok()
}

/// A number written as a number or as text (protobuf's int64 fields are text).
pub fn integer(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(text) => text.parse().ok(),
        _ => None,
    }
}

/// An id as `useMultiFileAuthState` wrote it into a file name: `/` became `__` and `:` became
/// `-`.
pub fn unfix_file_name(name: &str) -> String {
    name.replace("__", "/").replace('-', ":")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_spelling_of_a_buffer_reads_the_same() {
        let want = vec![1u8, 2, 255];
        for value in [
            json!({"type": "Buffer", "data": "AQL/"}),
            json!({"type": "Buffer", "data": [1, 2, 255]}),
            json!({"buffer": true, "value": "AQL/"}),
            json!({"0": 1, "1": 2, "2": 255}),
            json!("AQL/"),
        ] {
            assert_eq!(bytes(&value), Some(want.clone()), "{value}");
        }
        assert_eq!(bytes(&json!({"1": 2})), None);
        assert_eq!(bytes(&json!(12)), None);
    }
}
