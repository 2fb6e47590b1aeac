//! Steady-state forward and training steps allocate nothing on the heap, with one
//! stated exception: `matrixmultiply` allocates (and frees) a packing buffer inside
//! every GEMM call. The test counts GEMM calls on this thread and allows exactly one
//! allocation per call; any allocation of ours makes the counts differ.

use nn::prelude::*;
use nn::runtime::gemm::gemm_calls_on_this_thread;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

struct CountingAllocator;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// Only allocations made by the measuring thread count; the test harness's own
    /// threads allocate at will.
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so
// it inherits `System`'s correctness; the only addition is a counter update, which
// neither allocates (the thread-local is const-initialized, with no destructor) nor
// touches the memory handed out.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.try_with(|c| c.get()).unwrap_or(false) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as ours, passed through.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` above with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.try_with(|c| c.get()).unwrap_or(false) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: `ptr` came from `System` with `layout`; the caller upholds the rest.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

network! {
    LeNet5: [1, 32, 32] => conv(1, 6, 5) -> tanh -> avgpool(2)
        -> conv(6, 16, 5) -> tanh -> avgpool(2) -> conv(16, 120, 5) -> tanh
        -> flatten -> linear(120, 84) -> tanh -> linear(84, 10);
    Mlp: [784] => linear(784, 128) -> relu -> linear(128, 64) -> sigmoid -> linear(64, 10) -> log_softmax
}

/// Runs `f` and returns (heap allocations, GEMM calls) it made on this thread.
fn measure(f: impl FnOnce()) -> (u64, u64) {
    let gemms = gemm_calls_on_this_thread();
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    COUNTING.with(|c| c.set(true));
    f();
    COUNTING.with(|c| c.set(false));
    (ALLOCATIONS.load(Ordering::Relaxed) - before, gemm_calls_on_this_thread() - gemms)
}

#[test]
fn steady_state_steps_allocate_only_gemm_packing_buffers() {
    let mut net = LeNet5::new(1);
    let mut sgd = Sgd::new(0.01).momentum(0.9);
    let x = vec![0.25f32; 32 * LeNet5::INPUT_LEN];
    let labels: Vec<usize> = (0..32).map(|i| i % 10).collect();
    // Warm-up: buffers for batch 32 and the optimizer's momentum are allocated here.
    net.train_step(&x, &labels, &SoftmaxCrossEntropy, &mut sgd).unwrap();

    let (allocs, gemms) = measure(|| {
        net.forward(&x).unwrap();
    });
    assert!(gemms > 0);
    assert_eq!(allocs, gemms, "forward: {allocs} allocations for {gemms} GEMM calls");

    let (allocs, gemms) = measure(|| {
        net.train_step(&x, &labels, &SoftmaxCrossEntropy, &mut sgd).unwrap();
    });
    assert_eq!(allocs, gemms, "training step: {allocs} allocations for {gemms} GEMM calls");

    // A smaller batch reuses the larger batch's buffers.
    let (allocs, gemms) = measure(|| {
        net.train_step(&x[..8 * LeNet5::INPUT_LEN], &labels[..8], &SoftmaxCrossEntropy, &mut sgd).unwrap();
    });
    assert_eq!(allocs, gemms, "smaller batch: {allocs} allocations for {gemms} GEMM calls");
}

#[test]
fn mlp_with_adam_allocates_only_gemm_packing_buffers() {
    let mut net = Mlp::new(2);
    let mut adam = Adam::new(1e-3);
    let x = vec![0.5f32; 16 * Mlp::INPUT_LEN];
    let labels = [3usize; 16];
    net.train_step(&x, &labels, &SoftmaxCrossEntropy, &mut adam).unwrap();
    let (allocs, gemms) = measure(|| {
        for _ in 0..3 {
            net.train_step(&x, &labels, &SoftmaxCrossEntropy, &mut adam).unwrap();
        }
    });
    assert!(gemms > 0);
    assert_eq!(allocs, gemms);
}

#[test]
fn the_counter_sees_our_own_allocations() {
    let (allocs, gemms) = measure(|| {
        std::hint::black_box(vec![1u8; 100]);
    });
    assert_eq!((allocs, gemms), (1, 0));
}
