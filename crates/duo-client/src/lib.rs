//! `duo-client`: the Duo Admin API as Duo's official clients speak it.
//!
//! It signs requests (v2 and v5) exactly like Duo's reference clients, pages
//! through listings, paces calls under Duo's published rate limits and retries
//! what is safe to retry.
//!
//! Must not know: PingOne, the reconcile engine, SQL, config files or the CLI.
//!
//! ```no_run
//! # async fn demo() -> Result<(), duo_client::DuoError> {
//! use duo_client::{DuoClient, DuoConfig};
//! let config = DuoConfig::new("api-xxxxxxxx.duosecurity.com", "DIXXXXXXXXXXXXXXXXXX", "secret".to_owned().into());
//! let duo = DuoClient::new(config)?;
//! for user in duo.list_users().await? {
//!     println!("{} {}", user.user_id, user.username);
//! }
//! # Ok(()) }
//! ```

mod admins;
mod bulk;
pub mod canon;
mod client;
mod config;
mod enroll;
mod error;
mod groups;
pub mod pace;
mod paging;
mod phones;
pub mod retry;
pub mod sign;
pub mod transport;
mod types;
mod users;

pub use bulk::{BulkItem, BulkOperation, LOOKUP_MAX};
pub use canon::Params;
pub use client::{DateSource, DuoClient, Idempotency, RawResponse, Slot};
pub use config::{ApiHost, DuoConfig, SignatureVersion, default_user_agent};
pub use error::{ApiFailure, DuoError, ErrorClass, TransportFailure};
pub use pace::{CallObserver, EndpointClass, RateLimits};
pub use paging::{ADMINS_PAGE, LARGE_PAGE, USERS_PAGE};
pub use reqwest::Method;
pub use retry::RetryPolicy;
pub use secrecy::SecretString;
pub use transport::{HttpRequest, HttpResponse, Transport, TransportError};
pub use types::{
    Admin, AdminRole, AdminStatus, AdminUpdate, BulkResult, Group, GroupStatus, GroupUpdate,
    NewAdmin, NewGroup, NewUser, ONE_TO_MANY_LIMIT, Page, Phone, PhoneSpec, Summary, User, UserRef,
    UserStatus, UserUpdate,
};
