//! `pingone-client`: the parts of the PingOne Platform API a connector needs.
//!
//! Client-credentials tokens, HAL paging, SCIM filters, typed calls for users,
//! groups, memberships and populations, retries and pacing.
//!
//! Must not know: Duo, the reconcile engine, SQL, config files or the CLI.
//!
//! ```no_run
//! # async fn demo() -> Result<(), pingone_client::Error> {
//! use futures::TryStreamExt;
//! use pingone_client::{ClientConfig, Filter, PingOneClient, Region, UserQuery};
//! let mut cfg = ClientConfig::new("env-id", "client-id", "secret".to_string().into());
//! cfg.region = Region::Eu;
//! let client = PingOneClient::new(cfg)?.with_transaction_id("run-42");
//! let mut pages = client.list_users(&UserQuery::filtered(Filter::eq("name.family", "Smith")?));
//! while let Some(page) = pages.try_next().await? {
//!     for user in page.items { println!("{}", user.username); }
//! }
//! # Ok(()) }
//! ```

mod client;
mod config;
mod error;
mod filter;
mod groups;
mod memberships;
mod model;
mod paging;
mod populations;
mod retry;
mod token;
mod users;

pub use client::{CallObserver, PingOneClient, TRANSACTION_ID_HEADER};
pub use config::{ClientConfig, ConfigError, Region, TokenAuthMethod};
pub use error::{Error, ErrorClass, ErrorDetail, ErrorEnvelope, Result};
pub use filter::{
    Filter, FilterError, FilterResource, FilterValue, GROUP_ATTRIBUTES, Op, USER_ATTRIBUTES, quote,
};
pub use groups::GroupQuery;
pub use memberships::MemberKind;
pub use model::{
    Address, Group, GroupFields, GroupMembership, MemberCounts, MembershipEmbedded, MembershipType,
    Name, ObjectRef, Page, Population, User, UserEmbedded, UserFields,
};
pub use paging::{PageStream, collect_all};
pub use reqwest::Method;
pub use retry::{RetryPolicy, is_retryable_status, parse_retry_after};
pub use secrecy::SecretString;
pub use users::UserQuery;
