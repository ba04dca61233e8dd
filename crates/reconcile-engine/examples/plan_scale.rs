//! Scale check for the planner: builds N desired and N observed users (plus
//! groups and memberships in proportion) with a fraction R changed, plans,
//! and prints `users=N ops=M plan_ms=T` (plan time only).
//!
//! `cargo run --release -p reconcile-engine --example plan_scale -- --users 1000000 --change-rate 0.01`

use std::time::Instant;

use reconcile_engine::*;

/// Shape of the generated directory.
pub struct World {
    pub schema: Schema,
    pub desired: DesiredSet,
    pub observed: ObservedSet,
    pub links: LinkSet,
    pub policy: Policy,
}

fn fnv(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes().chain([0xff]) {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// Users per group: every user is in two of N/100 groups.
pub fn build(n: usize, rate: f64) -> World {
    let mut schema = Schema::new();
    let email = schema.define("email", EmptyPolicy::Keep, WritePolicy::Always);
    let realname = schema.define("realname", EmptyPolicy::Keep, WritePolicy::Always);
    let title = schema.define("title", EmptyPolicy::Clear, WritePolicy::Always);
    let groups = (n / 100).max(1);
    let every = if rate > 0.0 {
        ((1.0 / rate).round() as usize).max(1)
    } else {
        usize::MAX
    };
    let (mut d, mut o, mut l) = (DesiredSet::new(), ObservedSet::new(), LinkSet::new());
    for g in 0..groups {
        let (sid, name, tid) = (
            format!("g{g:06}"),
            format!("Group {g}"),
            format!("DG{g:06}"),
        );
        let fp = fnv(&[]);
        d.push(NewDesired {
            kind: Kind::Group,
            source_id: &sid,
            key: &name,
            attrs: &[],
            enabled: true,
            phone: None,
            fingerprint: fp,
        })
        .unwrap();
        o.push(NewObserved {
            kind: Kind::Group,
            target_id: &tid,
            key: &name,
            attrs: &[],
            enabled: true,
            phones: &[],
            groups: &[],
            fingerprint: Some(fp),
        })
        .unwrap();
        l.push(Kind::Group, &sid, &tid, fp).unwrap();
    }
    let (mut s_buf, mut k_buf, mut e_buf, mut r_buf, mut t_buf, mut id_buf, mut ph_buf, mut oe_buf) = (
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
    );
    let gid: Vec<String> = (0..groups).map(|g| format!("DG{g:06}")).collect();
    let gsid: Vec<String> = (0..groups).map(|g| format!("g{g:06}")).collect();
    use std::fmt::Write as _;
    for i in 0..n {
        for b in [
            &mut s_buf,
            &mut k_buf,
            &mut e_buf,
            &mut r_buf,
            &mut t_buf,
            &mut id_buf,
            &mut ph_buf,
            &mut oe_buf,
        ] {
            b.clear();
        }
        let _ = write!(s_buf, "s{i:08}");
        let _ = write!(k_buf, "user{i}");
        let _ = write!(e_buf, "user{i}@example.com");
        let _ = write!(r_buf, "User Number {i}");
        let _ = write!(t_buf, "Title {}", i % 50);
        let _ = write!(id_buf, "DU{i:08}");
        let phone = (i % 10 == 0).then(|| {
            let _ = write!(ph_buf, "+1555{i:07}");
            ph_buf.as_str()
        });
        let changed = i % every == every / 2;
        // Of the changed users: most get an attribute update, some are new
        // (to create), some left the source (to deprovision).
        let new = changed && i % (every * 10) == every / 2;
        let gone = !new && changed && i % (every * 10) == every / 2 + every;
        let fp = fnv(&[&e_buf, &r_buf, &t_buf]);
        let (g1, g2) = (i % groups, (i / 7 + 1) % groups);
        if !gone {
            let attrs = [
                (email, Some(ValueRef::Str(&e_buf))),
                (realname, Some(ValueRef::Str(&r_buf))),
                (title, Some(ValueRef::Str(&t_buf))),
            ];
            d.push(NewDesired {
                kind: Kind::User,
                source_id: &s_buf,
                key: &k_buf,
                attrs: &attrs,
                enabled: true,
                phone,
                fingerprint: fp,
            })
            .unwrap();
            d.push_membership(&gsid[g1], &s_buf).unwrap();
            if g2 != g1 {
                d.push_membership(&gsid[g2], &s_buf).unwrap();
            }
        }
        if new {
            continue;
        }
        let _ = write!(
            oe_buf,
            "{}",
            if changed {
                "old@example.com"
            } else {
                e_buf.as_str()
            }
        );
        let ofp = fnv(&[&oe_buf, &r_buf, &t_buf]);
        let attrs = [
            (email, Some(ValueRef::Str(&oe_buf))),
            (realname, Some(ValueRef::Str(&r_buf))),
            (title, Some(ValueRef::Str(&t_buf))),
        ];
        let pid = format!("DP{i:08}");
        let phones: Vec<PhoneRef<'_>> = phone
            .map(|p| PhoneRef {
                id: &pid,
                number: p,
                activated: true,
            })
            .into_iter()
            .collect();
        let gs: Vec<&str> = if changed || g1 == g2 {
            vec![&gid[g1]]
        } else {
            vec![&gid[g1], &gid[g2]]
        };
        o.push(NewObserved {
            kind: Kind::User,
            target_id: &id_buf,
            key: &k_buf,
            attrs: &attrs,
            enabled: true,
            phones: &phones,
            groups: &gs,
            fingerprint: Some(ofp),
        })
        .unwrap();
        l.push(Kind::User, &s_buf, &id_buf, fp).unwrap();
    }
    let policy = Policy {
        allow_destructive: true,
        ..Policy::default()
    };
    World {
        schema,
        desired: d,
        observed: o,
        links: l,
        policy,
    }
}

/// Plan the generated world.
pub fn run(w: &World) -> Plan {
    plan(&Inputs {
        rule: "scale",
        rule_deleted: false,
        schema: &w.schema,
        desired: &w.desired,
        observed: &w.observed,
        links: &w.links,
        pending: &[],
        policy: &w.policy,
    })
}

/// CPU time of this thread (Linux), to tell planning from waiting for a core.
fn thread_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

fn main() {
    let mut users = 100_000usize;
    let mut rate = 0.01f64;
    let args: Vec<String> = std::env::args().collect();
    let mut i = 1;
    while i < args.len() {
        match (args[i].as_str(), args.get(i + 1)) {
            ("--users", Some(v)) => users = v.parse().unwrap_or(users),
            ("--change-rate", Some(v)) => rate = v.parse().unwrap_or(rate),
            _ => {
                eprintln!("usage: plan_scale --users N --change-rate R");
                std::process::exit(2);
            }
        }
        i += 2;
    }
    let w = build(users, rate);
    let cpu0 = thread_cpu_ns();
    let t = Instant::now();
    let p = run(&w);
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    let cpu = thread_cpu_ns().zip(cpu0).map(|(b, a)| (b - a) as f64 / 1e6);
    println!("users={users} ops={} plan_ms={ms:.0}", p.ops.len());
    if let Some(cpu) = cpu {
        // On a shared machine wall time includes waiting for a core.
        eprintln!("plan_cpu_ms={cpu:.0}");
    }
    eprintln!(
        "summary: {}",
        serde_json::to_string(&p.summary).unwrap_or_default()
    );
}
