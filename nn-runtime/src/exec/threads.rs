//! How many threads a training step may use: batches of at least
//! [`crate::exec::network::SPLIT_BATCH`] samples run as two halves, on two threads when this
//! allows. Results do not depend on it (the halves and their sum are the same either way).

use std::cell::UnsafeCell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

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

/// Runs `first` here and `second` on the helper thread when two threads are allowed
/// (and the helper is free), else one after the other; a panic in either propagates,
/// after both have finished.
///
/// The helper is one persistent thread that spins briefly after each job before it
/// sleeps, so consecutive training steps hand over in well under a microsecond: waking
/// a sleeping thread (rayon's pool, or a thread spawned per step) cost a sizeable
/// fraction of a LeNet-5 half-step (measurements: bench/README.md, "Threads").
pub fn both<A, B: Send, G: FnOnce() -> B + Send>(first: impl FnOnce() -> A, second: G) -> (A, B) {
    if count() < 2 {
        return (first(), second());
    }
    let helper = Helper::get();
    if helper.state.compare_exchange(IDLE, CLAIMED, Ordering::Acquire, Ordering::Relaxed).is_err() {
        // Busy: another caller's job, or this is the helper itself (a nested call).
        return (first(), second());
    }
    let pending = Pending { task: UnsafeCell::new(Some(second)), result: UnsafeCell::new(None) };
    let job = Job { data: (&pending as *const Pending<G, B>).cast(), run: Pending::<G, B>::run };
    {
        let mut slot = helper.job.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        *slot = Some(job);
        helper.state.store(POSTED, Ordering::Release);
    }
    helper.wake.notify_one();
    // `first` may panic; `pending` must outlive the helper's use of it either way.
    let a = panic::catch_unwind(AssertUnwindSafe(first));
    let mut spins = 0u32;
    while helper.state.load(Ordering::Acquire) != DONE {
        spins += 1;
        if spins < 1 << 16 {
            std::hint::spin_loop();
        } else {
            std::thread::yield_now();
        }
    }
    // SAFETY: DONE (acquired above) is stored by the helper after its last access to
    // `pending`; from here on this thread is the only one touching it.
    let b = unsafe { (*pending.result.get()).take() };
    helper.state.store(IDLE, Ordering::Release);
    match (a, b.expect("the helper ran the job")) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(payload), _) | (_, Err(payload)) => panic::resume_unwind(payload),
    }
}

/// The helper's states: free; claimed by a caller writing a job; a job waits; done.
const IDLE: u8 = 0;
const CLAIMED: u8 = 1;
const POSTED: u8 = 2;
const DONE: u8 = 3;

/// How long the helper spins for the next job before it sleeps: longer than the work
/// between two steps of a small network (loss, gradient sum, optimizer).
const SPIN: Duration = Duration::from_micros(300);

struct Helper {
    state: AtomicU8,
    job: Mutex<Option<Job>>,
    wake: Condvar,
}

/// A type-erased pointer to a [`Pending`] on a caller's stack, and the function that
/// runs it.
#[derive(Clone, Copy)]
struct Job {
    data: *const (),
    run: unsafe fn(*const ()),
}

// SAFETY: a `Job` is only created by `both`, from a `Pending` whose task and result are
// `Send`; the pointer is dereferenced only by the helper between POSTED and DONE, while
// `both` keeps the `Pending` alive and does not touch it.
unsafe impl Send for Job {}

/// `second`'s closure and, once it has run, its result, on the caller's stack.
struct Pending<G, B> {
    task: UnsafeCell<Option<G>>,
    result: UnsafeCell<Option<std::thread::Result<B>>>,
}

impl<G: FnOnce() -> B, B> Pending<G, B> {
    /// # Safety
    /// `data` points to a live `Pending<G, B>` that no other thread touches until the
    /// caller sees DONE.
    unsafe fn run(data: *const ()) {
        // SAFETY: per the contract above, this thread has exclusive access.
        unsafe {
            let pending = &*data.cast::<Self>();
            let task = (*pending.task.get()).take().expect("a job runs once");
            *pending.result.get() = Some(panic::catch_unwind(AssertUnwindSafe(task)));
        }
    }
}

impl Helper {
    /// The helper, started on first use.
    fn get() -> &'static Helper {
        static HELPER: OnceLock<&'static Helper> = OnceLock::new();
        HELPER.get_or_init(|| {
            let helper: &'static Helper =
                Box::leak(Box::new(Helper { state: AtomicU8::new(IDLE), job: Mutex::new(None), wake: Condvar::new() }));
            std::thread::Builder::new()
                .name("nn-helper".into())
                .spawn(move || helper.serve())
                .expect("the helper thread starts");
            helper
        })
    }

    fn serve(&self) {
        loop {
            let started = Instant::now();
            let mut spins = 0u32;
            while self.state.load(Ordering::Acquire) != POSTED {
                spins = spins.wrapping_add(1);
                if !spins.is_multiple_of(64) || started.elapsed() < SPIN {
                    std::hint::spin_loop();
                    continue;
                }
                let slot = self.job.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                let _slot = self
                    .wake
                    .wait_while(slot, |_| self.state.load(Ordering::Acquire) != POSTED)
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                break;
            }
            let job = self.job.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take();
            let job = job.expect("a posted job");
            // SAFETY: `both` posted this job and waits, keeping its `Pending` alive and
            // untouched, until the DONE stored below.
            unsafe { (job.run)(job.data) };
            self.state.store(DONE, Ordering::Release);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Borrowed data on both sides, results returned, panics from either side carried
    /// over after both finished, nested calls, and many hand-overs in a row (fewer under
    /// Miri). The helper thread is never joined, which Miri reports as a leak at exit:
    /// tools/miri.sh runs this test on its own with `-Zmiri-ignore-leaks`, the others
    /// with the leak check.
    #[test]
    #[cfg_attr(miri, ignore = "the helper thread outlives main: tools/miri.sh runs it alone, -Zmiri-ignore-leaks")]
    fn both_runs_borrowed_work_on_two_threads_and_carries_panics() {
        set(2);
        let mut halves = [vec![1u64; 1000], vec![2u64; 1000]];
        let [left, right] = &mut halves;
        let (a, b) = both(
            || {
                left.iter_mut().for_each(|v| *v *= 3);
                left.iter().sum::<u64>()
            },
            || {
                right.iter_mut().for_each(|v| *v *= 5);
                (right.iter().sum::<u64>(), std::thread::current().name().map(str::to_owned))
            },
        );
        assert_eq!((a, b.0), (3000, 10_000));
        assert_eq!(b.1.as_deref(), Some("nn-helper"));
        assert_eq!(halves[0][999] + halves[1][999], 13);

        let second_ran = std::sync::atomic::AtomicBool::new(false);
        let caught = panic::catch_unwind(AssertUnwindSafe(|| {
            both(|| panic!("first fails"), || second_ran.store(true, Ordering::SeqCst))
        }));
        assert!(caught.is_err() && second_ran.load(Ordering::SeqCst));
        let caught = panic::catch_unwind(AssertUnwindSafe(|| both(|| 1, || -> u32 { panic!("second fails") })));
        assert!(caught.is_err());

        let nested = both(|| both(|| 1, || 2), || both(|| 3, || 4));
        assert_eq!(nested, ((1, 2), (3, 4)));
        let rounds: u64 = if cfg!(miri) { 100 } else { 10_000 };
        let total: u64 = (0..rounds)
            .map(|i| {
                let (x, y) = both(|| i, || i + 1);
                x + y
            })
            .sum();
        assert_eq!(total, rounds * rounds);
    }
}
