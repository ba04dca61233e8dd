//! `duo_call`: one raw signed Admin API call, for people debugging a tenant.
//!
//! ```text
//! DUO_IKEY=DI… DUO_SKEY=… DUO_HOST=api-xxxxxxxx.duosecurity.com \
//!   cargo run -p duo-client --example duo_call -- GET /admin/v1/users limit=10
//! ```
//!
//! Prints Duo's JSON answer (`response`, and `metadata` when present) on
//! stdout; exits 1 with Duo's error on stderr, 2 on bad usage. Optional:
//! `DUO_SIG_VERSION` = `5` (default), `2` (HMAC-SHA512) or `2-sha1`.

use std::process::ExitCode;

use duo_client::{DuoClient, DuoConfig, Method, Params, RetryPolicy, SignatureVersion};

const USAGE: &str = "usage: duo_call METHOD PATH [key=value ...]\n\
    environment: DUO_IKEY, DUO_SKEY, DUO_HOST (hostname or URL), optional DUO_SIG_VERSION (5 | 2 | 2-sha1)";

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("{name} is not set\n{USAGE}"))
}

fn parse_args(args: &[String]) -> Result<(Method, String, Params), String> {
    let [method, path, rest @ ..] = args else {
        return Err(USAGE.to_owned());
    };
    let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes())
        .map_err(|_| format!("`{method}` is not an HTTP method\n{USAGE}"))?;
    let mut params = Params::new();
    for arg in rest {
        let (k, v) = arg
            .split_once('=')
            .ok_or_else(|| format!("`{arg}` is not key=value\n{USAGE}"))?;
        params.push(k, v);
    }
    Ok((method, path.clone(), params))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let setup = (|| -> Result<_, String> {
        let (method, path, params) = parse_args(&args)?;
        let mut config =
            DuoConfig::new(env("DUO_HOST")?, env("DUO_IKEY")?, env("DUO_SKEY")?.into());
        config.signature = match std::env::var("DUO_SIG_VERSION").as_deref() {
            Err(_) | Ok("5") => SignatureVersion::V5,
            Ok("2") => SignatureVersion::V2Sha512,
            Ok("2-sha1") => SignatureVersion::V2Sha1,
            Ok(other) => return Err(format!("DUO_SIG_VERSION `{other}` is not 5, 2 or 2-sha1")),
        };
        // A debugging tool should answer fast: one retry at most.
        config.retry = RetryPolicy {
            max_attempts: 2,
            ..RetryPolicy::default()
        };
        let client = DuoClient::new(config).map_err(|e| e.to_string())?;
        Ok((client, method, path, params))
    })();
    let (client, method, path, params) = match setup {
        Ok(s) => s,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    match client.raw_call(method, &path, &params).await {
        Ok(answer) => {
            let mut out = serde_json::json!({ "stat": "OK", "response": answer.response });
            if let Some(metadata) = answer.metadata {
                out["metadata"] = metadata;
            }
            println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
