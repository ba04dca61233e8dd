//! The raw mapping table as the agent's TOML config embeds it.

use mapping::{AttrSpec, Direction, EmptyPolicy, Mapping, MappingSpec, When};
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
fn unknown_policy_words_are_config_errors() {
    let bad = toml::from_str::<MappingSpec>(r#"email = { expr = "email", empty = "wipe" }"#);
    assert!(bad.is_err());
    let typo = toml::from_str::<MappingSpec>(r#"email = { exp = "email" }"#);
    assert!(typo.is_err());
}
