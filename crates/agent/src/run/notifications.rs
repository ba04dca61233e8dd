//! PingOne change notifications: one event as PingOne posts it, and what the
//! events since a rule's last cycle changed (the fast cycle's selection).

use std::collections::HashSet;

/// A change PingOne told us about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeEvent {
    /// e.g. `USER.UPDATED`, `GROUP_MEMBERSHIP.CREATED`.
    pub action: String,
    /// `(resource type, id)` pairs such as `("USER", "…")`.
    pub resources: Vec<(String, String)>,
}

impl ChangeEvent {
    /// Parse one PingOne activity event; `None` if it is not one.
    pub fn parse(v: &serde_json::Value) -> Option<ChangeEvent> {
        let action = v.get("action")?.get("type")?.as_str()?.to_owned();
        let resources = v
            .get("resources")
            .and_then(|r| r.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|r| {
                        Some((
                            r.get("type")?.as_str()?.to_owned(),
                            r.get("id")?.as_str()?.to_owned(),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Some(ChangeEvent { action, resources })
    }
}

/// One delivery request's body: the events it carried and how many of its
/// items could not be read. PingOne posts a JSON array of up to 500 events
/// (`JSON_ARRAY`); `ND_JSON` (one event a line) and a bare event object are
/// accepted as well. Nothing here fails: PingOne retries a delivery until it
/// is answered 200 and holds every later event behind it, so an unreadable
/// item is dropped and counted, never refused.
pub fn parse_delivery(body: &[u8]) -> (Vec<ChangeEvent>, usize) {
    let mut items: Vec<Option<serde_json::Value>> = Vec::new();
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Array(a)) => items.extend(a.into_iter().map(Some)),
        Ok(v) => items.push(Some(v)),
        Err(_) => {
            for line in body.split(|b| *b == b'\n') {
                if !line.iter().all(u8::is_ascii_whitespace) {
                    items.push(serde_json::from_slice(line).ok());
                }
            }
        }
    }
    let mut events = Vec::new();
    let mut unparsed = 0;
    for item in items {
        match item.as_ref().and_then(ChangeEvent::parse) {
            Some(e) => events.push(e),
            None => unparsed += 1,
        }
    }
    (events, unparsed)
}

/// What PingOne change notifications reported since a rule's last cycle.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Changes {
    /// Users created, updated or deleted, or whose direct memberships changed.
    pub users: HashSet<String>,
    /// Groups created, updated (renamed, or a dynamic group's filter
    /// changed: a pushed group's members are re-listed) or deleted.
    pub groups: HashSet<String>,
    /// Groups nested into or out of another: their members' effective
    /// (indirect) memberships changed.
    pub nested: HashSet<String>,
    /// An event the fast path cannot narrow down: the next cycle is a full one.
    pub full: bool,
}

impl Changes {
    /// Adds what one notification changed.
    pub fn note(&mut self, ev: &ChangeEvent) {
        let of = |kind: &str| -> Vec<String> {
            ev.resources
                .iter()
                .filter(|(t, _)| t == kind)
                .map(|(_, id)| id.clone())
                .collect()
        };
        let (set, ids) = match ev.action.split('.').next().unwrap_or_default() {
            "USER" | "GROUP_MEMBERSHIP" => (&mut self.users, of("USER")),
            "GROUP" => (&mut self.groups, of("GROUP")),
            "GROUP_NESTING" => (&mut self.nested, of("GROUP")),
            _ => {
                self.full = true;
                return;
            }
        };
        // An event without the resource it is about tells us only that something changed.
        self.full |= ids.is_empty();
        set.extend(ids);
    }

    pub fn is_empty(&self) -> bool {
        !self.full && self.users.is_empty() && self.groups.is_empty() && self.nested.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::{ChangeEvent, Changes, parse_delivery};

    #[test]
    fn a_delivery_is_an_array_nd_json_or_one_event_and_unreadable_items_are_counted() {
        let a = r#"{"action":{"type":"USER.CREATED"},"resources":[{"type":"USER","id":"u1"}]}"#;
        let b = r#"{"action":{"type":"USER.UPDATED"},"resources":[{"type":"USER","id":"u2"}]}"#;
        let (ev, bad) = parse_delivery(format!("[{a},{b},{{\"x\":1}}]").as_bytes());
        assert_eq!((ev.len(), bad), (2, 1));
        assert_eq!(ev[1].action, "USER.UPDATED");
        let (ev, bad) = parse_delivery(format!("{a}\n{b}\nnot json\n\n").as_bytes());
        assert_eq!((ev.len(), bad), (2, 1));
        let (ev, bad) = parse_delivery(a.as_bytes());
        assert_eq!((ev.len(), bad), (1, 0));
        assert_eq!(parse_delivery(b"garbage").1, 1);
    }

    fn ev(action: &str, resources: &[(&str, &str)]) -> ChangeEvent {
        ChangeEvent {
            action: action.into(),
            resources: resources
                .iter()
                .map(|(t, id)| ((*t).into(), (*id).into()))
                .collect(),
        }
    }

    fn set(ids: &[&str]) -> std::collections::HashSet<String> {
        ids.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn notifications_narrow_the_next_cycle_to_what_they_name() {
        let mut c = Changes::default();
        assert!(c.is_empty());
        c.note(&ev("USER.UPDATED", &[("USER", "u1")]));
        c.note(&ev(
            "GROUP_MEMBERSHIP.CREATED",
            &[("USER", "u2"), ("GROUP", "g9")],
        ));
        c.note(&ev("GROUP.UPDATED", &[("GROUP", "g1")]));
        c.note(&ev("GROUP.DELETED", &[("GROUP", "g2")]));
        c.note(&ev(
            "GROUP_NESTING.CREATED",
            &[("GROUP", "g3"), ("GROUP", "g4")],
        ));
        assert_eq!(
            c,
            Changes {
                users: set(&["u1", "u2"]),
                groups: set(&["g1", "g2"]),
                nested: set(&["g3", "g4"]),
                full: false,
            }
        );
        assert!(!c.is_empty());
    }

    #[test]
    fn an_event_the_fast_path_cannot_narrow_asks_for_a_full_cycle() {
        for e in [
            ev("USER.UPDATED", &[]),
            ev("GROUP.UPDATED", &[("USER", "u1")]),
            ev("POPULATION.UPDATED", &[("POPULATION", "p1")]),
        ] {
            let mut c = Changes::default();
            c.note(&e);
            assert!(c.full, "{e:?}");
        }
    }
}
