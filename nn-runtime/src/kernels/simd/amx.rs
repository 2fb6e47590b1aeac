//! Whether this process may use AMX tiles: a fact of the processor and the operating
//! system, asked once (the AMX product itself is in `kernels::bf16::amx`).

#![cfg(all(target_arch = "x86_64", target_os = "linux"))]

use std::arch::asm;
use std::sync::OnceLock;

/// Whether this process may run AMX tiles: the processor reports AMX-TILE and
/// AMX-BF16, the OS enables their state in XCR0, and Linux grants this process the
/// tile data (`arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA)`), asked once.
pub fn usable() -> bool {
    static USABLE: OnceLock<bool> = OnceLock::new();
    *USABLE.get_or_init(|| {
        let features = super::cpu().features;
        features.amx_tile && features.amx_bf16 && os_enables_tiles() && request_tile_data()
    })
}

/// Whether the bfloat16 products take AMX: [`usable`] and `NN_AMX=1`.
pub fn chosen() -> bool {
    static CHOSEN: OnceLock<bool> = OnceLock::new();
    *CHOSEN.get_or_init(|| std::env::var("NN_AMX").is_ok_and(|v| v.trim() == "1") && usable())
}

/// XCR0 bits 17 (XTILECFG) and 18 (XTILEDATA).
fn os_enables_tiles() -> bool {
    let (low, _high): (u32, u32);
    // SAFETY: `xgetbv` with ECX = 0 reads XCR0; it exists wherever CPUID reports
    // OSXSAVE, which every processor with AMX (and AVX, which the features above
    // imply) has. It touches no memory.
    unsafe {
        asm!("xgetbv", in("ecx") 0u32, out("eax") low, out("edx") _high, options(nomem, nostack, preserves_flags))
    };
    low & (0b11 << 17) == 0b11 << 17
}

/// Asks Linux (5.16 and later) for permission to use the tile data state.
fn request_tile_data() -> bool {
    const SYS_ARCH_PRCTL: usize = 158;
    const ARCH_REQ_XCOMP_PERM: usize = 0x1023;
    const XFEATURE_XTILEDATA: usize = 18;
    let result: isize;
    // SAFETY: the `arch_prctl` system call with these arguments only changes which
    // register state this process may use; it reads and writes no memory of ours. The
    // kernel clobbers RCX and R11 on `syscall`, declared below.
    unsafe {
        asm!(
            "syscall",
            inlateout("rax") SYS_ARCH_PRCTL as isize => result,
            in("rdi") ARCH_REQ_XCOMP_PERM,
            in("rsi") XFEATURE_XTILEDATA,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack)
        )
    };
    result == 0
}
