//! What training adds to a forward and backward pass: losses, optimizers and the
//! initial weights.

pub mod init;
pub mod loss;
pub mod optim;
pub mod schedule;
