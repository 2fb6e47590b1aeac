//! Data-parallel training over MPI (feature `mpi`, through rsmpi), as Horovod and
//! PyTorch's DDP train: every process holds the whole model, runs its share of each
//! batch and the processes add their gradients. Here the shares are the batch's chunks
//! ([`crate::exec::chunks`]), which depend on the batch and the network alone, and
//! every sum is taken in chunk order, so N processes × M threads reach the weights of
//! 1 process × 1 thread bit for bit:
//!
//! - batch norm's statistics and gradient sums: every process's chunk records are
//!   gathered (`MPI_Allgatherv`) and merged in chunk order on every process;
//! - the loss: the chunks' shares gathered likewise and added in chunk order;
//! - the gradients ([`Reduction::Exact`], the default): a chain in rank order — the
//!   first process adds its chunks' gradients, passes the running sum to the next,
//!   which adds its own chunks' one by one, and so on; the last broadcasts the total.
//!   [`Reduction::AllReduce`] uses `MPI_Allreduce` instead: faster on many processes,
//!   but MPI fixes no summation order, so results then depend on the process count.
//!
//!   MPI also only recommends, without requiring, that every process gets the same
//!   bits from it; MPICH and Open MPI do on one machine, but `Exact` is the safe choice.
//!
//! A process that dies ends the others: MPI's launcher (`mpiexec`) stops the job, so
//! no process waits forever in an exchange. An error only one process sees (a file it
//! cannot write) would leave the others waiting in the next exchange: end the job with
//! [`Distributed::abort`] instead of returning.

use crate::error::Error;
use crate::exec::chunks::{self, Chunk, Collective};
use crate::exec::network::Network;
use crate::float::Float;
use crate::rng::Rng;
use crate::train::loss::Loss;
use crate::train::optim::Optimizer;
use mpi::collective::SystemOperation;
use mpi::datatype::{Equivalence, PartitionMut};
use mpi::environment::Universe;
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;
use mpi::Count;
use std::ops::Range;

/// How the processes' gradients are added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reduction {
    /// In chunk order, through a chain of the processes: the same result for any
    /// process and thread count.
    #[default]
    Exact,
    /// `MPI_Allreduce` of each process's own sum: MPI picks the order.
    AllReduce,
}

/// The processes of an MPI job, training one network together. Create it once, at the
/// start of `main` (it initializes MPI, and finalizes it when dropped); every process
/// then builds the same network, calls [`Distributed::broadcast`], and passes the same
/// whole batches to [`Distributed::train_step`].
pub struct Distributed {
    world: SimpleCommunicator,
    reduction: Reduction,
    // Last: MPI is finalized when this drops, after the communicator.
    _universe: Universe,
}

impl Distributed {
    /// Initializes MPI (once per process).
    pub fn init() -> Result<Self, Error> {
        // Funneled: only this thread calls MPI, but the process has worker threads.
        let (universe, threading) = mpi::initialize_with_threading(mpi::Threading::Funneled)
            .ok_or_else(|| Error::Distributed { message: "MPI is already initialized in this process".to_string() })?;
        if threading < mpi::Threading::Funneled {
            return Err(Error::Distributed {
                message: format!("this MPI offers {threading:?} threading; worker threads need Funneled"),
            });
        }
        let world = universe.world();
        Ok(Distributed { world, reduction: Reduction::Exact, _universe: universe })
    }

    /// Chooses how gradients are added ([`Reduction::Exact`] unless set).
    pub fn with_reduction(mut self, reduction: Reduction) -> Self {
        self.reduction = reduction;
        self
    }

    /// This process's rank, 0 to `size() - 1`.
    pub fn rank(&self) -> usize {
        self.world.rank() as usize
    }

    /// The number of processes.
    pub fn size(&self) -> usize {
        self.world.size() as usize
    }

    /// Whether this is rank 0, the one that writes files and prints.
    pub fn is_root(&self) -> bool {
        self.rank() == 0
    }

    /// Ends every process of the job with exit status `code` (`MPI_Abort`): what a
    /// process that meets an error the others do not see must do, since returning
    /// would leave them waiting in the next exchange.
    pub fn abort(&self, code: i32) -> ! {
        self.world.abort(code)
    }

    /// Waits until every process has come here.
    pub fn barrier(&self) {
        self.world.barrier();
    }

    /// Rank 0's parameters, buffers and dropout stream, copied to every process: call it
    /// once after building (or loading) the network, before the first step.
    pub fn broadcast<F: Float + Equivalence, N: Network<F>>(&self, net: &mut N) {
        let root = self.world.process_at_rank(0);
        let parts = net.__parts();
        root.broadcast_into(&mut parts.params[..]);
        root.broadcast_into(&mut parts.buffers[..]);
        let mut state = parts.rng.state();
        root.broadcast_into(&mut state[..]);
        *parts.rng = Rng::from_state(state).expect("rank 0's generator state is a reachable one");
    }

    /// [`Network::loss_and_grads`] on a whole batch that every process passes alike,
    /// each running its share of the chunks: every process ends with the whole batch's
    /// loss and gradients.
    pub fn loss_and_grads<F, N, L, T>(&self, net: &mut N, input: &[F], target: &T, loss: &L) -> Result<F, Error>
    where
        F: Float + Equivalence,
        N: Network<F>,
        L: Loss<F>,
        T: AsRef<L::Target> + ?Sized,
    {
        net.__loss_and_grads_across(
            input,
            target.as_ref(),
            loss,
            &Across { world: &self.world, reduction: self.reduction },
        )
    }

    /// [`Network::train_step`] on a whole batch that every process passes alike: the
    /// same update on every process.
    pub fn train_step<F, N, L, T, O>(
        &self, net: &mut N, input: &[F], target: &T, loss: &L, optimizer: &mut O,
    ) -> Result<F, Error>
    where
        F: Float + Equivalence,
        N: Network<F>,
        L: Loss<F>,
        T: AsRef<L::Target> + ?Sized,
        O: Optimizer<F>,
    {
        optimizer.check()?;
        let value = self.loss_and_grads(net, input, target, loss)?;
        let parts = net.__parts();
        optimizer.step(parts.params, parts.grads);
        Ok(value)
    }
}

/// One step's view of the job.
struct Across<'a> {
    world: &'a SimpleCommunicator,
    reduction: Reduction,
}

impl Across<'_> {
    /// Rank `rank`'s chunks among `count`.
    fn share_of(&self, rank: usize, count: usize) -> Range<usize> {
        chunks::range(count, self.world.size() as usize, rank)
    }
}

impl<F: Float + Equivalence> Collective<F> for Across<'_> {
    fn share(&self, count: usize) -> Range<usize> {
        self.share_of(self.world.rank() as usize, count)
    }

    fn gather(&self, mine: &[f64], per_chunk: usize, count: usize, all: &mut [f64]) {
        let size = self.world.size() as usize;
        let counts: Vec<Count> = (0..size).map(|r| (self.share_of(r, count).len() * per_chunk) as Count).collect();
        let displacements: Vec<Count> =
            (0..size).map(|r| (self.share_of(r, count).start * per_chunk) as Count).collect();
        let mut partition = PartitionMut::new(&mut all[..count * per_chunk], counts, displacements);
        self.world.all_gather_varcount_into(mine, &mut partition);
    }

    fn sum_gradients(&self, chunks: &mut [Chunk<F>], local: usize, count: usize, spare: &mut Vec<F>) {
        let (rank, size) = (self.world.rank() as usize, self.world.size() as usize);
        if self.reduction == Reduction::AllReduce {
            chunks::sum_gradients(&mut chunks[..local]);
            if local == 0 {
                chunks[0].grads.fill(F::ZERO);
            }
            spare.resize(chunks[0].grads.len(), F::ZERO);
            self.world.all_reduce_into(&chunks[0].grads[..], &mut spare[..], SystemOperation::sum());
            std::mem::swap(&mut chunks[0].grads, spare);
            return;
        }
        // The chain runs from the rank holding chunk 0 to the one holding the last.
        let first = (0..size).find(|&r| !self.share_of(r, count).is_empty()).unwrap_or(0);
        let last = (0..size).rev().find(|&r| !self.share_of(r, count).is_empty()).unwrap_or(0);
        if (first..=last).contains(&rank) {
            if rank == first {
                chunks::sum_gradients(&mut chunks[..local]);
            } else {
                spare.resize(chunks[0].grads.len(), F::ZERO);
                self.world.process_at_rank(rank as i32 - 1).receive_into(&mut spare[..]);
                for chunk in &chunks[..local] {
                    chunks::add_gradients(spare, &chunk.grads);
                }
                std::mem::swap(&mut chunks[0].grads, spare);
            }
            if rank < last {
                self.world.process_at_rank(rank as i32 + 1).send(&chunks[0].grads[..]);
            }
        }
        self.world.process_at_rank(last as i32).broadcast_into(&mut chunks[0].grads[..]);
    }
}
