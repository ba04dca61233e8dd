//! The scheduler of `p1duo run`: one task per rule, so a rule never runs two
//! cycles at once; a full cycle every interval plus random jitter; a fast cycle
//! soon after a change notification (debounced), the full cycle staying the
//! safety net; cancellation lets the cycle in flight finish.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Why a cycle runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CycleTrigger {
    /// The first cycle after start or reload.
    Startup,
    /// The periodic full cycle.
    Schedule,
    /// A PingOne change notification.
    Notification,
}

impl CycleTrigger {
    /// Label used in metrics and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            CycleTrigger::Startup => "startup",
            CycleTrigger::Schedule => "schedule",
            CycleTrigger::Notification => "notification",
        }
    }
}

/// Runs one cycle of one rule. `cancel` asks it to start no new write.
pub trait CycleRunner: Send + Sync + 'static {
    /// One cycle; errors are the runner's to record and log. False when the
    /// cycle could not run (the rule is then retried with back-off).
    fn run_cycle(
        &self,
        rule: &str,
        trigger: CycleTrigger,
        cancel: CancellationToken,
    ) -> impl Future<Output = bool> + Send;

    /// The next full cycle of `rule` starts in `wait`, after `failures`
    /// cycles in a row that could not run (for the status page).
    fn next_run(&self, _rule: &str, _wait: Duration, _failures: u32) {}
}

/// Timing of the scheduler.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub interval: Duration,
    pub jitter: Duration,
    pub debounce: Duration,
}

/// The running scheduler: per-rule tasks and their kick channels.
pub struct Scheduler {
    tracker: TaskTracker,
    cancel: CancellationToken,
    kicks: Vec<(String, mpsc::Sender<()>)>,
}

impl Scheduler {
    /// Start one task per rule. The first cycle of each starts at once.
    pub fn start<R: CycleRunner>(
        runner: Arc<R>,
        rules: Vec<String>,
        timing: Timing,
        cancel: CancellationToken,
    ) -> Scheduler {
        let tracker = TaskTracker::new();
        let mut kicks = Vec::new();
        for rule in rules {
            let (tx, rx) = mpsc::channel(1);
            kicks.push((rule.clone(), tx));
            tracker.spawn(rule_loop(runner.clone(), rule, timing, rx, cancel.clone()));
        }
        tracker.close();
        Scheduler {
            tracker,
            cancel,
            kicks,
        }
    }

    /// Ask `rule` for a fast cycle (a no-op when one is already pending).
    pub fn kick(&self, rule: &str) {
        for (name, tx) in &self.kicks {
            if name == rule {
                let _ = tx.try_send(());
            }
        }
    }

    /// Stop: no new cycle starts; waits for the cycles in flight to finish.
    pub async fn shutdown(self) {
        self.cancel.cancel();
        self.tracker.wait().await;
    }
}

/// The wait before retrying a rule whose cycle could not run `failures`
/// times in a row: 30 s doubling, never longer than the interval.
fn backoff(t: &Timing, failures: u32) -> Duration {
    let exp = failures.saturating_sub(1).min(16);
    Duration::from_secs(30)
        .saturating_mul(1 << exp)
        .min(t.interval)
}

fn jittered(t: &Timing) -> Duration {
    let j = u64::try_from(t.jitter.as_millis()).unwrap_or(u64::MAX);
    let extra = if j == 0 { 0 } else { rand::random_range(0..=j) };
    t.interval + Duration::from_millis(extra)
}

async fn rule_loop<R: CycleRunner>(
    runner: Arc<R>,
    rule: String,
    timing: Timing,
    mut kicks: mpsc::Receiver<()>,
    cancel: CancellationToken,
) {
    let mut trigger = CycleTrigger::Startup;
    let mut next_full = tokio::time::Instant::now();
    let mut failures = 0u32;
    loop {
        if cancel.is_cancelled() {
            break;
        }
        let ran = runner.run_cycle(&rule, trigger, cancel.clone()).await;
        failures = if ran { 0 } else { failures.saturating_add(1) };
        // Only a full cycle moves the next one: notifications, however
        // frequent (or forged), never starve the safety net. A rule that
        // cannot run is retried sooner, backing off up to the interval.
        if !ran {
            let wait = backoff(&timing, failures);
            tracing::warn!(
                rule,
                failures,
                retry_in_secs = wait.as_secs(),
                "the cycle could not run; retrying with back-off"
            );
            next_full = tokio::time::Instant::now() + wait;
        } else if trigger != CycleTrigger::Notification {
            next_full = tokio::time::Instant::now() + jittered(&timing);
        }
        runner.next_run(
            &rule,
            next_full.saturating_duration_since(tokio::time::Instant::now()),
            failures,
        );
        let next = tokio::time::sleep_until(next_full);
        tokio::pin!(next);
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = &mut next => trigger = CycleTrigger::Schedule,
            Some(()) = kicks.recv() => {
                // Let a burst of changes settle, then sync them together.
                tokio::select! {
                    _ = cancel.cancelled() => break,
                    _ = tokio::time::sleep(timing.debounce) => {}
                }
                while kicks.try_recv().is_ok() {}
                trigger = CycleTrigger::Notification;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Recorder {
        cycles: Mutex<Vec<(String, CycleTrigger, tokio::time::Instant)>>,
        /// How long each cycle takes.
        work: Duration,
        /// Every cycle fails to run.
        failing: bool,
        in_flight: Mutex<u32>,
        max_in_flight: Mutex<u32>,
    }

    impl CycleRunner for Recorder {
        async fn run_cycle(
            &self,
            rule: &str,
            trigger: CycleTrigger,
            _cancel: CancellationToken,
        ) -> bool {
            {
                let mut n = self.in_flight.lock().unwrap();
                *n += 1;
                let mut m = self.max_in_flight.lock().unwrap();
                *m = (*m).max(*n);
            }
            self.cycles.lock().unwrap().push((
                rule.to_owned(),
                trigger,
                tokio::time::Instant::now(),
            ));
            tokio::time::sleep(self.work).await;
            *self.in_flight.lock().unwrap() -= 1;
            !self.failing
        }
    }

    /// The scheduler over one rule "a" with the default test timing.
    fn one_rule(r: Recorder) -> (Arc<Recorder>, Scheduler) {
        let r = Arc::new(r);
        let s = Scheduler::start(
            r.clone(),
            vec!["a".into()],
            timing(),
            CancellationToken::new(),
        );
        (r, s)
    }

    fn timing() -> Timing {
        Timing {
            interval: Duration::from_secs(60),
            jitter: Duration::from_secs(10),
            debounce: Duration::from_secs(2),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn every_rule_runs_at_start_then_every_interval_plus_jitter() {
        let r = Arc::new(Recorder::default());
        let start = tokio::time::Instant::now();
        let s = Scheduler::start(
            r.clone(),
            vec!["a".into(), "b".into()],
            timing(),
            CancellationToken::new(),
        );
        tokio::time::sleep(Duration::from_secs(60 * 5 + 1)).await;
        s.shutdown().await;
        let cycles = r.cycles.lock().unwrap().clone();
        for rule in ["a", "b"] {
            let times: Vec<_> = cycles
                .iter()
                .filter(|c| c.0 == rule)
                .map(|c| c.2 - start)
                .collect();
            assert_eq!(
                cycles.iter().find(|c| c.0 == rule).unwrap().1,
                CycleTrigger::Startup
            );
            // 5 minutes at 60–70 s per period: 5 or 6 cycles with the first at once.
            assert!((5..=6).contains(&times.len()), "{rule}: {times:?}");
            for w in times.windows(2) {
                let gap = w[1] - w[0];
                assert!(
                    gap >= Duration::from_secs(60) && gap <= Duration::from_secs(70),
                    "{rule}: gap {gap:?}"
                );
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_kick_runs_a_debounced_fast_cycle_and_bursts_coalesce() {
        let (r, s) = one_rule(Recorder::default());
        tokio::time::sleep(Duration::from_secs(5)).await;
        for _ in 0..10 {
            s.kick("a");
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
        s.shutdown().await;
        let cycles = r.cycles.lock().unwrap().clone();
        let triggers: Vec<_> = cycles.iter().map(|c| c.1).collect();
        assert_eq!(
            triggers,
            vec![CycleTrigger::Startup, CycleTrigger::Notification]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_rule_that_cannot_run_is_retried_with_back_off_up_to_the_interval() {
        let r = Arc::new(Recorder {
            failing: true,
            ..Default::default()
        });
        let start = tokio::time::Instant::now();
        let timing = Timing {
            interval: Duration::from_secs(600),
            jitter: Duration::ZERO,
            debounce: Duration::from_secs(2),
        };
        let s = Scheduler::start(
            r.clone(),
            vec!["a".into()],
            timing,
            CancellationToken::new(),
        );
        tokio::time::sleep(Duration::from_secs(2100)).await;
        s.shutdown().await;
        let times: Vec<u64> = r
            .cycles
            .lock()
            .unwrap()
            .iter()
            .map(|c| (c.2 - start).as_secs())
            .collect();
        // 30, 60, 120, 240, 480 s apart, then the 600 s interval.
        assert_eq!(
            times,
            vec![0, 30, 90, 210, 450, 930, 1530, 2130]
                .into_iter()
                .filter(|t| *t <= 2100)
                .collect::<Vec<_>>()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn notifications_more_frequent_than_the_interval_never_starve_the_full_cycle() {
        let (r, s) = one_rule(Recorder::default());
        // A notification every 10 s for 5 minutes.
        for _ in 0..30 {
            tokio::time::sleep(Duration::from_secs(10)).await;
            s.kick("a");
        }
        s.shutdown().await;
        let cycles = r.cycles.lock().unwrap().clone();
        let full = cycles
            .iter()
            .filter(|c| c.1 != CycleTrigger::Notification)
            .count();
        // At 60–70 s a period, 5 minutes hold 4 or more full cycles besides the first.
        assert!(full >= 5, "{cycles:?}");
        assert!(cycles.iter().any(|c| c.1 == CycleTrigger::Notification));
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_cycle_never_overlaps_itself_and_shutdown_waits_for_it() {
        let r = Arc::new(Recorder {
            work: Duration::from_secs(300),
            ..Default::default()
        });
        let s = Scheduler::start(
            r.clone(),
            vec!["a".into()],
            timing(),
            CancellationToken::new(),
        );
        tokio::time::sleep(Duration::from_secs(10)).await;
        s.kick("a");
        s.kick("a");
        let before = tokio::time::Instant::now();
        s.shutdown().await;
        // Shutdown waited for the 300 s cycle in flight.
        assert!(tokio::time::Instant::now() - before >= Duration::from_secs(280));
        assert_eq!(*r.max_in_flight.lock().unwrap(), 1);
        assert_eq!(*r.in_flight.lock().unwrap(), 0);
    }
}
