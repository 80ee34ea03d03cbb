//! A parallel map whose results are consumed in input order, with at most
//! `window` results held at once: `osp convert` uses every core and still
//! writes a stream in file order with memory flat in the number of files.
use std::collections::BTreeMap;
use std::sync::{Condvar, Mutex, mpsc};

/// Runs `work` over `items` on `jobs` threads and hands each result to
/// `emit` in the items' order. A worker does not start item `i` until item
/// `i - window` has been emitted, except item `first`, started before all
/// others (the largest: started last, it would keep one thread busy while
/// the others wait at the window; one more result may then be held). The
/// first error of `emit` stops the run (items already started finish; none
/// start after) and is returned.
pub(crate) fn map<T, R, E>(
    items: Vec<T>,
    (jobs, window, first): (usize, usize, Option<usize>),
    work: impl Fn(T) -> R + Sync,
    mut emit: impl FnMut(R) -> Result<(), E>,
) -> Result<(), E>
where
    T: Send,
    R: Send,
{
    let (jobs, window) = (jobs.max(1), window.max(1));
    let total = items.len();
    if jobs == 1 || total <= 1 {
        // Nothing to overlap: a thread would only add a hand-over (two
        // context switches) per item.
        return items.into_iter().try_for_each(|item| emit(work(item)));
    }
    let mut indexed: Vec<(usize, T)> = items.into_iter().enumerate().collect();
    let head = Mutex::new(first.filter(|f| *f < total).map(|f| indexed.remove(f)));
    let queue = Mutex::new(indexed.into_iter());
    // How many results were emitted; `usize::MAX` once emitting stopped.
    let emitted = (Mutex::new(0usize), Condvar::new());
    let (tx, rx) = mpsc::channel::<(usize, R)>();
    std::thread::scope(|scope| {
        for _ in 0..jobs.min(total) {
            let tx = tx.clone();
            let (head, queue, emitted, work) = (&head, &queue, &emitted, &work);
            scope.spawn(move || {
                let head = head.lock().map(|mut h| h.take()).unwrap_or(None);
                if let Some((i, item)) = head
                    && tx.send((i, work(item))).is_err()
                {
                    return;
                }
                loop {
                    let Some((i, item)) = queue.lock().map(|mut q| q.next()).unwrap_or(None) else {
                        return;
                    };
                    let (lock, cv) = emitted;
                    let guard = lock.lock().unwrap_or_else(|p| p.into_inner());
                    let done = cv
                        .wait_while(guard, |e| *e != usize::MAX && i >= *e + window)
                        .unwrap_or_else(|p| p.into_inner());
                    if *done == usize::MAX {
                        return;
                    }
                    drop(done);
                    if tx.send((i, work(item))).is_err() {
                        return;
                    }
                }
            });
        }
        drop(tx);
        let result = emit_in_order(&rx, total, &emitted, &mut emit);
        if result.is_err() {
            // Wake and stop the workers still waiting for their turn.
            *emitted.0.lock().unwrap_or_else(|p| p.into_inner()) = usize::MAX;
            emitted.1.notify_all();
        }
        result
    })
}

fn emit_in_order<R, E>(
    rx: &mpsc::Receiver<(usize, R)>,
    total: usize,
    (lock, cv): &(Mutex<usize>, Condvar),
    emit: &mut impl FnMut(R) -> Result<(), E>,
) -> Result<(), E> {
    let mut pending = BTreeMap::new();
    let mut next = 0;
    while next < total {
        let Ok((i, r)) = rx.recv() else {
            break; // every worker gone: nothing more will come
        };
        pending.insert(i, r);
        while let Some(r) = pending.remove(&next) {
            emit(r)?;
            next += 1;
            *lock.lock().unwrap_or_else(|p| p.into_inner()) = next;
            cv.notify_all();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::map;

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
                (c.jobs, c.window, None),
                |i| {
                    std::thread::sleep(Duration::from_micros(((c.items - i) % 7) as u64 * 50));
                    i * 2
                },
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
            (4, 3, None),
            |i| {
                let now = live.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                i
            },
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
            (2, 4, None),
            |i| {
                done.fetch_add(1, Ordering::SeqCst);
                i
            },
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
            (2, 4, Some(30)),
            |i| {
                started.lock().map(|mut s| s.push(i)).ok();
                if i == 30 {
                    std::thread::sleep(Duration::from_millis(20));
                }
                i
            },
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
}
