//! The raw mapping table as the agent's TOML config embeds it.

use expect_test::expect;
use mapping::{
    AttrSpec, AttrValue, Desired, Direction, EmptyPolicy, Mapping, MappingSpec, Options, When,
};
use serde_json::json;

#[test]
fn a_toml_table_compiles() {
    let text = r#"
        username = "lower(username)"
        email = { expr = "email", empty = "clear" }
        realname = '"${name.given} ${name.family}"'
        phones = { expr = "coalesce(mobilePhone, primaryPhone)", when = "on_create" }
        userType = "switch(population.name, 'Admins', 'admin', 'user')"
        adminRole = "'Help Desk'"
    "#;
    let spec: MappingSpec = toml::from_str(text).unwrap();
    assert_eq!(
        spec.0["email"],
        AttrSpec::Full {
            expr: "email".to_owned(),
            empty: EmptyPolicy::Clear,
            when: When::Always
        }
    );
    let m = Mapping::compile(Direction::Outbound, &spec).unwrap();
    let rec = m
        .apply(&json!({
            "username": "Eve", "email": "eve@example.com",
            "name": {"given": "Eve", "family": "Moneypenny"},
            "mobilePhone": "+44 7911 123456", "population": {"name": "Admins"},
        }))
        .unwrap();
    assert_eq!(rec.text("username"), Some("eve"));
    assert_eq!(rec.text("realname"), Some("Eve Moneypenny"));
    assert_eq!(rec.text("phones"), Some("+447911123456"));
    assert_eq!(rec.get("phones").unwrap().when, When::OnCreate);
    assert_eq!(rec.user_type, Some(mapping::UserType::Admin));
    assert_eq!(
        rec.admin_role.as_ref().map(|r| r.as_str()),
        Some("Help Desk")
    );
}

#[test]
fn dotted_toml_keys_are_dotted_targets() {
    let text = r#"
        username = "username"
        name.given = "firstname"
        "name.family" = "lastname"
        custom.duoId = { expr = "user_id", when = "on_create" }
        [name.formatted]
        expr = "realname"
        empty = "clear"
    "#;
    let spec: MappingSpec = toml::from_str(text).unwrap();
    let targets: Vec<&str> = spec.0.keys().map(String::as_str).collect();
    assert_eq!(
        targets,
        [
            "custom.duoId",
            "name.family",
            "name.formatted",
            "name.given",
            "username"
        ]
    );
    let m = Mapping::compile(Direction::Inbound, &spec).unwrap();
    let rec = m
        .apply(&json!({"username": "f", "firstname": "Fay", "user_id": "DU1"}))
        .unwrap();
    assert_eq!(rec.text("name.given"), Some("Fay"));
    assert_eq!(rec.text("duoId"), Some("DU1"));
    assert_eq!(rec.get("name.formatted").unwrap().empty, EmptyPolicy::Clear);
}

#[test]
fn a_spec_round_trips_through_serde() {
    let spec = Mapping::default_spec(Direction::Inbound);
    let text = toml::to_string(&spec).unwrap();
    let back: MappingSpec = toml::from_str(&text).unwrap();
    assert_eq!(back, spec);
}

#[test]
fn bad_entries_name_the_target_and_the_fix() {
    let err = |text: &str| match toml::from_str::<MappingSpec>(text) {
        Ok(_) => "parsed\n".to_owned(),
        Err(e) => format!("{}\n", e.message()),
    };
    let out = [
        err(r#"email = { expr = "email", empty = "wipe" }"#),
        err(r#"email = { exp = "email" }"#),
        err(r#"email = { empty = "clear" }"#),
        err(r#"email = { expr = "email", when = "later" }"#),
        err(r#"email = 42"#),
        err(r#"email = {}"#),
        err("\"name.given\" = \"a\"\nname.given = \"b\""),
    ]
    .concat();
    // `exp` is read as the nested target `email.exp`, which compiling then rejects by name.
    expect![[r#"
        mapping target "email": unknown variant `wipe`, expected `keep` or `clear`
        parsed
        mapping target "email": missing field `expr`
        mapping target "email": unknown variant `later`, expected `always` or `on_create`
        mapping target "email": expected an expression string or a table { expr = "...", empty = "keep"|"clear", when = "always"|"on_create" }, found `42`
        mapping target "email": expected an expression string or a table { expr = "...", empty = "keep"|"clear", when = "always"|"on_create" }, found an empty table
        mapping target "name.given" is given twice (once quoted, once as a dotted key or table): keep one
    "#]]
    .assert_eq(&out);
}

#[test]
fn desired_applies_both_policies() {
    let spec: MappingSpec = toml::from_str(
        r#"
        username = "username"
        email = { expr = "email", empty = "clear" }
        realname = "name.given"
        notes = { expr = "'created by p1duo'", when = "on_create" }
    "#,
    )
    .unwrap();
    let rec = Mapping::compile(Direction::Outbound, &spec)
        .unwrap()
        .apply(&json!({"username": "g"}))
        .unwrap();
    let on = |attr: &str, create: bool| rec.get(attr).unwrap().desired(create);
    let notes = AttrValue::Text("created by p1duo".to_owned());
    assert_eq!(on("email", false), Desired::Clear);
    assert_eq!(on("realname", false), Desired::Leave);
    assert_eq!(on("notes", true), Desired::Set(&notes));
    assert_eq!(on("notes", false), Desired::Leave);
}

#[test]
fn the_mapping_fingerprint_follows_the_table_policies_and_options() {
    let base = Mapping::default_outbound();
    let same = Mapping::compile(
        Direction::Outbound,
        &Mapping::default_spec(Direction::Outbound),
    );
    assert_eq!(base.fingerprint(), same.unwrap().fingerprint());
    let mut keep_to_clear = Mapping::default_spec(Direction::Outbound);
    keep_to_clear.0.insert(
        "email".to_owned(),
        AttrSpec::Full {
            expr: "email".to_owned(),
            empty: EmptyPolicy::Clear,
            when: When::Always,
        },
    );
    let changed = [
        Mapping::compile(Direction::Outbound, &keep_to_clear).unwrap(),
        Mapping::compile_with(
            Direction::Outbound,
            base.spec(),
            &Options {
                default_region: "GB".to_owned(),
                ..Options::default()
            },
        )
        .unwrap(),
        Mapping::compile(
            Direction::Outbound,
            &MappingSpec::from_pairs([("username", "username"), ("email", "lower(email)")]),
        )
        .unwrap(),
    ];
    for m in &changed {
        assert_ne!(m.fingerprint(), base.fingerprint(), "{:?}", m.spec());
    }
}
