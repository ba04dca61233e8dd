//! The HTTP side: one pipeline for every Admin API request (faults, credentials, permission, rate
//! limit, handler, stats) and the `/__sim/*` control routes. The fault stream, the counters and
//! the connection killing are sim-kit's; how a fault reads on the wire is Duo's, here.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde_json::{Value, json};
use sim_kit::{Conn, FaultAction, Faults, Instruments};

use crate::auth::{AuthInput, authenticate, is_form};
use crate::config::{BulkRateClass, BulkSettings, IntegrationConfig, SimConfig};
use crate::error::ApiError;
use crate::params::Params;
use crate::ratelimit::{LimitClass, RateLimiter};
use crate::routes::{Route, match_route};
use crate::sign::{SigScheme, parse_urlencoded};
use crate::store::Store;

/// State shared by all requests.
pub(crate) struct Shared {
    pub(crate) integrations: Vec<IntegrationConfig>,
    pub(crate) skew_tolerance: u64,
    pub(crate) skew_40105: bool,
    pub(crate) store: Mutex<Store>,
    pub(crate) instruments: Instruments,
    pub(crate) limiter: Option<Mutex<RateLimiter>>,
    pub(crate) bulk: Mutex<BulkSettings>,
    /// Faults for the next bulk calls, one each, in order (tests of unknown outcomes).
    pub(crate) bulk_faults: Mutex<std::collections::VecDeque<BulkFault>>,
}

/// A fault aimed at the next bulk call (`DuoSim::fail_next_bulk`), whatever the fault stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BulkFault {
    /// Close the connection before anything is applied.
    DropBefore,
    /// Apply the call, then close the connection unanswered.
    DropAfter,
    /// Apply the call, then answer 500 / 50001.
    ServerErrorAfter,
}

impl Shared {
    pub(crate) fn new(cfg: &SimConfig) -> Self {
        let integrations = cfg.integrations();
        let mut store = Store::new(cfg.username_case, cfg.seed);
        store.pending_deletion_days = cfg.pending_deletion_days;
        store.variants = cfg.variants;
        store.integration_count = integrations.len();
        store.telephony_credits = cfg.telephony_credits;
        for i in 1..=cfg.seed_users {
            let p = Params::from_pairs([
                ("username", format!("user{i:05}")),
                ("realname", format!("Seed User {i}")),
                ("firstname", "Seed".to_owned()),
                ("lastname", format!("User {i}")),
                ("email", format!("user{i:05}@example.com")),
            ]);
            store.create_user(&p).expect("seed usernames are unique");
        }
        Shared {
            integrations,
            skew_tolerance: cfg.skew_tolerance_secs,
            skew_40105: cfg.variants.skew_40105,
            store: Mutex::new(store),
            instruments: Instruments::new(cfg.faults.clone()),
            limiter: cfg.rate_limit.then(|| {
                let bulk = match cfg.bulk.rate_class {
                    BulkRateClass::Own(n) => n,
                    _ => 50,
                };
                Mutex::new(RateLimiter::with_bulk(cfg.rate_limit_scale, bulk))
            }),
            bulk: Mutex::new(cfg.bulk.clone()),
            bulk_faults: Mutex::default(),
        }
    }
}

pub(crate) use sim_kit::lock;

/// What Duo's stats count for a connection closed unanswered (a fault).
const DROPPED: &str = "dropped";

pub(crate) fn router(shared: Arc<Shared>, control: bool) -> Router {
    let mut r = Router::new();
    if control {
        r = r
            .route("/__sim/stats", get(control_stats))
            .route("/__sim/stats/reset", post(control_reset))
            .route("/__sim/faults", put(control_faults).get(control_get_faults))
            .route("/__sim/state", get(control_state))
            .route("/__sim/days", post(control_days))
            .route("/__sim/enrollments", get(control_enrollments))
            .route("/__sim/bulk", put(control_bulk).get(control_get_bulk));
    }
    r.fallback(api).with_state(shared)
}

fn json_response(status: u16, body: &Value) -> Response {
    let mut resp = (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        serde_json::to_vec(body).unwrap_or_default(),
    )
        .into_response();
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

fn error_response(e: &ApiError) -> Response {
    json_response(e.status, &e.body())
}

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Every Admin API request comes through here.
async fn api(
    State(sh): State<Arc<Shared>>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let route = match_route(method.as_str(), uri.path());
    let route_key = format!(
        "{} {}",
        method,
        route.as_ref().map_or("(unmatched)", Route::template)
    );
    let mut decision = sh.instruments.decide();
    if route == Some(Route::UserEnroll) && lock(&sh.store).take_enroll_drop() {
        decision.action = FaultAction::DropAfter;
    }
    decision.delay().await;
    let record = |status: &str| sh.instruments.record(&route_key, status);
    let bulk_fault = route
        .as_ref()
        .filter(|r| r.is_bulk())
        .and_then(|_| lock(&sh.bulk_faults).pop_front());
    let action = match bulk_fault {
        Some(BulkFault::DropBefore) => FaultAction::DropBefore,
        Some(BulkFault::DropAfter) => FaultAction::DropAfter,
        Some(BulkFault::ServerErrorAfter) => {
            let _ = process(&sh, route.clone(), &method, &uri, &headers, &body);
            FaultAction::ServerError
        }
        None => decision.action,
    };
    let resp = match action {
        FaultAction::DropBefore => {
            record(DROPPED);
            conn.kill();
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
        FaultAction::ServerError => error_response(&ApiError::internal()),
        // A load balancer's answer: plain text; it never carries the stream's Retry-After.
        FaultAction::Unavailable { .. } => {
            (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable").into_response()
        }
        FaultAction::TooMany { retry_after } => {
            let mut r = error_response(&ApiError::too_many());
            if let Some(s) = retry_after {
                r.headers_mut()
                    .insert(http::header::RETRY_AFTER, HeaderValue::from(s));
            }
            r
        }
        FaultAction::Pass | FaultAction::DropAfter => {
            match process(&sh, route, &method, &uri, &headers, &body) {
                Ok(v) => json_response(200, &v),
                Err(e) => error_response(&e),
            }
        }
    };
    if action == FaultAction::DropAfter {
        record(DROPPED);
        conn.kill();
        return resp;
    }
    record(resp.status().as_str());
    resp
}

fn ok(response: Value) -> Value {
    json!({"stat": "OK", "response": response})
}

fn ok_page((items, meta): (Vec<Value>, Value)) -> Value {
    json!({"stat": "OK", "response": items, "metadata": meta})
}

fn process(
    sh: &Shared,
    route: Option<Route>,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Value, ApiError> {
    let input = AuthInput {
        method: method.as_str(),
        path: uri.path(),
        query: uri.query().unwrap_or_default(),
        headers,
        body,
        now: now_unix(),
        skew_tolerance: sh.skew_tolerance,
        skew_40105: sh.skew_40105,
    };
    let verified = authenticate(&input, &sh.integrations)?;
    tracing::debug!(scheme = ?verified.scheme, path = uri.path(), "duo-sim: signature verified");
    let route = route.ok_or_else(ApiError::not_found)?;
    let bulk = lock(&sh.bulk).clone();
    if route.is_bulk() && !bulk.enabled {
        return Err(ApiError::not_found());
    }
    if !route.permitted(&sh.integrations[verified.integration].permissions) {
        return Err(ApiError::forbidden());
    }
    // A v2 signature covers the query and a form body, never a JSON body (Duo's v2 canonical
    // string has no body line): under v2 a JSON body is not applied.
    let signed_body = !matches!(verified.scheme, SigScheme::V2Sha1 | SigScheme::V2Sha512);
    let params = request_params(
        uri,
        headers,
        if signed_body || is_form(headers) {
            body
        } else {
            &[]
        },
    )?;
    if let Some(l) = &sh.limiter {
        let (class, n) = if route.is_bulk() {
            match bulk.rate_class {
                BulkRateClass::Write => (LimitClass::Write, 1),
                BulkRateClass::Own(_) => (LimitClass::Bulk, 1),
                BulkRateClass::PerObject => (LimitClass::Write, bulk_len(&params)),
            }
        } else {
            (route.limit_class(), 1)
        };
        if lock(l).check_n(class, n).is_err() {
            return Err(ApiError::too_many());
        }
    }
    dispatch(&mut lock(&sh.store), route, &params, &bulk)
}

/// The number of objects a bulk call carries (1 when unreadable: it is refused anyway).
fn bulk_len(p: &Params) -> usize {
    p.get("users")
        .or(p.get("operations"))
        .and_then(|raw| serde_json::from_str::<Vec<Value>>(raw).ok())
        .map_or(1, |v| v.len().max(1))
}

/// `/admin/v1/bulk`: `operations`, a JSON array of `{"method","path","body"}` (a JSON string,
/// or a native array in a JSON body). More than `max` is 400 / 40002 naming `operations`; an
/// unreadable one likewise. The operations run in order, each on its own (not atomic); each
/// answers as its single endpoint would, in Duo's envelope: `{"stat":"OK","response":…}` or
/// `{"stat":"FAIL","code":…,"message":…}`. Only the five operations Duo lists are allowed.
fn bulk_operations(st: &mut Store, p: &Params, bulk: &BulkSettings) -> Result<Value, ApiError> {
    #[derive(serde::Deserialize)]
    struct Operation {
        method: String,
        path: String,
        #[serde(default)]
        body: serde_json::Map<String, Value>,
    }
    let raw = p.required("operations")?;
    let ops: Vec<Operation> =
        serde_json::from_str(raw).map_err(|_| ApiError::invalid("operations"))?;
    if ops.is_empty() || ops.len() > bulk.max_operations {
        return Err(ApiError::invalid("operations"));
    }
    let results = ops
        .iter()
        .map(|op| {
            let route = match_route(&op.method.to_ascii_uppercase(), &op.path)
                .filter(Route::bulk_allowed)
                .ok_or_else(|| ApiError::invalid("operations"));
            let mut params = Params::default();
            params.extend_json(&op.body);
            match route.and_then(|r| dispatch(st, r, &params, bulk)) {
                Ok(v) => v,
                Err(e) => e.body(),
            }
        })
        .collect();
    Ok(Value::Array(results))
}

/// Query parameters plus the form or JSON body.
fn request_params(uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Result<Params, ApiError> {
    let lossy = |b: Vec<u8>| String::from_utf8_lossy(&b).into_owned();
    let mut p = Params(
        parse_urlencoded(uri.query().unwrap_or_default().as_bytes())
            .into_iter()
            .map(|(k, v)| (lossy(k), lossy(v)))
            .collect(),
    );
    if body.is_empty() {
        return Ok(p);
    }
    if is_form(headers) {
        p.0.extend(
            parse_urlencoded(body)
                .into_iter()
                .map(|(k, v)| (lossy(k), lossy(v))),
        );
    } else {
        let obj: serde_json::Map<String, Value> =
            serde_json::from_slice(body).map_err(|_| ApiError {
                detail: Some("body".into()),
                ..ApiError::invalid("body")
            })?;
        p.extend_json(&obj);
    }
    Ok(p)
}

pub(crate) fn dispatch(
    st: &mut Store,
    route: Route,
    p: &Params,
    bulk: &BulkSettings,
) -> Result<Value, ApiError> {
    use Route::*;
    Ok(match route {
        UsersBulkCreate => ok(st.bulk_create(p, bulk.max_users, bulk.create_atomic)?),
        BulkOperations => ok(bulk_operations(st, p, bulk)?),
        InfoSummary => ok(st.summary()),
        UsersList => ok_page(st.list_users(p)?),
        UserCreate => {
            let u = st.create_user(p)?.clone();
            ok(st.user_json(&u))
        }
        UserGet(id) => ok(st.user_json(st.user(&id)?)),
        UsersSendToTrash => ok(st.bulk_trash(p, true)?),
        UsersRestore => ok(st.bulk_trash(p, false)?),
        UserEnroll => ok(st.enroll(p)?),
        UserModify(id) => {
            let u = st.modify_user(&id, p)?.clone();
            ok(st.user_json(&u))
        }
        UserDelete(id) => {
            st.delete_user(&id);
            ok(json!(""))
        }
        UserGroups(id) => ok_page(st.user_groups(&id, p)?),
        UserGroupAdd(id) => {
            st.add_user_group(&id, p)?;
            ok(json!(""))
        }
        UserGroupRemove(u, g) => {
            st.remove_user_group(&u, &g)?;
            ok(json!(""))
        }
        UserPhones(id) => ok_page(st.user_phones(&id, p)?),
        UserPhoneAdd(id) => {
            st.add_user_phone(&id, p)?;
            ok(json!(""))
        }
        UserPhoneRemove(u, ph) => {
            st.remove_user_phone(&u, &ph)?;
            ok(json!(""))
        }
        PhonesList => ok_page(st.list_phones(p)?),
        PhoneCreate => {
            let ph = st.create_phone(p)?.clone();
            ok(st.phone_json(&ph, true))
        }
        PhoneGet(id) => ok(st.phone_json(st.phone(&id)?, true)),
        PhoneModify(id) => {
            let ph = st.modify_phone(&id, p)?.clone();
            ok(st.phone_json(&ph, true))
        }
        PhoneDelete(id) => {
            st.delete_phone(&id);
            ok(json!(""))
        }
        GroupsList => ok_page(st.list_groups(p)?),
        GroupCreate => {
            let g = st.create_group(p)?.clone();
            ok(st.group_json(&g, true))
        }
        GroupGetV1(id) => ok(st.group_json(st.group(&id)?, true)),
        GroupGetV2(id) => ok(st.group_json(st.group(&id)?, false)),
        GroupModify(id) => {
            let g = st.modify_group(&id, p)?.clone();
            ok(st.group_json(&g, true))
        }
        GroupDelete(id) => {
            st.delete_group(&id)?;
            ok(json!(""))
        }
        GroupMembersV2(id) => ok_page(st.group_members(&id, p)?),
        AdminsList => ok_page(st.list_admins(p)?),
        AdminCreate => ok(Store::admin_json(st.create_admin(p)?)),
        AdminGet(id) => ok(Store::admin_json(st.admin(&id)?)),
        AdminModify(id) => ok(Store::admin_json(st.modify_admin(&id, p)?)),
        AdminDelete(id) => {
            st.delete_admin(&id)?;
            ok(json!(""))
        }
    })
}

async fn control_stats(State(sh): State<Arc<Shared>>) -> Response {
    json_response(
        200,
        &serde_json::to_value(sh.instruments.stats()).unwrap_or_default(),
    )
}

async fn control_reset(State(sh): State<Arc<Shared>>) -> Response {
    sh.instruments.reset_stats();
    json_response(200, &json!({"stat": "OK"}))
}

async fn control_faults(State(sh): State<Arc<Shared>>, body: Bytes) -> Response {
    match serde_json::from_slice::<Faults>(&body) {
        Ok(f) => {
            sh.instruments.set_faults(f.clone());
            json_response(200, &serde_json::to_value(f).unwrap_or_default())
        }
        Err(e) => json_response(
            400,
            &json!({"stat": "FAIL", "code": 40002, "message": "Invalid fault settings", "message_detail": e.to_string()}),
        ),
    }
}

async fn control_get_faults(State(sh): State<Arc<Shared>>) -> Response {
    json_response(
        200,
        &serde_json::to_value(sh.instruments.faults()).unwrap_or_default(),
    )
}

/// `POST /__sim/days {"days": N}`: N simulated days pass; trashed users older than
/// `pending_deletion_days` are purged. Answers the ids purged.
async fn control_days(State(sh): State<Arc<Shared>>, body: Bytes) -> Response {
    #[derive(serde::Deserialize)]
    struct Days {
        days: u64,
    }
    match serde_json::from_slice::<Days>(&body) {
        Ok(d) => {
            let purged = lock(&sh.store).advance_days(d.days);
            json_response(200, &json!({"stat": "OK", "purged": purged}))
        }
        Err(e) => json_response(
            400,
            &json!({"stat": "FAIL", "code": 40002, "message": "Invalid days", "message_detail": e.to_string()}),
        ),
    }
}

/// `GET /__sim/enrollments`: the enrollment emails sent, in order.
async fn control_enrollments(State(sh): State<Arc<Shared>>) -> Response {
    let sent = lock(&sh.store).enrollments.clone();
    json_response(200, &serde_json::to_value(sent).unwrap_or_default())
}

/// `PUT /__sim/bulk` replaces the bulk settings (`BulkSettings` as JSON, every field optional).
async fn control_bulk(State(sh): State<Arc<Shared>>, body: Bytes) -> Response {
    match serde_json::from_slice::<BulkSettings>(&body) {
        Ok(b) => {
            *lock(&sh.bulk) = b.clone();
            json_response(200, &serde_json::to_value(b).unwrap_or_default())
        }
        Err(e) => json_response(
            400,
            &json!({"stat": "FAIL", "code": 40002, "message": "Invalid bulk settings", "message_detail": e.to_string()}),
        ),
    }
}

async fn control_get_bulk(State(sh): State<Arc<Shared>>) -> Response {
    json_response(
        200,
        &serde_json::to_value(lock(&sh.bulk).clone()).unwrap_or_default(),
    )
}

async fn control_state(State(sh): State<Arc<Shared>>) -> Response {
    let state = lock(&sh.store).snapshot();
    json_response(200, &serde_json::to_value(state).unwrap_or_default())
}
