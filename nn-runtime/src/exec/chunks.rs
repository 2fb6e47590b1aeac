//! How a batch is cut into chunks: by the batch size and the network alone, never by
//! the thread or process count, so that every chunk computes the same values wherever
//! it runs, and the chunks' partial sums, added in chunk order, give the same result
//! on 1 thread, 7 threads or 3 processes × 4 threads.

use crate::error::Error;
use crate::exec::workspace::Workspace;
use crate::float::Float;
use crate::ops::batchnorm::Barrier;
use crate::rng::Rng;
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Forward FLOPs a chunk should hold (a training step does about three times this):
/// below it, per-chunk overhead (calls, short products) shows.
/// Measured: bench/README.md, "Threads".
pub const MIN_CHUNK_FLOPS: u64 = 4_000_000;

/// A chunk's forward FLOPs per parameter: each chunk computes a whole weight gradient
/// (products whose short side is the chunk) and adds it into the total.
pub const MIN_FLOPS_PER_PARAM: u64 = 256;

/// The most chunks a batch is cut into: enough for 64 threads, with each chunk's
/// gradients (one copy of the parameters) kept until they are summed.
pub const MAX_CHUNKS: usize = 64;

/// At most this many bytes of per-chunk gradient copies: more chunks than fit are
/// merged into fewer, larger ones.
pub const MAX_GRADIENT_BYTES: u128 = 1 << 30;

/// Samples per chunk where fixed (0: planned); `usize::MAX` until first read.
static FIXED: AtomicUsize = AtomicUsize::new(usize::MAX);

/// Samples per chunk fixed by [`set_samples`] or `NN_CHUNK_SAMPLES`, else `None`.
fn fixed_samples() -> Option<usize> {
    let mut n = FIXED.load(Ordering::Relaxed);
    if n == usize::MAX {
        n = std::env::var("NN_CHUNK_SAMPLES").ok().and_then(|v| v.parse().ok()).unwrap_or(0);
        FIXED.store(n, Ordering::Relaxed);
    }
    (n > 0).then_some(n)
}

/// Fixes the samples per chunk for every network in the process (0: plan them from
/// the network, the default). An experiment's knob, as `NN_CHUNK_SAMPLES` is: results
/// change with it as they do with the batch size (and still not with the thread count).
pub fn set_samples(samples: usize) {
    FIXED.store(samples, Ordering::Relaxed);
}

/// How many chunks a batch of `batch` samples is cut into, for a network of `flops`
/// forward FLOPs per sample and `params` parameters of `element_bytes` each. One chunk
/// (the whole batch, on one thread) where splitting does not pay.
pub fn count(batch: usize, flops: u64, params: usize, element_bytes: usize) -> usize {
    let flops = flops.max(1);
    let least = match fixed_samples() {
        Some(samples) => samples as u64,
        None => MIN_CHUNK_FLOPS.div_ceil(flops).max((MIN_FLOPS_PER_PARAM * params as u64).div_ceil(flops)).max(1),
    };
    // The nearest count to chunks of `least`: chunks of 2/3 of it still pay on two
    // threads (bench/README.md, "Threads").
    let by_work = ((batch as u64 + least / 2) / least).max(1) as usize;
    let gradient_bytes = (params as u128 * element_bytes as u128).max(1);
    let by_memory = (MAX_GRADIENT_BYTES / gradient_bytes).max(1) as usize;
    let most = by_work.min(MAX_CHUNKS).min(by_memory).min(batch.max(1));
    // A count that common thread counts divide, so that threads finish together (7
    // chunks on 2 threads take as long as 8).
    BALANCED.iter().copied().filter(|&n| n <= most).max().unwrap_or(1)
}

/// The chunk counts used: multiples of 2, 4 and 8 as far as they go.
const BALANCED: [usize; 11] = [1, 2, 4, 6, 8, 12, 16, 24, 32, 48, 64];

/// The samples of chunk `index` out of `count` over `batch`: as even as can be, in
/// order.
pub fn range(batch: usize, count: usize, index: usize) -> std::ops::Range<usize> {
    batch * index / count..batch * (index + 1) / count
}

/// A chunk's random stream for one pass: its own, derived from a draw of the
/// network's stream and the chunk's index, so dropout masks do not depend on which
/// thread or process runs the chunk.
pub fn stream(draw: u64, index: usize) -> Rng {
    Rng::new(draw ^ (index as u64 + 1).wrapping_mul(0xD1B5_4A32_D192_ED03))
}

/// One chunk of a batch and what it computes in: samples `start..start + samples` of
/// the batch, its own buffers, gradients and random stream, and its share of the loss.
#[doc(hidden)]
#[derive(Debug, Clone, Default)]
pub struct Chunk<F> {
    pub start: usize,
    pub samples: usize,
    pub workspace: Workspace<F>,
    pub grads: Vec<F>,
    pub rng: Option<Rng>,
    /// The chunk's mean loss times its share of the batch, or why it has none.
    pub loss: Option<Result<F, Error>>,
}

/// What a batch's chunks need from the processes they are spread over: each process
/// runs its share of the chunks, and these exchanges make every process see the same
/// whole-batch values, combined in chunk order. [`Local`] is one process;
/// `Distributed` (feature `mpi`) is many.
pub trait Collective<F> {
    /// This process's chunks among `count`: a contiguous range, possibly empty.
    fn share(&self, count: usize) -> Range<usize>;
    /// Every process's records gathered in chunk order: `mine` holds this process's
    /// chunks' records, `per_chunk` values each; `all` receives all `count` chunks'.
    fn gather(&self, mine: &[f64], per_chunk: usize, count: usize, all: &mut [f64]);
    /// The whole batch's gradients: `chunks[..local]` are this process's chunks, and on
    /// return every process has in `chunks[0].grads` the sum over all `count` chunks,
    /// element by element in chunk order (`chunks` holds at least one chunk, an idle
    /// one where `local` is 0). `spare` is a buffer as long as the gradients.
    fn sum_gradients(&self, chunks: &mut [Chunk<F>], local: usize, count: usize, spare: &mut Vec<F>);
}

/// One process: every chunk is its own.
pub struct Local;

impl<F: Float> Collective<F> for Local {
    fn share(&self, count: usize) -> Range<usize> {
        0..count
    }
    fn gather(&self, mine: &[f64], _per_chunk: usize, _count: usize, all: &mut [f64]) {
        all[..mine.len()].copy_from_slice(mine);
    }
    fn sum_gradients(&self, chunks: &mut [Chunk<F>], local: usize, _count: usize, _spare: &mut Vec<F>) {
        sum_gradients(&mut chunks[..local]);
    }
}

/// Buffers for the exchanges at barriers and for the loss and gradient sums.
#[doc(hidden)]
#[derive(Debug, Clone, Default)]
pub struct Exchange<F> {
    pub mine: Vec<f64>,
    pub all: Vec<f64>,
    pub merged: Vec<F>,
    pub coefficients: Vec<f64>,
    pub grads: Vec<F>,
}

impl<F: Float> Exchange<F> {
    /// Every chunk's `per_chunk` values, in chunk order, from this process's
    /// `chunks` (`record` picks a chunk's) and the other processes'.
    fn gather<'a>(
        &'a mut self, collective: &dyn Collective<F>, chunks: &[Chunk<F>], count: usize, per_chunk: usize,
        record: impl Fn(&Chunk<F>) -> &[f64],
    ) -> &'a [f64] {
        self.mine.clear();
        for chunk in chunks {
            self.mine.extend_from_slice(record(chunk));
        }
        self.all.resize(count * per_chunk, 0.0);
        collective.gather(&self.mine, per_chunk, count, &mut self.all);
        &self.all
    }
}

/// Batch norm's barrier in forward: every chunk's statistics (this process's
/// `chunks`, the others' through `collective`) merged in chunk order, updating the
/// running statistics in `buffers` once, and the whole batch's mean and inverse
/// deviation given to this process's chunks.
pub fn merge_statistics<F: Float>(
    barrier: &Barrier, chunks: &mut [Chunk<F>], batch: usize, count: usize, collective: &dyn Collective<F>,
    buffers: &mut [F], exchange: &mut Exchange<F>,
) {
    let per_chunk = 2 * barrier.channels;
    let stats = barrier.stats..barrier.stats + per_chunk;
    let mut merged = std::mem::take(&mut exchange.merged);
    merged.resize(per_chunk, F::ZERO);
    let all =
        exchange.gather(collective, chunks, count, per_chunk, |c| &c.workspace.partials[barrier.forward_record()]);
    let records = all.chunks(per_chunk).enumerate().map(|(i, record)| (range(batch, count, i).len(), record));
    barrier.merge_statistics(records, buffers, &mut merged);
    for chunk in chunks {
        chunk.workspace.batch_stats[stats.clone()].copy_from_slice(&merged);
    }
    exchange.merged = merged;
}

/// Batch norm's barrier in backward: every chunk's gradient sums added in chunk order,
/// and the whole batch's coefficients given to this process's chunks.
pub fn merge_gradient_sums<F: Float>(
    barrier: &Barrier, chunks: &mut [Chunk<F>], batch: usize, count: usize, collective: &dyn Collective<F>,
    training: bool, exchange: &mut Exchange<F>,
) {
    let per_chunk = 2 * barrier.channels;
    let mut coefficients = std::mem::take(&mut exchange.coefficients);
    coefficients.resize(per_chunk, 0.0);
    let all =
        exchange.gather(collective, chunks, count, per_chunk, |c| &c.workspace.partials[barrier.backward_record()]);
    if let Some(first) = chunks.first() {
        let stats = &first.workspace.batch_stats[barrier.stats..barrier.stats + per_chunk];
        barrier.merge_gradient_sums(all.chunks(per_chunk), batch, stats, training, &mut coefficients);
    }
    for chunk in chunks {
        chunk.workspace.partials[barrier.coefficients()].copy_from_slice(&coefficients);
    }
    exchange.coefficients = coefficients;
}

/// The batch's loss from its chunks' shares (this process's `chunks`, the others'
/// through `collective`), added in chunk order; a chunk without a loss counts as NaN
/// everywhere, and its error is returned where it happened.
pub fn sum_losses<F: Float>(
    chunks: &mut [Chunk<F>], count: usize, collective: &dyn Collective<F>, exchange: &mut Exchange<F>,
) -> Result<F, Error> {
    let mut error = None;
    exchange.mine.clear();
    for chunk in chunks.iter_mut() {
        let value = match chunk.loss.take().expect("every chunk ran") {
            Ok(v) => v.to_f64(),
            Err(e) => {
                error.get_or_insert(e);
                f64::NAN
            }
        };
        exchange.mine.push(value);
    }
    exchange.all.resize(count, 0.0);
    collective.gather(&exchange.mine, 1, count, &mut exchange.all);
    if let Some(error) = error {
        return Err(error);
    }
    Ok(exchange.all[..count].iter().fold(F::ZERO, |sum, &v| sum + F::from_f64(v)))
}

/// Adds every chunk's gradients after the first into the first's, chunk after chunk
/// for each element (the order of a single thread's sum), the elements spread over
/// threads.
pub fn sum_gradients<F: Float>(chunks: &mut [Chunk<F>]) {
    let Some((first, rest)) = chunks.split_first_mut() else { return };
    if rest.is_empty() {
        return;
    }
    // Pieces of 16 KiB or more: enough work per hand-over.
    let piece = (first.grads.len() / (4 * crate::exec::threads::count())).max(4096);
    crate::exec::threads::for_each_piece(&mut first.grads, piece, |start, total| {
        let len = total.len();
        for chunk in rest.iter() {
            for (t, &g) in total.iter_mut().zip(&chunk.grads[start..start + len]) {
                *t += g;
            }
        }
    });
}

/// Adds `more`'s gradients into `total`, element by element, over threads.
pub fn add_gradients<F: Float>(total: &mut [F], more: &[F]) {
    let piece = (total.len() / (4 * crate::exec::threads::count())).max(4096);
    crate::exec::threads::for_each_piece(total, piece, |start, total| {
        let len = total.len();
        for (t, &g) in total.iter_mut().zip(&more[start..start + len]) {
            *t += g;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_depend_on_the_batch_and_network_alone() {
        // LeNet-5's forward FLOPs per sample and parameters.
        let lenet = |batch| count(batch, 846_052, 61_706, 4);
        assert_eq!(lenet(1), 1);
        assert!(lenet(8) < lenet(128), "{} {}", lenet(8), lenet(128));
        assert!(lenet(100_000) <= MAX_CHUNKS);
        // A huge model: its gradient copies bound the count (2 of 512 MiB).
        assert_eq!(count(1 << 20, 1 << 40, 1 << 27, 4), 2);
        // Ranges cover the batch in order, as evenly as can be.
        for (batch, n) in [(128, 16), (130, 16), (7, 3), (5, 5)] {
            let ranges: Vec<_> = (0..n).map(|i| range(batch, n, i)).collect();
            assert_eq!(ranges[0].start, 0);
            assert_eq!(ranges[n - 1].end, batch);
            assert!(ranges.windows(2).all(|w| w[0].end == w[1].start));
            assert!(ranges.iter().all(|r| r.len() == batch / n || r.len() == batch / n + 1));
        }
        assert_ne!(stream(5, 0).next_u64(), stream(5, 1).next_u64());
    }

    #[test]
    fn gradients_sum_in_chunk_order() {
        let mut chunks: Vec<Chunk<f32>> =
            (0..3).map(|k| Chunk { grads: vec![[1.0f32, 1e8, -1e8][k]; 10_000], ..Chunk::default() }).collect();
        sum_gradients(&mut chunks);
        // ((1 + 1e8) - 1e8) in f32 is 0, (1 + (1e8 - 1e8)) is 1: chunk order, not a tree.
        assert!(chunks[0].grads.iter().all(|&g| g == 0.0));
    }
}
