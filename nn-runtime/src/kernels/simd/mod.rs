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

use std::any::TypeId;
use std::sync::OnceLock;

#[cfg(target_arch = "x86_64")]
pub(crate) mod avx2;

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
    /// The level `NN_SIMD` names; `None` for anything else.
    pub fn parse(name: &str) -> Option<Level> {
        match name.trim().to_ascii_lowercase().as_str() {
            "portable" | "none" | "scalar" => Some(Level::Portable),
            "avx2" => Some(Level::Avx2),
            "avx512" | "avx-512" => Some(Level::Avx512),
            _ => None,
        }
    }
}

/// What this processor supports, capped by `NN_SIMD` (an unknown value is ignored,
/// with a warning on stderr, rather than failing a run).
pub fn level() -> Level {
    static LEVEL: OnceLock<Level> = OnceLock::new();
    *LEVEL.get_or_init(|| {
        let detected = detect();
        match std::env::var("NN_SIMD") {
            Ok(name) => match Level::parse(&name) {
                Some(cap) => cap.min(detected),
                None => {
                    eprintln!("nn: NN_SIMD={name:?} is not one of portable, avx2, avx512; using {detected:?}");
                    detected
                }
            },
            Err(_) => detected,
        }
    })
}

/// The highest level this processor runs (detected once: the kernels' safety checks
/// ask on every call).
pub fn detect() -> Level {
    static DETECTED: OnceLock<Level> = OnceLock::new();
    *DETECTED.get_or_init(detect_now)
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

/// Every level this processor runs, lowest first: what tests compare.
pub fn levels_here() -> Vec<Level> {
    [Level::Portable, Level::Avx2, Level::Avx512].into_iter().filter(|&l| l <= detect()).collect()
}

/// The slice as `f32` if `F` is `f32`: the vector kernels exist for f32 only.
pub(crate) fn as_f32<F: 'static>(values: &[F]) -> Option<&[f32]> {
    (TypeId::of::<F>() == TypeId::of::<f32>()).then(|| {
        // SAFETY: `F` is `f32` (same TypeId), so the slice's memory is `[f32]` exactly.
        unsafe { std::slice::from_raw_parts(values.as_ptr().cast::<f32>(), values.len()) }
    })
}

/// [`as_f32`] for a unique slice.
pub(crate) fn as_f32_mut<F: 'static>(values: &mut [F]) -> Option<&mut [f32]> {
    (TypeId::of::<F>() == TypeId::of::<f32>()).then(|| {
        // SAFETY: `F` is `f32` (same TypeId); the unique borrow is carried over.
        unsafe { std::slice::from_raw_parts_mut(values.as_mut_ptr().cast::<f32>(), values.len()) }
    })
}

fn detect_now() -> Level {
    detect_at_run_time().max(compiled())
}

fn detect_at_run_time() -> Level {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        if !(has!("avx2") && has!("fma")) {
            Level::Portable
        } else if has!("avx512f") {
            Level::Avx512
        } else {
            Level::Avx2
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        Level::Portable
    }
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
