//! A raw authorised PingOne call from environment variables, printing the JSON answer.
//!
//! ```text
//! PINGONE_ENV_ID=... PINGONE_CLIENT_ID=... PINGONE_CLIENT_SECRET=... PINGONE_REGION=eu \
//!   cargo run -p pingone-client --example pingone_call -- GET /environments/$PINGONE_ENV_ID/users
//! ```
//! Instead of `PINGONE_REGION`, `PINGONE_API_URL` (e.g. `https://api.pingone.com/v1`) and
//! `PINGONE_AUTH_URL` (e.g. `https://auth.pingone.com`) may be given. Optional:
//! `PINGONE_TOKEN_AUTH_METHOD` (`client_secret_basic` or `client_secret_post`).

use std::io::Write;
use std::process::ExitCode;

use pingone_client::{ClientConfig, Method, PingOneClient, SecretString};

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn build() -> Result<(Method, String, Option<serde_json::Value>, PingOneClient), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 || args.len() > 3 {
        return Err("usage: pingone_call METHOD PATH [JSON body]   (PATH relative to the API base, e.g. /environments/ENV/users)".into());
    }
    let method: Method = args[0]
        .to_ascii_uppercase()
        .parse()
        .map_err(|_| format!("`{}` is not an HTTP method", args[0]))?;
    let body = match args.get(2) {
        Some(b) => Some(serde_json::from_str(b).map_err(|e| format!("the body is not JSON: {e}"))?),
        None => None,
    };
    let need = |n: &str| var(n).ok_or_else(|| format!("set {n}"));
    let mut cfg = ClientConfig::new(
        need("PINGONE_ENV_ID")?,
        need("PINGONE_CLIENT_ID")?,
        SecretString::from(need("PINGONE_CLIENT_SECRET")?),
    );
    if let Some(r) = var("PINGONE_REGION") {
        cfg.region = r.parse().map_err(|e| format!("{e}"))?;
    }
    cfg.api_base = var("PINGONE_API_URL");
    cfg.auth_base = var("PINGONE_AUTH_URL");
    if let Some(m) = var("PINGONE_TOKEN_AUTH_METHOD") {
        cfg.token_auth_method = m.parse().map_err(|e| format!("{e}"))?;
    }
    let client = PingOneClient::new(cfg).map_err(|e| e.to_string())?;
    Ok((method, args[1].clone(), body, client))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let (method, path, body, client) = match build() {
        Ok(v) => v,
        Err(e) => {
            eprintln!("pingone_call: {e}");
            return ExitCode::from(2);
        }
    };
    match client.raw(method, &path, body.as_ref()).await {
        Ok(Some(v)) => {
            // A closed pipe (e.g. `| head`) is not an error worth a panic.
            let text = serde_json::to_string_pretty(&v).unwrap_or_default();
            let _ = writeln!(std::io::stdout(), "{text}");
            ExitCode::SUCCESS
        }
        Ok(None) => {
            let _ = writeln!(std::io::stdout(), "null");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("pingone_call: {e}");
            ExitCode::FAILURE
        }
    }
}
