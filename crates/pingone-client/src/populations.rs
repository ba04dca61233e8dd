//! Typed population calls (list, get) and the raw call.

use reqwest::Method;
use serde_json::Value;

use crate::client::{PingOneClient, Replay, Request};
use crate::error::Result;
use crate::model::Population;
use crate::paging::PageStream;
use crate::users::{get, seg};

impl PingOneClient {
    /// Lists populations page by page.
    pub fn list_populations(&self) -> PageStream<Population> {
        let mut url = self.env_url("populations");
        url.query_pairs_mut().append_pair("limit", "200");
        self.pages(Ok(url), "populations", "the population list".into())
    }

    /// Reads one population.
    pub async fn get_population(&self, population_id: &str) -> Result<Population> {
        let url = self.env_url(&format!("populations/{}", seg(population_id)));
        self.send_json(get(url, format!("population {population_id}")))
            .await
    }

    /// Any authorised call: `path` is relative to the API base (e.g.
    /// `/environments/{env}/users?limit=5`) or a full URL under it. Returns the JSON body, or
    /// `None` for an empty one (204). A POST is treated as a create (never blindly re-sent).
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        json: Option<&Value>,
    ) -> Result<Option<Value>> {
        let url = self.api_url(path)?;
        let replay = if method == Method::POST {
            Replay::Unsafe
        } else {
            Replay::Safe
        };
        let body = json.map(|v| serde_json::to_vec(v).unwrap_or_default());
        let object = format!("{method} {}", url.path());
        let resp = self
            .send(Request {
                method,
                url,
                body,
                object: object.clone(),
                replay,
            })
            .await?;
        if resp.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        crate::client::decode(&object, &resp.body).map(Some)
    }
}
