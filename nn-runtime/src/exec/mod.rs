//! Running a generated network: the [`network::Network`] trait it implements (steps,
//! batch splitting, weights), the buffers it computes in, the helper thread, and the
//! summary table, and the training loop ([`fit`]).

pub mod chunks;
#[cfg(feature = "mpi")]
pub mod distributed;
pub mod fit;
pub mod network;
pub mod summary;
pub mod threads;
pub mod workspace;
