//! `duo-sim`: an in-memory Duo Admin API server for tests, benchmarks and the demo.
//!
//! It verifies signatures and enforces Duo's rules as documented, so tests
//! that pass against it mean something against the real service.
//!
//! Must not know: any crate of ours but `sim-kit` (it checks the client independently; the kit
//! holds only the infrastructure both simulators share).
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let sim = duo_sim::DuoSim::start(duo_sim::SimConfig::default()).await?;
//! let user = sim.insert_user("alice", &[("email", "alice@example.com")]).unwrap();
//! assert_eq!(sim.state().users[0].user_id, user.user_id);
//! println!("{}", sim.base_url());
//! sim.shutdown().await;
//! # Ok(()) }
//! ```

mod auth;
mod config;
mod enroll;
mod error;
mod model;
mod params;
mod ratelimit;
mod routes;
mod server;
pub mod sign;
mod store;

use std::net::SocketAddr;
use std::sync::Arc;

pub use auth::parse_date;
pub use config::{
    BulkRateClass, BulkSettings, IntegrationConfig, Permission, SimConfig, UsernameCase,
    VARIANT_NAMES, Variants,
};
pub use enroll::{DEFAULT_VALID_SECS, EnrollEmail};
pub use error::ApiError;
pub use model::{Admin, Group, Membership, Phone, PhoneAssociation, SimState, User};
pub use params::Params;
pub use server::BulkFault;
pub use sim_kit::{Faults, Stats};
pub use store::{
    ADMIN_ROLES, ONE_TO_MANY_LIMIT, ORPHAN_PHONE_DAYS, PENDING_DELETION, UNCONFIRMED_ROLE,
};

use server::{Shared, lock};
use sim_kit::{KillableListener, SimServer};

/// A running simulator. Dropping it stops the server (use [`DuoSim::shutdown`] to wait for it).
pub struct DuoSim {
    server: SimServer,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for DuoSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DuoSim")
            .field("addr", &self.server.addr())
            .finish_non_exhaustive()
    }
}

impl DuoSim {
    /// Binds `config.listen` (default `127.0.0.1:0`) and serves in a background task.
    pub async fn start(config: SimConfig) -> std::io::Result<DuoSim> {
        let listen = config
            .listen
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
        let listener = KillableListener::bind(listen).await?;
        let shared = Arc::new(Shared::new(&config));
        let app = server::router(shared.clone(), config.control);
        Ok(DuoSim {
            server: SimServer::serve(listener, app, "duo-sim"),
            shared,
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// A snapshot of everything stored.
    pub fn state(&self) -> SimState {
        lock(&self.shared.store).snapshot()
    }

    /// The enrollment emails sent (`POST /admin/v1/users/enroll`), in order.
    pub fn enrollments(&self) -> Vec<EnrollEmail> {
        lock(&self.shared.store).enrollments.clone()
    }

    /// The next `n` enroll requests are applied (the email recorded), then
    /// their connection closes unanswered: the sender cannot know it went.
    pub fn drop_enroll_replies(&self, n: u32) {
        lock(&self.shared.store).enroll_drops = n;
    }

    /// Request counters.
    pub fn stats(&self) -> Stats {
        self.shared.instruments.stats()
    }

    /// Zeroes the counters.
    pub fn reset_stats(&self) {
        self.shared.instruments.reset_stats();
    }

    /// Replaces the fault settings (and restarts the fault stream from their seed).
    pub fn set_faults(&self, faults: Faults) {
        self.shared.instruments.set_faults(faults);
    }

    /// Runs an Admin API call directly (no signature, faults, limits or stats) and returns Duo's
    /// success envelope. `method` and `path` are as on the wire, e.g. `("POST", "/admin/v1/users")`.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        params: &[(&str, &str)],
    ) -> Result<serde_json::Value, ApiError> {
        let route = routes::match_route(method, path).ok_or_else(ApiError::not_found)?;
        let bulk = lock(&self.shared.bulk).clone();
        server::dispatch(
            &mut lock(&self.shared.store),
            route,
            &Params::from_pairs(params.iter().copied()),
            &bulk,
        )
    }

    /// Replaces the bulk settings (as `PUT /__sim/bulk`).
    pub fn set_bulk(&self, bulk: BulkSettings) {
        *lock(&self.shared.bulk) = bulk;
    }

    /// The next bulk calls (`users/bulk_create`, `/admin/v1/bulk`) meet these faults, one each,
    /// whatever the fault stream says: unknown outcomes on demand.
    pub fn fail_next_bulk(&self, faults: &[BulkFault]) {
        lock(&self.shared.bulk_faults).extend(faults.iter().copied());
    }

    /// Creates a user with `username` and other create fields (`realname`, `email`, `aliases`, ...).
    pub fn insert_user(&self, username: &str, fields: &[(&str, &str)]) -> Result<User, ApiError> {
        let mut p = Params::from_pairs(fields.iter().copied());
        p.0.push(("username".into(), username.into()));
        lock(&self.shared.store).create_user(&p).cloned()
    }

    /// Creates `n` users `{prefix}{i:06}` quickly (for scale tests); returns their ids.
    pub fn insert_users(&self, prefix: &str, n: usize) -> Result<Vec<String>, ApiError> {
        let mut st = lock(&self.shared.store);
        (0..n)
            .map(|i| {
                let name = format!("{prefix}{i:06}");
                let p = Params::from_pairs([
                    ("username", name.clone()),
                    ("realname", format!("User {i}")),
                    ("email", format!("{name}@example.com")),
                ]);
                st.create_user(&p).map(|u| u.user_id.clone())
            })
            .collect()
    }

    /// Creates a group.
    pub fn insert_group(&self, name: &str, fields: &[(&str, &str)]) -> Result<Group, ApiError> {
        let mut p = Params::from_pairs(fields.iter().copied());
        p.0.push(("name".into(), name.into()));
        lock(&self.shared.store).create_group(&p).cloned()
    }

    /// Creates a phone (`number` may be empty for a tablet).
    pub fn insert_phone(&self, number: &str, fields: &[(&str, &str)]) -> Result<Phone, ApiError> {
        let mut p = Params::from_pairs(fields.iter().copied());
        p.0.push(("number".into(), number.into()));
        lock(&self.shared.store).create_phone(&p).cloned()
    }

    /// Creates an administrator (role `Owner` when `role` is `None`, as Duo does).
    pub fn insert_admin(
        &self,
        name: &str,
        email: &str,
        role: Option<&str>,
    ) -> Result<Admin, ApiError> {
        let mut p = Params::from_pairs([("name", name), ("email", email)]);
        if let Some(r) = role {
            p.0.push(("role".into(), r.into()));
        }
        lock(&self.shared.store).create_admin(&p).cloned()
    }

    /// Adds a user to a group.
    pub fn add_member(&self, user_id: &str, group_id: &str) -> Result<(), ApiError> {
        lock(&self.shared.store)
            .add_user_group(user_id, &Params::from_pairs([("group_id", group_id)]))
    }

    /// Associates a phone with a user.
    pub fn associate_phone(&self, user_id: &str, phone_id: &str) -> Result<(), ApiError> {
        lock(&self.shared.store)
            .add_user_phone(user_id, &Params::from_pairs([("phone_id", phone_id)]))
    }

    /// Sends users to Duo's trash, as an Admin Panel delete, inactive-user expiration or
    /// directory sync does: status `pending deletion`, username and aliases still reserved,
    /// restorable with `bulk_restore` until purged. One success flag per id.
    pub fn send_to_trash(&self, user_ids: &[&str]) -> Result<Vec<bool>, ApiError> {
        self.bulk_trash(user_ids, true)
    }

    /// Restores trashed users (`bulk_restore`). One success flag per id.
    pub fn restore_from_trash(&self, user_ids: &[&str]) -> Result<Vec<bool>, ApiError> {
        self.bulk_trash(user_ids, false)
    }

    fn bulk_trash(&self, user_ids: &[&str], trash: bool) -> Result<Vec<bool>, ApiError> {
        let list = serde_json::to_string(user_ids).unwrap_or_default();
        let v = lock(&self.shared.store).bulk_trash(
            &Params::from_pairs([("user_id_list", list.as_str())]),
            trash,
        )?;
        Ok(v.as_array()
            .map(|a| a.iter().map(|r| r["success"] == true).collect())
            .unwrap_or_default())
    }

    /// Locks a user out (status `locked out`), as failed attempts would.
    pub fn lock_out_user(&self, user_id: &str) -> Result<(), ApiError> {
        lock(&self.shared.store).lock_out_user(user_id)
    }

    /// Lets an administrator's activation expire (status `Expired`).
    pub fn expire_admin(&self, admin_id: &str) -> Result<(), ApiError> {
        lock(&self.shared.store).expire_admin(admin_id)
    }

    /// `days` simulated days pass (as `POST /__sim/days`): trashed users past
    /// `pending_deletion_days` are purged, and phones a user's deletion left without users
    /// once `ORPHAN_PHONE_DAYS` have passed. Returns the purged user ids.
    pub fn advance_days(&self, days: u64) -> Vec<String> {
        lock(&self.shared.store).advance_days(days)
    }

    /// Stops accepting, lets open requests finish (at most 5 s), and waits for the server task.
    pub async fn shutdown(mut self) {
        self.server.shutdown().await;
    }
}
