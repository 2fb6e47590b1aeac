//! AMX tiles (Intel Sapphire Rapids and later) for the bfloat16 products: `tdpbf16ps`
//! multiplies a 16 × 32 bfloat16 tile of A by a 32 × 16 one of B (both in the pair-word
//! layout [`super::gemm`] packs anyway) into a 16 × 16 f32 tile of C, 8,192
//! multiply-adds an instruction.
//!
//! **Never run on the project's machines**, which have no AMX, and AMX cannot be
//! emulated; so it is used only where asked for with `NN_AMX=1` (on a processor with
//! AMX-TILE and AMX-BF16 whose kernel grants the tile state), and its test compares it
//! with the AVX-512 BF16 kernels wherever the processor has AMX, saying so where not.
//! Rust has no stable AMX intrinsics; the instructions are written as inline assembly.

#![cfg(all(target_arch = "x86_64", target_os = "linux"))]

use std::arch::asm;

/// The tile configuration `ldtilecfg` reads: palette 1; tmm0 holds C (16 rows of 16
/// f32), tmm1 A (16 rows of 16 pair words), tmm2 B (16 rows of 16 pair words).
#[repr(C, align(64))]
struct TileConfig {
    palette: u8,
    start_row: u8,
    reserved: [u8; 14],
    bytes_per_row: [u16; 16],
    rows: [u8; 16],
}

const CONFIG: TileConfig = TileConfig {
    palette: 1,
    start_row: 0,
    reserved: [0; 14],
    bytes_per_row: [64, 64, 64, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    rows: [16, 16, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
};

/// `C = A · B` over whole tiles: A `m16` rows of `kp16` pair words, B `kp16` rows of
/// `ldp` pair words, C `m16` rows of `ldp` f32 (all row-major, `m16`, `kp16` and `ldp`
/// multiples of 16, zero-padded by the caller).
///
/// # Safety
/// [`crate::kernels::simd::amx_usable`] returned true, and the three buffers hold the
/// sizes above.
pub unsafe fn product(m16: usize, kp16: usize, ldp: usize, a: *const u32, b: *const u32, c: *mut f32) {
    debug_assert!(m16.is_multiple_of(16) && kp16.is_multiple_of(16) && ldp.is_multiple_of(16));
    let (stride_a, stride_b, stride_c) = (kp16 * 4, ldp * 4, ldp * 4);
    // SAFETY (whole body): the processor runs AMX and this process holds the tile state
    // (the contract); every tile load reads 16 rows of 64 bytes at a row stride that
    // stays inside its buffer (rows i0..i0 + 16 < m16 of A, p0..p0 + 16 < kp16 of B,
    // words j0..j0 + 16 < ldp), and every store writes 16 rows of 64 bytes inside C.
    // The tile registers are not Rust-visible state; `tilerelease` frees them.
    unsafe {
        asm!("ldtilecfg [{}]", in(reg) &CONFIG, options(nostack, readonly));
        for i0 in (0..m16).step_by(16) {
            for j0 in (0..ldp).step_by(16) {
                asm!("tilezero tmm0", options(nomem, nostack));
                for p0 in (0..kp16).step_by(16) {
                    let a_tile = a.add(i0 * kp16 + p0);
                    let b_tile = b.add(p0 * ldp + j0);
                    asm!(
                        "tileloadd tmm1, [{a} + {sa}]",
                        "tileloadd tmm2, [{b} + {sb}]",
                        "tdpbf16ps tmm0, tmm1, tmm2",
                        a = in(reg) a_tile,
                        sa = in(reg) stride_a,
                        b = in(reg) b_tile,
                        sb = in(reg) stride_b,
                        options(nostack, readonly)
                    );
                }
                let c_tile = c.add(i0 * ldp + j0);
                asm!("tilestored [{c} + {sc}], tmm0", c = in(reg) c_tile, sc = in(reg) stride_c, options(nostack));
            }
        }
        asm!("tilerelease", options(nomem, nostack));
    }
}
