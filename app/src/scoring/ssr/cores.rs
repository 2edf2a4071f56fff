//! Work spread over two threads: the showroom server has two cores or more,
//! and the manager waits for a retrain's slowest part.

use std::sync::atomic::{AtomicUsize, Ordering};

/// `per_part(items)` with the items halved, the second half on another
/// thread; the results in the items' order. Fewer than `at_least` items
/// stay on this thread (a thread costs more than they do).
pub fn halves<T: Sync, R: Send>(
    items: &[T],
    at_least: usize,
    per_part: impl Fn(&[T]) -> Vec<R> + Sync,
) -> Vec<R> {
    if items.len() < at_least.max(2) {
        return per_part(items);
    }
    let (first, second) = items.split_at(items.len() / 2);
    std::thread::scope(|s| {
        let other = s.spawn(|| per_part(second));
        let mut all = per_part(first);
        // A helper that panicked (out of memory, short of a bug): its half
        // is done here.
        all.extend(other.join().unwrap_or_else(|_| per_part(second)));
        all
    })
}

/// `job` of every item, each taken by whichever of two threads is free
/// first (for jobs of uneven size); the results in the items' order.
pub fn shared<T: Sync, R: Send>(items: &[T], job: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let work = || {
        let mut done = Vec::new();
        loop {
            let at = next.fetch_add(1, Ordering::Relaxed);
            let Some(item) = items.get(at) else {
                return done;
            };
            done.push((at, job(item)));
        }
    };
    let done = std::thread::scope(|s| {
        let helper = s.spawn(work);
        let mut done = work();
        done.extend(helper.join().unwrap_or_default());
        done
    });
    let mut out: Vec<Option<R>> = items.iter().map(|_| None).collect();
    for (at, result) in done {
        out[at] = Some(result);
    }
    // Jobs a panicked helper took and never finished are done here.
    out.into_iter()
        .zip(items)
        .map(|(result, item)| result.unwrap_or_else(|| job(item)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_the_order_of_the_items() {
        let items: Vec<u32> = (0..10_001).collect();
        let doubled = halves(&items, 100, |part| part.iter().map(|x| x * 2).collect());
        assert_eq!(doubled, items.iter().map(|x| x * 2).collect::<Vec<_>>());
        let few = halves(&items[..3], 100, |part| part.to_vec());
        assert_eq!(few, vec![0, 1, 2]);
        let squared = shared(&items[..57], |x| x * x);
        assert_eq!(squared, (0..57u32).map(|x| x * x).collect::<Vec<_>>());
        assert!(shared(&[] as &[u32], |x| *x).is_empty());
    }
}
