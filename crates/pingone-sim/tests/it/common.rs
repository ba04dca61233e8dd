//! Shared helpers: start a simulator, fetch a token, make calls.

use pingone_sim::{PingOneSim, SimConfig};
use reqwest::Method;
use serde_json::Value;

pub struct Api {
    pub sim: PingOneSim,
    pub http: reqwest::Client,
    pub token: String,
}

pub struct Reply {
    pub status: u16,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

pub fn client() -> reqwest::Client {
    // No idle-pool timer: it would move a paused clock.
    reqwest::Client::builder()
        .pool_idle_timeout(None)
        .build()
        .expect("client")
}

pub async fn token(http: &reqwest::Client, sim: &PingOneSim) -> String {
    let r: Value = http
        .post(sim.token_url())
        .basic_auth(&sim.config().client_id, Some(&sim.config().client_secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("token request")
        .json()
        .await
        .expect("token json");
    r["access_token"]
        .as_str()
        .expect("access_token")
        .to_string()
}

pub async fn start(cfg: SimConfig) -> Api {
    let sim = PingOneSim::start(cfg).await.expect("sim starts");
    let http = client();
    let token = token(&http, &sim).await;
    Api { sim, http, token }
}

impl Api {
    /// `path` is relative to the environment: `/users?limit=5`.
    pub fn url(&self, path: &str) -> String {
        format!(
            "{}/environments/{}{}",
            self.sim.api_url(),
            self.sim.env_id(),
            path
        )
    }

    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        self.raw(method, &self.url(path), body).await
    }

    pub async fn raw(&self, method: Method, url: &str, body: Option<Value>) -> Reply {
        let mut req = self.http.request(method, url).bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("request sent");
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let text = res.text().await.expect("body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).expect("JSON body")
        };
        Reply {
            status,
            body,
            headers,
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(body)).await
    }

    /// Follows `_links.next` from `path`, returning every item under `key` and each page's size.
    pub async fn all(&self, path: &str, key: &str) -> (Vec<Value>, Vec<usize>) {
        let mut items = Vec::new();
        let mut sizes = Vec::new();
        let mut url = Some(self.url(path));
        while let Some(u) = url {
            let r = self.raw(Method::GET, &u, None).await;
            assert_eq!(r.status, 200, "{}", r.body);
            let page = r.body["_embedded"][key]
                .as_array()
                .expect("embedded array")
                .clone();
            assert_eq!(r.body["size"].as_u64(), Some(page.len() as u64));
            sizes.push(page.len());
            items.extend(page);
            url = r.body["_links"]["next"]["href"]
                .as_str()
                .map(str::to_string);
        }
        (items, sizes)
    }
}

/// The `details[0]` of an error body, as (code, target).
pub fn detail(body: &Value) -> (String, String) {
    let d = &body["details"][0];
    (
        d["code"].as_str().unwrap_or("").to_string(),
        d["target"].as_str().unwrap_or("").to_string(),
    )
}

pub fn user(name: &str) -> Value {
    serde_json::json!({"username": name, "email": format!("{name}@example.com")})
}

/// `path?filter=<encoded>&<extra>`.
pub fn filtered(path: &str, filter: &str, extra: &str) -> String {
    let u = reqwest::Url::parse_with_params("http://x/", &[("filter", filter)]).expect("url");
    let q = u.query().unwrap_or("");
    if extra.is_empty() {
        format!("{path}?{q}")
    } else {
        format!("{path}?{q}&{extra}")
    }
}
