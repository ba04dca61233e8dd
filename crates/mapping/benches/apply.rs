//! Benchmarks of mapping throughput: the seed's default outbound table and a table using every
//! function, per user, plus the fingerprint alone. Short run:
//! `cargo bench -p mapping -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use mapping::{Direction, Mapping, MappingSpec};
use serde_json::json;

fn user(i: usize) -> serde_json::Value {
    json!({
        "id": format!("5caa81af-ec05-41ff-a709-{i:012}"),
        "username": format!("User.{i}@Example.com"),
        "email": format!("user.{i}@example.com"),
        "name": {"given": "Zoë", "family": "Müller-O'Brien", "formatted": "Zoë Müller-O'Brien"},
        "primaryPhone": "(734) 555-1212",
        "mobilePhone": "+44 7911 123456",
        "enabled": !i.is_multiple_of(7),
        "title": "Engineer",
        "population": {"id": "p1", "name": if i.is_multiple_of(50) { "Duo Admins" } else { "Staff" }},
        "department": "ENG",
    })
}

fn bench(c: &mut Criterion) {
    let users: Vec<_> = (0..1000).map(user).collect();
    let default = Mapping::default_outbound();
    let rich = Mapping::compile(
        Direction::Outbound,
        &MappingSpec::from_pairs([
            ("username", "lower(trim(username))"),
            ("email", "email"),
            ("realname", "\"${name.given} ${name.family}\""),
            ("firstname", "coalesce(nickname, name.given)"),
            ("lastname", "substring(name.family, 0, 64)"),
            ("notes", "join(' / ', title, population.name)"),
            ("alias1", "replace(lower(username), '@example.com', '')"),
            ("phones", "coalesce(mobilePhone, primaryPhone)"),
            ("alias2", "e164(primaryPhone, 'US')"),
            ("enabled", "enabled"),
            (
                "userType",
                "switch(population.name, 'Duo Admins', 'admin', 'user')",
            ),
            (
                "adminRole",
                "switch(department, 'ENG', 'Help Desk', 'Read-only')",
            ),
        ]),
    )
    .expect("the benchmark table compiles");
    let mut i = 0;
    c.bench_function("apply default outbound (per user)", |b| {
        b.iter(|| {
            i = (i + 1) % users.len();
            black_box(default.apply(black_box(&users[i])))
        });
    });
    c.bench_function("apply 12-attribute table, every function (per user)", |b| {
        b.iter(|| {
            i = (i + 1) % users.len();
            black_box(rich.apply(black_box(&users[i])))
        });
    });
    let record = rich.apply(&users[1]).expect("maps");
    c.bench_function("fingerprint of a 10-attribute record", |b| {
        b.iter(|| black_box(black_box(&record).fingerprint()));
    });
    let spec = rich.spec().clone();
    c.bench_function("compile the 12-attribute table", |b| {
        b.iter(|| black_box(Mapping::compile(Direction::Outbound, black_box(&spec))));
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
