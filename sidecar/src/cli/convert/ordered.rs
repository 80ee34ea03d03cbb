//! A parallel map whose results are consumed in input order, holding a
//! bounded number of results (by count and by size): `osp convert` uses
//! every core and still writes a stream in file order with memory flat in
//! the number of files.
use std::collections::BTreeMap;
use std::sync::{Condvar, Mutex, mpsc};

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

/// Items emitted so far (`usize::MAX` once emitting stopped) and the
/// weight of the results produced but not yet emitted.
#[derive(Default)]
struct Progress {
    emitted: usize,
    held: usize,
}

/// Runs `work` over `items` on `window.jobs` threads and hands each result
/// to `emit` in the items' order, holding no more than `window` allows.
/// The first error of `emit` stops the run (items already started finish;
/// none start after) and is returned.
pub(crate) fn map<T, R, E>(
    items: Vec<T>,
    window: Window,
    work: impl Fn(T) -> R + Sync,
    weight: impl Fn(&R) -> usize + Sync,
    mut emit: impl FnMut(R) -> Result<(), E>,
) -> Result<(), E>
where
    T: Send,
    R: Send,
{
    let (jobs, ahead) = (window.jobs.max(1), window.items.max(1));
    let total = items.len();
    if jobs == 1 || total <= 1 {
        // Nothing to overlap: a thread would only add a hand-over (two
        // context switches) per item.
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
    let progress = (Mutex::new(Progress::default()), Condvar::new());
    // Each result travels with its weight, taken once by the thread that
    // made it and given back when it is emitted.
    let (tx, rx) = mpsc::channel::<(usize, usize, R)>();
    std::thread::scope(|scope| {
        for _ in 0..jobs.min(total) {
            let tx = tx.clone();
            let (head, queue, progress, work, weight) = (&head, &queue, &progress, &work, &weight);
            scope.spawn(move || {
                let produce = |(i, item): (usize, T)| {
                    let r = work(item);
                    let w = weight(&r);
                    let (lock, _) = progress;
                    lock.lock().unwrap_or_else(|p| p.into_inner()).held += w;
                    tx.send((i, w, r)).is_ok()
                };
                let head = head.lock().map(|mut h| h.take()).unwrap_or(None);
                if head.is_some_and(|h| !produce(h)) {
                    return;
                }
                loop {
                    let Some((i, item)) = queue.lock().map(|mut q| q.next()).unwrap_or(None) else {
                        return;
                    };
                    let (lock, cv) = progress;
                    let guard = lock.lock().unwrap_or_else(|p| p.into_inner());
                    let now = cv
                        .wait_while(guard, |p| {
                            p.emitted != usize::MAX
                                && (i >= p.emitted + ahead
                                    || (i > p.emitted && p.held > window.bytes))
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
        drop(tx);
        let result = emit_in_order(&rx, total, &progress, &mut emit);
        if result.is_err() {
            // Wake and stop the workers still waiting for their turn.
            progress.0.lock().unwrap_or_else(|p| p.into_inner()).emitted = usize::MAX;
            progress.1.notify_all();
        }
        result
    })
}

fn emit_in_order<R, E>(
    rx: &mpsc::Receiver<(usize, usize, R)>,
    total: usize,
    (lock, cv): &(Mutex<Progress>, Condvar),
    emit: &mut impl FnMut(R) -> Result<(), E>,
) -> Result<(), E> {
    let mut pending = BTreeMap::new();
    let mut next = 0;
    while next < total {
        let Ok((i, w, r)) = rx.recv() else {
            break; // every worker gone: nothing more will come
        };
        pending.insert(i, (w, r));
        while let Some((w, r)) = pending.remove(&next) {
            emit(r)?;
            next += 1;
            let mut p = lock.lock().unwrap_or_else(|p| p.into_inner());
            p.emitted = next;
            p.held = p.held.saturating_sub(w);
            drop(p);
            cv.notify_all();
        }
    }
    Ok(())
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
