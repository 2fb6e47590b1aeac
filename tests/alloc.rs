//! Steady-state forward and training steps allocate nothing on the heap, with one
//! stated exception: products too large for the packing-free kernels go to
//! `matrixmultiply`, which allocates (and frees) a packing buffer inside every call. The
//! test counts those calls on this thread and allows exactly one allocation per call;
//! any allocation of ours makes the counts differ. On a processor with AVX2 and FMA,
//! LeNet-5 and small MLPs make no such call, so their steps allocate nothing at all.

use nn::prelude::*;
use nn::runtime::kernels::gemm::gemm_calls_on_this_thread;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct CountingAllocator;

thread_local! {
    /// Only allocations made by a measuring thread count, each thread its own: the
    /// harness runs tests (and allocates) on several threads at once.
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn count_one() {
    if COUNTING.try_with(|c| c.get()).unwrap_or(false) {
        let _ = ALLOCATIONS.try_with(|a| a.set(a.get() + 1));
    }
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so
// it inherits `System`'s correctness; the only addition is a counter update, which
// neither allocates (the thread-locals are const-initialized, without destructors, and
// read with `try_with`) nor touches the memory handed out.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: same contract as ours, passed through.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` above with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_one();
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
    Mlp: [784] => linear(784, 128) -> relu -> linear(128, 64) -> sigmoid -> linear(64, 10) -> log_softmax;
    /// Wide enough that its first layer goes to matrixmultiply.
    Wide: [1024] => linear(1024, 1024) -> relu -> linear(1024, 10);
    /// A graph: a residual block with batch norm, a concat with the identity, a gate.
    Graph: [3, 8, 8] => conv(3, 8, 3, padding = 1) -> relu
        -> residual(conv(8, 8, 3, padding = 1, bias = false) -> batchnorm(8) -> relu -> conv(8, 8, 3, padding = 1)) -> relu
        -> concat(identity, conv(8, 4, 1) -> tanh)
        -> scale(global_avgpool -> conv(12, 3, 1) -> relu -> conv(3, 12, 1) -> sigmoid)
        -> global_avgpool -> flatten -> linear(12, 10);
    /// A sequence network: a stacked bidirectional LSTM, a GRU, per-step and last-step heads.
    Recurrent: [T = 12, F = 6] => lstm(6, 16, layers = 2, bidirectional = true) -> gru(32, 8) -> linear(8, 8)
        -> tanh -> last -> linear(8, 10)
}

/// Where the packing-free kernels run, LeNet-5 calls matrixmultiply not at all.
fn expect_none_or_packing(what: &str, (allocs, gemms): (u64, u64)) {
    if nn::runtime::kernels::small_gemm::available() {
        assert_eq!((allocs, gemms), (0, 0), "{what}: {allocs} allocations, {gemms} matrixmultiply calls");
    } else {
        assert_eq!(allocs, gemms, "{what}: {allocs} allocations for {gemms} matrixmultiply calls");
    }
}

/// Runs `f` and returns (heap allocations, GEMM calls) it made on this thread.
///
/// On one thread: with more, a batch's chunks run on helper threads too
/// (`nn::runtime::exec::threads`), which this per-thread count would not see.
fn measure(f: impl FnOnce()) -> (u64, u64) {
    nn::runtime::exec::threads::set(1);
    let gemms = gemm_calls_on_this_thread();
    let before = ALLOCATIONS.with(|a| a.get());
    COUNTING.with(|c| c.set(true));
    f();
    COUNTING.with(|c| c.set(false));
    (ALLOCATIONS.with(|a| a.get()) - before, gemm_calls_on_this_thread() - gemms)
}

#[test]
fn lenet5_steady_state_steps_allocate_nothing() {
    let mut net = LeNet5::new(1);
    let mut sgd = Sgd::new(0.01).momentum(0.9);
    let x = vec![0.25f32; 32 * LeNet5::INPUT_LEN];
    let labels: Vec<usize> = (0..32).map(|i| i % 10).collect();
    // Warm-up: buffers for batches of 32 and 8 (each chunk's, for forward and for a
    // training step: a smaller batch may run as fewer, larger chunks) and the
    // optimizer's momentum are allocated here.
    nn::runtime::exec::threads::set(1);
    net.train_step(&x, &labels, &SoftmaxCrossEntropy, &mut sgd).unwrap();
    net.train_step(&x[..8 * LeNet5::INPUT_LEN], &labels[..8], &SoftmaxCrossEntropy, &mut sgd).unwrap();
    net.forward(&x).unwrap();

    expect_none_or_packing(
        "forward",
        measure(|| {
            net.forward(&x).unwrap();
        }),
    );
    expect_none_or_packing(
        "training step",
        measure(|| {
            net.train_step(&x, &labels, &SoftmaxCrossEntropy, &mut sgd).unwrap();
        }),
    );
    expect_none_or_packing(
        "smaller batch",
        measure(|| {
            net.train_step(&x[..8 * LeNet5::INPUT_LEN], &labels[..8], &SoftmaxCrossEntropy, &mut sgd).unwrap();
        }),
    );
}

#[test]
fn large_products_allocate_only_matrixmultiply_packing_buffers() {
    let mut net = Wide::new(3);
    let mut sgd = Sgd::new(0.01);
    let x = vec![0.1f32; 64 * Wide::INPUT_LEN];
    let labels = [1usize; 64];
    net.train_step(&x, &labels, &SoftmaxCrossEntropy, &mut sgd).unwrap();
    let (allocs, gemms) = measure(|| {
        net.train_step(&x, &labels, &SoftmaxCrossEntropy, &mut sgd).unwrap();
    });
    assert!(gemms > 0, "the wide layer should use matrixmultiply");
    assert_eq!(allocs, gemms, "{allocs} allocations for {gemms} matrixmultiply calls");
}

#[test]
fn mlp_with_adam_allocates_only_matrixmultiply_packing_buffers() {
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
    assert_eq!(allocs, gemms, "{allocs} allocations for {gemms} matrixmultiply calls");
}

/// After a warm-up at `batch`, steady-state forwards and Adam steps at each of `batches`
/// (none larger) allocate nothing but matrixmultiply's packing buffers.
fn steady_state_allocates_nothing_of_ours<N: Network<f32>>(seed: u64, batch: usize, batches: &[usize]) {
    let mut net = N::with_seed(seed);
    let mut adam = Adam::new(1e-3);
    let x = vec![0.3f32; batch * N::INPUT_LEN];
    let labels: Vec<usize> = (0..batch).map(|i| i % 10).collect();
    nn::runtime::exec::threads::set(1);
    net.train_step(&x, &labels, &SoftmaxCrossEntropy, &mut adam).unwrap();
    net.forward(&x).unwrap();
    for &batch in batches {
        let (x, labels) = (&x[..batch * N::INPUT_LEN], &labels[..batch]);
        let forward = measure(|| {
            net.forward(x).unwrap();
        });
        let step = measure(|| {
            net.train_step(x, labels, &SoftmaxCrossEntropy, &mut adam).unwrap();
        });
        for (what, (allocs, gemms)) in [("forward", forward), ("training step", step)] {
            assert_eq!(
                allocs,
                gemms,
                "{}, batch {batch}, {what}: {allocs} allocations for {gemms} matrixmultiply calls",
                N::NAME
            );
        }
    }
}

#[test]
fn graph_steady_state_steps_allocate_nothing_of_ours() {
    steady_state_allocates_nothing_of_ours::<Graph>(4, 16, &[16]);
}

/// Recurrent layers work in the buffers the plan gives them (their saved gates and
/// scratch for a chunk of samples), over batches larger than the runtime's chunk.
#[test]
fn recurrent_steady_state_steps_allocate_nothing_of_ours() {
    steady_state_allocates_nothing_of_ours::<Recurrent>(5, 40, &[40, 1]);
}

#[test]
fn the_counter_sees_our_own_allocations() {
    let (allocs, gemms) = measure(|| {
        std::hint::black_box(vec![1u8; 100]);
    });
    assert_eq!((allocs, gemms), (1, 0));
}
