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
    let shape = "expected { env = \"VARIABLE\" }, { file = \"path\" } or { credential = \"name\" }";
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
        "file" => read_secret_file(&base.join(name))?,
        // systemd's LoadCredential= puts each secret in $CREDENTIALS_DIRECTORY.
        "credential" => {
            let dir = env("CREDENTIALS_DIRECTORY").ok_or_else(|| {
                format!(
                    "credential {name:?} needs $CREDENTIALS_DIRECTORY, which systemd sets for a unit with LoadCredential={name}:...; outside systemd use {{ file = \"...\" }}"
                )
            })?;
            if name.contains('/') || name.is_empty() {
                return Err(format!(
                    "credential {name:?}: expected a credential name, not a path"
                ));
            }
            read_secret_file(&Path::new(&dir).join(name))?
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

/// Largest secret file read: keys and client secrets are tens of bytes.
const MAX_SECRET_FILE: u64 = 64 * 1024;

/// A secret file: a regular file (not a FIFO that would hang, nor a device
/// that never ends) of at most 64 KiB; a warning when others can read it.
fn read_secret_file(path: &Path) -> Result<String, String> {
    use std::io::Read;
    let cannot = |e: std::io::Error| {
        format!(
            "cannot read secret file {} ({e}); check the path and its permissions",
            path.display()
        )
    };
    let meta = std::fs::metadata(path).map_err(cannot)?;
    if !meta.is_file() {
        return Err(format!(
            "secret file {} is not a regular file; point it at a file holding only the secret",
            path.display()
        ));
    }
    if meta.len() > MAX_SECRET_FILE {
        return Err(format!(
            "secret file {} is {} bytes; a secret file holds only the secret (at most 64 KiB)",
            path.display(),
            meta.len()
        ));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o044 != 0 {
            tracing::warn!(
                file = %path.display(),
                "a secret file is readable by other users; chmod 600 it"
            );
        }
    }
    let mut text = String::new();
    std::fs::File::open(path)
        .map_err(cannot)?
        .take(MAX_SECRET_FILE)
        .read_to_string(&mut text)
        .map_err(cannot)?;
    Ok(text)
}
