//! The kernel choice of this process, made once from what the processor reports
//! (CPUID, through [`super::cpu`]) and the `NN_*` overrides: needs `std` (run-time
//! feature detection, the environment, `OnceLock`). Without `std`, [`super`] answers
//! from the build target's features alone.

use super::cpu::{self, Caches, Cpu};
use super::{compiled, Level};
use std::sync::OnceLock;

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

/// Whether this process may run AMX tiles (AMX-TILE and AMX-BF16, enabled by the OS,
/// the tile state granted by Linux; asked once). Never on other systems.
pub fn amx_usable() -> bool {
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    return super::amx::usable();
    #[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
    false
}

/// Whether the bfloat16 products take AMX tiles: [`amx_usable`] and `NN_AMX=1` (the
/// AMX path has not run on the project's machines, so it is asked for explicitly).
pub fn amx_chosen() -> bool {
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    return super::amx::chosen();
    #[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
    false
}

/// Whether this processor runs the bfloat16 kernels: AVX-512 BF16 (with BW and VL,
/// which every processor with BF16 has) detected and `NN_SIMD` not capping below
/// AVX-512.
pub fn bf16_available() -> bool {
    let features = cpu().features;
    level() >= Level::Avx512 && features.avx512_bf16 && features.avx512bw && features.avx512vl
}

/// The processor, read once.
pub fn cpu() -> &'static Cpu {
    static CPU: OnceLock<Cpu> = OnceLock::new();
    CPU.get_or_init(Cpu::detect)
}

/// The register tiles of the product kernels: [`Level::Avx512`] means 16-lane tiles,
/// [`Level::Avx2`] 8-lane ones, never above [`level`]. Decided once (see [`Selection`]).
pub fn tiles() -> Level {
    tiles_and_reason().0
}

/// [`tiles`] and why, decided once (an invalid `NN_TILES` is reported once).
fn tiles_and_reason() -> &'static (Level, String) {
    static TILES: OnceLock<(Level, String)> = OnceLock::new();
    TILES.get_or_init(|| choose_tiles(level(), std::env::var("NN_TILES").ok().as_deref()))
}

/// The tiles for `level` and an `NN_TILES` value, and why.
fn choose_tiles(level: Level, requested: Option<&str>) -> (Level, String) {
    if let Some(name) = requested {
        match Level::parse(name) {
            Some(asked) => return (asked.min(level), format!("NN_TILES={name}")),
            None => eprintln!("nn: NN_TILES={name:?} is not one of portable, avx2, avx512; choosing from the CPU"),
        }
    }
    if level < Level::Avx512 {
        return (level, format!("{level:?} is the highest level allowed"));
    }
    match cpu().wide_fma() {
        (true, why) => (Level::Avx512, why.to_string()),
        (false, why) => (Level::Avx2, why.to_string()),
    }
}

/// The cache sizes the kernels' budgets follow: CPUID's, or `NN_CACHE=L1D,L2`.
pub fn caches() -> Caches {
    static CACHES: OnceLock<Caches> = OnceLock::new();
    *CACHES.get_or_init(|| {
        let detected = cpu().caches;
        match std::env::var("NN_CACHE") {
            Ok(text) => detected.parse_override(&text).unwrap_or_else(|| {
                eprintln!(
                    "nn: NN_CACHE={text:?} is not `L1D,L2` (e.g. `48K,2M`); using L1d {}, L2 {}",
                    cpu::human(detected.l1d),
                    cpu::human(detected.l2)
                );
                detected
            }),
            Err(_) => detected,
        }
    })
}

/// What the kernels run on and why: the processor, the instruction level, the product
/// tiles and the caches the budgets follow. `Display` gives the lines benchmark
/// records and bug reports carry.
#[derive(Clone, Debug)]
pub struct Selection {
    pub cpu: Cpu,
    pub level: Level,
    pub tiles: Level,
    pub tiles_reason: String,
    pub caches: Caches,
}

/// The kernel selection of this process.
pub fn selection() -> Selection {
    let (tiles, tiles_reason) = tiles_and_reason().clone();
    Selection { cpu: cpu().clone(), level: level(), tiles, tiles_reason, caches: caches() }
}

impl std::fmt::Display for Selection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let lanes = match self.tiles {
            Level::Avx512 => "16-lane (AVX-512)",
            Level::Avx2 => "8-lane (AVX2)",
            Level::Portable => "portable",
        };
        writeln!(f, "cpu: {}", self.cpu)?;
        writeln!(f, "kernels: {:?} instructions, {lanes} product tiles ({})", self.level, self.tiles_reason)?;
        writeln!(f, "budgets: L1d {}, L2 {}", cpu::human(self.caches.l1d), cpu::human(self.caches.l2))?;
        let bf16 = if bf16_available() { "AVX-512 BF16 (opt-in: set_precision)" } else { "not on this processor" };
        let amx = match (amx_usable(), amx_chosen()) {
            (true, true) => "AMX tiles (NN_AMX=1)",
            (true, false) => "AMX present, not chosen (NN_AMX=1 chooses it)",
            _ => "no AMX",
        };
        write!(f, "bfloat16 inference: {bf16}; {amx}")
    }
}

/// The highest level this processor runs (detected once: the kernels' safety checks
/// ask on every call).
pub fn detect() -> Level {
    static DETECTED: OnceLock<Level> = OnceLock::new();
    *DETECTED.get_or_init(detect_now)
}

/// Every level this processor runs, lowest first: what tests compare.
pub fn levels_here() -> Vec<Level> {
    [Level::Portable, Level::Avx2, Level::Avx512].into_iter().filter(|&l| l <= detect()).collect()
}

fn detect_now() -> Level {
    detect_at_run_time().max(compiled())
}

pub(crate) fn detect_at_run_time() -> Level {
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
    fn tiles_follow_the_override_within_the_level() {
        assert_eq!(choose_tiles(Level::Avx2, Some("avx512")).0, Level::Avx2);
        assert_eq!(choose_tiles(Level::Avx512, Some("avx512")).0, Level::Avx512);
        assert_eq!(choose_tiles(Level::Avx512, Some("avx2")).0, Level::Avx2);
        assert_eq!(choose_tiles(Level::Portable, None).0, Level::Portable);
        let (chosen, why) = choose_tiles(Level::Avx512, None);
        assert_eq!(chosen == Level::Avx512, cpu().wide_fma().0, "{why}");
        let report = selection().to_string();
        assert!(report.starts_with("cpu: ") && report.contains("product tiles") && report.contains("L2"), "{report}");
    }
}
