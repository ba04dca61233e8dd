//! The `--control` endpoints shared with duo-sim: `GET /__sim/stats`,
//! `POST /__sim/stats/reset`, `GET|PUT /__sim/faults`, `GET /__sim/state`.

use crate::server::Shared;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use sim_kit::Faults;
use std::sync::Arc;

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/__sim/stats", get(stats))
        .route("/__sim/stats/reset", post(reset))
        .route("/__sim/faults", get(faults_get).put(faults_put))
        .route("/__sim/state", get(state))
}

async fn stats(State(s): State<Arc<Shared>>) -> Response {
    axum::Json(s.instruments.stats()).into_response()
}

async fn reset(State(s): State<Arc<Shared>>) -> Response {
    s.instruments.reset_stats();
    StatusCode::NO_CONTENT.into_response()
}

async fn faults_get(State(s): State<Arc<Shared>>) -> Response {
    axum::Json(s.instruments.faults()).into_response()
}

async fn faults_put(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    match serde_json::from_slice::<Faults>(&body) {
        Ok(f) => {
            s.instruments.set_faults(f.clone());
            axum::Json(f).into_response()
        }
        Err(e) => (
            StatusCode::BAD_REQUEST,
            format!("fault settings are not valid: {e}"),
        )
            .into_response(),
    }
}

async fn state(State(s): State<Arc<Shared>>) -> Response {
    axum::Json(crate::state::snapshot(&s.dir())).into_response()
}
