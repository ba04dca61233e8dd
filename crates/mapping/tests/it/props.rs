//! Property tests: any input maps to a record or to per-attribute errors without panicking,
//! deterministically; `e164` is idempotent; the fingerprint tracks the mapped values exactly;
//! outbound then inbound gives back the invertible attributes.

use mapping::{AttrValue, Direction, MappedRecord, Mapping, MappingSpec, to_e164};
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

use crate::compile;

const KEYS: &[&str] = &[
    "username",
    "email",
    "name",
    "given",
    "family",
    "formatted",
    "primaryPhone",
    "mobilePhone",
    "enabled",
    "population",
    "title",
    "nickname",
    "tags",
    "duoUserType",
    "duoRole",
    "status",
    "firstname",
    "lastname",
    "realname",
    "phones",
    "number",
    "alias1",
    "notes",
    "user_id",
    "0",
    "1",
];

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::sample::select(KEYS).prop_map(str::to_owned),
        1 => "[a-zA-Z_]{1,8}",
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "\\PC{0,24}".prop_map(Value::String),
        any::<String>().prop_map(Value::String),
        "\\+?[0-9 ()-]{0,16}".prop_map(Value::String),
        "(user|admin|Admin|Owner|Read-only|Billing|active|disabled|bypass|locked out|true|false| )"
            .prop_map(Value::String),
        "[a-z]{1,6}@[a-z]{1,6}\\.com".prop_map(Value::String),
    ]
}

fn json_tree() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..5).prop_map(Value::Array),
            btree_map(key(), inner, 0..6).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Anything at all, but mostly objects whose keys the mappings read.
fn any_user() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => btree_map(key(), json_tree(), 0..14).prop_map(|m| Value::Object(m.into_iter().collect())),
        1 => json_tree(),
    ]
}

/// Mappings that use every target and every function.
fn kitchen_sinks() -> Vec<Mapping> {
    vec![
        Mapping::default_outbound(),
        Mapping::default_inbound(),
        Mapping::default_group(),
        compile(
            Direction::Outbound,
            &[
                ("username", "lower(trim(username))"),
                ("email", "email"),
                ("realname", "\"${name.given} ${name.family}\""),
                ("firstname", "coalesce(name.given, nickname, given)"),
                ("lastname", "substring(name.family, 1, 20)"),
                ("notes", "join(', ', title, population.name, tags)"),
                ("alias1", "replace(username, '@', '_')"),
                ("alias2", "upper(e164(primaryPhone, 'GB'))"),
                ("alias3", "substring(nickname, enabled, title)"),
                ("phones", "coalesce(mobilePhone, primaryPhone)"),
                ("enabled", "enabled"),
                (
                    "userType",
                    "switch(duoUserType, 'admin', 'admin', 'Admin', 'admin', 'user')",
                ),
                ("adminRole", "duoRole"),
            ],
        ),
        compile(
            Direction::Outbound,
            &[
                ("username", "username"),
                ("status", "status"),
                ("userType", "duoUserType"),
                ("adminRole", "coalesce(duoRole, tags.0)"),
                ("email", "'${username}@example.com'"),
                ("alias4", "e164(given, population.name)"),
            ],
        ),
        compile(
            Direction::Inbound,
            &[
                ("username", "username"),
                ("email", "email"),
                ("name.given", "coalesce(firstname, realname)"),
                ("name.family", "lastname"),
                ("name.formatted", "join(' ', firstname, lastname)"),
                ("primaryPhone", "phones.0.number"),
                ("mobilePhone", "e164(phones.1.number)"),
                ("enabled", "status"),
                ("title", "notes"),
                ("locale", "lower(substring(realname, 0, 2))"),
                ("externalId", "user_id"),
                ("custom.duoAlias", "alias1"),
            ],
        ),
    ]
}

proptest! {
    #[test]
    fn any_json_maps_to_a_record_or_errors_deterministically(user in any_user()) {
        for m in kitchen_sinks() {
            let first = m.apply(&user);
            if let Err(errors) = &first {
                prop_assert!(!errors.is_empty());
                for e in errors {
                    prop_assert!(!e.to_string().is_empty());
                }
            }
            let second = m.apply(&user);
            prop_assert_eq!(&first, &second);
            if let (Ok(a), Ok(b)) = (&first, &second) {
                prop_assert_eq!(a.fingerprint(), b.fingerprint());
            }
        }
    }

    #[test]
    fn any_expression_text_compiles_or_errors_without_panicking(
        text in prop_oneof![
            "\\PC{0,40}",
            "[a-z.()'\"${}, 0-9\\\\-]{0,40}",
            "(lower|upper|trim|coalesce|replace|substring|join|switch|e164)\\(([a-z.]{1,6}|'[^']{0,4}'|-?[0-9]{1,3})(, ?([a-z.]{1,6}|'[^']{0,4}'|-?[0-9]{1,3})){0,5}\\)",
        ],
        user in any_user(),
    ) {
        let spec = MappingSpec::from_pairs([("username", "username"), ("notes", text.as_str())]);
        match Mapping::compile(Direction::Outbound, &spec) {
            Ok(m) => { let _ = m.apply(&user); }
            Err(e) => {
                prop_assert!(e.0.iter().all(|e| e.target == "notes"));
                prop_assert!(e.0.iter().all(|e| e.column.is_some()));
            }
        }
    }

    #[test]
    fn e164_is_idempotent(
        input in prop_oneof!["\\+?[0-9 ()./-]{0,20}", "\\PC{0,24}", "\\+(1|44|49|33|39|55|91|81|61)[0-9]{6,11}", "0[0-9]{6,11}"],
        region in proptest::sample::select(&["US", "GB", "DE", "FR", "IN", "JP", "AU", "BR"][..]),
    ) {
        if let Ok(once) = to_e164(&input, region) {
            prop_assert!(once.starts_with('+') && once[1..].chars().all(|c| c.is_ascii_digit()), "{}", once);
            prop_assert_eq!(to_e164(&once, region), Ok(once.clone()));
            // E.164 carries its country: the default region no longer matters.
            prop_assert_eq!(to_e164(&once, "JP"), Ok(once.clone()));
        }
    }

    #[test]
    fn a_number_with_its_country_ignores_the_default_region(
        number in "\\+(1|33|39|44|49|55|61|81|91) ?[0-9]{2,4}[ -]?[0-9]{3,4}[ -]?[0-9]{2,4}",
        region in proptest::sample::select(&["US", "GB", "DE", "FR", "IT", "JP", "AU", "BR", "RU", "HU"][..]),
    ) {
        prop_assert_eq!(to_e164(&number, region), to_e164(&number, "US"));
    }

    #[test]
    fn fingerprint_changes_exactly_when_a_mapped_value_changes(
        a in small_user(), b in small_user(), noise in any::<u32>(),
    ) {
        let m = compile(
            Direction::Outbound,
            &[
                ("username", "username"),
                ("email", "email"),
                ("realname", "name.given"),
                ("enabled", "enabled"),
                ("userType", "coalesce(kind, 'user')"),
                ("adminRole", "role"),
            ],
        );
        let (Ok(ra), Ok(rb)) = (m.apply(&a), m.apply(&b)) else {
            return Ok(());
        };
        prop_assert_eq!(ra.fingerprint() == rb.fingerprint(), ra == rb);
        // A field no mapping reads changes nothing.
        let mut noisy = a.clone();
        noisy["unmapped"] = json!(noise);
        let rn = m.apply(&noisy).unwrap();
        prop_assert_eq!(rn.fingerprint(), ra.fingerprint());
    }

    #[test]
    fn outbound_then_inbound_returns_the_invertible_attributes(user in pingone_user()) {
        let out = compile(
            Direction::Outbound,
            &[
                ("username", "username"),
                ("email", "email"),
                ("phones", "primaryPhone"),
                ("enabled", "enabled"),
                ("realname", "name.given"),
                ("lastname", "name.family"),
            ],
        );
        let duo_record = out.apply(&user).unwrap();
        let duo_user = as_duo_user(&duo_record);
        let back = Mapping::default_inbound().apply(&duo_user).unwrap();
        let text = |r: &MappedRecord, k: &str| r.text(k).map(str::to_owned);
        let src = |path: &[&str]| {
            let mut v = &user;
            for p in path { v = &v[*p]; }
            v.as_str().map(str::to_owned)
        };
        prop_assert_eq!(text(&back, "username"), src(&["username"]));
        prop_assert_eq!(text(&back, "email"), src(&["email"]));
        prop_assert_eq!(text(&back, "primaryPhone"), src(&["primaryPhone"]));
        prop_assert_eq!(text(&back, "name.given"), src(&["name", "given"]));
        prop_assert_eq!(text(&back, "name.family"), src(&["name", "family"]));
        let enabled = back.get("enabled").and_then(|a| a.value.clone());
        prop_assert_eq!(enabled, user["enabled"].as_bool().map(AttrValue::Bool));
    }
}

fn small_user() -> impl Strategy<Value = Value> {
    (
        proptest::sample::select(&["a", "b"][..]),
        proptest::option::of(proptest::sample::select(&["a@x.io", "b@x.io"][..])),
        proptest::option::of(proptest::sample::select(&["A", "B"][..])),
        proptest::option::of(any::<bool>()),
        proptest::option::of(proptest::sample::select(&["user", "admin"][..])),
        proptest::option::of(proptest::sample::select(&["Billing", "Help Desk"][..])),
    )
        .prop_map(|(u, e, g, en, k, r)| {
            json!({"username": u, "email": e, "name": {"given": g}, "enabled": en, "kind": k, "role": r})
        })
}

fn pingone_user() -> impl Strategy<Value = Value> {
    (
        "[a-z][a-z0-9._-]{0,15}",
        proptest::option::of("[a-z]{1,8}@[a-z]{1,8}\\.(com|org|io)"),
        proptest::option::of("\\p{L}[\\p{L} ]{0,12}\\p{L}"),
        proptest::option::of("\\p{L}[\\p{L}' .-]{0,12}\\p{L}"),
        proptest::option::of(proptest::sample::select(
            &[
                "+17345551212",
                "+442079460958",
                "+49301234567",
                "+33142685300",
                "+390669821234",
                "+5511987654321",
            ][..],
        )),
        any::<bool>(),
    )
        .prop_map(|(username, email, given, family, phone, enabled)| {
            let mut name = Map::new();
            if let Some(g) = given {
                name.insert("given".into(), json!(g));
            }
            if let Some(f) = family {
                name.insert("family".into(), json!(f));
            }
            json!({
                "username": username, "email": email, "name": name,
                "primaryPhone": phone, "enabled": enabled,
            })
        })
}

/// What Duo would return for a user created from an outbound record.
fn as_duo_user(r: &MappedRecord) -> Value {
    let mut u = Map::new();
    for (k, a) in &r.attrs {
        let Some(AttrValue::Text(v)) = &a.value else {
            continue;
        };
        if k == "phones" {
            u.insert("phones".into(), json!([{ "phone_id": "DP1", "number": v }]));
        } else {
            u.insert(k.clone(), json!(v));
        }
    }
    Value::Object(u)
}

/// Found by `e164_is_idempotent`: libphonenumber accepts Brazil's national
/// `0900000000` as `+55900000000`, then refuses that E.164 form.
#[test]
fn a_national_number_whose_e164_form_is_refused_is_refused_too() {
    let e = to_e164("0900000000", "BR").unwrap_err();
    assert!(e.contains("not a valid phone number"), "{e}");
    assert!(to_e164("+55900000000", "BR").is_err());
}
