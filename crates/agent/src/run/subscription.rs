//! The PingOne change subscription the agent owns: its body, its id and
//! delivery secret kept in the state database, reused or updated across
//! restarts, and the action types PingOne refuses named from its answer.

use super::*;
use crate::AgentError;
use crate::cycle::Agent;
use crate::cycle::state::{self as memo, NotificationsMemo};
use crate::state::StateDb;
use server::DeliverySecret;

/// The change notifications the agent subscribes to.
const ACTION_TYPES: &[&str] = &[
    "USER.CREATED",
    "USER.UPDATED",
    "USER.DELETED",
    "GROUP.CREATED",
    "GROUP.UPDATED",
    "GROUP.DELETED",
    "GROUP_MEMBERSHIP.CREATED",
    "GROUP_MEMBERSHIP.DELETED",
    "GROUP_NESTING.CREATED",
    "GROUP_NESTING.DELETED",
];

/// The name of the agent's subscription: with the agent's `public_url`, what
/// marks a subscription as this agent's own (stale ones are removed at start).
const SUBSCRIPTION_NAME: &str = "p1duo change notifications";

/// The delivery secret from the state database, generated and recorded on
/// first use (32 random bytes, hex).
pub(super) async fn delivery_secret(db: &StateDb) -> Result<DeliverySecret, AgentError> {
    let fresh: [u8; 32] = rand::random();
    let fresh = fresh.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let secret = db
        .call(move |s| {
            if let Some(m) = memo::notifications(s)? {
                return Ok(m.secret);
            }
            memo::set_notifications(
                s,
                &NotificationsMemo {
                    secret: fresh.clone(),
                    subscription_id: None,
                },
            )?;
            Ok(fresh)
        })
        .await?;
    Ok(DeliverySecret(secret))
}

/// The action types PingOne refused, as named in its 400's `details`
/// (`innerError.value`, else a known type quoted in the message); empty when
/// the 400 is about something else.
fn refused_types(e: &pingone_client::Error, asked: &[&str]) -> Vec<String> {
    let Some(env) = e.envelope() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for d in &env.details {
        if d.target.as_deref() != Some("filterOptions.includedActionTypes") {
            continue;
        }
        let named = d
            .inner_error
            .as_ref()
            .and_then(|i| i.get("value"))
            .and_then(|v| v.as_str())
            .map(str::to_owned);
        match named {
            Some(t) => out.push(t),
            None => {
                let msg = d.message.as_deref().unwrap_or_default();
                out.extend(
                    asked
                        .iter()
                        .filter(|t| msg.contains(*t))
                        .map(|t| (*t).to_owned()),
                );
            }
        }
    }
    out.retain(|t| asked.contains(&t.as_str()));
    out
}

/// The subscription body: every field PingOne requires, the secret in a header.
fn subscription_body(url: &str, secret: &DeliverySecret, types: &[&str]) -> serde_json::Value {
    serde_json::json!({
        "name": SUBSCRIPTION_NAME,
        "enabled": true,
        "format": "ACTIVITY",
        "verifyTlsCertificates": true,
        "httpEndpoint": { "url": url, "headers": { "Authorization": secret.header_value() } },
        "filterOptions": { "includedActionTypes": types }
    })
}

/// Register (or update) this agent's PingOne subscription delivering user,
/// group, membership and nesting changes. The subscription recorded in the
/// state database is updated in place when PingOne still has it; other
/// subscriptions of this agent (same name and URL, left by a crash) are
/// removed, so restarts never add duplicates.
pub(super) async fn subscribe(
    agent: &Agent,
    db: &StateDb,
    url: &str,
    secret: &DeliverySecret,
) -> Result<String, AgentError> {
    use pingone_client::Method;
    let host = url
        .split_once("://")
        .map_or("", |(_, r)| r.split(['/', ':']).next().unwrap_or(""));
    if !url.starts_with("https://") || matches!(host, "127.0.0.1" | "localhost" | "[") {
        tracing::warn!(%url, "agent.notifications.public_url is not an https URL PingOne can reach (PingOne delivers only to https, and not to loopback): fine against the simulator, not against PingOne");
    }
    let call_err = |e: pingone_client::Error| AgentError::PingOne(e.to_string());
    let base = format!(
        "/environments/{}/subscriptions",
        agent.config.pingone.environment_id
    );
    let recorded = db
        .call(|s| memo::notifications(s))
        .await?
        .and_then(|m| m.subscription_id);
    let listed = agent
        .p1
        .raw(Method::GET, &base, None)
        .await
        .map_err(call_err)?
        .unwrap_or_default();
    let existing: Vec<&serde_json::Value> = listed["_embedded"]["subscriptions"]
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let id_of = |s: &serde_json::Value| s["id"].as_str().unwrap_or_default().to_owned();
    let keep = recorded.filter(|r| existing.iter().any(|s| id_of(s) == *r));
    let mut types: Vec<&str> = ACTION_TYPES.to_vec();
    let v = loop {
        let body = subscription_body(url, secret, &types);
        let result = match &keep {
            Some(id) => {
                agent
                    .p1
                    .raw(Method::PUT, &format!("{base}/{id}"), Some(&body))
                    .await
            }
            None => agent.p1.raw(Method::POST, &base, Some(&body)).await,
        };
        match result {
            Err(e) if e.status() == Some(400) => {
                let refused = refused_types(&e, &types);
                if refused.is_empty() || refused.len() == types.len() {
                    return Err(call_err(e));
                }
                tracing::warn!(refused = ?refused, "PingOne refused these action types; subscribing without them (their changes wait for the periodic full cycle)");
                types.retain(|t| !refused.iter().any(|r| r == t));
            }
            other => break other.map_err(call_err)?,
        }
    };
    let updated = keep.is_some();
    let id = v
        .as_ref()
        .and_then(|v| v.get("id"))
        .and_then(|i| i.as_str())
        .map(str::to_owned)
        .or(keep)
        .unwrap_or_default();
    let (secret_text, owned) = (secret.0.clone(), id.clone());
    db.call(move |s| {
        memo::set_notifications(
            s,
            &NotificationsMemo {
                secret: secret_text,
                subscription_id: Some(owned),
            },
        )
    })
    .await?;
    for stale in existing.iter().filter(|s| {
        s["name"] == SUBSCRIPTION_NAME && s["httpEndpoint"]["url"] == url && id_of(s) != id
    }) {
        let sid = id_of(stale);
        match agent
            .p1
            .raw(Method::DELETE, &format!("{base}/{sid}"), None)
            .await
        {
            Ok(_) => {
                tracing::info!(subscription = %sid, "removed a stale subscription of this agent");
            }
            Err(e) => {
                tracing::warn!(subscription = %sid, error = %e, "could not remove a stale subscription of this agent");
            }
        }
    }
    tracing::info!(subscription = %id, %url, updated, "PingOne change notifications registered");
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::{ACTION_TYPES, refused_types};

    fn err(body: serde_json::Value) -> pingone_client::Error {
        pingone_client::Error::from_response(
            "POST /subscriptions",
            400,
            None,
            body.to_string().as_bytes(),
        )
    }

    #[test]
    fn only_the_action_types_pingone_names_are_dropped_and_any_other_400_is_not_a_refusal() {
        let refused = err(serde_json::json!({
            "code": "INVALID_DATA",
            "details": [
                {"code": "INVALID_VALUE", "target": "filterOptions.includedActionTypes",
                 "message": "GROUP_NESTING.CREATED is not a known action type",
                 "innerError": {"value": "GROUP_NESTING.CREATED"}},
                {"code": "INVALID_VALUE", "target": "filterOptions.includedActionTypes",
                 "message": "Invalid value GROUP_NESTING.DELETED"}
            ]
        }));
        assert_eq!(
            refused_types(&refused, ACTION_TYPES),
            ["GROUP_NESTING.CREATED", "GROUP_NESTING.DELETED"]
        );
        // A missing field is not "the nesting types were refused".
        let missing = err(serde_json::json!({
            "code": "INVALID_DATA",
            "details": [{"code": "REQUIRED_VALUE", "target": "verifyTlsCertificates",
                         "message": "verifyTlsCertificates is required"}]
        }));
        assert!(refused_types(&missing, ACTION_TYPES).is_empty());
    }
}
