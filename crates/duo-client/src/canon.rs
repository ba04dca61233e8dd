//! Request parameters and Duo's parameter canonicalization (`canon_params`).
//!
//! Duo signs a canonical form of the parameters, not the bytes on the wire:
//! every key and value is percent-encoded like Python's
//! `urllib.parse.quote(x, safe='~')`, then the pairs are sorted by their
//! *encoded* key and value and joined with `&`.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Bytes Python's `quote(x, safe='~')` leaves alone: `A-Z a-z 0-9 - _ . ~`.
const DUO_UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Request parameters: ordered `(key, value)` pairs; a key may repeat.
///
/// Values are plain strings, as Duo's clients send them (`true`/`false`,
/// decimal numbers, JSON arrays as strings for `*_list` filters).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// No parameters.
    pub fn new() -> Self {
        Self(Vec::new())
    }

    /// Appends one pair (a repeated key adds another value).
    pub fn push(&mut self, key: impl Into<String>, value: impl Into<String>) -> &mut Self {
        self.0.push((key.into(), value.into()));
        self
    }

    /// Builder form of [`Params::push`].
    #[must_use]
    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.push(key, value);
        self
    }

    /// Appends the pair only when `value` is `Some`.
    pub fn push_opt(&mut self, key: &str, value: Option<&str>) -> &mut Self {
        if let Some(v) = value {
            self.push(key, v);
        }
        self
    }

    /// Appends every pair of `other`.
    pub fn extend_from(&mut self, other: &Params) -> &mut Self {
        self.0.extend(other.0.iter().cloned());
        self
    }

    /// The pairs in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The first value of `key`, if any.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// True when there are no pairs.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Params {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Self(
            iter.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

/// Percent-encodes `s` (as UTF-8) the way Duo's canonicalization does:
/// unreserved bytes stay, every other byte becomes `%XX` with uppercase hex.
pub fn encode(s: &str) -> String {
    utf8_percent_encode(s, DUO_UNRESERVED).to_string()
}

/// The canonical parameter line: encode every key and value, sort the pairs
/// by encoded key then encoded value, emit `key=value` joined by `&`.
pub fn canon_params(params: &Params) -> String {
    let mut pairs: Vec<(String, String)> =
        params.iter().map(|(k, v)| (encode(k), encode(v))).collect();
    pairs.sort();
    let mut out = String::with_capacity(pairs.iter().map(|(k, v)| k.len() + v.len() + 2).sum());
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_characters_are_encoded_with_uppercase_hex() {
        assert_eq!(
            encode("a b+c/d@e*f~g-h_i.j"),
            "a%20b%2Bc%2Fd%40e%2Af~g-h_i.j"
        );
        assert_eq!(encode("ë"), "%C3%AB");
    }

    #[test]
    fn repeated_keys_sort_by_encoded_value() {
        let p: Params = [("u", "zed"), ("u", "alice"), ("u", "Bob")]
            .into_iter()
            .collect();
        assert_eq!(canon_params(&p), "u=Bob&u=alice&u=zed");
    }
}
