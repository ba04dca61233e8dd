//! Snapshot tests of the built-in mappings: the seed's outbound table, its inbound inverse and
//! the group mapping, applied to typical records.

use expect_test::expect;
use mapping::{Direction, Mapping};
use serde_json::json;

use crate::show_apply;

#[test]
fn default_tables_are_the_seeds() {
    let show = |d| {
        Mapping::default_spec(d)
            .0
            .iter()
            .map(|(t, a)| format!("{t} = {}\n", a.expr()))
            .collect::<String>()
    };
    expect![[r#"
        email = email
        enabled = enabled
        phones = primaryPhone
        realname = name.given
        username = username
    "#]]
    .assert_eq(&show(Direction::Outbound));
    expect![[r#"
        email = email
        enabled = status
        name.family = lastname
        name.given = coalesce(firstname, realname)
        primaryPhone = phones.0.number
        username = username
    "#]]
    .assert_eq(&show(Direction::Inbound));
    expect![[r#"
        desc = description
        name = name
    "#]]
    .assert_eq(&show(Direction::Group));
}

#[test]
fn default_outbound_maps_a_pingone_user() {
    let m = Mapping::default_outbound();
    let alice = json!({
        "id": "5caa81af-ec05-41ff-a709-c7378007a99c",
        "username": "alice",
        "email": "alice@example.com",
        "name": {"given": "Alice", "family": "Liddell", "formatted": "Alice Liddell"},
        "primaryPhone": "(734) 555-1212",
        "enabled": true,
        "population": {"id": "p1", "name": "Staff"},
    });
    expect![[r#"
        email = "alice@example.com"  [empty=Keep, when=Always]
        phones = "+17345551212"  [empty=Keep, when=Always]
        realname = "Alice"  [empty=Keep, when=Always]
        status = "active"  [empty=Keep, when=Always]
        username = "alice"  [empty=Keep, when=Always]
        userType: user
        fingerprint: 361b49f10d84d1fb
    "#]]
    .assert_eq(&show_apply(&m, &alice));

    // A disabled user with no phone and no given name: the empties keep Duo's values.
    let bob = json!({"username": "bob", "email": "bob@example.com", "enabled": false});
    expect![[r#"
        email = "bob@example.com"  [empty=Keep, when=Always]
        phones = (empty)  [empty=Keep, when=Always]
        realname = (empty)  [empty=Keep, when=Always]
        status = "disabled"  [empty=Keep, when=Always]
        username = "bob"  [empty=Keep, when=Always]
        userType: user
        fingerprint: 6b5881acb42f0f9a
    "#]]
    .assert_eq(&show_apply(&m, &bob));
}

#[test]
fn default_inbound_maps_a_duo_user() {
    let m = Mapping::default_inbound();
    let duo = json!({
        "user_id": "DU3RP9I2WOC59VZX672N",
        "username": "carol",
        "email": "carol@example.com",
        "realname": "Carol",
        "firstname": "",
        "lastname": "O'Neil",
        "status": "bypass",
        "phones": [{"phone_id": "DPFZRS9FB0D46QFTM891", "number": "+15555550100", "type": "Mobile"}],
        "alias1": null,
    });
    expect![[r#"
        email = "carol@example.com"  [empty=Keep, when=Always]
        enabled = true  [empty=Keep, when=Always]
        name.family = "O'Neil"  [empty=Keep, when=Always]
        name.given = "Carol"  [empty=Keep, when=Always]
        primaryPhone = "+15555550100"  [empty=Keep, when=Always]
        username = "carol"  [empty=Keep, when=Always]
        fingerprint: 0a75cf940f4585e1
    "#]]
    .assert_eq(&show_apply(&m, &duo));
    let locked = json!({"username": "dave", "status": "locked out", "phones": []});
    expect![[r#"
        email = (empty)  [empty=Keep, when=Always]
        enabled = (empty)  [empty=Keep, when=Always]
        name.family = (empty)  [empty=Keep, when=Always]
        name.given = (empty)  [empty=Keep, when=Always]
        primaryPhone = (empty)  [empty=Keep, when=Always]
        username = "dave"  [empty=Keep, when=Always]
        fingerprint: 99da5667a13663ee
    "#]]
    .assert_eq(&show_apply(&m, &locked));
}

#[test]
fn default_group_maps_a_pingone_group() {
    let m = Mapping::default_group();
    let g = json!({"id": "g1", "name": "Engineering", "description": "All engineers"});
    expect![[r#"
        desc = "All engineers"  [empty=Keep, when=Always]
        name = "Engineering"  [empty=Keep, when=Always]
        fingerprint: c8376919f5efca3e
    "#]]
    .assert_eq(&show_apply(&m, &g));
    let no_name = json!({"id": "g2", "description": "nameless"});
    expect![[r#"
        user "?" rule "r1": attribute "name" = null: is required and must not be empty
    "#]]
    .assert_eq(&show_apply(&m, &no_name));
}
