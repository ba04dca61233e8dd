//! Snapshot table of every validation rule: the per-user error text the engine will record,
//! naming the user, the attribute, the value and the rule.

use expect_test::expect;
use mapping::{Direction, Mapping, MappingSpec, Options};
use serde_json::{Value, json};

use crate::{compile, show_apply};

fn rows(m: &Mapping, users: &[Value]) -> String {
    users.iter().map(|u| show_apply(m, u)).collect()
}

#[test]
fn outbound_rules() {
    let m = compile(
        Direction::Outbound,
        &[
            ("username", "username"),
            ("email", "email"),
            ("realname", "realname"),
            ("notes", "notes"),
            ("alias1", "alias"),
            ("phones", "primaryPhone"),
            ("status", "duoStatus"),
            ("userType", "duoUserType"),
            ("adminRole", "duoRole"),
        ],
    );
    let long = "x".repeat(300);
    expect![[r#"
        user "" rule "r1": attribute "username" = "": is required and must not be empty
        user "xxxxxxxxxxxx" rule "r1": attribute "username" = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…": must be at most 255 characters (found 300)
        user "tab\there" rule "r1": attribute "username" = "tab\there": must not contain control or invisible formatting characters (found U+0009 at character 4)
        user "zw\u{200b}sp" rule "r1": attribute "username" = "zw\u200bsp": must not contain control or invisible formatting characters (found U+200B at character 3)
        user "e1" rule "r1": attribute "email" = "not-an-email": must be an email address such as name@example.com
        user "e2" rule "r1": attribute "email" = "a@b": must be an email address such as name@example.com
        user "e3" rule "r1": attribute "email" = "a b@example.com": must be an email address such as name@example.com
        user "p1" rule "r1": attribute "phones" = "call me": is not a phone number (read with default region US): write it in E.164 form such as +17345551212
        user "p2" rule "r1": attribute "phones" = "555": is not a valid phone number (no such number range, read with default region US): write it in E.164 form such as +17345551212
        user "s1" rule "r1": attribute "status" = "locked out": must be one of "active", "bypass", "disabled"
        user "r1" rule "r1": attribute "realname" = ["Al","Bert"]: this attribute needs a single text value but found a list of 2; pick one element (`list.0`) or use join(", ", list)
        user "n1" rule "r1": attribute "notes" = {"k":"v"}: this attribute needs a text value but found an object; name a field inside it (`object.field`)
        user "u1" rule "r1": attribute "userType" = "superuser": must be exactly "user" or "admin"; any other value fails this user's sync
        user "u2" rule "r1": attribute "userType" = "Admin": must be exactly "user" or "admin"; any other value fails this user's sync
        user "u3" rule "r1": attribute "userType" = null: must be exactly "user" or "admin"; any other value fails this user's sync; to default it write coalesce(<attribute>, "user")
        user "a1" rule "r1": attribute "adminRole" = "owner": must be one of Duo's roles (case-sensitive): "Read-only", "Help Desk", "Billing", "Phishing Manager", "Security Analyst", "User Manager", "Application Manager", "Administrator", "Owner"
        user "a2" rule "r1": attribute "adminRole" = "Owner": Owner is refused unless the mapping option allow_owner is true: an Owner can do everything in Duo
        user "a3" rule "r1": attribute "email": is required for a Duo administrator: map `email`, or give this user userType "user"
        user "a4" rule "r1": attribute "adminRole" = ["Billing"]: this attribute needs a single text value but found a list of 1; pick one element (`list.0`) or use join(", ", list)
        user "many" rule "r1": attribute "email" = "x": must be an email address such as name@example.com
        user "many" rule "r1": attribute "phones" = "x": is not a phone number (read with default region US): write it in E.164 form such as +17345551212
        user "many" rule "r1": attribute "status" = "x": must be one of "active", "bypass", "disabled"
        user "many" rule "r1": attribute "userType" = "x": must be exactly "user" or "admin"; any other value fails this user's sync
    "#]]
    .assert_eq(&rows(
        &m,
        &[
            json!({"username": "", "duoUserType": "user"}),
            json!({"username": long, "duoUserType": "user"}),
            json!({"username": "tab\there", "duoUserType": "user"}),
            json!({"username": "zw\u{200b}sp", "duoUserType": "user"}),
            json!({"username": "e1", "email": "not-an-email", "duoUserType": "user"}),
            json!({"username": "e2", "email": "a@b", "duoUserType": "user"}),
            json!({"username": "e3", "email": "a b@example.com", "duoUserType": "user"}),
            json!({"username": "p1", "primaryPhone": "call me", "duoUserType": "user"}),
            json!({"username": "p2", "primaryPhone": "555", "duoUserType": "user"}),
            json!({"username": "s1", "duoStatus": "locked out", "duoUserType": "user"}),
            json!({"username": "r1", "realname": ["Al", "Bert"], "duoUserType": "user"}),
            json!({"username": "n1", "notes": {"k": "v"}, "duoUserType": "user"}),
            json!({"username": "u1", "duoUserType": "superuser"}),
            json!({"username": "u2", "duoUserType": "Admin"}),
            json!({"username": "u3"}),
            json!({"username": "a1", "email": "a1@example.com", "duoUserType": "admin", "duoRole": "owner"}),
            json!({"username": "a2", "email": "a2@example.com", "duoUserType": "admin", "duoRole": "Owner"}),
            json!({"username": "a3", "duoUserType": "admin"}),
            json!({"username": "a4", "email": "a4@example.com", "duoUserType": "admin", "duoRole": ["Billing"]}),
            json!({"username": "many", "email": "x", "primaryPhone": "x", "duoStatus": "x", "duoUserType": "x"}),
        ],
    ));
}

#[test]
fn outbound_enabled_and_roles() {
    let m = compile(
        Direction::Outbound,
        &[
            ("username", "username"),
            ("email", "email"),
            ("enabled", "enabled"),
            ("userType", "coalesce(duoUserType, 'user')"),
            ("adminRole", "duoRole"),
        ],
    );
    expect![[r#"
        user "b1" rule "r1": attribute "enabled" = "yes": must be true or false (it sets Duo status active or disabled)
        user "b2" rule "r1": attribute "enabled" = 1: must be true or false (it sets Duo status active or disabled)
        email = (empty)  [empty=Keep, when=Always]
        status = "disabled"  [empty=Keep, when=Always]
        username = "b3"  [empty=Keep, when=Always]
        userType: user
        fingerprint: e89017baf129e769
        email = "a1@example.com"  [empty=Keep, when=Always]
        status = (empty)  [empty=Keep, when=Always]
        username = "a1"  [empty=Keep, when=Always]
        userType: admin
        adminRole: Read-only
        fingerprint: d11c5021245feb40
        email = "a2@example.com"  [empty=Keep, when=Always]
        status = (empty)  [empty=Keep, when=Always]
        username = "a2"  [empty=Keep, when=Always]
        userType: admin
        adminRole: Help Desk
        fingerprint: 53408779785045d9
    "#]]
    .assert_eq(&rows(
        &m,
        &[
            json!({"username": "b1", "enabled": "yes"}),
            json!({"username": "b2", "enabled": 1}),
            json!({"username": "b3", "enabled": "FALSE"}),
            json!({"username": "a1", "email": "a1@example.com", "duoUserType": "admin"}),
            json!({"username": "a2", "email": "a2@example.com", "duoUserType": "admin", "duoRole": "Help Desk"}),
        ],
    ));
    // Owner only on purpose.
    let owner_ok = Mapping::compile_with(
        Direction::Outbound,
        m.spec(),
        &Options {
            allow_owner: true,
            ..Options::default()
        },
    )
    .unwrap();
    expect![[r#"
        email = "o1@example.com"  [empty=Keep, when=Always]
        status = (empty)  [empty=Keep, when=Always]
        username = "o1"  [empty=Keep, when=Always]
        userType: admin
        adminRole: Owner
        fingerprint: 96c6f763fd77e50c
    "#]]
    .assert_eq(&show_apply(
        &owner_ok,
        &json!({"username": "o1", "email": "o1@example.com", "duoUserType": "admin", "duoRole": "Owner"}),
    ));
}

#[test]
fn inbound_rules() {
    let m = compile(
        Direction::Inbound,
        &[
            ("username", "username"),
            ("email", "email"),
            ("name.family", "lastname"),
            ("name.formatted", "realname"),
            ("primaryPhone", "phone"),
            ("enabled", "status"),
            ("externalId", "user_id"),
            ("custom.duoNotes", "notes"),
        ],
    );
    expect![[r#"
        user "xxxxxxxxxxxx" rule "r1": attribute "username" = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…": must be at most 128 characters (found 129)
        user "f1" rule "r1": attribute "name.family" = "Smith (IT)": may contain only letters, digits, spaces and . ' - (found `(` at character 7)
        duoNotes = (empty)  [empty=Keep, when=Always]
        email = (empty)  [empty=Keep, when=Always]
        enabled = (empty)  [empty=Keep, when=Always]
        externalId = (empty)  [empty=Keep, when=Always]
        name.family = (empty)  [empty=Keep, when=Always]
        name.formatted = "José Ñúñez-O'Brien Jr."  [empty=Keep, when=Always]
        primaryPhone = (empty)  [empty=Keep, when=Always]
        username = "f2"  [empty=Keep, when=Always]
        fingerprint: 307a5efa7c866454
        user "ph1" rule "r1": attribute "primaryPhone" = "none": must contain at least one digit
        user "ph2" rule "r1": attribute "primaryPhone" = "+1 (734) 555-1212 extension 1234567890": must be at most 32 characters (found 38)
        user "st1" rule "r1": attribute "enabled" = "maybe": must be true or false, or a Duo status (active, bypass, disabled, locked out, pending deletion)
        duoNotes = (empty)  [empty=Keep, when=Always]
        email = (empty)  [empty=Keep, when=Always]
        enabled = false  [empty=Keep, when=Always]
        externalId = (empty)  [empty=Keep, when=Always]
        name.family = (empty)  [empty=Keep, when=Always]
        name.formatted = (empty)  [empty=Keep, when=Always]
        primaryPhone = (empty)  [empty=Keep, when=Always]
        username = "st2"  [empty=Keep, when=Always]
        fingerprint: 178f5168c7a2954d
        user "x1" rule "r1": attribute "externalId" = "DDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDD…": must be at most 1024 characters (found 1025)
        user "c1" rule "r1": attribute "custom.duoNotes" = "bell\u0007": must not contain control or invisible formatting characters (found U+0007 at character 5)
        user "e1" rule "r1": attribute "email" = "@example.com": must be an email address such as name@example.com
    "#]]
    .assert_eq(&rows(
        &m,
        &[
            json!({"username": "x".repeat(129)}),
            json!({"username": "f1", "lastname": "Smith (IT)"}),
            json!({"username": "f2", "realname": "José Ñúñez-O'Brien Jr."}),
            json!({"username": "ph1", "phone": "none"}),
            json!({"username": "ph2", "phone": "+1 (734) 555-1212 extension 1234567890"}),
            json!({"username": "st1", "status": "maybe"}),
            json!({"username": "st2", "status": "pending deletion"}),
            json!({"username": "x1", "user_id": "D".repeat(1025)}),
            json!({"username": "c1", "notes": "bell\u{7}"}),
            json!({"username": "e1", "email": "@example.com"}),
        ],
    ));
}

#[test]
fn empty_values_follow_the_policy() {
    let spec: MappingSpec = serde_json::from_value(json!({
        "username": "username",
        "email": {"expr": "email", "empty": "clear"},
        "realname": {"expr": "name.formatted", "when": "on_create"},
    }))
    .unwrap();
    let m = Mapping::compile(Direction::Outbound, &spec).unwrap();
    expect![[r#"
        email = (empty)  [empty=Clear, when=Always]
        realname = (empty)  [empty=Keep, when=OnCreate]
        username = "e"  [empty=Keep, when=Always]
        userType: user
        fingerprint: 8e0c5257222849b3
    "#]]
    .assert_eq(&show_apply(&m, &json!({"username": "e", "email": "   "})));
}
