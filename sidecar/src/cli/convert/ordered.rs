//! A parallel map whose results are consumed in input order, holding a
//! bounded number of results (by count and by size): `osp convert` uses
//! every core and still writes a stream in file order with memory flat in
//! the number of files.
use std::collections::BTreeMap;
use std::sync::{Condvar, Mutex};

/// How far [`map`] may run ahead of what it has emitted.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Window {
    /// Threads.
    pub jobs: usize,
    /// A thread does not start item `i` before item `i - items` is emitted.
    pub items: usize,
    /// Nor while the results held (by `weight`) exceed this, unless `i` is
    /// the next item to emit: a run of large results stays bounded.
    pub bytes: usize,
    /// An item started before all others (the largest: started last, it
    /// would keep one thread busy while the others wait at the window); one
    /// more result may then be held.
    pub first: Option<usize>,
}

/// What the threads share: how far emitting got, what waits for its turn,
/// and whether a thread is emitting.
struct State<R, E> {
    /// Items emitted so far; `usize::MAX` once emitting stopped.
    emitted: usize,
    /// Weight of the results produced but not yet emitted.
    held: usize,
    /// Results produced ahead of their turn, with their weight.
    pending: BTreeMap<usize, (usize, R)>,
    /// A thread is emitting; others leave their results in `pending`.
    emitting: bool,
    /// The first error of `emit`.
    error: Option<E>,
}

/// Runs `work` over `items` on `window.jobs` threads and hands each result
/// to `emit` in the items' order, holding no more than `window` allows.
/// The thread that makes the next result to emit emits it, and every one
/// after it that is ready: no thread hands results over (a hand-over cost
/// two context switches per file and moved every output to another core).
/// The first error of `emit` stops the run (items already started finish;
/// none start after) and is returned.
pub(crate) fn map<T, R, E>(
    items: Vec<T>,
    window: Window,
    work: impl Fn(T) -> R + Sync,
    weight: impl Fn(&R) -> usize + Sync,
    mut emit: impl FnMut(R) -> Result<(), E> + Send,
) -> Result<(), E>
where
    T: Send,
    R: Send,
    E: Send,
{
    let (jobs, ahead) = (window.jobs.max(1), window.items.max(1));
    let total = items.len();
    if jobs == 1 || total <= 1 {
        // Nothing to overlap.
        return items.into_iter().try_for_each(|item| emit(work(item)));
    }
    let mut indexed: Vec<(usize, T)> = items.into_iter().enumerate().collect();
    let head = Mutex::new(
        window
            .first
            .filter(|f| *f < total)
            .map(|f| indexed.remove(f)),
    );
    let queue = Mutex::new(indexed.into_iter());
    let state = Mutex::new(State {
        emitted: 0,
        held: 0,
        pending: BTreeMap::new(),
        emitting: false,
        error: None,
    });
    let turn = Condvar::new();
    // Only the thread that set `emitting` locks it.
    let emit = Mutex::new(&mut emit);
    std::thread::scope(|scope| {
        for _ in 0..jobs.min(total) {
            let (head, queue, state, turn, emit) = (&head, &queue, &state, &turn, &emit);
            let (work, weight) = (&work, &weight);
            scope.spawn(move || {
                // A panic in `work` must not leave the others waiting for a
                // result that never comes: they stop, and the scope panics.
                let _stop = StopOnPanic(state, turn);
                let produce = |(i, item): (usize, T)| {
                    let r = work(item);
                    let w = weight(&r);
                    finished(state, turn, emit, i, w, r)
                };
                let head = head.lock().map(|mut h| h.take()).unwrap_or(None);
                if head.is_some_and(|h| !produce(h)) {
                    return;
                }
                loop {
                    let Some((i, item)) = queue.lock().map(|mut q| q.next()).unwrap_or(None) else {
                        return;
                    };
                    let guard = lock(state);
                    let now = turn
                        .wait_while(guard, |s| {
                            s.emitted != usize::MAX
                                && (i >= s.emitted + ahead
                                    || (i > s.emitted && s.held > window.bytes))
                        })
                        .unwrap_or_else(|p| p.into_inner());
                    if now.emitted == usize::MAX {
                        return;
                    }
                    drop(now);
                    if !produce((i, item)) {
                        return;
                    }
                }
            });
        }
    });
    match state.into_inner().unwrap_or_else(|p| p.into_inner()).error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Stops the run when dropped by a panicking thread.
struct StopOnPanic<'a, R, E>(&'a Mutex<State<R, E>>, &'a Condvar);

impl<R, E> Drop for StopOnPanic<'_, R, E> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            lock(self.0).emitted = usize::MAX;
            self.1.notify_all();
        }
    }
}

fn lock<S>(m: &Mutex<S>) -> std::sync::MutexGuard<'_, S> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Files result `i` and, unless another thread is emitting, emits every
/// result whose turn has come, outside the lock. False once emitting
/// stopped.
fn finished<R, E, F: FnMut(R) -> Result<(), E>>(
    state: &Mutex<State<R, E>>,
    turn: &Condvar,
    emit: &Mutex<&mut F>,
    i: usize,
    w: usize,
    r: R,
) -> bool {
    let mut s = lock(state);
    if s.emitted == usize::MAX {
        return false;
    }
    s.held += w;
    s.pending.insert(i, (w, r));
    if s.emitting {
        return true;
    }
    s.emitting = true;
    loop {
        let next = s.emitted;
        let Some((w, r)) = s.pending.remove(&next) else {
            s.emitting = false;
            return true;
        };
        drop(s);
        let result = (lock(emit))(r);
        s = lock(state);
        s.held = s.held.saturating_sub(w);
        match result {
            Ok(()) => s.emitted = next + 1,
            Err(e) => {
                // Stop: wake the threads waiting for their turn.
                s.error = Some(e);
                s.emitted = usize::MAX;
                turn.notify_all();
                return false;
            }
        }
        turn.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::{Window, map};

    /// A window by count only.
    fn window(jobs: usize, items: usize, first: Option<usize>) -> Window {
        Window {
            jobs,
            items,
            bytes: usize::MAX,
            first,
        }
    }

    struct Case {
        reason: &'static str,
        items: usize,
        jobs: usize,
        window: usize,
    }

    #[test]
    fn results_come_in_input_order_whatever_the_threads_do() {
        let cases = [
            Case {
                reason: "more items than threads",
                items: 200,
                jobs: 4,
                window: 8,
            },
            Case {
                reason: "one thread",
                items: 50,
                jobs: 1,
                window: 1,
            },
            Case {
                reason: "more threads than items",
                items: 3,
                jobs: 8,
                window: 2,
            },
            Case {
                reason: "nothing to do",
                items: 0,
                jobs: 2,
                window: 4,
            },
        ];
        for c in cases {
            let mut got = Vec::new();
            // Later items finish sooner, so order is the map's doing.
            let r: Result<(), ()> = map(
                (0..c.items).collect(),
                window(c.jobs, c.window, None),
                |i| {
                    std::thread::sleep(Duration::from_micros(((c.items - i) % 7) as u64 * 50));
                    i * 2
                },
                |_| 0,
                |r| {
                    got.push(r);
                    Ok(())
                },
            );
            assert!(r.is_ok(), "{}", c.reason);
            assert_eq!(
                got,
                (0..c.items).map(|i| i * 2).collect::<Vec<_>>(),
                "{}",
                c.reason
            );
        }
    }

    #[test]
    fn no_more_than_the_window_is_in_flight() {
        let (live, peak) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let r: Result<(), ()> = map(
            (0..100).collect::<Vec<_>>(),
            window(4, 3, None),
            |i| {
                let now = live.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                i
            },
            |_| 0,
            |_| {
                live.fetch_sub(1, Ordering::SeqCst);
                Ok(())
            },
        );
        assert!(r.is_ok());
        assert!(
            peak.load(Ordering::SeqCst) <= 3,
            "peak {}",
            peak.load(Ordering::SeqCst)
        );
    }

    #[test]
    fn the_first_emit_error_stops_the_run() {
        let done = AtomicUsize::new(0);
        let mut emitted = 0;
        let r = map(
            (0..1000).collect::<Vec<_>>(),
            window(2, 4, None),
            |i| {
                done.fetch_add(1, Ordering::SeqCst);
                i
            },
            |_| 0,
            |i| {
                emitted += 1;
                if i == 10 {
                    Err(format!("stopped at `{i}`"))
                } else {
                    Ok(())
                }
            },
        );
        assert_eq!(r, Err("stopped at `10`".to_string()));
        assert_eq!(emitted, 11);
        assert!(done.load(Ordering::SeqCst) < 1000, "work stopped early");
    }

    #[test]
    fn a_panic_in_work_ends_the_run_instead_of_hanging_it() {
        // Item 3 never comes; without the stop, the other threads would
        // wait for its turn forever.
        let run = std::panic::catch_unwind(|| {
            let _: Result<(), ()> = map(
                (0..100).collect::<Vec<_>>(),
                window(3, 2, None),
                |i| {
                    assert_ne!(i, 3, "work failed on `{i}`");
                    i
                },
                |_| 0,
                |_| Ok(()),
            );
        });
        assert!(run.is_err());
    }

    #[test]
    fn the_first_item_starts_before_the_others_and_is_emitted_in_its_place() {
        let started = std::sync::Mutex::new(Vec::new());
        let mut got = Vec::new();
        let r: Result<(), ()> = map(
            (0..40).collect::<Vec<_>>(),
            window(2, 4, Some(30)),
            |i| {
                started.lock().map(|mut s| s.push(i)).ok();
                if i == 30 {
                    std::thread::sleep(Duration::from_millis(20));
                }
                i
            },
            |_| 0,
            |i| {
                got.push(i);
                Ok(())
            },
        );
        assert!(r.is_ok());
        assert_eq!(got, (0..40).collect::<Vec<_>>(), "emitted in input order");
        let started = started.into_inner().unwrap_or_default();
        assert!(started[..2].contains(&30), "started first: {started:?}");
    }

    #[test]
    fn large_results_wait_for_the_byte_budget() {
        // Each result weighs 10 and the writer is slow: with the item window
        // alone, results would pile up towards 50; the budget of 25 stops
        // the threads once three are held.
        let (held, peak) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let r: Result<(), ()> = map(
            (0..60).collect::<Vec<_>>(),
            Window {
                jobs: 4,
                items: 50,
                bytes: 25,
                first: None,
            },
            |i| {
                let now = held.fetch_add(10, Ordering::SeqCst) + 10;
                peak.fetch_max(now, Ordering::SeqCst);
                i
            },
            |_| 10,
            |_| {
                std::thread::sleep(Duration::from_micros(300));
                held.fetch_sub(10, Ordering::SeqCst);
                Ok(())
            },
        );
        assert!(r.is_ok());
        // Over the budget only by what the threads had started (one each)
        // and the next item, which always may start.
        let peak = peak.load(Ordering::SeqCst);
        assert!(peak <= 25 + 5 * 10, "peak {peak}");
    }
}
