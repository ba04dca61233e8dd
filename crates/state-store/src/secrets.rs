//! A guard against storing secrets by mistake: JSON values given to the store
//! (link attributes, intent summaries, audit before/after) are refused when any
//! object key, at any depth, is named like a secret. The API has no secret
//! parameter; this catches a mapping that copies one into attributes.

use crate::error::{Result, StoreError};

/// Names refused outright, compared lower-case without `_`, `-` or `.`.
const SECRET_NAMES: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "secretkey",
    "skey",
    "clientsecret",
    "token",
    "accesstoken",
    "refreshtoken",
    "idtoken",
    "bearertoken",
    "apikey",
    "privatekey",
    "authorization",
];

/// True when a field of this name must never be stored.
pub fn is_secret_field(name: &str) -> bool {
    // Every secret name ends in d (password), t (secret), y (key), n (token,
    // authorization): most attribute names are cleared by their last letter.
    if name.is_ascii() {
        let last = name
            .bytes()
            .rev()
            .find(|b| !matches!(b, b'_' | b'-' | b'.'));
        if !matches!(
            last.map(|b| b.to_ascii_lowercase()),
            Some(b'd' | b't' | b'y' | b'n')
        ) {
            return false;
        }
    }
    // Checked for every key of every stored value: normalise into a stack
    // buffer when the name is short ASCII (the usual case), allocate otherwise.
    let mut buf = [0u8; 64];
    let mut len = 0;
    if name.is_ascii() && name.len() <= buf.len() {
        for b in name.bytes().filter(|b| !matches!(b, b'_' | b'-' | b'.')) {
            buf[len] = b.to_ascii_lowercase();
            len += 1;
        }
        let norm = std::str::from_utf8(&buf[..len]).unwrap_or_default();
        return is_secret_norm(norm);
    }
    let norm: String = name
        .chars()
        .filter(|c| !matches!(c, '_' | '-' | '.'))
        .flat_map(char::to_lowercase)
        .collect();
    is_secret_norm(&norm)
}

fn is_secret_norm(norm: &str) -> bool {
    SECRET_NAMES.contains(&norm) || norm.ends_with("secret") || norm.ends_with("password")
}

/// Fails with [`StoreError::SecretField`] when `value` holds a secret-named key.
pub(crate) fn check(
    record: &'static str,
    object: impl FnOnce() -> String,
    value: &serde_json::Value,
) -> Result<()> {
    match find(value) {
        None => Ok(()),
        Some(field) => Err(StoreError::SecretField {
            record,
            object: object(),
            field: field.to_owned(),
        }),
    }
}

fn find(value: &serde_json::Value) -> Option<&str> {
    match value {
        serde_json::Value::Object(map) => map.iter().find_map(|(k, v)| {
            if is_secret_field(k) {
                Some(k.as_str())
            } else {
                find(v)
            }
        }),
        serde_json::Value::Array(items) => items.iter().find_map(find),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::is_secret_field;

    #[test]
    fn secret_names_are_caught_in_any_spelling() {
        for name in [
            "password",
            "Password",
            "client_secret",
            "skey",
            "API-Key",
            "accessToken",
            "newPassword",
        ] {
            assert!(is_secret_field(name), "{name} should count as a secret");
        }
    }

    #[test]
    fn the_last_letter_shortcut_covers_every_secret_name() {
        // `is_secret_field` clears a name by its last letter; a new entry
        // ending otherwise must change that shortcut too.
        for name in super::SECRET_NAMES.iter().chain(&["secret", "password"]) {
            assert!(
                matches!(name.as_bytes().last(), Some(b'd' | b't' | b'y' | b'n')),
                "{name}"
            );
            assert!(is_secret_field(name), "{name}");
            assert!(
                is_secret_field(&format!("{}_", name.to_uppercase())),
                "{name}"
            );
        }
    }

    #[test]
    fn ordinary_attributes_pass() {
        // Duo users carry `tokens` (hardware tokens) and phones `sms_passcodes_sent`.
        for name in [
            "username",
            "email",
            "tokens",
            "sms_passcodes_sent",
            "ikey",
            "passwordLastChanged",
        ] {
            assert!(!is_secret_field(name), "{name} is not a secret");
        }
    }
}
