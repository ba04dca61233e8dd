//! The secrecy test in a binary of its own. It captures logs with a
//! thread-local subscriber (`set_default`), while tracing caches each
//! callsite's interest process-wide: a sibling test on another thread could
//! register a callsite first and cache it as "never", blinding the capture
//! (tokio-rs/tracing#3611; seen once in CI). Alone in its binary it cannot race.

#[allow(dead_code)]
#[path = "it/mock.rs"]
mod mock;
#[path = "it/secrets.rs"]
mod secrets;
