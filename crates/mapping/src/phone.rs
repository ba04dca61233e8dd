//! Phone numbers to E.164, through the `phonenumber` crate (libphonenumber's metadata).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::str::FromStr;

use phonenumber::{Mode, country};

/// Longest input handed to the phone parser; no real number with its formatting comes close,
/// and it keeps a huge attribute from costing regex time.
const MAX_PHONE_INPUT: usize = 64;

/// The region for an ISO 3166 alpha-2 code (case-insensitive), if the phone database knows it.
pub(crate) fn region(code: &str) -> Option<country::Id> {
    let code = code.trim();
    if code.len() != 2 {
        return None;
    }
    country::Id::from_str(&code.to_ascii_uppercase()).ok()
}

/// Normalize `input` to E.164 (`+` and digits), reading numbers without a `+country` prefix as
/// numbers of `default_region`. Extensions are dropped (Duo keeps them in a separate field).
///
/// Errors are rule texts for an [`crate::AttrError`]. Idempotent: a result fed back gives itself.
pub fn to_e164(input: &str, default_region: &str) -> Result<String, String> {
    let Some(region) = region(default_region) else {
        return Err(format!(
            "unknown phone region {}: use a two-letter ISO 3166 code such as \"US\"",
            crate::error::quote(default_region)
        ));
    };
    const FIX: &str = "write it in E.164 form such as +17345551212";
    if input.chars().count() > MAX_PHONE_INPUT {
        return Err(format!(
            "is not a phone number (longer than {MAX_PHONE_INPUT} characters): {FIX}"
        ));
    }
    // phonenumber 0.3.10 strips the *default* region's national prefix after an explicit
    // `+country` code (`+33 1 42…` with region US loses its `1`), so a number that carries its
    // country is parsed without one. The region is then irrelevant, and not named in errors.
    let (hint, read_as) = if international(input) {
        (None, String::new())
    } else {
        let code = default_region.trim().to_ascii_uppercase();
        (Some(region), format!(", read with default region {code}"))
    };
    // The parser is well fuzzed upstream; this guard keeps "never panics on data" a promise
    // of this crate rather than of a dependency.
    let parsed = catch_unwind(AssertUnwindSafe(|| {
        phonenumber::parse(hint, input).map(|n| {
            let valid = phonenumber::is_valid(&n);
            (n.format().mode(Mode::E164).to_string(), valid)
        })
    }));
    match parsed {
        // libphonenumber's metadata can accept a national form whose E.164 it
        // then refuses (BR `0900000000` → `+55900000000`); such a number is
        // refused here too, so the result fed back always gives itself.
        Ok(Ok((e164, true))) if round_trips(&e164) => Ok(e164),
        Ok(Ok((_, true))) => Err(format!(
            "is not a valid phone number (its E.164 form is not a valid number{read_as}): {FIX}"
        )),
        Ok(Ok((_, false))) => Err(format!(
            "is not a valid phone number (no such number range{read_as}): {FIX}"
        )),
        Ok(Err(_)) | Err(_) => match read_as.strip_prefix(", ") {
            Some(how) => Err(format!("is not a phone number ({how}): {FIX}")),
            None => Err(format!("is not a phone number: {FIX}")),
        },
    }
}

/// Whether an E.164 result parses back, valid, to itself.
fn round_trips(e164: &str) -> bool {
    catch_unwind(AssertUnwindSafe(|| {
        phonenumber::parse(None, e164).is_ok_and(|n| {
            phonenumber::is_valid(&n) && n.format().mode(Mode::E164).to_string() == e164
        })
    }))
    .unwrap_or(false)
}

/// Whether the number names its own country (`+…`, possibly after `tel:` or spaces).
fn international(input: &str) -> bool {
    let t = input.trim_start();
    let t = t
        .strip_prefix("tel:")
        .or_else(|| t.strip_prefix("TEL:"))
        .unwrap_or(t)
        .trim_start();
    t.starts_with('+') || t.starts_with('\u{FF0B}')
}
