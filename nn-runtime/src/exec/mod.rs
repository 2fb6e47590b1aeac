//! Running a generated network: the [`network::Network`] trait it implements (steps,
//! batch splitting, weights), the buffers it computes in, the helper thread, and the
//! summary table.

pub mod chunks;
pub mod network;
pub mod summary;
pub mod threads;
pub mod workspace;
