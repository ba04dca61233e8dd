//! `pingone-client`: the parts of the PingOne Platform API a connector needs.
//!
//! Client-credentials tokens, HAL paging, SCIM filters, typed calls for users,
//! groups, memberships and populations, retries and pacing.
//!
//! Must not know: Duo, the reconcile engine, SQL, config files or the CLI.
