//! Secrets in the config: `{ env = "NAME" }` or `{ file = "path" }`, never inline.
//! The value goes straight into a `SecretString`; no message ever quotes it.

use secrecy::SecretString;
use std::path::Path;

/// Resolve a secret reference. `base` is the config file's directory.
pub fn resolve(
    value: &toml::Value,
    base: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<SecretString, String> {
    let shape = "expected { env = \"VARIABLE\" } or { file = \"path\" }";
    let table = match value {
        toml::Value::String(_) => {
            return Err(format!(
                "secrets are never written inline; {shape} (the value given was not echoed)"
            ));
        }
        toml::Value::Table(t) => t,
        other => return Err(format!("{shape}, got a {}", other.type_str())),
    };
    if table.len() != 1 {
        return Err(format!("{shape} with exactly one key"));
    }
    let (kind, v) = table.iter().next().expect("one entry");
    let Some(name) = v.as_str() else {
        return Err(format!("{shape}: {kind} must be a string"));
    };
    let text = match kind.as_str() {
        "env" => env(name).ok_or_else(|| {
            format!("environment variable {name} is not set; export it before running p1duo")
        })?,
        "file" => {
            let path = base.join(name);
            std::fs::read_to_string(&path).map_err(|e| {
                format!(
                    "cannot read secret file {} ({e}); check the path and its permissions",
                    path.display()
                )
            })?
        }
        other => return Err(format!("{shape}, got key {other:?}")),
    };
    // A trailing newline is almost always an editor's, not part of the secret.
    let text = text.trim_end_matches(['\r', '\n']).to_owned();
    if text.trim().is_empty() {
        return Err(format!("the secret from {kind} {name:?} is empty"));
    }
    Ok(SecretString::from(text))
}
