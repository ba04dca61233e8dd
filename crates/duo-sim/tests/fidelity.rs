//! Issue 15, duo-sim: the defaults are Duo's documented or observed behaviour (generic 500s,
//! no Retry-After, v2 never authorises a JSON body, explicit nulls in paging metadata, the
//! trash, the read-only administrators grant) and the undocumented variants are switches.

mod common;

use base64::Engine as _;
use common::{Caller, IKEY, SKEY, Sig, now_date};
use duo_sim::{DuoSim, Faults, Permission, SimConfig};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;

async fn sim_with(cfg: SimConfig) -> (DuoSim, Caller) {
    let sim = DuoSim::start(cfg).await.unwrap();
    let c = Caller::new(&sim.base_url());
    (sim, c)
}

#[tokio::test]
async fn injected_500s_are_duos_generic_50001_and_429s_carry_no_retry_after() {
    let (sim, c) = sim_with(SimConfig::default()).await;
    sim.set_faults(Faults {
        seed: 7,
        server_error_rate: 1.0,
        ..Faults::default()
    });
    let mut seen_500 = false;
    for _ in 0..20 {
        let (st, b) = c.call("GET", "/admin/v1/users", &[]).await;
        if st == 500 {
            seen_500 = true;
            assert_eq!(
                b,
                serde_json::json!({"stat": "FAIL", "code": 50001, "message": "Unknown internal server error"})
            );
        }
    }
    assert!(seen_500);
    // 429 bursts with the default fault settings: no Retry-After (Duo sends none).
    sim.set_faults(Faults {
        seed: 7,
        too_many_requests_rate: 1.0,
        ..Faults::default()
    });
    for _ in 0..10 {
        let r = c.send("GET", "/admin/v1/users", &[]).await.unwrap();
        assert_eq!(r.status(), 429);
        assert!(r.headers().get("retry-after").is_none());
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn a_v2_signature_never_authorises_a_json_body() {
    let (sim, c) = sim_with(SimConfig::default()).await;
    let path = "/admin/v1/users";
    let date = now_date();
    // v2 canonical string: date, method, host, path, params (none: the body is JSON).
    let canon = [date.as_str(), "POST", c.host.as_str(), path, ""].join("\n");
    let mut m = Hmac::<sha2::Sha512>::new_from_slice(SKEY.as_bytes()).unwrap();
    m.update(canon.as_bytes());
    let sig = hex::encode(m.finalize().into_bytes());
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{IKEY}:{sig}"))
    );
    let r = c
        .http
        .post(format!("{}{path}", c.base))
        .header("Authorization", auth)
        .header("Date", date)
        .header("Content-Type", "application/json")
        .body(r#"{"username":"unsigned.body.user"}"#)
        .send()
        .await
        .unwrap();
    assert_ne!(r.status(), 200, "{:?}", r.text().await);
    assert!(
        sim.state().users.is_empty(),
        "an unsigned body created a user"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn paging_metadata_has_explicit_nulls() {
    let (sim, c) = sim_with(SimConfig::default()).await;
    sim.insert_users("p", 3).unwrap();
    let (_, b) = c
        .call("GET", "/admin/v1/users", &[("limit", "2"), ("offset", "0")])
        .await;
    let meta = b["metadata"].as_object().unwrap();
    assert_eq!(meta.get("prev_offset"), Some(&Value::Null), "{b}");
    assert_eq!(meta.get("next_offset"), Some(&Value::from(2)), "{b}");
    let (_, b) = c
        .call("GET", "/admin/v1/users", &[("limit", "2"), ("offset", "2")])
        .await;
    let meta = b["metadata"].as_object().unwrap();
    assert_eq!(meta.get("next_offset"), Some(&Value::Null), "{b}");
    sim.shutdown().await;
}

#[tokio::test]
async fn the_trash_keeps_the_username_ignores_modifies_restores_and_purges() {
    let (sim, c) = sim_with(SimConfig {
        control: true,
        ..SimConfig::default()
    })
    .await;
    let alice = sim.insert_user("alice", &[("alias1", "ally")]).unwrap();
    let id = alice.user_id.as_str();
    let list = serde_json::to_string(&[id]).unwrap();
    bulk_ok(&c, "bulk_send_to_trash", &list, id).await;
    // Listed as pending deletion; the username and alias stay reserved.
    let (_, b) = c
        .call("GET", "/admin/v1/users", &[("username", "alice")])
        .await;
    assert_eq!(b["response"][0]["status"], "pending deletion", "{b}");
    for name in ["alice", "ally"] {
        let (st, b) = c
            .call("POST", "/admin/v1/users", &[("username", name)])
            .await;
        assert_eq!((st, b["code"].as_u64()), (400, Some(40003)), "{name}: {b}");
    }
    // A modify answers 200 and changes nothing (Duo staff, community.duo.com/t/5758).
    let (st, b) = c
        .call(
            "POST",
            &format!("/admin/v1/users/{id}"),
            &[("status", "active"), ("realname", "Changed")],
        )
        .await;
    assert_eq!(st, 200, "{b}");
    assert_eq!(b["response"]["status"], "pending deletion");
    assert_ne!(b["response"]["realname"], "Changed");
    let (_, b) = c.call("GET", "/admin/v1/info/summary", &[]).await;
    assert_eq!(b["response"]["user_pending_deletion_count"], 1);
    // bulk_restore gives the user back.
    bulk_ok(&c, "bulk_restore", &list, id).await;
    let (_, b) = c.call("GET", &format!("/admin/v1/users/{id}"), &[]).await;
    assert_eq!(b["response"]["status"], "active");
    // Trashed again, purged after pending_deletion_days simulated days (7).
    assert_eq!(sim.send_to_trash(&[id]).unwrap(), vec![true]);
    assert!(sim.advance_days(6).is_empty());
    let purge = reqwest::Client::new()
        .post(format!("{}/__sim/days", sim.base_url()))
        .body(r#"{"days": 1}"#)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(purge["purged"], serde_json::json!([id]));
    let (st, _) = c.call("GET", &format!("/admin/v1/users/{id}"), &[]).await;
    assert_eq!(st, 404);
    let (st, _) = c
        .call("POST", "/admin/v1/users", &[("username", "alice")])
        .await;
    assert_eq!(st, 200, "the username is free after the purge");
    sim.shutdown().await;
}

#[tokio::test]
async fn the_read_only_administrators_grant_reads_but_cannot_write() {
    let mut permissions = Permission::provisioning();
    permissions.remove(&Permission::AdminapiAdmins);
    permissions.insert(Permission::AdminapiAdminsRead);
    let (sim, c) = sim_with(SimConfig {
        permissions,
        ..SimConfig::default()
    })
    .await;
    let (st, b) = c.call("GET", "/admin/v1/admins", &[]).await;
    assert_eq!(st, 200, "{b}");
    let (st, b) = c
        .call(
            "POST",
            "/admin/v1/admins",
            &[
                ("email", "a@example.com"),
                ("name", "A"),
                ("role", "Help Desk"),
            ],
        )
        .await;
    assert_eq!((st, b["code"].as_u64()), (403, Some(40301)), "{b}");
    sim.shutdown().await;
}

#[tokio::test]
async fn variants_switch_undocumented_behaviour() {
    let mut cfg = SimConfig::default();
    cfg.apply_variants("phone_without_plus,skew_40105,null_lists")
        .unwrap();
    assert!(cfg.apply_variants("no_such_variant").is_err());
    let (sim, c) = sim_with(cfg).await;
    let u = sim.insert_user("bob", &[]).unwrap();
    let (_, b) = c
        .call("GET", &format!("/admin/v1/users/{}", u.user_id), &[])
        .await;
    assert_eq!(b["response"]["groups"], Value::Null, "{b}");
    assert_eq!(b["response"]["aliases"], Value::Null, "{b}");
    let ph = sim.insert_phone("+15555550100", &[]).unwrap();
    sim.associate_phone(&u.user_id, &ph.phone_id).unwrap();
    let (_, b) = c
        .call("GET", &format!("/admin/v1/users/{}", u.user_id), &[])
        .await;
    assert_eq!(b["response"]["phones"][0]["number"], "15555550100", "{b}");
    // The phone endpoints keep +E.164.
    let (_, b) = c
        .call("GET", &format!("/admin/v1/phones/{}", ph.phone_id), &[])
        .await;
    assert_eq!(b["response"]["number"], "+15555550100");
    // A stale date: 40105.
    let stale = c.with(Sig::V5);
    let stale = Caller {
        date: Some("Fri, 07 Dec 2012 17:18:00 -0000".into()),
        ..stale
    };
    let (st, b) = stale.call("GET", "/admin/v1/users", &[]).await;
    assert_eq!((st, b["code"].as_u64()), (401, Some(40105)), "{b}");
    sim.shutdown().await;
}

/// `POST /admin/v1/users/{endpoint}` for one user succeeds for that user.
async fn bulk_ok(c: &Caller, endpoint: &str, list: &str, id: &str) {
    let path = format!("/admin/v1/users/{endpoint}");
    let (st, b) = c.call("POST", &path, &[("user_id_list", list)]).await;
    assert_eq!(st, 200, "{endpoint}: {b}");
    assert_eq!(
        b["response"],
        serde_json::json!([{"success": true, "user_id": id}]),
        "{endpoint}"
    );
}

fn variant(names: &str) -> SimConfig {
    let mut cfg = SimConfig::default();
    cfg.apply_variants(names).unwrap();
    cfg
}

/// Review items 11–13 and 17: an unknown id in an association is 400 / 40002 naming it (404 in
/// a variant); DELETE of an unknown group or administrator is 200, as Duo's text says (404 in a
/// variant); a re-sent association is 200 (40003 in a variant); group names are exact (case-
/// insensitive in a variant).
#[tokio::test]
async fn association_delete_and_group_name_answers_follow_duo_or_a_variant() {
    for (names, unknown, delete, again, case_clash) in [
        ("", (400, 40002), 200, 200, false),
        (
            "unknown_id_404,delete_unknown_404,association_exists_40003,group_name_case_insensitive",
            (404, 40401),
            404,
            400,
            true,
        ),
    ] {
        let (sim, c) = sim_with(variant(names)).await;
        let u = sim.insert_user("ann", &[]).unwrap();
        let g = sim.insert_group("Sales", &[]).unwrap();
        let ph = sim.insert_phone("+15555550100", &[]).unwrap();
        for (path, param) in [("groups", "group_id"), ("phones", "phone_id")] {
            let url = format!("/admin/v1/users/{}/{path}", u.user_id);
            let (st, b) = c
                .call("POST", &url, &[(param, "DXNOSUCHIDXXXXXXXXXX")])
                .await;
            assert_eq!(
                (st, b["code"].as_u64()),
                (unknown.0, Some(unknown.1)),
                "{names}: {b}"
            );
            assert_eq!(b["message_detail"], param, "{names}");
            let id = if param == "group_id" {
                &g.group_id
            } else {
                &ph.phone_id
            };
            assert_eq!(c.call("POST", &url, &[(param, id)]).await.0, 200);
            let (st, b) = c.call("POST", &url, &[(param, id)]).await;
            assert_eq!(st, again, "{names}: re-sent {path}: {b}");
            if st != 200 {
                assert_eq!(b["code"], 40003);
            }
        }
        for path in [
            "/admin/v1/groups/DGNOSUCHGROUPXXXXXXX",
            "/admin/v1/admins/DENOSUCHADMINXXXXXXX",
        ] {
            assert_eq!(
                c.call("DELETE", path, &[]).await.0,
                delete,
                "{names} {path}"
            );
        }
        let (st, _) = c
            .call("POST", "/admin/v1/groups", &[("name", "SALES")])
            .await;
        assert_eq!(st == 400, case_clash, "{names}: SALES next to Sales");
        sim.shutdown().await;
    }
}

/// Review item 14: Duo does not delete a deleted user's only phones right away; the simulator
/// purges them after `ORPHAN_PHONE_DAYS` simulated days, unless a user took them meanwhile.
#[tokio::test]
async fn phones_a_deleted_user_leaves_behind_are_purged_later() {
    let (sim, c) = sim_with(SimConfig::default()).await;
    let (a, b) = (
        sim.insert_user("a", &[]).unwrap(),
        sim.insert_user("b", &[]).unwrap(),
    );
    let p1 = sim.insert_phone("+15555550101", &[]).unwrap();
    let p2 = sim.insert_phone("+15555550102", &[]).unwrap();
    sim.associate_phone(&a.user_id, &p1.phone_id).unwrap();
    sim.associate_phone(&b.user_id, &p2.phone_id).unwrap();
    assert_eq!(
        c.call("DELETE", &format!("/admin/v1/users/{}", a.user_id), &[])
            .await
            .0,
        200
    );
    assert_eq!(
        c.call("DELETE", &format!("/admin/v1/users/{}", b.user_id), &[])
            .await
            .0,
        200
    );
    let phone = |id: &str| sim.state().phones.iter().any(|p| p.phone_id == id);
    assert!(phone(&p1.phone_id) && phone(&p2.phone_id), "not right away");
    let c2 = sim.insert_user("c", &[]).unwrap();
    sim.associate_phone(&c2.user_id, &p2.phone_id).unwrap();
    sim.advance_days(duo_sim::ORPHAN_PHONE_DAYS);
    assert!(!phone(&p1.phone_id), "purged later");
    assert!(phone(&p2.phone_id), "taken by another user meanwhile");
    sim.shutdown().await;
}

/// Review items 15 and 16: users lock out and administrators' activations expire (controls
/// only: Duo does not document setting them); only duo.com's roles are accepted, `Security
/// Analyst` in a variant.
#[tokio::test]
async fn locked_out_users_expired_admins_and_documented_roles() {
    for (names, analyst) in [("", 400), ("security_analyst_role", 200)] {
        let (sim, c) = sim_with(variant(names)).await;
        let u = sim.insert_user("ann", &[]).unwrap();
        sim.lock_out_user(&u.user_id).unwrap();
        let (_, b) = c
            .call("GET", &format!("/admin/v1/users/{}", u.user_id), &[])
            .await;
        assert_eq!(b["response"]["status"], "locked out");
        let a = sim
            .insert_admin("Al", "al@example.com", Some("Read-only"))
            .unwrap();
        sim.expire_admin(&a.admin_id).unwrap();
        let (_, b) = c
            .call("GET", &format!("/admin/v1/admins/{}", a.admin_id), &[])
            .await;
        assert_eq!(b["response"]["status"], "Expired");
        let (st, b) = c
            .call(
                "POST",
                "/admin/v1/admins",
                &[
                    ("name", "Sam"),
                    ("email", "sam@example.com"),
                    ("role", "Security Analyst"),
                ],
            )
            .await;
        assert_eq!(st, analyst, "{names}: {b}");
        sim.shutdown().await;
    }
}
