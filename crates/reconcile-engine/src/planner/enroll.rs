//! Planner step: the enrollment emails of the rule's users (first email and
//! the one reminder), for users the plan pairs or creates.

use super::{Draft, ObjectRef, Phase, Planner, Resolution, Subject, TargetAt};
use crate::model::{Enrollment, Kind, Val};
use crate::plan::Action;

impl Planner<'_> {
    /// An `Enroll` op for each enabled user that is not enrolled, has an
    /// email and was never sent one (or whose reminder is due); a note for
    /// one that would get it but has no email.
    pub(super) fn enrollments(&mut self, resolution: &[Resolution]) {
        let Some(enroll) = self.policy().enroll.as_ref() else {
            return;
        };
        let email_attr = self.inputs.schema.get(&enroll.email_attr);
        for (di, res) in resolution.iter().enumerate() {
            let rec = self.desired.objects[di];
            if rec.kind != Kind::User || !rec.enabled {
                continue;
            }
            let (state, target, object) = match *res {
                Resolution::Unresolved => continue,
                Resolution::Created(c) => (
                    Enrollment::default(),
                    TargetAt::Created(c),
                    ObjectRef::New(di as u32),
                ),
                Resolution::Existing(oi) => {
                    let obs = self.observed.objects[oi as usize];
                    // Unknown enrollment or a guarded account: never emailed.
                    let (Some(state), None) = (obs.enrollment, obs.guard) else {
                        continue;
                    };
                    (
                        state,
                        TargetAt::Existing(self.observed_str(obs.id)),
                        ObjectRef::Observed(oi),
                    )
                }
            };
            let reminder = match (state.enrolled, state.sent_at) {
                (true, _) => continue,
                (false, None) => false,
                (false, Some(at)) => match enroll.remind_after_secs {
                    Some(after)
                        if !state.reminded
                            && enroll.now_secs >= at.saturating_add_unsigned(after) =>
                    {
                        true
                    }
                    _ => continue,
                },
            };
            let (src, key) = (self.desired_str(rec.id), self.desired_str(rec.key));
            let pool = &self.desired.pool;
            let email = email_attr.and_then(|a| {
                pool.slots(rec.attrs.0, rec.attrs.1)
                    .iter()
                    .find(|s| s.attr == a)
                    .and_then(|s| pool.val(s))
            });
            let email = match email {
                Some(Val::Str(e)) if !e.trim().is_empty() => e,
                _ => {
                    self.notes.push(format!(
                        "no enrollment email for user {key:?}: not enrolled but has no {}",
                        enroll.email_attr
                    ));
                    continue;
                }
            };
            let subject = Subject {
                kind: rec.kind,
                name: key,
                source_id: Some(src),
                target: Some(target),
                fingerprint: Some(rec.fingerprint),
            };
            let op = subject.op(Action::Enroll {
                email: email.to_owned(),
                valid_secs: enroll.valid_secs,
                reminder,
            });
            self.push(Draft::new(Phase::Enroll, op).on(object));
        }
    }
}
