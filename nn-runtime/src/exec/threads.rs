//! The threads a network's work spreads over: the caller plus up to
//! `count() - 1` persistent helper threads. A batch is cut into chunks that do not depend
//! on the thread count ([`crate::exec::chunks`]); the helpers only decide which thread
//! runs which chunk, so results never depend on them.

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

/// 0 means "not set": the `NN_THREADS` environment variable, else the processor count.
static THREADS: AtomicUsize = AtomicUsize::new(0);

/// The number of threads networks may use (the caller counts as one).
pub fn count() -> usize {
    match THREADS.load(Ordering::Relaxed) {
        0 => {
            let n = std::env::var("NN_THREADS").ok().and_then(|v| v.parse().ok()).unwrap_or_else(cores).max(1);
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

/// The processors this process may run on.
/// The processors this process may use, read once (on Linux each reading parses the
/// cgroup files, too slow for every job).
fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Calls `f(i, &mut items[i])` for every item, spread over [`count`] threads (fewer
/// when there are fewer items); returns when all have run. A panic in any call
/// propagates after every call has finished. Nested or concurrent calls (a call from
/// inside `f`, or from a second user thread while the helpers are busy) run their items
/// on the calling thread, in order.
pub fn for_each_mut<T: Send, G: Fn(usize, &mut T) + Sync>(items: &mut [T], f: G) {
    let n = items.len();
    let threads = count().min(n);
    let pool = (threads > 1).then(Pool::get).and_then(Pool::claim);
    let Some(claim) = pool else {
        items.iter_mut().enumerate().for_each(|(i, item)| f(i, item));
        return;
    };
    let base = SharedItems(items.as_mut_ptr());
    let next = AtomicUsize::new(0);
    let work = || loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        if i >= n {
            break;
        }
        // SAFETY: `fetch_add` hands out each index below `n` exactly once, so this is
        // the only reference to `items[i]` while `f` runs; `items` is borrowed mutably
        // for this whole call, which returns only after every thread has left `work`.
        let item = unsafe { &mut *base.at(i) };
        f(i, item);
    };
    claim.run(threads - 1, &work);
}

/// Calls `f(start, piece)` for every piece of `data` cut into pieces of `piece` elements
/// (the last one shorter), spread over threads as [`for_each_mut`] does.
pub fn for_each_piece<T: Send, G: Fn(usize, &mut [T]) + Sync>(data: &mut [T], piece: usize, f: G) {
    let piece = piece.max(1);
    let len = data.len();
    let pieces = len.div_ceil(piece);
    let base = SharedItems(data.as_mut_ptr());
    let threads = count().min(pieces);
    let run_piece = |k: usize| {
        let start = k * piece;
        let end = (start + piece).min(len);
        // SAFETY: pieces `[k·piece, (k+1)·piece)` are disjoint, each index `k` is
        // handed out once (below), and `data` is borrowed mutably for this whole call.
        let slice = unsafe { std::slice::from_raw_parts_mut(base.at(start), end - start) };
        f(start, slice);
    };
    let pool = (threads > 1).then(Pool::get).and_then(Pool::claim);
    let Some(claim) = pool else {
        (0..pieces).for_each(run_piece);
        return;
    };
    let next = AtomicUsize::new(0);
    let work = || loop {
        let k = next.fetch_add(1, Ordering::Relaxed);
        if k >= pieces {
            break;
        }
        run_piece(k);
    };
    claim.run(threads - 1, &work);
}

/// A base pointer that threads index at distinct positions.
struct SharedItems<T>(*mut T);

impl<T> SharedItems<T> {
    /// The pointer to element `i` (a method, so closures capture the whole wrapper).
    fn at(&self, i: usize) -> *mut T {
        // SAFETY (of the pointer arithmetic): callers pass `i` within the slice.
        unsafe { self.0.add(i) }
    }
}

// SAFETY: shared between the threads of one `for_each_*` call, each of which
// dereferences only the indices it claimed; `T: Send` lets those elements be used there.
unsafe impl<T: Send> Sync for SharedItems<T> {}

/// How long a helper spins for the next job before it sleeps: longer than the work
/// between two steps of a small network (loss, gradient sum, optimizer). Only when the
/// threads fit the processors: over-subscribed, spinning takes the time of a thread
/// that has work.
const SPIN: Duration = Duration::from_micros(300);

/// The helpers and the job they are given.
struct Pool {
    /// Whether a caller is using the helpers now.
    claimed: AtomicBool,
    /// The current job, under the lock the helpers sleep on.
    job: Mutex<Posted>,
    wake: Condvar,
    /// `job.generation`, readable without the lock, for spinning helpers.
    generation: AtomicU64,
    /// Helpers of the current job that have not finished it.
    running: AtomicUsize,
    /// The first panic of a helper in the current job.
    panic: Mutex<Option<Box<dyn Any + Send>>>,
    /// Helper threads started so far.
    started: Mutex<usize>,
}

/// The job helpers `0..engaged` run, numbered by `generation`. A helper engaged in a
/// job always sees it: the job cannot finish without it.
struct Posted {
    generation: u64,
    engaged: usize,
    work: Option<Work>,
}

/// A type-erased reference to a caller's work closure.
#[derive(Clone, Copy)]
struct Work(*const (dyn Fn() + Sync + 'static));

// SAFETY: the closure behind the pointer is `Sync`; the pointer is dereferenced only by
// engaged helpers between the job's posting and their decrement of `running`, while the
// posting caller keeps the closure alive (it waits for `running` to reach zero).
unsafe impl Send for Work {}

/// A caller's exclusive use of the pool, released on drop.
struct Claim(&'static Pool);

impl Drop for Claim {
    fn drop(&mut self) {
        self.0.claimed.store(false, Ordering::Release);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing runs user code while holding these locks: poisoning cannot leave them
    // inconsistent.
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Pool {
    fn get() -> &'static Pool {
        static POOL: OnceLock<Pool> = OnceLock::new();
        POOL.get_or_init(|| Pool {
            claimed: AtomicBool::new(false),
            job: Mutex::new(Posted { generation: 0, engaged: 0, work: None }),
            wake: Condvar::new(),
            generation: AtomicU64::new(0),
            running: AtomicUsize::new(0),
            panic: Mutex::new(None),
            started: Mutex::new(0),
        })
    }

    /// The pool for this caller alone, or `None` when another caller (or this thread,
    /// nested) has it.
    fn claim(&'static self) -> Option<Claim> {
        self.claimed.compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed).ok().map(|_| Claim(self))
    }

    /// Starts helpers until there are `helpers`.
    fn ensure(&'static self, helpers: usize) {
        let mut started = lock(&self.started);
        while *started < helpers {
            let index = *started;
            std::thread::Builder::new()
                .name(format!("nn-worker-{}", index + 1))
                .spawn(move || self.serve(index))
                .expect("a worker thread starts");
            *started += 1;
        }
    }

    /// A helper's life: wait for a job that engages it, run it, repeat. It spins
    /// before sleeping only while the thread count could engage it and the threads fit
    /// the processors.
    fn serve(&'static self, index: usize) {
        let mut seen = 0u64;
        loop {
            let threads = count();
            let spin = index + 1 < threads && threads <= cores();
            let started = Instant::now();
            let mut spins = 0u32;
            while spin && self.generation.load(Ordering::Acquire) == seen {
                spins = spins.wrapping_add(1);
                if spins.is_multiple_of(64) && started.elapsed() > SPIN {
                    break;
                }
                std::hint::spin_loop();
            }
            let (generation, work) = {
                let job = lock(&self.job);
                // Jobs that do not engage this helper leave it asleep.
                let job = self
                    .wake
                    .wait_while(job, |job| job.generation == seen || index >= job.engaged)
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                (job.generation, job.work)
            };
            seen = generation;
            let work = work.expect("an engaging job has work");
            // SAFETY: this helper is engaged in job `generation`, whose caller keeps the
            // closure alive until `running` (decremented below, after the last use)
            // reaches zero; it cannot have finished without this helper.
            let result = panic::catch_unwind(AssertUnwindSafe(|| unsafe { (*work.0)() }));
            if let Err(payload) = result {
                lock(&self.panic).get_or_insert(payload);
            }
            self.running.fetch_sub(1, Ordering::Release);
        }
    }
}

impl Claim {
    /// Runs `work` on this thread and on `helpers` helper threads at once; returns when
    /// all have returned, propagating the first panic.
    fn run(self, helpers: usize, work: &(dyn Fn() + Sync)) {
        let pool = self.0;
        pool.ensure(helpers);
        // SAFETY (of the lifetime erasure): helpers use the pointer only until they
        // decrement `running`, and this function returns only after all have.
        let erased =
            unsafe { std::mem::transmute::<*const (dyn Fn() + Sync + '_), *const (dyn Fn() + Sync + 'static)>(work) };
        pool.running.store(helpers, Ordering::Relaxed);
        {
            let mut job = lock(&pool.job);
            job.generation += 1;
            job.engaged = helpers;
            job.work = Some(Work(erased));
            pool.generation.store(job.generation, Ordering::Release);
        }
        pool.wake.notify_all();
        let mine = panic::catch_unwind(AssertUnwindSafe(work));
        let spin = count() <= cores();
        let mut spins = 0u32;
        while pool.running.load(Ordering::Acquire) != 0 {
            spins = spins.saturating_add(1);
            if spin && spins < 1 << 16 {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
        lock(&pool.job).work = None;
        let theirs = lock(&pool.panic).take();
        drop(self);
        if let Err(payload) = mine {
            panic::resume_unwind(payload);
        }
        if let Some(payload) = theirs {
            panic::resume_unwind(payload);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every item visited once with its own index, on several threads; pieces cover the
    /// data; panics from any thread carried over after all finished; nested calls run
    /// serially; many jobs in a row (fewer under Miri); over-subscription. The helpers
    /// are never joined, which Miri reports as a leak at exit: tools/miri.sh runs this
    /// test on its own with `-Zmiri-ignore-leaks`, the others with the leak check.
    #[test]
    #[cfg_attr(miri, ignore = "the helper threads outlive main: tools/miri.sh runs it alone, -Zmiri-ignore-leaks")]
    fn work_spreads_over_threads_once_per_item_and_carries_panics() {
        for threads in [1, 2, 3, 7] {
            set(threads);
            let mut items: Vec<(usize, u64, Option<String>)> = (0..23).map(|i| (usize::MAX, i, None)).collect();
            for_each_mut(&mut items, |i, item| {
                item.0 = i;
                item.1 *= 3;
                item.2 = std::thread::current().name().map(str::to_owned);
            });
            for (i, item) in items.iter().enumerate() {
                assert_eq!((item.0, item.1), (i, 3 * i as u64));
            }
            let mut data = vec![1u32; 1001];
            for_each_piece(&mut data, 100, |start, piece| {
                assert!(piece.len() == 100 || start == 1000);
                piece.iter_mut().enumerate().for_each(|(k, v)| *v += (start + k) as u32);
            });
            assert!(data.iter().enumerate().all(|(i, &v)| v == i as u32 + 1));
        }
        // A helper takes part (other tests may hold the pool for a moment: then this
        // call runs on its own thread, so try a few times).
        let helped = (0..100).any(|_| {
            set(2);
            let mut names = vec![None; 16];
            for_each_mut(&mut names, |_, name| {
                std::thread::sleep(Duration::from_micros(200));
                *name = std::thread::current().name().map(str::to_owned);
            });
            names.iter().any(|n| n.as_deref() == Some("nn-worker-1"))
        });
        assert!(helped, "a helper took part");

        let visited = AtomicUsize::new(0);
        let caught = panic::catch_unwind(AssertUnwindSafe(|| {
            for_each_mut(&mut [0u8; 8], |i, _| {
                visited.fetch_add(1, Ordering::SeqCst);
                if i == 5 {
                    panic!("item 5 fails");
                }
            })
        }));
        assert!(caught.is_err());
        assert_eq!(visited.load(Ordering::SeqCst), 8, "the other items still ran");

        let mut outer = [[0u8; 4]; 4];
        for_each_mut(&mut outer, |i, inner| for_each_mut(inner, |j, v| *v = (i * 4 + j) as u8));
        assert_eq!(outer.concat(), (0..16).collect::<Vec<u8>>());

        let rounds: u64 = if cfg!(miri) { 50 } else { 5_000 };
        let mut total = 0u64;
        for round in 0..rounds {
            let mut pair = [round, round + 1];
            for_each_mut(&mut pair, |_, v| *v *= 2);
            total += pair[0] + pair[1];
        }
        assert_eq!(total, 2 * rounds * rounds);
    }
}
