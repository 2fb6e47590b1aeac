//! What the processor is, read once from CPUID: vendor, family and model, brand
//! string, the vector features the kernels care about, and the cache sizes. The
//! kernel choice ([`super::tiles`]) and the cache-sized budgets ([`super::caches`])
//! are decided from this, never from a timing: a timing on a noisy machine could pick
//! different kernels from one run to the next, and so different bits.

pub use super::Caches;
use std::fmt;

/// The processor, as CPUID describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cpu {
    /// `GenuineIntel`, `AuthenticAMD`, …; empty off x86-64.
    pub vendor: String,
    /// The brand string (`AMD EPYC 9R14 96-Core Processor`), or the architecture's name.
    pub brand: String,
    /// Family and model with their extended fields folded in (Intel's and AMD's rule):
    /// Zen 4 is family 25 (0x19), Sapphire Rapids family 6 model 143.
    pub family: u32,
    /// See [`Cpu::family`].
    pub model: u32,
    /// The features the kernels use or report.
    pub features: Features,
    /// Data cache sizes per core (L3: per package), bytes. On a hybrid processor (cores
    /// of two kinds, which CPUID describes one at a time) the defaults, so that the
    /// budgets do not depend on which core the process started on.
    pub caches: Caches,
    /// Performance and efficiency cores in one package (CPUID leaf 7, EDX bit 15).
    pub hybrid: bool,
}

/// Vector features, as the processor and the operating system together support them
/// (AVX-512 needs the OS to save its registers; `is_x86_feature_detected!` checks both).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Features {
    pub avx2: bool,
    pub fma: bool,
    pub avx512f: bool,
    pub avx512bw: bool,
    pub avx512vl: bool,
    pub avx512_vnni: bool,
    pub avx512_bf16: bool,
    pub avx512_fp16: bool,
    /// AMX tiles, as CPUID reports them (Linux also asks each process to request the
    /// tile state before use).
    pub amx_tile: bool,
    pub amx_bf16: bool,
    pub amx_int8: bool,
}

impl Caches {
    /// Parses `NN_CACHE`'s `L1D,L2` (bytes, with an optional `K` or `M` suffix, binary):
    /// `32K,1M`; each from 1 KiB to 1 GiB. L3 is kept from `self`.
    pub fn parse_override(&self, text: &str) -> Option<Caches> {
        let mut sizes = text.split(',').map(parse_size);
        let (Some(Some(l1d)), Some(Some(l2)), None) = (sizes.next(), sizes.next(), sizes.next()) else {
            return None;
        };
        let sensible = 1024..=1 << 30;
        (sensible.contains(&l1d) && sensible.contains(&l2)).then_some(Caches { l1d, l2, l3: self.l3 })
    }
}

fn parse_size(text: &str) -> Option<usize> {
    let text = text.trim().to_ascii_uppercase();
    let text = text.strip_suffix("IB").or_else(|| text.strip_suffix('B')).unwrap_or(&text);
    let (digits, unit) = match text.chars().last()? {
        'K' => (&text[..text.len() - 1], 1024),
        'M' => (&text[..text.len() - 1], 1024 * 1024),
        _ => (text, 1),
    };
    digits.trim().parse::<usize>().ok()?.checked_mul(unit)
}

impl Cpu {
    /// Whether this processor runs 512-bit fused multiply-adds at twice the rate of
    /// 256-bit ones (two full-width FMA units), so that 16-lane register tiles pay.
    /// Zen 4 splits a 512-bit FMA into two 256-bit halves (measured: the 16-lane
    /// products ran no faster there, bench/README.md); Intel's client cores with
    /// AVX-512 have one 512-bit FMA unit (ports 0 and 1 fused), as fast as two 256-bit
    /// ones. Returns the answer and the reason, for the report.
    pub fn wide_fma(&self) -> (bool, &'static str) {
        if !self.features.avx512f {
            return (false, "no AVX-512");
        }
        match (self.vendor.as_str(), self.family) {
            ("GenuineIntel", 6) => match self.model {
                // Ice Lake, Tiger Lake, Rocket Lake, Cannon Lake client cores.
                102 | 125 | 126 | 140 | 141 | 167 => (false, "Intel client core: one 512-bit FMA unit"),
                // Skylake-SP/Cascade Lake/Cooper Lake, Ice Lake-SP and -D, Sapphire,
                // Emerald and Granite Rapids, Xeon Phi.
                85 | 106 | 108 | 143 | 207 | 173 | 174 | 87 | 133 => (true, "Intel server core: two 512-bit FMA units"),
                _ => (true, "Intel core with AVX-512 (assumed server: two 512-bit FMA units)"),
            },
            ("GenuineIntel", _) => (true, "Intel core with AVX-512 (assumed two 512-bit FMA units)"),
            ("AuthenticAMD" | "HygonGenuine", 25) => (false, "Zen 4: 512-bit FMA runs as two 256-bit halves"),
            // Zen 5: Turin (models 0x00–0x1F) and Granite Ridge (0x40–0x4F) have the full
            // 512-bit data path; the mobile parts keep Zen 4's halves.
            ("AuthenticAMD", 26) => match self.model {
                0x00..=0x1F | 0x40..=0x4F => (true, "Zen 5 desktop/server: full 512-bit data path"),
                _ => (false, "Zen 5 mobile: 512-bit FMA as two halves"),
            },
            _ => (false, "unknown core: 8-lane tiles, the measured default"),
        }
    }

    /// Reads this processor.
    pub fn detect() -> Cpu {
        detect_now()
    }
}

impl fmt::Display for Cpu {
    /// `AMD EPYC 9R14 (AuthenticAMD family 25 model 17; avx2 fma avx512f …; L1d 32 KiB, L2 1 MiB, L3 32 MiB)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fe = &self.features;
        let names = [
            (fe.avx2, "avx2"),
            (fe.fma, "fma"),
            (fe.avx512f, "avx512f"),
            (fe.avx512bw, "avx512bw"),
            (fe.avx512vl, "avx512vl"),
            (fe.avx512_vnni, "avx512_vnni"),
            (fe.avx512_bf16, "avx512_bf16"),
            (fe.avx512_fp16, "avx512_fp16"),
            (fe.amx_tile, "amx_tile"),
            (fe.amx_bf16, "amx_bf16"),
            (fe.amx_int8, "amx_int8"),
        ];
        let flags: Vec<&str> = names.iter().filter(|(on, _)| *on).map(|&(_, name)| name).collect();
        write!(f, "{} ({}", self.brand, self.vendor)?;
        if !self.vendor.is_empty() {
            write!(f, " family {} model {}", self.family, self.model)?;
        }
        write!(f, "; {}", if flags.is_empty() { "no vector features used".to_string() } else { flags.join(" ") })?;
        let c = self.caches;
        write!(f, "; L1d {}, L2 {}", human(c.l1d), human(c.l2))?;
        if self.hybrid {
            write!(f, " (hybrid cores: the defaults)")?;
        }
        if c.l3 > 0 {
            write!(f, ", L3 {}", human(c.l3))?;
        }
        write!(f, ")")
    }
}

/// Bytes as `48 KiB` or `2 MiB`.
pub(crate) fn human(bytes: usize) -> String {
    if bytes >= 1024 * 1024 && bytes.is_multiple_of(1024 * 1024) {
        format!("{} MiB", bytes / (1024 * 1024))
    } else if bytes >= 1024 && bytes.is_multiple_of(1024) {
        format!("{} KiB", bytes / 1024)
    } else {
        format!("{bytes} B")
    }
}

#[cfg(all(target_arch = "x86_64", not(miri)))]
fn cpuid(leaf: u32, subleaf: u32) -> [u32; 4] {
    #[allow(unused_unsafe)]
    // SAFETY: CPUID exists on every x86-64 processor; an unsupported leaf returns zeros
    // or the highest basic leaf's values (callers check the maximum leaf first).
    let r = unsafe { std::arch::x86_64::__cpuid_count(leaf, subleaf) };
    [r.eax, r.ebx, r.ecx, r.edx]
}

#[cfg(all(target_arch = "x86_64", not(miri)))]
fn detect_now() -> Cpu {
    use std::arch::is_x86_feature_detected as has;
    let [max_leaf, b, c, d] = cpuid(0, 0);
    let vendor: String =
        [b, d, c].iter().flat_map(|r| r.to_le_bytes()).map(char::from).filter(|c| !c.is_control()).collect();
    let [signature, ..] = cpuid(1, 0);
    let base_family = (signature >> 8) & 0xF;
    let base_model = (signature >> 4) & 0xF;
    let family = if base_family == 0xF { base_family + ((signature >> 20) & 0xFF) } else { base_family };
    let model =
        if base_family == 0x6 || base_family == 0xF { base_model | ((signature >> 12) & 0xF0) } else { base_model };
    let [max_extended, ..] = cpuid(0x8000_0000, 0);
    let brand = if max_extended >= 0x8000_0004 {
        let bytes: Vec<u8> =
            (0x8000_0002..=0x8000_0004).flat_map(|leaf| cpuid(leaf, 0)).flat_map(|r| r.to_le_bytes()).collect();
        String::from_utf8_lossy(&bytes).trim_matches(char::from(0)).trim().to_string()
    } else {
        String::new()
    };
    let leaf7 = if max_leaf >= 7 { cpuid(7, 0) } else { [0; 4] };
    let leaf7_1 = if max_leaf >= 7 && leaf7[0] >= 1 { cpuid(7, 1) } else { [0; 4] };
    let avx512 = has!("avx512f");
    let features = Features {
        avx2: has!("avx2"),
        fma: has!("fma"),
        avx512f: avx512,
        avx512bw: has!("avx512bw"),
        avx512vl: has!("avx512vl"),
        avx512_vnni: has!("avx512vnni"),
        avx512_bf16: avx512 && leaf7_1[0] & (1 << 5) != 0,
        avx512_fp16: avx512 && leaf7[3] & (1 << 23) != 0,
        amx_tile: leaf7[3] & (1 << 24) != 0,
        amx_bf16: leaf7[3] & (1 << 22) != 0,
        amx_int8: leaf7[3] & (1 << 25) != 0,
    };
    // Intel describes its caches in leaf 4, AMD in 0x8000_001D (same layout).
    let cache_leaf = match vendor.as_str() {
        "GenuineIntel" if max_leaf >= 4 => Some(4),
        "AuthenticAMD" | "HygonGenuine" if max_extended >= 0x8000_001D => Some(0x8000_001D),
        _ => None,
    };
    let hybrid = leaf7[3] & (1 << 15) != 0;
    let caches = if hybrid { Caches::DEFAULT } else { cache_leaf.map_or(Caches::DEFAULT, read_caches) };
    Cpu { vendor, brand, family, model, features, caches, hybrid }
}

/// Walks a deterministic-cache-parameters leaf: one subleaf per cache until type 0.
#[cfg(all(target_arch = "x86_64", not(miri)))]
fn read_caches(leaf: u32) -> Caches {
    let mut caches = Caches { l1d: 0, l2: 0, l3: 0 };
    for subleaf in 0..16 {
        let [a, b, c, _] = cpuid(leaf, subleaf);
        let kind = a & 0x1F;
        if kind == 0 {
            break;
        }
        if kind == 2 {
            continue; // instruction cache
        }
        let ways = ((b >> 22) & 0x3FF) as usize + 1;
        let partitions = ((b >> 12) & 0x3FF) as usize + 1;
        let line = (b & 0xFFF) as usize + 1;
        let sets = c as usize + 1;
        let size = ways * partitions * line * sets;
        match (a >> 5) & 0x7 {
            1 => caches.l1d = size,
            2 => caches.l2 = size,
            3 => caches.l3 = size,
            _ => {}
        }
    }
    Caches {
        l1d: if caches.l1d == 0 { Caches::DEFAULT.l1d } else { caches.l1d },
        l2: if caches.l2 == 0 { Caches::DEFAULT.l2 } else { caches.l2 },
        l3: caches.l3,
    }
}

/// Elsewhere (and under Miri, which cannot run CPUID): the architecture's name, the
/// features the build target enables, default caches.
#[cfg(any(not(target_arch = "x86_64"), miri))]
fn detect_now() -> Cpu {
    Cpu {
        vendor: String::new(),
        brand: std::env::consts::ARCH.to_string(),
        family: 0,
        model: 0,
        hybrid: false,
        features: Features {
            avx2: cfg!(target_feature = "avx2"),
            fma: cfg!(target_feature = "fma"),
            avx512f: cfg!(target_feature = "avx512f"),
            ..Features::default()
        },
        caches: Caches::DEFAULT,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cpu(vendor: &str, family: u32, model: u32, avx512f: bool) -> Cpu {
        Cpu {
            vendor: vendor.into(),
            brand: "test".into(),
            family,
            model,
            features: Features { avx2: true, fma: true, avx512f, ..Features::default() },
            caches: Caches::DEFAULT,
            hybrid: false,
        }
    }

    #[test]
    fn wide_tiles_only_where_512_bit_fma_runs_at_full_width() {
        assert!(!cpu("AuthenticAMD", 25, 17, true).wide_fma().0, "Zen 4");
        assert!(cpu("AuthenticAMD", 26, 2, true).wide_fma().0, "Zen 5 server");
        assert!(!cpu("AuthenticAMD", 26, 0x24, true).wide_fma().0, "Zen 5 mobile");
        assert!(cpu("GenuineIntel", 6, 207, true).wide_fma().0, "Emerald Rapids");
        assert!(cpu("GenuineIntel", 6, 143, true).wide_fma().0, "Sapphire Rapids");
        assert!(!cpu("GenuineIntel", 6, 140, true).wide_fma().0, "Tiger Lake");
        assert!(!cpu("GenuineIntel", 6, 143, false).wide_fma().0, "no AVX-512 (capped or fused off)");
        assert!(!cpu("CentaurHauls", 7, 1, true).wide_fma().0);
    }

    #[test]
    fn cache_overrides_parse() {
        let base = Caches { l1d: 1, l2: 2, l3: 3 };
        assert_eq!(base.parse_override("48K, 2M"), Some(Caches { l1d: 48 * 1024, l2: 2 << 20, l3: 3 }));
        assert_eq!(base.parse_override("32KiB,1MB"), Some(Caches { l1d: 32 * 1024, l2: 1 << 20, l3: 3 }));
        assert_eq!(base.parse_override("32768,1048576"), Some(Caches { l1d: 32768, l2: 1 << 20, l3: 3 }));
        for bad in ["", "32K", "32K,1M,2M", "0,1M", "lots,1M", "1Q,1M", "32K,7000000000000000000", "512,1M"] {
            assert_eq!(base.parse_override(bad), None, "{bad:?}");
        }
        assert_eq!(human(48 * 1024), "48 KiB");
        assert_eq!(human(2 << 20), "2 MiB");
        assert_eq!(human(1000), "1000 B");
    }

    /// On this machine: the reading is self-consistent (the family/model rule, caches
    /// present, features implied by the level detected).
    #[test]
    fn this_processor_reads_sensibly() {
        let cpu = Cpu::detect();
        eprintln!("{cpu}");
        assert!(cpu.caches.l1d >= 4096 && cpu.caches.l2 >= cpu.caches.l1d);
        if cfg!(all(target_arch = "x86_64", not(miri))) {
            assert!(!cpu.vendor.is_empty() && cpu.family > 0);
            assert_eq!(
                cpu.features.avx512f,
                super::super::detected::detect_at_run_time() == super::super::Level::Avx512
            );
        }
    }
}
