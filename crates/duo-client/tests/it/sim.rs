//! Round trips of every typed call against duo-sim (real HTTP on
//! 127.0.0.1, signature verified by the simulator), and Duo's documented
//! errors as the simulator produces them.

use std::collections::BTreeSet;

use duo_client::{
    AdminRole, AdminStatus, AdminUpdate, DuoClient, DuoConfig, DuoError, GroupStatus, GroupUpdate,
    Method, NewAdmin, NewGroup, NewUser, Params, PhoneSpec, RateLimits, RetryPolicy,
    SignatureVersion, UserStatus, UserUpdate,
};
use duo_sim::{DuoSim, IntegrationConfig, Permission, SimConfig};
use futures::TryStreamExt as _;

pub async fn start_with(config: SimConfig) -> (DuoSim, DuoClient) {
    let (ikey, skey) = (config.ikey.clone(), config.skey.clone());
    let sim = DuoSim::start(config).await.expect("duo-sim starts");
    let client = client_for(&sim, &ikey, &skey, SignatureVersion::V5);
    (sim, client)
}

pub async fn start() -> (DuoSim, DuoClient) {
    start_with(SimConfig::default()).await
}

pub fn client_for(sim: &DuoSim, ikey: &str, skey: &str, signature: SignatureVersion) -> DuoClient {
    let mut config = DuoConfig::new(sim.base_url(), ikey, skey.to_owned().into());
    config.rate_limits = RateLimits::off();
    config.retry = RetryPolicy::none();
    config.signature = signature;
    DuoClient::new(config).expect("client")
}

#[tokio::test]
async fn users_round_trip() {
    let (sim, duo) = start().await;
    let created = duo
        .create_user(&NewUser {
            realname: Some("Zoë Müller".into()),
            email: Some("zoe+duo@example.com".into()),
            status: Some(UserStatus::Bypass),
            aliases: vec!["zm".into(), "zoe.m@example.com".into()],
            ..NewUser::new("zoë")
        })
        .await
        .unwrap();
    assert!(!created.user_id.is_empty());
    assert_eq!(created.realname.as_deref(), Some("Zoë Müller"));
    assert_eq!(created.status, Some(UserStatus::Bypass));
    assert_eq!(
        created.alias_list(),
        vec!["zm".to_owned(), "zoe.m@example.com".to_owned()]
    );
    let stored = &sim.state().users[0];
    assert_eq!(
        (stored.username.as_str(), stored.email.as_str()),
        ("zoë", "zoe+duo@example.com")
    );

    assert_eq!(duo.get_user(&created.user_id).await.unwrap(), created);
    assert_eq!(
        duo.get_user_by_username("zoë")
            .await
            .unwrap()
            .unwrap()
            .user_id,
        created.user_id
    );
    assert_eq!(
        duo.get_user_by_username("zm")
            .await
            .unwrap()
            .unwrap()
            .user_id,
        created.user_id,
        "aliases match"
    );
    assert!(duo.get_user_by_username("nobody").await.unwrap().is_none());

    let modified = duo
        .modify_user(
            &created.user_id,
            &UserUpdate {
                username: Some("zoe".into()),
                status: Some(UserStatus::Disabled),
                notes: Some("a/b c~d & e=f".into()),
                aliases: Some(vec!["zm2".into()]),
                ..UserUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(modified.username, "zoe");
    assert_eq!(modified.status, Some(UserStatus::Disabled));
    assert_eq!(modified.notes.as_deref(), Some("a/b c~d & e=f"));
    assert_eq!(
        modified.alias_list(),
        vec!["zm2".to_owned()],
        "unused alias slots were cleared"
    );

    // More than four aliases go through the `aliases` form.
    let many: Vec<String> = (1..=6).map(|i| format!("alias-{i}")).collect();
    let m = duo
        .modify_user(
            &created.user_id,
            &UserUpdate {
                aliases: Some(many.clone()),
                ..UserUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(m.alias_list(), many);

    let listed = duo.list_users().await.unwrap();
    assert_eq!(listed.len(), 1);
    let pages: Vec<_> = duo.user_pages().try_collect().await.unwrap();
    assert_eq!(pages.len(), 1);
    assert_eq!(pages[0].total_objects, Some(1));

    duo.delete_user(&created.user_id).await.unwrap();
    assert!(sim.state().users.is_empty());
    assert!(
        duo.get_user(&created.user_id)
            .await
            .unwrap_err()
            .is_not_found()
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn phones_round_trip() {
    let (sim, duo) = start().await;
    let user = duo.create_user(&NewUser::new("alice")).await.unwrap();
    let phone = duo
        .create_phone(&PhoneSpec {
            name: Some("work phone".into()),
            phone_type: Some("mobile".into()),
            platform: Some("generic smartphone".into()),
            ..PhoneSpec::number("+1 734-555-1212")
        })
        .await
        .unwrap();
    assert_eq!(
        phone.number.as_deref(),
        Some("+17345551212"),
        "normalised to E.164"
    );
    assert_eq!(
        duo.get_phone(&phone.phone_id).await.unwrap().phone_id,
        phone.phone_id
    );
    let found = duo
        .find_phone_by_number("+17345551212", None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.phone_id, phone.phone_id);
    assert!(
        duo.find_phone_by_number("+17345550000", None)
            .await
            .unwrap()
            .is_none()
    );

    let renamed = duo
        .modify_phone(
            &phone.phone_id,
            &PhoneSpec {
                name: Some("desk".into()),
                ..PhoneSpec::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(renamed.name.as_deref(), Some("desk"));
    assert_eq!(duo.list_phones().await.unwrap().len(), 1);
    let pages: Vec<_> = duo.phone_pages().try_collect().await.unwrap();
    assert_eq!(pages.len(), 1);

    duo.associate_phone(&user.user_id, &phone.phone_id)
        .await
        .unwrap();
    let phones = duo.user_phones(&user.user_id).await.unwrap();
    assert_eq!(
        phones
            .iter()
            .map(|p| p.phone_id.as_str())
            .collect::<Vec<_>>(),
        vec![phone.phone_id.as_str()]
    );
    assert_eq!(duo.get_user(&user.user_id).await.unwrap().phones.len(), 1);
    duo.disassociate_phone(&user.user_id, &phone.phone_id)
        .await
        .unwrap();
    assert!(duo.user_phones(&user.user_id).await.unwrap().is_empty());
    assert_eq!(
        sim.state().phones.len(),
        1,
        "disassociating keeps the phone"
    );

    duo.delete_phone(&phone.phone_id).await.unwrap();
    assert!(sim.state().phones.is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn groups_and_memberships_round_trip() {
    let (sim, duo) = start().await;
    let alice = duo.create_user(&NewUser::new("alice")).await.unwrap();
    let bob = duo.create_user(&NewUser::new("bob")).await.unwrap();
    let group = duo
        .create_group(&NewGroup {
            desc: Some("all staff".into()),
            ..NewGroup::new("Staff")
        })
        .await
        .unwrap();
    assert_eq!(group.name, "Staff");
    assert_eq!(
        duo.get_group(&group.group_id).await.unwrap().desc,
        "all staff"
    );

    let renamed = duo
        .modify_group(
            &group.group_id,
            &GroupUpdate {
                name: Some("Employees".into()),
                status: Some(GroupStatus::Bypass),
                ..GroupUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(renamed.name, "Employees");
    assert_eq!(renamed.status, Some(GroupStatus::Bypass));
    assert_eq!(duo.list_groups().await.unwrap().len(), 1);
    let pages: Vec<_> = duo.group_pages().try_collect().await.unwrap();
    assert_eq!(pages[0].items[0].group_id, group.group_id);

    duo.add_user_to_group(&alice.user_id, &group.group_id)
        .await
        .unwrap();
    duo.add_user_to_group(&bob.user_id, &group.group_id)
        .await
        .unwrap();
    let members: BTreeSet<String> = duo
        .group_members(&group.group_id)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.username)
        .collect();
    assert_eq!(
        members,
        BTreeSet::from(["alice".to_owned(), "bob".to_owned()])
    );
    let member_pages: Vec<_> = duo
        .group_member_pages(&group.group_id)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(member_pages[0].items.len(), 2);
    assert_eq!(
        duo.user_groups(&alice.user_id).await.unwrap()[0].group_id,
        group.group_id
    );
    assert_eq!(sim.state().memberships.len(), 2);

    duo.remove_user_from_group(&alice.user_id, &group.group_id)
        .await
        .unwrap();
    assert!(duo.user_groups(&alice.user_id).await.unwrap().is_empty());
    duo.remove_user_from_group(&alice.user_id, &group.group_id)
        .await
        .unwrap();

    duo.delete_group(&group.group_id).await.unwrap();
    assert!(sim.state().groups.is_empty());
    assert!(
        duo.get_group(&group.group_id)
            .await
            .unwrap_err()
            .is_not_found()
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn administrators_round_trip_with_an_explicit_role() {
    let (sim, duo) = start().await;
    let admin = duo
        .create_admin(&NewAdmin::new(
            "ada@example.com",
            "Ada Admin",
            AdminRole::UserManager,
        ))
        .await
        .unwrap();
    assert_eq!(admin.role, Some(AdminRole::UserManager));
    assert_eq!(
        sim.state().admins[0].role,
        "User Manager",
        "the role was sent, not defaulted to Owner"
    );
    assert_eq!(
        duo.get_admin(&admin.admin_id).await.unwrap().email,
        "ada@example.com"
    );

    let changed = duo
        .modify_admin(
            &admin.admin_id,
            &AdminUpdate {
                name: Some("Ada L.".into()),
                role: Some(AdminRole::HelpDesk),
                status: Some(AdminStatus::Disabled),
                ..AdminUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(changed.name, "Ada L.");
    assert_eq!(changed.role, Some(AdminRole::HelpDesk));
    assert_eq!(changed.status, Some(AdminStatus::Disabled));
    assert_eq!(duo.list_admins().await.unwrap().len(), 1);

    let dup = duo
        .create_admin(&NewAdmin::new(
            "ada@example.com",
            "Ada 2",
            AdminRole::ReadOnly,
        ))
        .await
        .unwrap_err();
    assert!(matches!(dup, DuoError::Duplicate { .. }), "{dup:?}");

    duo.delete_admin(&admin.admin_id).await.unwrap();
    assert!(duo.list_admins().await.unwrap().is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn summary_and_raw_calls() {
    let (sim, duo) = start().await;
    sim.insert_users("u", 3).unwrap();
    let summary = duo.info_summary().await.unwrap();
    assert_eq!(summary.user_count, 3);

    let raw = duo
        .raw_call(
            Method::GET,
            "/admin/v1/users",
            &Params::new().with("limit", "2"),
        )
        .await
        .unwrap();
    assert_eq!(raw.response.as_array().unwrap().len(), 2);
    assert_eq!(raw.metadata.unwrap()["next_offset"], 2);
    let created = duo
        .raw_call(
            Method::POST,
            "/admin/v1/groups",
            &Params::new().with("name", "raw group"),
        )
        .await
        .unwrap();
    assert_eq!(created.response["name"], "raw group");
    sim.shutdown().await;
}

#[tokio::test]
async fn v2_signatures_with_sha512_and_sha1_are_accepted() {
    let (sim, _) = start().await;
    let config = SimConfig::default();
    for signature in [SignatureVersion::V2Sha512, SignatureVersion::V2Sha1] {
        let duo = client_for(&sim, &config.ikey, &config.skey, signature);
        let name = format!("v2 user {signature:?} ë+/");
        let user = duo
            .create_user(&NewUser {
                realname: Some("Ünï Cödé".into()),
                ..NewUser::new(&name)
            })
            .await
            .unwrap();
        assert_eq!(
            duo.get_user_by_username(&name)
                .await
                .unwrap()
                .unwrap()
                .user_id,
            user.user_id
        );
        assert_eq!(user.realname.as_deref(), Some("Ünï Cödé"));
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn simulator_errors_map_to_the_documented_variants() {
    let mut config = SimConfig::default();
    config.extra_integrations.push(IntegrationConfig {
        ikey: "DIREADONLYREADONLY00".into(),
        skey: "readonlyreadonlyreadonlyreadonlyreadonly".into(),
        admin_api: true,
        permissions: [Permission::AdminapiReadResource].into_iter().collect(),
    });
    config.extra_integrations.push(IntegrationConfig {
        ikey: "DIAUTHAPIAUTHAPIAUTH".into(),
        skey: "authapiauthapiauthapiauthapiauthapiauthx".into(),
        admin_api: false,
        permissions: BTreeSet::new(),
    });
    let (sim, duo) = start_with(config.clone()).await;

    let wrong_skey = client_for(
        &sim,
        &config.ikey,
        "0000000000000000000000000000000000000000",
        SignatureVersion::V5,
    );
    let err = wrong_skey.list_users().await.unwrap_err();
    assert!(
        matches!(err, DuoError::InvalidSignature { .. }) && err.code() == Some(40103),
        "{err:?}"
    );

    let unknown_ikey = client_for(
        &sim,
        "DINOTKNOWNNOTKNOWN00",
        &config.skey,
        SignatureVersion::V5,
    );
    let err = unknown_ikey.list_users().await.unwrap_err();
    assert!(
        matches!(err, DuoError::InvalidIntegrationKey { .. }),
        "{err:?}"
    );
    let auth_api = client_for(
        &sim,
        "DIAUTHAPIAUTHAPIAUTH",
        "authapiauthapiauthapiauthapiauthapiauthx",
        SignatureVersion::V5,
    );
    let err = auth_api.list_users().await.unwrap_err();
    assert!(
        matches!(err, DuoError::InvalidIntegrationKey { .. }),
        "{err:?}"
    );

    let read_only = client_for(
        &sim,
        "DIREADONLYREADONLY00",
        "readonlyreadonlyreadonlyreadonlyreadonly",
        SignatureVersion::V5,
    );
    read_only.list_users().await.unwrap();
    let err = read_only.create_user(&NewUser::new("x")).await.unwrap_err();
    assert!(
        matches!(
            err,
            DuoError::Forbidden {
                permission: "Grant write resource",
                ..
            }
        ),
        "{err:?}"
    );
    let err = read_only.list_admins().await.unwrap_err();
    assert!(
        matches!(
            err,
            DuoError::Forbidden {
                permission: "Grant administrators",
                ..
            }
        ),
        "{err:?}"
    );
    let err = read_only.info_summary().await.unwrap_err();
    assert!(
        matches!(
            err,
            DuoError::Forbidden {
                permission: "Grant read information",
                ..
            }
        ),
        "{err:?}"
    );

    let err = duo.get_user("DUNOSUCHUSER00000000").await.unwrap_err();
    assert!(err.is_not_found() && err.code() == Some(40401), "{err:?}");

    duo.create_user(&NewUser::new("dup")).await.unwrap();
    let err = duo.create_user(&NewUser::new("dup")).await.unwrap_err();
    assert!(matches!(err, DuoError::Duplicate { .. }), "{err:?}");

    let err = duo
        .create_user(&NewUser {
            status: Some(UserStatus::LockedOut),
            ..NewUser::new("locked")
        })
        .await
        .unwrap_err();
    assert!(
        matches!(err, DuoError::BadRequest { .. }) && err.code() == Some(40002),
        "{err:?}"
    );
    assert_eq!(
        err.failure().unwrap().message_detail.as_deref(),
        Some("status")
    );

    // 101 phones on one user: Duo's one-to-many limit is 100.
    let user = duo.create_user(&NewUser::new("phoneful")).await.unwrap();
    for i in 0..100 {
        let phone = sim.insert_phone(&format!("+1734555{i:04}"), &[]).unwrap();
        sim.associate_phone(&user.user_id, &phone.phone_id).unwrap();
    }
    let extra = duo
        .create_phone(&PhoneSpec::number("+17345559999"))
        .await
        .unwrap();
    let err = duo
        .associate_phone(&user.user_id, &extra.phone_id)
        .await
        .unwrap_err();
    assert!(
        matches!(err, DuoError::LimitExceeded { .. }) && err.code() == Some(50001),
        "{err:?}"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn simulator_rate_limits_are_retried_until_they_pass() {
    // A 429 burst with Retry-After: 0 from the simulator's fault engine.
    let (sim, duo) = start().await;
    let mut config = DuoConfig::new(
        sim.base_url(),
        SimConfig::default().ikey,
        SimConfig::default().skey.into(),
    );
    config.rate_limits = RateLimits::off();
    config.retry = RetryPolicy {
        initial_backoff: std::time::Duration::from_millis(1),
        max_backoff: std::time::Duration::from_millis(4),
        jitter: std::time::Duration::ZERO,
        max_attempts: 10,
        ..RetryPolicy::default()
    };
    let retrying = DuoClient::new(config).unwrap();
    sim.set_faults(duo_sim::Faults {
        seed: 7,
        too_many_requests_rate: 1.0,
        burst_length: 3,
        ..Default::default()
    });
    let err = duo.list_users().await.unwrap_err();
    assert!(
        matches!(err, DuoError::RateLimited { .. }),
        "without retries the 429 surfaces: {err:?}"
    );
    sim.set_faults(duo_sim::Faults {
        seed: 7,
        too_many_requests_rate: 0.2,
        burst_length: 2,
        ..Default::default()
    });
    for _ in 0..5 {
        retrying.list_users().await.unwrap();
    }
    assert!(
        sim.stats().by_status.get("429").copied().unwrap_or(0) > 0,
        "some 429s were served and retried"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_dropped_create_is_reported_as_unknown_and_can_be_looked_up() {
    let (sim, duo) = start().await;
    sim.set_faults(duo_sim::Faults {
        seed: 3,
        drop_after_rate: 1.0,
        ..Default::default()
    });
    let err = duo.create_user(&NewUser::new("maybe")).await.unwrap_err();
    assert!(err.is_outcome_unknown(), "{err:?}");
    assert_eq!(sim.stats().route("POST /admin/v1/users"), 1, "not re-sent");
    sim.set_faults(duo_sim::Faults::default());
    assert!(
        duo.get_user_by_username("maybe").await.unwrap().is_some(),
        "the change was applied"
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_client_serves_many_tasks_at_once() {
    let (sim, duo) = start().await;
    let ids = sim.insert_users("conc", 40).unwrap();
    let tasks: Vec<_> = ids
        .iter()
        .map(|id| {
            let duo = duo.clone();
            let id = id.clone();
            tokio::spawn(async move { duo.get_user(&id).await.map(|u| u.user_id == id) })
        })
        .collect();
    for t in tasks {
        assert!(t.await.unwrap().unwrap());
    }
    assert_eq!(sim.stats().route("GET /admin/v1/users/{user_id}"), 40);
    sim.shutdown().await;
}

/// Review items 12 and 17: an association naming a group or phone Duo no longer has is
/// "not found" whether Duo answers 400 / 40002 naming the parameter (its pattern, the
/// simulator's default) or 404; and a re-sent association that Duo answers 40003 (a variant;
/// undocumented) is a success, so a retry after a timeout never turns into a failure.
#[tokio::test]
async fn associations_read_an_unknown_id_as_not_found_and_a_duplicate_as_done() {
    for variants in ["", "unknown_id_404,association_exists_40003"] {
        let mut config = SimConfig::default();
        config.apply_variants(variants).unwrap();
        let (sim, duo) = start_with(config).await;
        let user = sim.insert_user("ann", &[]).unwrap();
        let group = sim.insert_group("Sales", &[]).unwrap();
        let phone = sim.insert_phone("+15555550100", &[]).unwrap();
        let err = duo
            .add_user_to_group(&user.user_id, "DGNOSUCHGROUPXXXXXXX")
            .await
            .unwrap_err();
        assert!(err.is_not_found(), "{variants}: {err:?}");
        let err = duo
            .associate_phone(&user.user_id, "DPNOSUCHPHONEXXXXXXX")
            .await
            .unwrap_err();
        assert!(err.is_not_found(), "{variants}: {err:?}");
        for _ in 0..2 {
            duo.add_user_to_group(&user.user_id, &group.group_id)
                .await
                .unwrap_or_else(|e| panic!("{variants}: {e:?}"));
            duo.associate_phone(&user.user_id, &phone.phone_id)
                .await
                .unwrap_or_else(|e| panic!("{variants}: {e:?}"));
        }
        sim.shutdown().await;
    }
}
