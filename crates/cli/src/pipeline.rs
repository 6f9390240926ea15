//! Run a scenario on one thread while its steps are written on another: a long run's time is
//! its simulation or its output, whichever is slower, rather than their sum.
//!
//! The simulation stays deterministic: one runner produces every step in order, and the
//! caller receives them in that order. The channel is bounded, so memory stays bounded by a
//! few thousand steps however long the scenario is, and when the writer stops (a closed pipe
//! under `| head -1`) the runner stops at its next batch.

use std::sync::mpsc;
use vmlab_core::scenario::Scenario;
use vmlab_core::sim::{RunItem, RunSummary, Runner, StepRecord};

/// Steps go across in batches of this many (one wake-up per batch, not per step), at most
/// `IN_FLIGHT` batches ahead of the writer. A batch is a millisecond or so of simulation, so
/// a person watching a terminal does not see the delay.
const BATCH: usize = 256;
const IN_FLIGHT: usize = 8;

/// Run `s` to its end, handing each step to `write` in order; the summary says how it ended.
/// The first error from `write` stops the run and is returned.
pub fn run_steps<E>(
    s: &Scenario,
    mut write: impl FnMut(StepRecord) -> Result<(), E>,
) -> Result<RunSummary, E> {
    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::sync_channel::<Vec<StepRecord>>(IN_FLIGHT);
        let runner = scope.spawn(move || {
            let mut runner = Runner::new(s, None);
            let mut batch = Vec::with_capacity(BATCH);
            while let Some(item) = runner.next_item() {
                if let RunItem::Step(st) = item {
                    batch.push(st);
                    if batch.len() == BATCH {
                        let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                        if tx.send(full).is_err() {
                            // The writer has stopped: so does the run.
                            return None;
                        }
                    }
                }
            }
            if !batch.is_empty() && tx.send(batch).is_err() {
                return None;
            }
            Some(runner.finish())
        });
        let mut written = Ok(());
        'batches: for batch in rx.iter() {
            for st in batch {
                written = write(st);
                if written.is_err() {
                    break 'batches;
                }
            }
        }
        // Dropping the receiver (by leaving the loop) ends a runner blocked in `send`.
        drop(rx);
        let summary = match runner.join() {
            Ok(summary) => summary,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        written?;
        Ok(summary.expect("the runner finishes when every step was written"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt::Write as _;
    use vmlab_core::scenario::parse;

    /// More steps than a batch holds, and a last batch that is not full.
    fn long_scenario() -> Scenario {
        let mut t = String::from("machine linux ram=8GiB overcommit=1\nspawn app\n");
        for i in 0..(2 * BATCH + 7) {
            let _ = writeln!(t, "app mmap m{i} 4KiB rw private anon");
        }
        t.push_str("expect app mmap ok\n");
        parse(&t).expect("the test scenario parses")
    }

    #[test]
    fn every_step_arrives_in_order_with_the_same_summary_as_a_plain_run() {
        let s = long_scenario();
        let mut plain = Runner::new(&s, None);
        let mut want = Vec::new();
        while let Some(item) = plain.next_item() {
            if let RunItem::Step(st) = item {
                want.push((st.step, st.text, st.committed_as_kb));
            }
        }
        let plain = plain.finish();
        let mut got = Vec::new();
        let summary = run_steps(&s, |st| {
            got.push((st.step, st.text, st.committed_as_kb));
            Ok::<(), ()>(())
        })
        .expect("nothing fails");
        assert_eq!(got, want);
        assert_eq!(summary.steps, plain.steps);
        assert_eq!(summary.checks.len(), 1);
        assert!(summary.all_passed());
    }

    #[test]
    fn a_failed_write_stops_the_run_and_is_returned() {
        let s = long_scenario();
        let mut seen = 0;
        let r = run_steps(&s, |_| {
            seen += 1;
            if seen == 3 {
                Err("closed")
            } else {
                Ok(())
            }
        });
        assert_eq!(r.err(), Some("closed"));
        assert_eq!(seen, 3, "no step is written after the failed one");
    }
}
