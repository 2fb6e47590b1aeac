//! One module per operator, forward and backward, every dimension a const generic (or
//! a geometry type) so each layer gets its own copy of the loops.

pub mod activation;
pub mod batchnorm;
pub mod conv2d;
pub mod conv_transpose2d;
pub mod dropout;
pub mod linear;
pub mod merge;
pub mod pool2d;
pub mod recurrent;
pub mod sequence;
pub mod softmax;
pub mod upsample;
