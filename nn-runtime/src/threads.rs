//! How many threads a training step may use: batches of at least
//! [`crate::network::SPLIT_BATCH`] samples run as two halves, on two threads when this
//! allows. Results do not depend on it (the halves and their sum are the same either way).

use std::sync::atomic::{AtomicUsize, Ordering};

/// 0 means "not set": the `NN_THREADS` environment variable, else the processor count.
static THREADS: AtomicUsize = AtomicUsize::new(0);

/// The number of threads training steps may use.
pub fn count() -> usize {
    match THREADS.load(Ordering::Relaxed) {
        0 => {
            let n = std::env::var("NN_THREADS")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
                .max(1);
            THREADS.store(n, Ordering::Relaxed);
            n
        }
        n => n,
    }
}

/// Sets the number of threads for every network in the process (at least 1).
pub fn set(threads: usize) {
    THREADS.store(threads.max(1), Ordering::Relaxed);
}

/// Runs `first` and `second` in parallel on rayon's pool when two threads are allowed,
/// else one after the other; a panic in either propagates. The pool's threads persist
/// between steps (a thread spawned per step cost about as much as the work it saved on
/// small batches).
pub fn both<A: Send, B: Send>(first: impl FnOnce() -> A + Send, second: impl FnOnce() -> B + Send) -> (A, B) {
    if count() < 2 {
        return (first(), second());
    }
    rayon::join(first, second)
}
