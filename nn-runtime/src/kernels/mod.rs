//! The numeric kernels operators are built on, each chosen per processor through
//! [`simd`]: matrix products ([`gemm`], packing-free [`small_gemm`] for small and
//! skinny shapes), products gathered straight from images ([`gathered`]), and the
//! vector `tanh` ([`tanh`]). Strided operands are described by [`view`].

#[cfg(feature = "std")]
pub mod bf16;
pub mod gathered;
pub mod gemm;
pub mod simd;
pub mod small_gemm;
pub mod tanh;
pub mod view;
