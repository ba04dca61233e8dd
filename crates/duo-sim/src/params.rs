//! Request parameters as handlers see them (query, form or JSON body), plus paging and value rules.

use serde_json::Value;

use crate::error::ApiError;

/// Decoded request parameters; a key may repeat.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(pub Vec<(String, String)>);

impl Params {
    /// Builds parameters from pairs.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Params(
            pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Whether `key` was sent.
    pub fn has(&self, key: &str) -> bool {
        self.0.iter().any(|(k, _)| k == key)
    }

    /// Adds the members of a JSON object (strings as is, numbers and booleans as text, other
    /// values as JSON text; `null` is skipped).
    pub fn extend_json(&mut self, obj: &serde_json::Map<String, Value>) {
        for (k, v) in obj {
            let s = match v {
                Value::Null => continue,
                Value::String(s) => s.clone(),
                Value::Bool(b) => b.to_string(),
                Value::Number(n) => n.to_string(),
                other => other.to_string(),
            };
            self.0.push((k.clone(), s));
        }
    }

    /// A required, non-empty value (40001 otherwise).
    pub fn required(&self, key: &str) -> Result<&str, ApiError> {
        match self.get(key) {
            Some(v) if !v.is_empty() => Ok(v),
            _ => Err(ApiError::missing(key)),
        }
    }

    /// A boolean given as `true`/`false`/`1`/`0` (40002 otherwise).
    pub fn bool(&self, key: &str) -> Result<Option<bool>, ApiError> {
        match self.get(key).map(str::to_ascii_lowercase).as_deref() {
            None => Ok(None),
            Some("true" | "1") => Ok(Some(true)),
            Some("false" | "0") => Ok(Some(false)),
            Some(_) => Err(ApiError::invalid(key)),
        }
    }

    /// An integer (40002 otherwise).
    pub fn int(&self, key: &str) -> Result<Option<i64>, ApiError> {
        self.get(key)
            .map(|v| v.trim().parse::<i64>().map_err(|_| ApiError::invalid(key)))
            .transpose()
    }

    /// `limit`/`offset` with the endpoint's default of 100 and its cap (larger limits are clamped).
    pub fn paging(&self, max: usize) -> Result<(usize, usize), ApiError> {
        let limit = match self.get("limit") {
            None => 100.min(max),
            Some(v) => match v.trim().parse::<usize>() {
                Ok(0) | Err(_) => return Err(ApiError::invalid("limit")),
                Ok(n) => n.min(max),
            },
        };
        let offset = match self.get("offset") {
            None => 0,
            Some(v) => v
                .trim()
                .parse::<usize>()
                .map_err(|_| ApiError::invalid("offset"))?,
        };
        Ok((limit, offset))
    }

    /// A JSON-array-of-strings parameter such as `user_id_list` (at most 100 entries).
    pub fn id_list(&self, key: &str) -> Result<Option<Vec<String>>, ApiError> {
        let Some(raw) = self.get(key) else {
            return Ok(None);
        };
        let list: Vec<String> = serde_json::from_str(raw).map_err(|_| ApiError::invalid(key))?;
        if list.len() > 100 {
            return Err(ApiError::invalid(key));
        }
        Ok(Some(list))
    }
}

/// A page of `items` and its metadata (`total_objects`, `next_offset`, `prev_offset`). Both
/// offsets are always present, `null` on the first and last pages, as in Duo's own fixtures
/// (duo_api_golang `admin_test.go`).
pub fn page_metadata(total: usize, limit: usize, offset: usize, returned: usize) -> Value {
    let next = (offset + returned < total).then_some(offset + returned);
    let prev = (offset > 0).then(|| offset.saturating_sub(limit));
    serde_json::json!({ "total_objects": total, "next_offset": next, "prev_offset": prev })
}

/// Normalises a phone number to E.164: spaces, dashes, dots and brackets are ignored, a number
/// without `+` is taken as US (+1). NANP numbers need a 2-9 area code and exchange.
pub fn normalize_phone(raw: &str) -> Result<String, ()> {
    let cleaned: String = raw
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
        .collect();
    let digits = match cleaned.strip_prefix('+') {
        Some(rest) => rest.to_owned(),
        None => format!("1{cleaned}"),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(());
    }
    if !(7..=15).contains(&digits.len()) || digits.starts_with('0') {
        return Err(());
    }
    if let Some(nanp) = digits.strip_prefix('1') {
        let b = nanp.as_bytes();
        if b.len() != 10 || b[0] < b'2' || b[3] < b'2' {
            return Err(());
        }
    }
    Ok(format!("+{digits}"))
}

/// Percent-decodes without treating `+` as a space (alias values may hold `+`).
pub fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_follow_duo_rules() {
        assert_eq!(
            normalize_phone("+1 734-555-1212"),
            Ok("+17345551212".into())
        );
        assert_eq!(normalize_phone("734.555.1212"), Ok("+17345551212".into()));
        assert_eq!(normalize_phone("(734) 555-1212"), Ok("+17345551212".into()));
        assert_eq!(
            normalize_phone("+44 20 7946 0958"),
            Ok("+442079460958".into())
        );
        assert!(
            normalize_phone("1234567890").is_err(),
            "area code 123 is not NANP"
        );
        assert!(normalize_phone("+1555").is_err());
        assert!(normalize_phone("+12a4567890").is_err());
        assert!(normalize_phone("").is_err());
    }

    #[test]
    fn paging_defaults_caps_and_rejects() {
        let p = |pairs: &[(&str, &str)]| Params::from_pairs(pairs.iter().copied()).paging(300);
        assert_eq!(p(&[]), Ok((100, 0)));
        assert_eq!(p(&[("limit", "1000"), ("offset", "5")]), Ok((300, 5)));
        assert_eq!(p(&[("limit", "0")]).unwrap_err().code, 40002);
        assert_eq!(
            p(&[("offset", "-1")]).unwrap_err().detail.as_deref(),
            Some("offset")
        );
    }
}
