//! Phone numbers as the registry stores them: digits only, country code first, no `+`,
//! 8–15 digits (E.164 without the plus). Operators paste numbers in every shape, and WhatsApp
//! reports them as JIDs, so everything entering the registry goes through [`PhoneNumber::parse`].

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber(String);

const MIN_DIGITS: usize = 8;
const MAX_DIGITS: usize = 15;

impl PhoneNumber {
    /// Accepts `573001234567`, `+57 300 123 4567`, `(57) 300-123-4567`, `0057…` and JIDs such as
    /// `573001234567:12@s.whatsapp.net` (device suffix stripped).
    pub fn parse(input: &str) -> Result<PhoneNumber, String> {
        let text = input.trim();
        let invalid = |why: &str| {
            format!(
                "invalid phone number '{text}': {why} (use the country code and digits, e.g. \
                 573001234567 or +57 300 123 4567)"
            )
        };
        if text.is_empty() {
            return Err("invalid phone number '': it is empty".into());
        }
        let digits = if let Some((user, server)) = text.split_once('@') {
            if server != "s.whatsapp.net" && server != "c.us" {
                return Err(invalid(&format!(
                    "'{server}' is not a phone-number JID server"
                )));
            }
            // `user.agent:device` → `user`
            let user = user.split([':', '.']).next().unwrap_or_default();
            if !user.chars().all(|c| c.is_ascii_digit()) {
                return Err(invalid("the JID's user part is not a number"));
            }
            user.to_string()
        } else {
            let mut rest = text;
            if let Some(stripped) = rest.strip_prefix('+') {
                rest = stripped;
            }
            let mut digits = String::with_capacity(rest.len());
            for c in rest.chars() {
                match c {
                    '0'..='9' => digits.push(c),
                    ' ' | '-' | '.' | '(' | ')' | '\u{a0}' => {}
                    other => return Err(invalid(&format!("unexpected character '{other}'"))),
                }
            }
            if !text.starts_with('+') {
                if let Some(international) = digits.strip_prefix("00") {
                    digits = international.to_string();
                }
            }
            digits
        };
        if digits.starts_with('0') {
            return Err(invalid("a country code never starts with 0"));
        }
        if digits.len() < MIN_DIGITS {
            return Err(invalid(&format!(
                "{} digits is too short (at least {MIN_DIGITS})",
                digits.len()
            )));
        }
        if digits.len() > MAX_DIGITS {
            return Err(invalid(&format!(
                "{} digits is too long (at most {MAX_DIGITS})",
                digits.len()
            )));
        }
        Ok(PhoneNumber(digits))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The JID WhatsApp addresses this number by.
    pub fn jid(&self) -> String {
        format!("{}@s.whatsapp.net", self.0)
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for PhoneNumber {
    type Error = String;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        PhoneNumber::parse(&text)
    }
}

impl From<PhoneNumber> for String {
    fn from(phone: PhoneNumber) -> String {
        phone.0
    }
}

#[cfg(test)]
mod tests {
    use super::PhoneNumber;

    fn parsed(input: &str) -> String {
        match PhoneNumber::parse(input) {
            Ok(phone) => phone.to_string(),
            Err(error) => error,
        }
    }

    #[test]
    fn accepts_every_shape_operators_paste() {
        for input in [
            "573001234567",
            "+57 300 123 4567",
            "+57-300-123-4567",
            "(57) 300.123.4567",
            "0057 300 123 4567",
            "573001234567@s.whatsapp.net",
            "573001234567:12@s.whatsapp.net",
            "573001234567.0:3@s.whatsapp.net",
            "573001234567@c.us",
        ] {
            assert_eq!(parsed(input), "573001234567", "input {input:?}");
        }
    }

    #[test]
    fn refuses_what_is_not_a_number() {
        for (input, why) in [
            ("", "empty"),
            ("1234567", "too short"),
            ("1234567890123456", "too long"),
            ("+57 300 abc", "unexpected character 'a'"),
            ("0300123456", "country code"),
            ("12345678@lid", "not a phone-number JID"),
            ("abc@s.whatsapp.net", "not a number"),
        ] {
            let error = PhoneNumber::parse(input).expect_err(input);
            assert!(error.contains(why), "{input:?}: {error}");
        }
    }
}
