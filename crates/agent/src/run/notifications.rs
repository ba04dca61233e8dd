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

/// What PingOne change notifications reported since a rule's last cycle.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Changes {
    /// Users created, updated or deleted, or whose direct memberships changed.
    pub users: HashSet<String>,
    /// Groups created, renamed or deleted.
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
    use super::{ChangeEvent, Changes};

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
