//! Enrollment emails a rule has journaled, per account key: what decides
//! whether a user is emailed again (never twice, one reminder at most).

use crate::error::Result;
use crate::records::UnixMillis;
use crate::store::Store;

/// The enrollment emails journaled for one account of a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrollSent {
    /// The account's key (username) as journaled.
    pub key: String,
    /// When the first one was journaled.
    pub first: UnixMillis,
    /// How many were sent or may have been (a crash after the intent
    /// counts: an email must never go twice); failed ones do not count.
    pub count: u64,
}

impl Store {
    /// Every account of `rule` with an enrollment email sent or of unknown
    /// outcome, by key.
    pub fn enroll_sent(&self, rule: &str) -> Result<Vec<EnrollSent>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT key, MIN(created_at), COUNT(*) FROM intents
             WHERE rule = ?1 AND op = 'enroll' AND state != 'failed'
             GROUP BY key ORDER BY key",
        )?;
        let rows = stmt.query_map([rule], |r| {
            Ok(EnrollSent {
                key: r.get(0)?,
                first: r.get(1)?,
                count: r.get::<_, i64>(2)?.try_into().unwrap_or(0),
            })
        })?;
        Ok(rows.collect::<std::result::Result<Vec<_>, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use crate::{NewIntent, NewRun, ObjectKind, Op, Store};

    #[test]
    fn pending_and_done_enrollments_count_failed_ones_do_not() {
        let mut s = Store::open_in_memory().unwrap();
        let run = s
            .start_run(&NewRun {
                rule: "r".into(),
                trigger: crate::Trigger::Manual,
                started: 0,
                plan_hash: None,
            })
            .unwrap();
        let intent = |key: &str, at| NewIntent {
            run_id: run,
            rule: "r".into(),
            kind: ObjectKind::User,
            source_id: format!("s-{key}"),
            op: Op::Enroll,
            key: key.into(),
            target_id: None,
            summary: serde_json::json!({}),
            created_at: at,
        };
        let ids = s
            .begin_intents(&[
                intent("a", 5),
                intent("a", 9),
                intent("b", 7),
                intent("c", 1),
            ])
            .unwrap();
        s.finish_intent(ids[0], crate::IntentOutcome::Done { target_id: None }, 6)
            .unwrap();
        s.finish_intent(
            ids[3],
            crate::IntentOutcome::Failed {
                error: crate::ErrorInfo {
                    code: "40002".into(),
                    message: "refused".into(),
                    attribute: None,
                },
            },
            2,
        )
        .unwrap();
        let got: Vec<(String, i64, u64)> = s
            .enroll_sent("r")
            .unwrap()
            .into_iter()
            .map(|e| (e.key, e.first, e.count))
            .collect();
        assert_eq!(got, vec![("a".into(), 5, 2), ("b".into(), 7, 1)]);
        assert!(s.enroll_sent("other").unwrap().is_empty());
    }
}
