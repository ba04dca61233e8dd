//! `pingone-sim`: an in-memory PingOne Platform API server for tests,
//! benchmarks and the demo.
//!
//! It serves the token endpoint at `{base}/{envId}/as/token` and the API
//! under `{base}/v1/environments/{envId}/...` (users, groups, memberships,
//! nesting, populations, webhook subscriptions), with PingOne's HAL envelopes,
//! cursors, filters, validation errors, rate limiting and seeded faults.
//! Behaviour choices are written down in `docs/simulators.md`.
//!
//! Must not know: any crate of ours but `sim-kit` (it checks the client independently; the kit
//! holds only the infrastructure both simulators share).

mod api;
mod clock;
mod control;
mod directory;
mod error;
pub mod filter;
mod listing;
mod notify;
mod ratelimit;
mod render;
mod server;
mod state;
mod token;
mod validate;

pub use error::{Detail, SimError};
pub use notify::{
    ACTION_TYPES, DeliveryFormat, EVENT_EXPIRY, EVENTS_PER_PAYLOAD, MAX_SUBSCRIPTIONS,
};
pub use sim_kit::{Faults, Stats};
pub use state::{GroupState, MembershipState, NestingState, PopulationState, SimState, UserState};
pub use token::TokenAuthMethod;

use directory::{Directory, Rules};
use rand::{Rng, SeedableRng, rngs::StdRng};
use ratelimit::RateLimiter;
use serde_json::{Value, json};
use server::Shared;
use sim_kit::{Instruments, KillableListener, SimServer};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// How a simulator starts.
#[derive(Clone)]
pub struct SimConfig {
    /// Address to listen on (`127.0.0.1:0` picks a free port).
    pub listen: SocketAddr,
    /// The one environment id served.
    pub env_id: String,
    /// The worker application's client id.
    pub client_id: String,
    /// The worker application's client secret.
    pub client_secret: String,
    /// Lifetime of issued access tokens (PingOne: 3600 s).
    pub token_ttl: Duration,
    /// Token endpoint auth method accepted; `None` accepts basic and post.
    pub token_auth_method: Option<TokenAuthMethod>,
    /// Requests per second before 429 `REQUEST_LIMITED`; `None` is unlimited.
    pub rate_limit: Option<u32>,
    /// Generated users at start.
    pub seed_users: usize,
    /// Generated groups at start (users join some of them).
    pub seed_groups: usize,
    /// Seed of generated data and ids.
    pub seed: u64,
    /// Serve the `/__sim/...` control endpoints.
    pub control: bool,
    /// Fault settings at start.
    pub faults: Faults,
    /// Whether a user needs an email (PingOne: optional, only username and
    /// population are required; the SDK model says required: a variant).
    pub require_email: bool,
    /// Whether `Alice` and `alice` clash as usernames (PingOne: they do).
    pub username_case_insensitive: bool,
    /// Whether `POST /users` honours `"enabled": false` (PingOne: `enabled` is
    /// read-only on create and set with `PUT /users/{id}/enabled`; one admin
    /// guide page says otherwise, so honouring it is a variant).
    pub enabled_on_create: bool,
    /// Whether `username eq "ALICE"` finds `alice` (undocumented: a variant;
    /// by default filters compare values exactly).
    pub username_filter_case_insensitive: bool,
    /// Custom user attributes in the environment's schema; PingOne ignores
    /// (does not store) attributes missing from it.
    pub custom_attributes: Vec<String>,
    /// Store any attribute, declared or not (the simulator's old leniency).
    pub keep_unknown_attributes: bool,
    /// Leave `count` out of collection envelopes (PingOne may, for large sets).
    pub omit_count: bool,
    /// How webhook deliveries frame their events (PingOne: a JSON array).
    pub delivery_format: DeliveryFormat,
    /// Whether any 2xx answer counts as delivered (PingOne documents "a 200";
    /// whether a 204 also counts is undocumented: a variant).
    pub delivery_any_2xx: bool,
    /// Action types a subscription may name (`None`: [`ACTION_TYPES`]).
    pub known_action_types: Option<Vec<String>>,
    /// Status of a uniqueness violation: 400 (documented) or 409.
    pub uniqueness_status: u16,
    /// Largest users page, whatever `limit` asks (PingOne: 200).
    pub users_page_cap: usize,
    /// Largest page of other collections.
    pub page_cap: usize,
    /// Page size when no `limit` is given.
    pub default_limit: usize,
    /// Whether `include=memberOfGroupIDs` (and `…Names`) lists only direct
    /// memberships (undocumented whether nested and dynamic groups count: a
    /// variant; by default they do).
    pub member_of_ids_direct: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            env_id: "5c1ed0e0-0000-4000-8000-00000000e0e0".into(),
            client_id: "sim-client".into(),
            client_secret: "sim-secret".into(),
            token_ttl: Duration::from_secs(3600),
            token_auth_method: None,
            rate_limit: None,
            seed_users: 0,
            seed_groups: 0,
            seed: 0,
            control: false,
            faults: Faults::default(),
            require_email: false,
            username_case_insensitive: true,
            enabled_on_create: false,
            username_filter_case_insensitive: false,
            custom_attributes: Vec::new(),
            keep_unknown_attributes: false,
            omit_count: false,
            delivery_format: DeliveryFormat::JsonArray,
            delivery_any_2xx: false,
            known_action_types: None,
            uniqueness_status: 400,
            users_page_cap: 200,
            page_cap: 1000,
            default_limit: 100,
            member_of_ids_direct: false,
        }
    }
}

impl std::fmt::Debug for SimConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimConfig")
            .field("listen", &self.listen)
            .field("env_id", &self.env_id)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("token_ttl", &self.token_ttl)
            .field("token_auth_method", &self.token_auth_method)
            .field("rate_limit", &self.rate_limit)
            .field("seed_users", &self.seed_users)
            .field("seed_groups", &self.seed_groups)
            .field("seed", &self.seed)
            .field("control", &self.control)
            .field("faults", &self.faults)
            .field("require_email", &self.require_email)
            .field("username_case_insensitive", &self.username_case_insensitive)
            .field("enabled_on_create", &self.enabled_on_create)
            .field("delivery_format", &self.delivery_format)
            .field("delivery_any_2xx", &self.delivery_any_2xx)
            .finish_non_exhaustive()
    }
}

/// Where PingOne's documentation is silent or contradicts itself, each
/// plausible answer the simulator can give: name and what it changes.
/// The end-to-end suite runs under each (`P1DUO_SIM_VARIANT`, see `.ci/run`).
pub const VARIANTS: &[(&str, &str)] = &[
    ("default", "PingOne's documented behaviour"),
    (
        "enabled-on-create",
        "POST /users honours \"enabled\": false (one admin guide page says so)",
    ),
    (
        "any-2xx",
        "a webhook delivery answered with any 2xx (e.g. 204) counts as delivered",
    ),
    (
        "nd-json",
        "webhook deliveries are ND_JSON (one event a line) instead of a JSON array",
    ),
    (
        "no-nesting-events",
        "GROUP_NESTING.* action types are refused by POST /subscriptions (400)",
    ),
    (
        "email-required",
        "POST /users requires email (the Go SDK's User model says so)",
    ),
    (
        "short-pages",
        "user pages shorter than asked (37 at most) and collections without count (PingOne: \"use the page size in the response\")",
    ),
    (
        "member-of-ids-direct",
        "include=memberOfGroupIDs lists direct memberships only, not nested or dynamic ones",
    ),
    (
        "username-filter-ci",
        "filters compare username case-insensitively (username eq \"ALICE\" finds alice)",
    ),
];

impl SimConfig {
    /// Applies the variants named in `list` (comma-separated names from
    /// [`VARIANTS`]; empty or `default` changes nothing).
    pub fn with_variants(mut self, list: &str) -> Result<SimConfig, String> {
        for v in list.split(',').map(str::trim).filter(|v| !v.is_empty()) {
            match v {
                "default" => {}
                "enabled-on-create" => self.enabled_on_create = true,
                "any-2xx" => self.delivery_any_2xx = true,
                "nd-json" => self.delivery_format = DeliveryFormat::NdJson,
                "no-nesting-events" => {
                    self.known_action_types = Some(
                        ACTION_TYPES
                            .iter()
                            .filter(|t| !t.starts_with("GROUP_NESTING."))
                            .map(|t| (*t).to_owned())
                            .collect(),
                    );
                }
                "email-required" => self.require_email = true,
                "username-filter-ci" => self.username_filter_case_insensitive = true,
                "member-of-ids-direct" => self.member_of_ids_direct = true,
                "short-pages" => {
                    self.users_page_cap = 37;
                    self.omit_count = true;
                }
                other => {
                    let names: Vec<&str> = VARIANTS.iter().map(|(n, _)| *n).collect();
                    return Err(format!(
                        "unknown simulator variant {other:?}; known: {}",
                        names.join(", ")
                    ));
                }
            }
        }
        Ok(self)
    }
}

/// A running simulator. Dropping it stops the server.
pub struct PingOneSim {
    shared: Arc<Shared>,
    server: SimServer,
}

const GIVEN: &[&str] = &[
    "Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Tim",
];
const FAMILY: &[&str] = &[
    "Lovelace",
    "Hopper",
    "Turing",
    "Dijkstra",
    "Liskov",
    "Knuth",
    "Allen",
    "Thompson",
    "Perlman",
    "Berners-Lee",
];

fn seed_directory(d: &mut Directory, cfg: &SimConfig) {
    let mut rng = StdRng::seed_from_u64(cfg.seed ^ 0x5eed_da7a);
    let groups: Vec<String> = (0..cfg.seed_groups)
        .filter_map(|j| {
            d.create_group(&json!({"name": format!("group-{j:04}"), "description": "seeded"}))
                .ok()
        })
        .collect();
    for i in 0..cfg.seed_users {
        let given = GIVEN[rng.random_range(0..GIVEN.len())];
        let family = FAMILY[rng.random_range(0..FAMILY.len())];
        let body = json!({
            "username": format!("user{i:06}"),
            "email": format!("user{i:06}@example.com"),
            "name": {"given": given, "family": family},
            "title": "Engineer",
        });
        let Ok(id) = d.create_user(&body, false) else {
            continue;
        };
        if !groups.is_empty() {
            for _ in 0..rng.random_range(0..=2usize) {
                let g = &groups[rng.random_range(0..groups.len())];
                let _ = d.add_member(&id, g);
            }
        }
    }
}

impl PingOneSim {
    /// Binds, seeds and starts serving.
    pub async fn start(cfg: SimConfig) -> std::io::Result<PingOneSim> {
        let listener = KillableListener::bind(cfg.listen).await?;
        let addr = listener.addr();
        let rules = Rules {
            require_email: cfg.require_email,
            username_case_insensitive: cfg.username_case_insensitive,
            enabled_on_create: cfg.enabled_on_create,
            username_filter_case_insensitive: cfg.username_filter_case_insensitive,
            custom_attributes: cfg.custom_attributes.iter().cloned().collect(),
            keep_unknown_attributes: cfg.keep_unknown_attributes,
            omit_count: cfg.omit_count,
            uniqueness_status: cfg.uniqueness_status,
            users_page_cap: cfg.users_page_cap.max(1),
            page_cap: cfg.page_cap.max(1),
            default_limit: cfg.default_limit.max(1),
            member_of_ids_direct: cfg.member_of_ids_direct,
        };
        let mut dir = Directory::new(cfg.env_id.clone(), rules, cfg.seed);
        dir.api_base = format!("http://{addr}/v1");
        dir.emit = false;
        seed_directory(&mut dir, &cfg);
        dir.emit = true;
        let shared = Arc::new(Shared {
            dir: std::sync::Mutex::new(dir),
            tokens: Default::default(),
            token_requests: AtomicU64::new(0),
            instruments: Instruments::new(cfg.faults.clone()),
            limiter: std::sync::Mutex::new(cfg.rate_limit.map(RateLimiter::new)),
            notifier: Arc::new(notify::Notifier {
                rules: std::sync::Mutex::new(notify::DeliveryRules {
                    format: cfg.delivery_format,
                    any_2xx: cfg.delivery_any_2xx,
                }),
                known_types: std::sync::Mutex::new(cfg.known_action_types.clone()),
                ..Default::default()
            }),
            forbidden: AtomicBool::new(false),
            cfg,
        });
        let server = SimServer::serve(listener, server::router(shared.clone()), "pingone-sim");
        Ok(PingOneSim { shared, server })
    }

    /// `http://127.0.0.1:PORT`; the auth base.
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// `{base}/v1`, the API base.
    pub fn api_url(&self) -> String {
        format!("{}/v1", self.base_url())
    }

    /// The auth base (same as [`Self::base_url`]); the token URL is `{auth}/{envId}/as/token`.
    pub fn auth_url(&self) -> String {
        self.base_url()
    }

    /// `{auth}/{envId}/as/token`.
    pub fn token_url(&self) -> String {
        format!("{}/{}/as/token", self.base_url(), self.shared.cfg.env_id)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// The environment id served.
    pub fn env_id(&self) -> &str {
        &self.shared.cfg.env_id
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &SimConfig {
        &self.shared.cfg
    }

    /// A typed snapshot of everything held.
    pub fn state(&self) -> SimState {
        state::snapshot(&self.shared.dir())
    }

    /// Request counts since start or the last reset.
    pub fn stats(&self) -> Stats {
        self.shared.instruments.stats()
    }

    /// Zeroes the request counts.
    pub fn reset_stats(&self) {
        self.shared.instruments.reset_stats();
    }

    /// Replaces the fault settings (and re-seeds the dice).
    pub fn set_faults(&self, faults: Faults) {
        self.shared.instruments.set_faults(faults);
    }

    /// Changes the request rate limit (`None`: unlimited).
    pub fn set_rate_limit(&self, rps: Option<u32>) {
        *self
            .shared
            .limiter
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = rps.map(RateLimiter::new);
    }

    /// Requests received by the token endpoint.
    pub fn token_requests(&self) -> u64 {
        self.shared.token_requests.load(Ordering::SeqCst)
    }

    /// Invalidates every issued token (the next API call gets 401 `INVALID_TOKEN`).
    pub fn revoke_tokens(&self) {
        self.shared
            .tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// Makes every API call answer 403 `INSUFFICIENT_PERMISSIONS`, as for a
    /// worker application without the Identity Data Admin role.
    pub fn set_forbidden(&self, forbidden: bool) {
        self.shared.forbidden.store(forbidden, Ordering::Relaxed);
    }

    /// Limits the action types a subscription may name (PingOne refuses an
    /// unknown one with 400); the default is every type the simulator emits.
    pub fn set_known_action_types(&self, types: &[&str]) {
        *self
            .shared
            .notifier
            .known_types
            .lock()
            .unwrap_or_else(|p| p.into_inner()) =
            Some(types.iter().map(|t| (*t).to_owned()).collect());
    }

    /// Declares a custom user attribute in the environment's schema (the
    /// simulator ignores undeclared ones, as PingOne does).
    pub fn declare_attribute(&self, name: &str) {
        self.shared
            .dir()
            .rules
            .custom_attributes
            .insert(name.to_owned());
    }

    /// Registers a subscription from a `POST /subscriptions` body, as the API does.
    pub fn create_subscription(&self, body: Value) -> Result<Value, SimError> {
        let id = uuid::Uuid::new_v4().to_string();
        self.shared
            .notifier
            .subscribe(id, &self.shared.cfg.env_id, &body)
    }

    /// The subscriptions registered, as PingOne returns them.
    pub fn subscriptions(&self) -> Vec<Value> {
        self.shared
            .notifier
            .subs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|s| Value::Object(s.body.clone()))
            .collect()
    }

    /// The most recent activity events emitted (up to 10,000), oldest first.
    pub fn events(&self) -> Vec<Value> {
        self.shared
            .notifier
            .log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    /// Delivery requests made to subscriptions (every attempt counts).
    pub fn delivery_posts(&self) -> u64 {
        self.shared.notifier.posts.load(Ordering::Relaxed)
    }

    /// Events delivered to subscriptions (answered 200), and events given up
    /// on (expired after [`EVENT_EXPIRY`]).
    pub fn deliveries(&self) -> (u64, u64) {
        let n = &self.shared.notifier;
        (
            n.delivered.load(Ordering::Relaxed),
            n.failed.load(Ordering::Relaxed),
        )
    }

    /// The default population's id.
    pub fn default_population_id(&self) -> Option<String> {
        self.shared.dir().default_population().map(|p| p.id.clone())
    }

    /// Creates a population named `name`.
    pub fn create_population(&self, name: &str) -> Result<String, SimError> {
        self.shared
            .mutate(|d| d.create_population(&json!({ "name": name })))
    }

    /// Creates a user from a POST /users body (username, email, population, custom attributes...).
    pub fn create_user(&self, body: Value) -> Result<String, SimError> {
        self.shared.mutate(|d| d.create_user(&body, true))
    }

    /// PATCHes a user (JSON Merge Patch of the writable attributes).
    pub fn update_user(&self, id: &str, patch: Value) -> Result<(), SimError> {
        self.shared.mutate(|d| d.patch_user(id, &patch))
    }

    /// Enables or disables a user.
    pub fn set_user_enabled(&self, id: &str, enabled: bool) -> Result<(), SimError> {
        self.shared.mutate(|d| d.set_enabled(id, enabled))
    }

    /// Moves a user to another population.
    pub fn move_user(&self, id: &str, population_id: &str) -> Result<(), SimError> {
        self.shared.mutate(|d| d.set_population(id, population_id))
    }

    /// Deletes a user.
    pub fn delete_user(&self, id: &str) -> Result<(), SimError> {
        self.shared.mutate(|d| d.delete_user(id))
    }

    /// Creates a group from a POST /groups body (`{"name": ...}` at least).
    pub fn create_group(&self, body: Value) -> Result<String, SimError> {
        self.shared.mutate(|d| d.create_group(&body))
    }

    /// Replaces a group's attributes (PUT).
    pub fn update_group(&self, id: &str, body: Value) -> Result<(), SimError> {
        self.shared.mutate(|d| d.replace_group(id, &body))
    }

    /// Deletes a group, its memberships and nestings.
    pub fn delete_group(&self, id: &str) -> Result<(), SimError> {
        self.shared.mutate(|d| d.delete_group(id))
    }

    /// Adds a direct membership.
    pub fn add_member(&self, user_id: &str, group_id: &str) -> Result<(), SimError> {
        self.shared.mutate(|d| d.add_member(user_id, group_id))
    }

    /// Removes a direct membership.
    pub fn remove_member(&self, user_id: &str, group_id: &str) -> Result<(), SimError> {
        self.shared.mutate(|d| d.remove_member(user_id, group_id))
    }

    /// Nests `child` in `parent`: members of `child` become INDIRECT members of `parent`.
    pub fn nest_group(&self, child: &str, parent: &str) -> Result<(), SimError> {
        self.shared.mutate(|d| d.nest(child, parent))
    }

    /// Undoes [`Self::nest_group`].
    pub fn unnest_group(&self, child: &str, parent: &str) -> Result<(), SimError> {
        self.shared.mutate(|d| d.unnest(child, parent))
    }

    /// A user exactly as `GET /users/{id}?include=memberOfGroupIDs` returns it.
    pub fn user_json(&self, id: &str) -> Option<Value> {
        let d = self.shared.dir();
        d.user(id)
            .ok()
            .map(|u| d.render_user(u, Some("memberOfGroupIDs"), false))
    }

    /// Stops notifying and serving, lets open requests finish (at most 5 s) and waits for the
    /// server task.
    pub async fn shutdown(mut self) {
        self.shared.notifier.stop();
        self.server.shutdown().await;
    }
}

impl Drop for PingOneSim {
    /// Stops notifying; the server stops as its handle drops.
    fn drop(&mut self) {
        self.shared.notifier.stop();
    }
}
