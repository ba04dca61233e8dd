//! `duo-client`: the Duo Admin API as Duo's official clients speak it.
//!
//! It signs requests (v2 and v5) exactly like Duo's reference clients, pages
//! through listings, paces calls under Duo's published rate limits and retries
//! what is safe to retry.
//!
//! Must not know: PingOne, the reconcile engine, SQL, config files or the CLI.
