//! `mapping`: attribute mappings between PingOne and Duo records.
//!
//! A table `target attribute = expression` ([`MappingSpec`], read from config with serde) is
//! compiled once into a [`Mapping`] for a [`Direction`]; compile errors name the target and the
//! column. [`Mapping::apply`] maps one source record (JSON) into a [`MappedRecord`] of checked
//! values, or into per-attribute [`AttrError`]s: bad data fails one record, never the run.
//! The language and every target are described in `docs/mapping.md`.
//!
//! Pure: no IO, no async, no HTTP, no SQL; never panics on data; deterministic.
//! Must not know: HTTP, SQL, the engine, config files or the CLI.
//!
//! ```
//! use mapping::{Direction, Mapping, MappingSpec};
//! let spec = MappingSpec::from_pairs([
//!     ("username", "lower(username)"),
//!     ("realname", "\"${name.given} ${name.family}\""),
//!     ("userType", "coalesce(duoUserType, 'user')"),
//! ]);
//! let m = Mapping::compile(Direction::Outbound, &spec).unwrap();
//! let user = serde_json::json!({"username": "Alice", "name": {"given": "Alice", "family": "Liddell"}});
//! let rec = m.apply(&user).unwrap();
//! assert_eq!(rec.text("username"), Some("alice"));
//! assert_eq!(rec.text("realname"), Some("Alice Liddell"));
//! ```

mod canon;
mod error;
mod eval;
mod expr;
mod mapping;
mod phone;
mod record;
pub mod scope;
mod spec;
mod target;

pub use error::{AttrError, CompileError, CompileErrors};
pub use mapping::{Direction, Mapping};
pub use phone::to_e164;
pub use record::{AdminRole, AttrValue, Desired, MappedAttr, MappedRecord, UserType};
pub use spec::{AttrSpec, EmptyPolicy, MappingSpec, Options, When};
pub use target::ADMIN_ROLES;
