//! Safety end to end: the real `p1duo` binary against standalone simulators,
//! one test per way a sync could hurt what it does not own or must not touch:
//! held (not disabled) users, proportional limits, narrow adoption both ways,
//! no handover of a Duo account to a new PingOne user, one owner per object,
//! groups p1duo did not create, group exits on deprovision, and rule removal.
//! Each test states the new, safe behaviour and, in its first comment, how
//! the code it was written against failed it.

use p1duo_tests::fixtures::{Endpoints, outbound_rule, phone_for, write_config};
use p1duo_tests::standalone::{PingOneSeeder, SimProcess, calls};
use p1duo_tests::{duo_sim_bin, p1duo_bin, pingone_sim_bin};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// Deprovision on, by disabling.
const DISABLE: &str = "deprovision = true\nremove_action = \"disable\"";

/// Both simulators as processes, named PingOne populations, and a config dir.
struct World {
    duo: SimProcess,
    p1: SimProcess,
    seed: PingOneSeeder,
    pops: BTreeMap<String, String>,
    dir: tempfile::TempDir,
}

/// One run of `p1duo`: its exit code and stdout followed by stderr.
struct Run {
    code: Option<i32>,
    out: String,
}

impl World {
    fn new(populations: &[&str]) -> World {
        let duo = SimProcess::duo(duo_sim_bin(), &[]);
        let p1 = SimProcess::pingone(pingone_sim_bin(), &[]);
        let seed = PingOneSeeder::new(&p1.base);
        let pops = populations
            .iter()
            .map(|p| (p.to_string(), seed.population(p)))
            .collect();
        let world = World {
            duo,
            p1,
            seed,
            pops,
            dir: tempfile::tempdir().expect("temp dir"),
        };
        // A rule-less config beside, for seeding Duo through `p1duo api`.
        let seeding = world.dir.path().join("seeding");
        std::fs::create_dir(&seeding).expect("seeding dir");
        write_config(&seeding, &world.endpoints(), "\"off\"", "", "");
        world
    }

    fn endpoints(&self) -> Endpoints {
        Endpoints {
            duo: self.duo.base.clone(),
            pingone: self.p1.base.clone(),
        }
    }

    fn pop(&self, name: &str) -> &str {
        &self.pops[name]
    }

    /// A PingOne user in population `pop` (`extra` merged in); returns its id.
    fn user(&self, username: &str, pop: &str, extra: Value) -> String {
        self.seed.user(username, self.pop(pop), extra)
    }

    /// PingOne users `{prefix}{i:02}` in Workforce, each with a phone; their ids.
    fn users(&self, prefix: &str, n: usize) -> Vec<String> {
        (0..n)
            .map(|i| {
                let phone = json!({ "primaryPhone": phone_for(i) });
                self.user(&format!("{prefix}{i:02}"), "Workforce", phone)
            })
            .collect()
    }

    fn delete_user(&self, id: &str) {
        self.seed.send("DELETE", &format!("users/{id}"), &json!({}));
    }

    fn move_user(&self, id: &str, pop: &str) {
        let body = json!({ "id": self.pop(pop) });
        self.seed
            .send("PUT", &format!("users/{id}/population"), &body);
    }

    /// A PingOne group with these members; returns its id.
    fn group(&self, name: &str, members: &[String]) -> String {
        let g = self.seed.group(name);
        for m in members {
            self.seed.member(m, &g);
        }
        g
    }

    /// Write `p1duo.toml` with these rules.
    fn config(&self, rules: &str) -> PathBuf {
        write_config(self.dir.path(), &self.endpoints(), "\"off\"", "", rules)
    }

    /// Run `p1duo ARGS --config <the config>`.
    fn p1duo(&self, args: &[&str]) -> Run {
        self.p1duo_with(args, &self.dir.path().join("p1duo.toml"))
    }

    fn p1duo_with(&self, args: &[&str], config: &std::path::Path) -> Run {
        let out = Command::new(p1duo_bin())
            .args(args)
            .arg("--config")
            .arg(config)
            .env_remove("RUST_LOG")
            .env_remove("P1DUO_CONFIG")
            .stdin(Stdio::null())
            .output()
            .expect("p1duo runs");
        Run {
            code: out.status.code(),
            out: format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        }
    }

    /// `p1duo sync`, with `--allow-deletes` when `allow`.
    fn sync(&self, allow: bool) -> Run {
        self.p1duo(if allow {
            &["sync", "--allow-deletes"]
        } else {
            &["sync"]
        })
    }

    /// A sync that must be in step (exit 0).
    fn sync_ok(&self) {
        let r = self.sync(false);
        assert_eq!(r.code, Some(0), "{}", r.out);
    }

    /// A signed Duo Admin API call (through `p1duo api` and a rule-less
    /// config): seeds Duo; returns Duo's `response`.
    fn duo_api(&self, method: &str, path: &str, params: &[(&str, &str)]) -> Value {
        let kv: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let mut args = vec!["api", "duo", method, path];
        args.extend(kv.iter().map(String::as_str));
        let config = self.dir.path().join("seeding").join("p1duo.toml");
        let r = self.p1duo_with(&args, &config);
        assert_eq!(r.code, Some(0), "seeding {method} {path}: {}", r.out);
        let v: Value = serde_json::from_str(&r.out).expect("api prints JSON");
        v["response"].clone()
    }

    /// A Duo user (seeded, not by p1duo); returns its id.
    fn duo_seed_user(&self, username: &str, fields: &[(&str, &str)]) -> String {
        let mut p = vec![("username", username)];
        p.extend_from_slice(fields);
        let u = self.duo_api("POST", "/admin/v1/users", &p);
        u["user_id"].as_str().expect("user_id").to_owned()
    }

    /// The Duo user of this username (Duo compares usernames ignoring case).
    fn duo_user(&self, username: &str) -> Value {
        self.duo.state()["users"]
            .as_array()
            .and_then(|us| {
                us.iter()
                    .find(|u| {
                        u["username"]
                            .as_str()
                            .unwrap()
                            .eq_ignore_ascii_case(username)
                    })
                    .cloned()
            })
            .unwrap_or_else(|| panic!("no Duo user {username}"))
    }

    fn duo_status(&self, username: &str) -> String {
        self.duo_user(username)["status"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Numbers of the phones attached to a Duo user.
    fn duo_phones(&self, username: &str) -> Vec<String> {
        let u = self.duo_user(username);
        let st = self.duo.state();
        st["phones"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| u["phones"].as_array().unwrap().contains(&p["phone_id"]))
            .map(|p| p["number"].as_str().unwrap().to_owned())
            .collect()
    }

    /// Sorted usernames of the Duo group `name` (panics if it does not exist).
    fn duo_members(&self, name: &str) -> Vec<String> {
        let st = self.duo.state();
        let g = st["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["name"] == name)
            .unwrap_or_else(|| panic!("no Duo group {name}: {st}"));
        let mut m: Vec<String> = st["users"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|u| u["groups"].as_array().unwrap().contains(&g["group_id"]))
            .map(|u| u["username"].as_str().unwrap().to_owned())
            .collect();
        m.sort();
        m
    }

    /// Duo users not `active`.
    fn duo_not_active(&self) -> Vec<String> {
        self.duo.state()["users"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|u| u["status"] != "active")
            .map(|u| u["username"].as_str().unwrap().to_owned())
            .collect()
    }

    /// Duo calls that are not reads.
    fn duo_writes(&self) -> u64 {
        calls(&self.duo.stats(), |k| !k.starts_with("GET "))
    }

    /// The PingOne user of this exact username.
    fn p1_user(&self, username: &str) -> Value {
        self.p1.state()["users"]
            .as_array()
            .and_then(|us| us.iter().find(|u| u["username"] == username).cloned())
            .unwrap_or_else(|| panic!("no PingOne user {username}"))
    }
}

/// A Workforce world with `n` users `uNN` synced by rule "r" (deprovision by
/// disabling); their PingOne ids.
fn linked(n: usize) -> (World, Vec<String>) {
    let w = World::new(&["Workforce"]);
    let ids = w.users("u", n);
    w.config(&outbound_rule("r", DISABLE, ""));
    w.sync_ok();
    (w, ids)
}

/// Assert the exit code, and that the output contains every word.
fn expect(r: &Run, code: i32, words: &[&str]) {
    assert_eq!(r.code, Some(code), "{}", r.out);
    for w in words {
        assert!(r.out.contains(w), "no {w:?} in: {}", r.out);
    }
}

#[test]
fn a_user_whose_mapping_fails_is_held_not_disabled_and_a_common_cause_is_named_once() {
    // today: u03 is disabled (left "disabled", right "active"); with 60 failing, all 60 disabled
    let (w, ids) = linked(10);
    let phones = w.duo_phones("u03");
    w.seed.send(
        "PATCH",
        &format!("users/{}", ids[3]),
        &json!({ "primaryPhone": "call 12" }),
    );
    let r = w.sync(false);
    assert_eq!(
        w.duo_status("u03"),
        "active",
        "held, not disabled: {}",
        r.out
    );
    assert_eq!(w.duo_phones("u03"), phones, "phone unchanged");
    expect(&r, 3, &["held"]);
    // The status names the attribute at fault (structured, not parsed from the message).
    let st = w.p1duo(&["status"]);
    assert!(
        st.out
            .lines()
            .any(|l| l.contains("u03") && l.contains("[phones]")),
        "{}",
        st.out
    );

    // A mapping that fails every user (no one has `type`): nobody is
    // disabled, and the one cause is reported once for all of them.
    let (w, _) = linked(60);
    w.config(&outbound_rule("r", DISABLE, "userType = \"type\""));
    let r = w.sync(false);
    assert_eq!(w.duo_not_active(), Vec::<String>::new(), "{}", r.out);
    expect(&r, 3, &[]);
    assert!(
        r.out
            .lines()
            .any(|l| l.contains("same cause") && l.contains("60")),
        "{}",
        r.out
    );
}

#[test]
fn without_a_safety_section_most_of_a_rule_leaving_is_blocked() {
    // today: all 59 are disabled (59 Duo writes: left 59, right 0) and the sync exits 0
    let (w, ids) = linked(60);
    for id in &ids[1..] {
        w.delete_user(id);
    }
    w.duo.reset_stats();
    let r = w.sync(false);
    assert_eq!(w.duo_writes(), 0, "{}", w.duo.stats());
    assert_eq!(w.duo_not_active(), Vec::<String>::new(), "{}", r.out);
    expect(&r, 4, &[]);
}

#[test]
fn inbound_never_adopts_a_pingone_user_outside_its_target_or_by_another_case() {
    // today: PingOne it.admin gets attacker@evil.example and is disabled; bob.smith gets bob@evil...
    let w = World::new(&["Workforce", "Admins", "Contractors"]);
    w.user("wendy", "Workforce", json!({}));
    let corp = json!({ "email": "it.admin@corp.example" });
    w.user("it.admin", "Admins", corp);
    w.user("bob.smith", "Contractors", json!({}));
    let evil = [("email", "attacker@evil.example"), ("status", "disabled")];
    w.duo_seed_user("it.admin", &evil);
    w.duo_seed_user("Bob.Smith", &[("email", "bob@evil.example")]);
    w.config(&format!(
        "{}\n{}",
        outbound_rule("out", "", ""),
        crate::support::inbound_rule("in", "Contractors", "")
    ));
    let r = w.sync(false);
    let admin = w.p1_user("it.admin");
    assert_eq!(admin["attributes"]["email"], "it.admin@corp.example");
    assert_eq!(admin["enabled"], true, "{}", r.out);
    assert_eq!(admin["population_id"], w.pop("Admins"));
    let bob = w.p1_user("bob.smith");
    assert_eq!(bob["attributes"]["email"], "bob.smith@example.com");
    assert_eq!(bob["population_id"], w.pop("Contractors"));
    expect(&r, 3, &["it.admin", "not adopted"]);
}

#[test]
fn outbound_never_adopts_a_duo_user_by_another_case_nor_an_owner_by_email() {
    // today: duo.ceo's phone is replaced (["+17345559999"]); the Owner becomes "Read-only"
    let w = World::new(&["Workforce"]);
    let ceo = [("email", "ceo@corp.example"), ("realname", "The CEO")];
    let ceo = w.duo_seed_user("duo.ceo", &ceo);
    let phone = w.duo_api("POST", "/admin/v1/phones", &[("number", "+17345550111")]);
    let phone_id = phone["phone_id"].as_str().unwrap();
    let path = format!("/admin/v1/users/{ceo}/phones");
    w.duo_api("POST", &path, &[("phone_id", phone_id)]);
    let p1 = json!({ "email": "ceo@corp.example", "primaryPhone": "+17345559999" });
    let ceo_p1 = w.user("DUO.CEO", "Workforce", p1);
    w.config(&outbound_rule("r", "", ""));
    let r = w.sync(false);
    assert_eq!(w.duo_phones("duo.ceo"), ["+17345550111"], "{}", r.out);
    let u = w.duo_user("duo.ceo");
    assert_eq!(
        (&u["email"], &u["realname"]),
        (&json!("ceo@corp.example"), &json!("The CEO"))
    );
    expect(&r, 3, &["not adopted"]);
    // The operator decides it is the same person: an explicit link, then the
    // next sync makes the Duo account match PingOne.
    let args = [
        "link",
        "--rule",
        "r",
        "--source-id",
        &ceo_p1,
        "--target-id",
        &ceo,
    ];
    expect(&w.p1duo(&args), 0, &["linked user"]);
    let r = w.sync(false);
    expect(&r, 0, &[]);
    assert!(
        w.duo_phones("duo.ceo").contains(&"+17345559999".to_owned()),
        "{}",
        r.out
    );

    // An Owner whose email matches an in-scope admin's, ignoring case.
    let w = World::new(&["Workforce"]);
    let owner = [
        ("name", "The Owner"),
        ("email", "Owner@Corp.example"),
        ("role", "Owner"),
    ];
    w.duo_api("POST", "/admin/v1/admins", &owner);
    let admin = json!({ "email": "owner@corp.example", "type": "admin" });
    w.user("owner", "Workforce", admin);
    let user_type = "userType = \"coalesce(type, \\\"user\\\")\"";
    w.config(&outbound_rule("r", "", user_type));
    let r = w.sync(false);
    let a = w.duo.state()["admins"][0].clone();
    assert_eq!(
        (&a["role"], &a["name"], &a["email"]),
        (
            &json!("Owner"),
            &json!("The Owner"),
            &json!("Owner@Corp.example")
        ),
        "{}",
        r.out
    );
    expect(&r, 3, &["Owner"]);
}

#[test]
fn a_duo_account_is_never_handed_over_to_a_new_pingone_user_of_the_same_name() {
    // today: Duo "Alice" stays active, handed to the new alice; a new carol re-enables old carol
    let w = World::new(&["Workforce"]);
    let alice = w.user("Alice", "Workforce", json!({}));
    w.config(&outbound_rule("r", DISABLE, ""));
    w.sync_ok();
    w.delete_user(&alice);
    w.user(
        "alice",
        "Workforce",
        json!({ "email": "new.alice@example.com" }),
    );
    let r = w.sync(true);
    let u = w.duo_user("alice");
    assert_eq!(u["status"], "disabled", "{}", r.out);
    assert_eq!(u["email"], "Alice@example.com", "not re-linked: {}", r.out);
    assert!(
        r.out.contains("not adopted") || r.out.contains("conflict"),
        "{}",
        r.out
    );
    expect(&r, 3, &[]);

    // Later: a new carol does not re-enable the old, disabled carol.
    let w = World::new(&["Workforce"]);
    let carol = w.user("carol", "Workforce", json!({}));
    w.config(&outbound_rule("r", DISABLE, ""));
    w.sync_ok();
    w.delete_user(&carol);
    let r = w.sync(true);
    assert_eq!(w.duo_status("carol"), "disabled", "{}", r.out);
    w.user("carol", "Workforce", json!({}));
    let r = w.sync(true);
    assert_eq!(w.duo_status("carol"), "disabled", "{}", r.out);
    expect(&r, 3, &[]);
}

#[test]
fn of_two_overlapping_rules_the_first_owns_the_users_and_the_second_never_writes() {
    // today: both rules link all 10 users, report them all as success and rewrite them every sync
    // (no "owned by rule" in the output). The second rule's users are unsynced, not failed:
    // they are in step through the first rule, so the sync exits 0.
    let w = World::new(&["Workforce"]);
    w.users("u", 10);
    w.config(&format!(
        "{}\n{}",
        outbound_rule("first", DISABLE, ""),
        outbound_rule("second", DISABLE, "")
    ));
    let r = w.sync(false);
    expect(&r, 0, &["owned by rule \"first\"", "unsynced 10"]);
    w.duo.reset_stats();
    let r = w.sync(false);
    assert_eq!(w.duo_writes(), 0, "{}\n{}", w.duo.stats(), r.out);
    let r = w.p1duo(&["config", "validate"]);
    expect(&r, 0, &["overlap"]);
}

#[test]
fn a_duo_group_p1duo_did_not_create_is_adopted_only_when_asked_and_never_deleted() {
    // today: the group is adopted, e00..e02 added; [rules.adopt] refused (exit 2, unknown "adopt")
    let push = "[rules.groups]\npush = [\"Engineering\"]";
    let w = engineering_world();
    w.config(&outbound_rule("r", DISABLE, push));
    let r = w.sync(false);
    assert_eq!(w.duo_members("Engineering"), ["outsider"], "{}", r.out);
    expect(&r, 3, &["not adopted"]);

    // Asked to adopt: members added, the outsider kept, and the group kept
    // when it leaves the push list.
    let w = engineering_world();
    let adopt = "[rules.adopt]\ngroups = true";
    w.config(&outbound_rule("r", DISABLE, &format!("{push}\n{adopt}")));
    let r = w.sync(false);
    expect(&r, 0, &[]);
    let all = ["e00", "e01", "e02", "outsider"];
    assert_eq!(w.duo_members("Engineering"), all);
    let unpushed = "[rules.groups]\npush = []";
    w.config(&outbound_rule(
        "r",
        DISABLE,
        &format!("{unpushed}\n{adopt}"),
    ));
    let r = w.sync(true);
    assert!(
        w.duo_members("Engineering")
            .contains(&"outsider".to_owned()),
        "{}",
        r.out
    );
}

/// Duo group Engineering with a Duo-only member, and a PingOne group
/// Engineering with three Workforce members.
fn engineering_world() -> World {
    let w = World::new(&["Workforce"]);
    let outsider = w.duo_seed_user("outsider", &[]);
    let g = w.duo_api("POST", "/admin/v1/groups", &[("name", "Engineering")]);
    let path = format!("/admin/v1/users/{outsider}/groups");
    w.duo_api(
        "POST",
        &path,
        &[("group_id", g["group_id"].as_str().unwrap())],
    );
    let members = w.users("e", 3);
    w.group("Engineering", &members);
    w
}

#[test]
fn a_deprovisioned_user_leaves_the_pushed_groups() {
    // today: u00 is disabled but stays in Sales (left ["u00", "u01", "u02", "u03", "u04"])
    let w = World::new(&["Workforce", "Contractors"]);
    let ids = w.users("u", 5);
    w.group("Sales", &ids);
    w.config(&outbound_rule(
        "r",
        DISABLE,
        "[rules.groups]\npush = [\"Sales\"]",
    ));
    w.sync_ok();
    w.move_user(&ids[0], "Contractors");
    let r = w.sync(true);
    assert_eq!(w.duo_status("u00"), "disabled", "{}", r.out);
    assert_eq!(
        w.duo_members("Sales"),
        ["u01", "u02", "u03", "u04"],
        "{}",
        r.out
    );
}

#[test]
fn removing_a_rule_never_deprovisions_what_another_rule_now_links() {
    // today: the removed rule "old" disables dave (left "disabled", right "active")
    let w = World::new(&["Workforce"]);
    w.user("dave", "Workforce", json!({}));
    let old = format!("{DISABLE}\ndeprovision_on_rule_deletion = true");
    w.config(&outbound_rule("old", &old, ""));
    w.sync_ok();
    w.config(&outbound_rule("new", DISABLE, ""));
    let r = w.sync(true);
    assert_eq!(w.duo_status("dave"), "active", "{}", r.out);
    w.duo.reset_stats();
    let r = w.sync(false);
    assert_eq!(w.duo_writes(), 0, "{}\n{}", w.duo.stats(), r.out);
    expect(&r, 0, &[]);
}
