//! Durations as written in the config: `90s`, `15m`, `1h30m`, `500ms`.

use std::time::Duration;

/// Parse `1h30m`, `15m`, `90s`, `500ms` (units h, m, s, ms; at least one part).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let expected = "expected a duration such as \"90s\", \"15m\" or \"1h30m\"";
    let s = text.trim();
    if s.is_empty() {
        return Err(format!("{expected}, got an empty string"));
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(format!("{expected}, got {text:?}"));
        }
        let n: u64 = rest[..digits]
            .parse()
            .map_err(|_| format!("{expected}, got {text:?}"))?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let part = match unit {
            "h" => n.checked_mul(3600).map(Duration::from_secs),
            "m" => n.checked_mul(60).map(Duration::from_secs),
            "s" => Some(Duration::from_secs(n)),
            "ms" => Some(Duration::from_millis(n)),
            _ => return Err(format!("{expected} (units h, m, s, ms), got {text:?}")),
        };
        total = part
            .and_then(|p| total.checked_add(p))
            .ok_or_else(|| format!("{text:?} is too long a duration"))?;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_combine_and_bad_input_is_explained() {
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_duration("15").unwrap_err().contains("units"));
        assert!(parse_duration("m").unwrap_err().contains("\"m\""));
        assert!(parse_duration("").is_err());
    }
}
