//! Property test: any filter the builder builds parses in the simulator and selects exactly
//! the users a direct evaluation (written here, over the simulator's state) selects.

use std::collections::{BTreeMap, BTreeSet};

use pingone_client::{Filter, FilterResource, PingOneClient, UserQuery, collect_all};
use pingone_sim::{PingOneSim, SimConfig, SimState};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};

const VALUES: &[&str] = &[
    "Ann",
    "Anna",
    "Bob",
    "A\"q",
    "back\\slash",
    "Zoë",
    "Ann Lee",
    "x",
];

/// A filter as data, so the test can evaluate it without the builder's help.
#[derive(Debug, Clone)]
enum Expr {
    Eq(&'static str, String),
    Sw(&'static str, String),
    Enabled(bool),
    Member(usize, bool),
    Pop(usize),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

const ATTRS: &[&str] = &[
    "username",
    "name.given",
    "name.family",
    "title",
    "costCenter",
];

fn expr() -> impl Strategy<Value = Expr> {
    let value = prop::sample::select(VALUES).prop_map(str::to_owned);
    let prefix = prop::sample::select(VALUES).prop_flat_map(|v| {
        let n = v.chars().count();
        (0..=n).prop_map(move |k| v.chars().take(k).collect::<String>())
    });
    let attr = prop::sample::select(ATTRS);
    let leaf = prop_oneof![
        (attr.clone(), value).prop_map(|(a, v)| Expr::Eq(a, v)),
        (attr, prefix).prop_map(|(a, v)| Expr::Sw(a, v)),
        any::<bool>().prop_map(Expr::Enabled),
        (0..3usize, any::<bool>()).prop_map(|(g, d)| Expr::Member(g, d)),
        (0..2usize).prop_map(Expr::Pop),
    ];
    leaf.prop_recursive(3, 12, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Expr::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner).prop_map(|(a, b)| Expr::Or(Box::new(a), Box::new(b))),
        ]
    })
}

struct World {
    groups: Vec<String>,
    pops: Vec<String>,
    state: SimState,
    /// user -> group -> direct?
    member: BTreeMap<String, BTreeMap<String, bool>>,
}

fn build(e: &Expr, w: &World) -> Filter {
    match e {
        Expr::Eq(a, v) => Filter::eq(a, v.as_str()).unwrap(),
        Expr::Sw(a, v) => Filter::sw(a, v.as_str()).unwrap(),
        Expr::Enabled(b) => Filter::eq("enabled", *b).unwrap(),
        Expr::Member(g, false) => Filter::member_of(&w.groups[*g]).unwrap(),
        Expr::Member(g, true) => Filter::direct_member_of(&w.groups[*g]).unwrap(),
        Expr::Pop(p) => Filter::eq("population.id", w.pops[*p].as_str()).unwrap(),
        Expr::And(a, b) => build(a, w).and(build(b, w)),
        Expr::Or(a, b) => build(a, w).or(build(b, w)),
    }
}

fn attr<'a>(attrs: &'a serde_json::Map<String, Value>, path: &str) -> Option<&'a str> {
    let mut parts = path.split('.');
    let mut cur = attrs.get(parts.next()?)?;
    for p in parts {
        cur = cur.get(p)?;
    }
    cur.as_str()
}

fn eval(e: &Expr, w: &World, user: &pingone_sim::UserState) -> bool {
    let groups = w.member.get(&user.id);
    match e {
        Expr::Eq(a, v) => attr(&user.attributes, a) == Some(v.as_str()),
        Expr::Sw(a, v) => attr(&user.attributes, a).is_some_and(|s| s.starts_with(v.as_str())),
        Expr::Enabled(b) => user.enabled == *b,
        Expr::Member(g, direct) => groups
            .and_then(|m| m.get(&w.groups[*g]))
            .is_some_and(|is_direct| !*direct || *is_direct),
        Expr::Pop(p) => user.population_id == w.pops[*p],
        Expr::And(a, b) => eval(a, w, user) && eval(b, w, user),
        Expr::Or(a, b) => eval(a, w, user) || eval(b, w, user),
    }
}

/// 24 users over the value set, two populations, three groups with one nesting.
fn seed(sim: &PingOneSim) -> World {
    let pops = vec![
        sim.default_population_id().unwrap(),
        sim.create_population("Other").unwrap(),
    ];
    let groups: Vec<String> = (0..3)
        .map(|i| sim.create_group(json!({"name": format!("g{i}")})).unwrap())
        .collect();
    sim.nest_group(&groups[0], &groups[1]).unwrap(); // members of g0 are INDIRECT in g1
    for i in 0..24usize {
        let pick = |k: usize| VALUES[(i * 7 + k * 3) % VALUES.len()];
        // name.family allows only letters, digits, space and . ' - in PingOne.
        let family = if pick(2).contains(['"', '\\']) {
            "Lee"
        } else {
            pick(2)
        };
        let mut body = json!({
            "username": format!("{}-{i}", pick(0)),
            "email": format!("u{i}@example.com"),
            "name": {"given": pick(1), "family": family},
            "population": {"id": pops[i % 2]},
        });
        if i % 3 != 0 {
            body["title"] = json!(pick(3));
            body["costCenter"] = json!(pick(4));
        }
        let id = sim.create_user(body).unwrap();
        if i % 4 == 0 {
            sim.set_user_enabled(&id, false).unwrap();
        }
        for (g, group) in groups.iter().enumerate() {
            if (i + g) % 3 == 0 {
                sim.add_member(&id, group).unwrap();
            }
        }
    }
    let state = sim.state();
    let mut member: BTreeMap<String, BTreeMap<String, bool>> = BTreeMap::new();
    for m in &state.memberships {
        member
            .entry(m.user_id.clone())
            .or_default()
            .insert(m.group_id.clone(), true);
    }
    for n in &state.nestings {
        let direct_in_child: Vec<String> = member
            .iter()
            .filter(|(_, gs)| gs.contains_key(&n.group_id))
            .map(|(u, _)| u.clone())
            .collect();
        for u in direct_in_child {
            member
                .get_mut(&u)
                .unwrap()
                .entry(n.parent_id.clone())
                .or_insert(false);
        }
    }
    World {
        groups,
        pops,
        state,
        member,
    }
}

#[test]
fn built_filters_select_what_direct_evaluation_selects() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (sim, client, world) = rt.block_on(async {
        let sim = PingOneSim::start(SimConfig {
            custom_attributes: vec!["costCenter".into()],
            ..SimConfig::default()
        })
        .await
        .unwrap();
        let client = PingOneClient::new(crate::config_for(&sim)).unwrap();
        let world = seed(&sim);
        (sim, client, world)
    });
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    let mut runner = TestRunner::new(Config {
        cases,
        ..Config::default()
    });
    runner
        .run(&expr(), |e| {
            let filter = build(&e, &world);
            prop_assert!(filter.check_for(FilterResource::Users).is_ok());
            let query = UserQuery {
                filter: Some(filter.clone()),
                limit: Some(7),
                ..UserQuery::default()
            };
            let got: BTreeSet<String> = rt
                .block_on(collect_all(client.list_users(&query)))
                .map_err(|err| TestCaseError::fail(format!("{filter}: {err}")))?
                .into_iter()
                .map(|u| u.id)
                .collect();
            let want: BTreeSet<String> = world
                .state
                .users
                .iter()
                .filter(|u| eval(&e, &world, u))
                .map(|u| u.id.clone())
                .collect();
            prop_assert_eq!(got, want, "filter {}", filter);
            Ok(())
        })
        .unwrap();
    drop(sim);
}
