//! Which vector instructions the kernels use: the one dispatch every kernel family
//! goes through. The level is detected once per process ([`level`]); each family has
//! a safe entry that asks for it and an `*_at(level, …)` form that asserts the
//! processor runs that level and then calls the kernel written for it (one file per
//! instruction set beside the family's portable loop). The tests run every level the
//! processor has ([`levels_here`]) against the portable loops. Builds whose target
//! already enables a level (`-C target-feature`, `-C target-cpu`) have it without
//! detection ([`compiled`]).
//!
//! `NN_SIMD=portable|avx2|avx512` caps the level: to compare the paths on one machine,
//! or to get the same bits from machines with different vector units (each path is
//! tested against the scalar reference, but they round differently in the last bits).
//!
//! The product kernels (the `gathered` and `small_gemm` families) come in 8-lane (AVX2)
//! and 16-lane (AVX-512) register tiles; [`tiles`] picks 16 lanes only where the
//! processor runs 512-bit FMAs at full width ([`Cpu::wide_fma`], from CPUID's vendor,
//! family and model), and `NN_TILES=avx2|avx512` overrides that. Cache-sized budgets
//! (how many samples' columns or staged outputs a chunk holds, which products skip
//! packing) follow [`caches`]: CPUID's sizes, or `NN_CACHE=L1D,L2` (`48K,2M`).
//! [`Selection`] reports all of it.

use core::any::TypeId;

#[cfg(all(feature = "std", target_arch = "x86_64", target_os = "linux"))]
mod amx;
#[cfg(target_arch = "x86_64")]
pub(crate) mod avx2;
#[cfg(target_arch = "x86_64")]
pub(crate) mod avx512;
#[cfg(feature = "std")]
pub mod cpu;
#[cfg(feature = "std")]
mod detected;

#[cfg(feature = "std")]
pub use cpu::{Cpu, Features};
#[cfg(feature = "std")]
pub use detected::{
    amx_chosen, amx_usable, bf16_available, caches, cpu, detect, level, levels_here, selection, tiles, Selection,
};

/// Vector instruction sets, in the order each extends the one before.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Plain Rust, whatever the compiler vectorizes for the build target.
    Portable,
    /// AVX2 and FMA: the hand-written 8-lane kernels.
    Avx2,
    /// AVX-512F on top: 16-lane kernels where they were measured faster.
    Avx512,
}

impl Level {
    /// The level `NN_SIMD` names (any case); `None` for anything else.
    pub fn parse(name: &str) -> Option<Level> {
        let name = name.trim();
        let is = |word: &str| name.eq_ignore_ascii_case(word);
        if is("portable") || is("none") || is("scalar") {
            Some(Level::Portable)
        } else if is("avx2") {
            Some(Level::Avx2)
        } else if is("avx512") || is("avx-512") {
            Some(Level::Avx512)
        } else {
            None
        }
    }
}

/// Data cache sizes in bytes: L1d and L2 per core, L3 shared (0 where absent).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Caches {
    pub l1d: usize,
    pub l2: usize,
    pub l3: usize,
}

impl Caches {
    /// What the budgets assume when CPUID gives nothing (or cannot be asked): 32 KiB
    /// L1d, 1 MiB L2 (Zen 4, Skylake-SP and most server cores of the last years have at
    /// least this).
    pub const DEFAULT: Caches = Caches { l1d: 32 * 1024, l2: 1024 * 1024, l3: 0 };
}

/// Without `std`: the build target's level (no run-time detection).
#[cfg(not(feature = "std"))]
pub fn level() -> Level {
    compiled()
}

/// Without `std`: the build target's level.
#[cfg(not(feature = "std"))]
pub fn detect() -> Level {
    compiled()
}

/// Without `std`: 8-lane tiles at most (the processor's FMA width is unknown).
#[cfg(not(feature = "std"))]
pub fn tiles() -> Level {
    compiled().min(Level::Avx2)
}

/// Without `std`, in the unit tests: the levels up to the build target's.
#[cfg(all(not(feature = "std"), test))]
pub fn levels_here() -> Vec<Level> {
    [Level::Portable, Level::Avx2, Level::Avx512].into_iter().filter(|&l| l <= compiled()).collect()
}

/// Without `std`: the default sizes.
#[cfg(not(feature = "std"))]
pub fn caches() -> Caches {
    Caches::DEFAULT
}

/// The highest level the build target guarantees, known at compile time: what a build
/// without run-time detection can use.
pub const fn compiled() -> Level {
    if cfg!(all(target_arch = "x86_64", target_feature = "avx512f", target_feature = "avx2", target_feature = "fma")) {
        Level::Avx512
    } else if cfg!(all(target_arch = "x86_64", target_feature = "avx2", target_feature = "fma")) {
        Level::Avx2
    } else {
        Level::Portable
    }
}

/// The slice as `f32` if `F` is `f32`: the vector kernels exist for f32 only.
pub(crate) fn as_f32<F: 'static>(values: &[F]) -> Option<&[f32]> {
    (TypeId::of::<F>() == TypeId::of::<f32>()).then(|| {
        // SAFETY: `F` is `f32` (same TypeId), so the slice's memory is `[f32]` exactly.
        unsafe { core::slice::from_raw_parts(values.as_ptr().cast::<f32>(), values.len()) }
    })
}

/// [`as_f32`] for a unique slice.
pub(crate) fn as_f32_mut<F: 'static>(values: &mut [F]) -> Option<&mut [f32]> {
    (TypeId::of::<F>() == TypeId::of::<f32>()).then(|| {
        // SAFETY: `F` is `f32` (same TypeId); the unique borrow is carried over.
        unsafe { core::slice::from_raw_parts_mut(values.as_mut_ptr().cast::<f32>(), values.len()) }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_levels_are_ordered() {
        assert_eq!(Level::parse(" AVX2 "), Some(Level::Avx2));
        assert_eq!(Level::parse("avx512"), Some(Level::Avx512));
        assert_eq!(Level::parse("portable"), Some(Level::Portable));
        assert_eq!(Level::parse("sse"), None);
        assert!(Level::Portable < Level::Avx2 && Level::Avx2 < Level::Avx512);
        assert!(level() <= detect());
        assert!(tiles() <= level());
    }

    /// The checks that run the vector kernels (tools/miri.sh, tools/asan.sh) set
    /// `NN_EXPECT_SIMD` to the level they mean to test: the run fails, rather than
    /// testing the portable loops again, if that level is not the one running. A build
    /// whose target enables AVX2 (Miri's AVX2 configuration) runs at least AVX2.
    #[test]
    fn the_level_a_check_expects_is_the_one_running() {
        if let Ok(name) = std::env::var("NN_EXPECT_SIMD") {
            let expected = Level::parse(&name).unwrap_or_else(|| panic!("NN_EXPECT_SIMD={name:?} names no level"));
            assert_eq!(level(), expected, "NN_EXPECT_SIMD={name}: detected {:?}, compiled {:?}", detect(), compiled());
        }
        if cfg!(all(target_arch = "x86_64", target_feature = "avx2", target_feature = "fma")) {
            assert!(detect() >= Level::Avx2);
        }
    }
}
