//! User keys: the tenant application's name for a user, usually an e-mail address. Keys end up
//! in file names, log lines and shell commands, so the alphabet is small and checked at the edge.

use std::fmt;

use serde::{Deserialize, Serialize};

pub const MAX_LEN: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UserKey(String);

impl UserKey {
    pub fn parse(input: &str) -> Result<UserKey, String> {
        if input.is_empty() {
            return Err("invalid user key: it is empty".into());
        }
        if input.len() > MAX_LEN {
            return Err(format!(
                "invalid user key: {} characters is too long (at most {MAX_LEN})",
                input.chars().count()
            ));
        }
        if let Some(bad) = input.chars().find(|c| !allowed(*c)) {
            return Err(format!(
                "invalid user key '{}': character {bad:?} is not allowed (letters, digits and @ . _ + - : only)",
                input.escape_default()
            ));
        }
        if input.starts_with(['-', '.']) {
            return Err(format!(
                "invalid user key '{input}': it must not start with '-' or '.'"
            ));
        }
        Ok(UserKey(input.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn allowed(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '@' | '.' | '_' | '+' | '-' | ':')
}

impl fmt::Display for UserKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for UserKey {
    type Error = String;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        UserKey::parse(&text)
    }
}

impl From<UserKey> for String {
    fn from(key: UserKey) -> String {
        key.0
    }
}

#[cfg(test)]
mod tests {
    use super::UserKey;

    #[test]
    fn accepts_emails_and_ids() {
        for key in ["alice@example.com", "tenant-42:user_7", "a", "bob+wa@x.io"] {
            assert_eq!(
                UserKey::parse(key).map(|k| k.to_string()),
                Ok(key.to_string())
            );
        }
    }

    #[test]
    fn refuses_keys_that_would_break_paths_or_shells() {
        for (key, why) in [
            ("", "empty"),
            ("a b", "' '"),
            ("../etc", "'/'"),
            ("-rf", "must not start"),
            (".hidden", "must not start"),
            ("tab\there", "'\\t'"),
        ] {
            let error = UserKey::parse(key).expect_err(key);
            assert!(error.contains(why), "{key:?}: {error}");
        }
        assert!(UserKey::parse(&"x".repeat(129))
            .unwrap_err()
            .contains("too long"));
    }
}
