//! Timestamps in PingOne's format (ISO-8601 with milliseconds and `Z`).

use time::OffsetDateTime;
use time::macros::format_description;

/// Formats a UTC time as `2024-01-02T03:04:05.678Z`.
pub(crate) fn iso(t: OffsetDateTime) -> String {
    let f =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    t.to_offset(time::UtcOffset::UTC)
        .format(f)
        .unwrap_or_else(|_| "1970-01-01T00:00:00.000Z".into())
}

/// Now, formatted.
pub(crate) fn now() -> String {
    iso(OffsetDateTime::now_utc())
}
