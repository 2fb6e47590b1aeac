//! The int8 operators the generated `<Net>Int8` types call: a convolution (im2col into
//! int8 columns) and a linear layer over one product kernel — four output channels at a
//! time, `i8 × i8` summed in `i32` — whose epilogue adds the bias, scales by the
//! channel's multiplier, applies the fused activation and quantizes (or, for the
//! network's last layer, writes `f32`); pooling and activations on their own run the
//! `f32` code on dequantized planes and quantize back, with the input's quantization
//! for pooling (the average or maximum of values on one grid stays on it).

use super::{round, Quant};
use crate::kernels::simd;
#[cfg(any(target_arch = "x86_64", test))]
use crate::kernels::simd::Level;
use crate::ops::activation::{self, Activation};
use crate::ops::conv2d::Geometry;
use crate::ops::pool2d::PlanePool;

/// Where a weighted layer writes: int8 values with their quantization, or `f32` (the
/// network's last layer, whose logits need no rounding).
pub enum Out<'a> {
    Int8(&'a mut [i8], Quant),
    F32(&'a mut [f32]),
}

/// The network's input quantized.
pub fn quantize_input(x: &[f32], q: Quant, y: &mut [i8]) {
    let inverse = 1.0 / q.scale;
    for (o, &v) in y.iter_mut().zip(x) {
        *o = q.quantize_with(v, inverse);
    }
}

/// An int8 value back in `f32` (a network that ends in pooling or an activation).
pub fn dequantize(x: &[i8], q: Quant, y: &mut [f32]) {
    for (o, &v) in y.iter_mut().zip(x) {
        *o = q.dequantize(v);
    }
}

/// `linear(IN, OUT)` with activation `A` fused: `y = A(W x + b)`; `rows` holds
/// [`rows_scratch`]`(1)` values.
#[allow(clippy::too_many_arguments)]
pub fn linear<A: Activation, const IN: usize, const OUT: usize>(
    x: &[i8], w: &[i8], bias: &[i32], multipliers: &[f32], alpha: f32, out: Out<'_>, rows: &mut [f32],
) {
    weighted::<A>(&x[..IN], 1, IN, &w[..OUT * IN], &bias[..OUT], &multipliers[..OUT], alpha, out, rows);
}

/// A convolution of geometry `G` with activation `A` fused, through int8 columns in
/// `cols` (`G::P × G::K`, see [`conv_scratch`]) filled with the input's zero point
/// where the window overlaps the padding: padding stands for a real 0. `rows` holds
/// [`rows_scratch`]`(G::P)` values.
#[allow(clippy::too_many_arguments)]
pub fn conv<G: Geometry, A: Activation>(
    x: &[i8], x_zero: i32, w: &[i8], bias: &[i32], multipliers: &[f32], alpha: f32, out: Out<'_>, cols: &mut [i8],
    rows: &mut [f32],
) {
    let (k, p, ocg) = (G::K, G::P, G::OCG);
    let cols = &mut cols[..conv_scratch::<G>()];
    let (mut out, per_group) = (out, ocg * p);
    for g in 0..G::GROUPS {
        im2col::<G>(&x[g * G::CG * G::H * G::W..][..G::CG * G::H * G::W], x_zero as i8, cols);
        let channels = g * ocg..(g + 1) * ocg;
        let group_out = match &mut out {
            Out::Int8(y, q) => Out::Int8(&mut y[g * per_group..][..per_group], *q),
            Out::F32(y) => Out::F32(&mut y[g * per_group..][..per_group]),
        };
        weighted::<A>(
            cols,
            p,
            k,
            &w[g * ocg * k..][..ocg * k],
            &bias[channels.clone()],
            &multipliers[channels],
            alpha,
            group_out,
            rows,
        );
    }
}

/// Int8 elements of [`conv`]'s columns: every pixel's taps, in pairs.
pub const fn conv_scratch<G: Geometry>() -> usize {
    G::P * G::K.div_ceil(2) * 2
}

/// One group's columns in tap pairs: byte `(t/2 · P + p)·2 + t%2` is the pixel kernel tap
/// `t = (c·KH + i)·KW + j` (tap (i, j) of channel c) sees at output position p, or `pad`
/// outside the input; an odd `K` ends with a zero tap. Two taps of one pixel sit side by
/// side, as `vpmaddwd` multiplies and adds them. For one pixel that is the taps in order.
fn im2col<G: Geometry>(x: &[i8], pad: i8, cols: &mut [i8]) {
    let (kh, kw, p) = (G::KH, G::KW, G::P);
    for c in 0..G::CG {
        for i in 0..kh {
            for j in 0..kw {
                let t = (c * kh + i) * kw + j;
                let (pair, half) = (t / 2, t % 2);
                for oh in 0..G::OH {
                    let h = (oh * G::SH + i * G::DH).wrapping_sub(G::PAD_TOP);
                    for ow in 0..G::OW {
                        let w = (ow * G::SW + j * G::DW).wrapping_sub(G::PAD_LEFT);
                        let value = if h < G::H && w < G::W { x[(c * G::H + h) * G::W + w] } else { pad };
                        cols[(pair * p + oh * G::OW + ow) * 2 + half] = value;
                    }
                }
            }
        }
    }
    if G::K % 2 == 1 {
        for px in 0..p {
            cols[((G::K / 2) * p + px) * 2 + 1] = 0;
        }
    }
}

/// `out[o][p] = epilogue(Σ_k cols[k][p] · w[o][k] + bias[o])` for `p < pixels` (the
/// columns tap-major; for one pixel that is the input itself), the kernel of the
/// processor's level.
#[allow(clippy::too_many_arguments)]
fn weighted<A: Activation>(
    cols: &[i8], pixels: usize, k: usize, w: &[i8], bias: &[i32], multipliers: &[f32], alpha: f32, out: Out<'_>,
    rows: &mut [f32],
) {
    assert!(cols.len() >= pixels * k && w.len() == bias.len() * k && multipliers.len() == bias.len());
    assert!(rows.len() >= rows_scratch(pixels));
    match simd::level() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the processor has AVX-512F (`simd::level` says so) and BW (checked),
        // the kernels' requirements.
        Level::Avx512 if has_avx512bw() => unsafe {
            x86::weighted_avx512::<A>(cols, pixels, k, w, bias, multipliers, alpha, out, rows)
        },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `simd::level` reports AVX2 or above only where the processor has AVX2.
        Level::Avx2 | Level::Avx512 => unsafe {
            x86::weighted_avx2::<A>(cols, pixels, k, w, bias, multipliers, alpha, out, rows)
        },
        _ => weighted_body::<A, Portable>(cols, pixels, k, w, bias, multipliers, alpha, out, rows),
    }
}

/// Whether the processor has AVX-512 BW (byte and word instructions), which the
/// AVX-512 level does not imply.
#[cfg(target_arch = "x86_64")]
fn has_avx512bw() -> bool {
    #[cfg(feature = "std")]
    {
        std::is_x86_feature_detected!("avx512bw")
    }
    #[cfg(not(feature = "std"))]
    {
        cfg!(target_feature = "avx512bw")
    }
}

/// A level's two product kernels.
trait Products {
    /// The sums of one tile: `TILE` pixels from `start` (`n` of them real) by the four
    /// channels from `o` (`block` of them real; the others repeat the last).
    #[allow(clippy::too_many_arguments)]
    fn tile(
        cols: &[i8], pixels: usize, start: usize, n: usize, w: &[i8], k: usize, o: usize, block: usize,
    ) -> [[i32; TILE]; 4];
    /// The dot products of one pixel's `k` taps with the rows of the four channels from
    /// `o` (`block` of them real; the others repeat the last).
    fn dots(x: &[i8], w: &[i8], k: usize, o: usize, block: usize) -> [i32; 4];
}

/// The kernels in plain Rust.
struct Portable;

impl Products for Portable {
    #[inline(always)]
    fn tile(
        cols: &[i8], pixels: usize, start: usize, n: usize, w: &[i8], k: usize, o: usize, block: usize,
    ) -> [[i32; TILE]; 4] {
        tile_portable(cols, pixels, start, n, w, k, o, block)
    }
    #[inline(always)]
    fn dots(x: &[i8], w: &[i8], k: usize, o: usize, block: usize) -> [i32; 4] {
        dots(x, w, k, o, block)
    }
}

/// The product and epilogue: four weight rows share each column's loads (`tile`
/// across pixels, a dot product for one pixel), and their four rows of outputs (`rows`,
/// `4 × pixels`) are scaled, activated (the vector `tanh` where it is one) and quantized
/// a row at a time.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn weighted_body<A: Activation, K: Products>(
    cols: &[i8], pixels: usize, k: usize, w: &[i8], bias: &[i32], multipliers: &[f32], alpha: f32, mut out: Out<'_>,
    rows: &mut [f32],
) {
    let outputs = bias.len();
    let mut o = 0;
    while o < outputs {
        let block = (outputs - o).min(4);
        let rows = &mut rows[..block * pixels];
        let real = |r: usize, sum: i32| (sum + bias[o + r]) as f32 * multipliers[o + r];
        if pixels > 1 {
            // Across pixels: a tile of pixels by four channels over every tap pair.
            for start in (0..pixels).step_by(TILE) {
                let n = TILE.min(pixels - start);
                let sums = K::tile(cols, pixels, start, n, w, k, o, block);
                for (r, sums) in sums.iter().enumerate().take(block) {
                    for (p, &sum) in sums[..n].iter().enumerate() {
                        rows[r * pixels + start + p] = real(r, sum);
                    }
                }
            }
        } else {
            for p in 0..pixels {
                let sums = K::dots(&cols[p * k..(p + 1) * k], w, k, o, block);
                for (r, &sum) in sums.iter().enumerate().take(block) {
                    rows[r * pixels + p] = real(r, sum);
                }
            }
        }
        activation::in_place::<f32, A>(rows, alpha);
        match &mut out {
            Out::Int8(y, q) => {
                let (inverse, zero) = (1.0 / q.scale, q.zero);
                for (o, &v) in y[o * pixels..(o + block) * pixels].iter_mut().zip(rows.iter()) {
                    *o = (round(v * inverse) + zero).clamp(-128, 127) as i8;
                }
            }
            Out::F32(y) => y[o * pixels..(o + block) * pixels].copy_from_slice(rows),
        }
        o += block;
    }
}

/// `f32` elements of [`conv`]'s and [`linear`]'s output rows: four output channels.
pub const fn rows_scratch(pixels: usize) -> usize {
    4 * pixels
}

/// Pixels one tile of [`weighted_body`]'s sums covers: with four channels, four AVX-512
/// registers of `i32` (eight AVX2 ones).
const TILE: usize = 16;

#[cfg(target_arch = "x86_64")]
/// Weights `t` and `t + 1` of row `row` (0 past `k`) as two `i16` in one `i32`, low
/// first: what `vpmaddwd` multiplies a pixel's tap pair by.
#[inline(always)]
fn weight_pair(w: &[i8], k: usize, row: usize, t: usize) -> i32 {
    let low = i32::from(w[row * k + t]) & 0xffff;
    let high = if t + 1 < k { i32::from(w[row * k + t + 1]) } else { 0 };
    low | (high << 16)
}

/// [`Products::tile`] in plain Rust.
#[allow(clippy::too_many_arguments)]
fn tile_portable(
    cols: &[i8], pixels: usize, start: usize, n: usize, w: &[i8], k: usize, o: usize, block: usize,
) -> [[i32; TILE]; 4] {
    let mut sums = [[0i32; TILE]; 4];
    for pair in 0..k.div_ceil(2) {
        let x = &cols[(pair * pixels + start) * 2..][..2 * n];
        for (r, sums) in sums.iter_mut().enumerate() {
            let row = o + r.min(block - 1);
            let w0 = i32::from(w[row * k + 2 * pair]);
            let w1 = if 2 * pair + 1 < k { i32::from(w[row * k + 2 * pair + 1]) } else { 0 };
            for (s, taps) in sums.iter_mut().zip(x.chunks_exact(2)) {
                *s += i32::from(taps[0]) * w0 + i32::from(taps[1]) * w1;
            }
        }
    }
    sums
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{weight_pair, weighted_body, Out, Products, TILE};
    use crate::ops::activation::Activation;
    use core::arch::x86_64::*;

    /// The AVX-512 BW kernels. Private, and only used by [`weighted_avx512`], whose
    /// caller guarantees the features: that is what makes their safe methods sound.
    struct Avx512;
    /// The AVX2 kernels; only used by [`weighted_avx2`], as [`Avx512`].
    struct Avx2;

    impl Products for Avx512 {
        #[inline(always)]
        fn tile(
            cols: &[i8], pixels: usize, start: usize, n: usize, w: &[i8], k: usize, o: usize, block: usize,
        ) -> [[i32; TILE]; 4] {
            // SAFETY: only reached from `weighted_avx512`, whose caller guarantees AVX-512F and BW.
            unsafe { tile_avx512(cols, pixels, start, n, w, k, o, block) }
        }
        #[inline(always)]
        fn dots(x: &[i8], w: &[i8], k: usize, o: usize, block: usize) -> [i32; 4] {
            super::dots(x, w, k, o, block)
        }
    }

    impl Products for Avx2 {
        #[inline(always)]
        fn tile(
            cols: &[i8], pixels: usize, start: usize, n: usize, w: &[i8], k: usize, o: usize, block: usize,
        ) -> [[i32; TILE]; 4] {
            // SAFETY: only reached from `weighted_avx2`, whose caller guarantees AVX2.
            unsafe { tile_avx2(cols, pixels, start, n, w, k, o, block) }
        }
        #[inline(always)]
        fn dots(x: &[i8], w: &[i8], k: usize, o: usize, block: usize) -> [i32; 4] {
            super::dots(x, w, k, o, block)
        }
    }

    /// The product and epilogue compiled for AVX-512 BW.
    ///
    /// # Safety
    /// The processor has AVX-512F and AVX-512BW.
    #[target_feature(enable = "avx512f,avx512bw")]
    #[allow(clippy::too_many_arguments)]
    pub(super) unsafe fn weighted_avx512<A: Activation>(
        cols: &[i8], pixels: usize, k: usize, w: &[i8], bias: &[i32], multipliers: &[f32], alpha: f32, out: Out<'_>,
        rows: &mut [f32],
    ) {
        weighted_body::<A, Avx512>(cols, pixels, k, w, bias, multipliers, alpha, out, rows)
    }

    /// The product and epilogue compiled for AVX2.
    ///
    /// # Safety
    /// The processor has AVX2.
    #[target_feature(enable = "avx2")]
    #[allow(clippy::too_many_arguments)]
    pub(super) unsafe fn weighted_avx2<A: Activation>(
        cols: &[i8], pixels: usize, k: usize, w: &[i8], bias: &[i32], multipliers: &[f32], alpha: f32, out: Out<'_>,
        rows: &mut [f32],
    ) {
        weighted_body::<A, Avx2>(cols, pixels, k, w, bias, multipliers, alpha, out, rows)
    }

    /// One tap pair of the tile's pixels: `2 × TILE` bytes from `at`, zero past `n` pixels.
    #[inline(always)]
    fn pair_bytes(cols: &[i8], at: usize, n: usize) -> [i8; 2 * TILE] {
        match cols.get(at..at + 2 * TILE) {
            Some(full) if n == TILE => full.try_into().unwrap_or([0; 2 * TILE]),
            _ => core::array::from_fn(|i| if i < 2 * n { cols[at + i] } else { 0 }),
        }
    }

    /// [`Products::tile`] with AVX-512 BW: each pair of taps of 16 pixels widened to 32
    /// `i16`, then `vpmaddwd` with each channel's weight pair broadcast.
    ///
    /// # Safety
    /// The processor has AVX-512F and AVX-512BW.
    #[target_feature(enable = "avx512f,avx512bw")]
    #[allow(clippy::too_many_arguments)]
    unsafe fn tile_avx512(
        cols: &[i8], pixels: usize, start: usize, n: usize, w: &[i8], k: usize, o: usize, block: usize,
    ) -> [[i32; TILE]; 4] {
        let mut acc = [_mm512_setzero_si512(); 4];
        for pair in 0..k.div_ceil(2) {
            let bytes = pair_bytes(cols, (pair * pixels + start) * 2, n);
            // SAFETY: `bytes` holds the 32 bytes read.
            let x = _mm512_cvtepi8_epi16(unsafe { _mm256_loadu_si256(bytes.as_ptr().cast()) });
            for (r, acc) in acc.iter_mut().enumerate() {
                let weights = _mm512_set1_epi32(weight_pair(w, k, o + r.min(block - 1), 2 * pair));
                *acc = _mm512_add_epi32(*acc, _mm512_madd_epi16(x, weights));
            }
        }
        let mut sums = [[0i32; TILE]; 4];
        for (sums, acc) in sums.iter_mut().zip(acc) {
            // SAFETY: `sums` has room for the 16 lanes written.
            unsafe { _mm512_storeu_si512(sums.as_mut_ptr().cast(), acc) };
        }
        sums
    }

    /// [`Products::tile`] with AVX2: as [`tile_avx512`], in two halves of 8 pixels.
    ///
    /// # Safety
    /// The processor has AVX2.
    #[target_feature(enable = "avx2")]
    #[allow(clippy::too_many_arguments)]
    unsafe fn tile_avx2(
        cols: &[i8], pixels: usize, start: usize, n: usize, w: &[i8], k: usize, o: usize, block: usize,
    ) -> [[i32; TILE]; 4] {
        let mut acc = [[_mm256_setzero_si256(); 2]; 4];
        for pair in 0..k.div_ceil(2) {
            let bytes = pair_bytes(cols, (pair * pixels + start) * 2, n);
            // SAFETY: `bytes` holds the 2 × 16 bytes read.
            let halves =
                unsafe { [_mm_loadu_si128(bytes.as_ptr().cast()), _mm_loadu_si128(bytes.as_ptr().add(16).cast())] };
            let x = halves.map(|h| _mm256_cvtepi8_epi16(h));
            for (r, acc) in acc.iter_mut().enumerate() {
                let weights = _mm256_set1_epi32(weight_pair(w, k, o + r.min(block - 1), 2 * pair));
                for (acc, x) in acc.iter_mut().zip(x) {
                    *acc = _mm256_add_epi32(*acc, _mm256_madd_epi16(x, weights));
                }
            }
        }
        let mut sums = [[0i32; TILE]; 4];
        for (sums, acc) in sums.iter_mut().zip(acc) {
            // SAFETY: each half writes 8 of the 16 lanes of `sums`.
            unsafe {
                _mm256_storeu_si256(sums.as_mut_ptr().cast(), acc[0]);
                _mm256_storeu_si256(sums.as_mut_ptr().add(8).cast(), acc[1]);
            }
        }
        sums
    }
}

/// [`Products::dots`] in plain Rust, written for the compiler to vectorize on whichever
/// level its caller enables.
#[inline(always)]
fn dots(x: &[i8], w: &[i8], k: usize, o: usize, block: usize) -> [i32; 4] {
    let row = |r: usize| &w[(o + r.min(block - 1)) * k..][..k];
    let (w0, w1, w2, w3, x) = (row(0), row(1), row(2), row(3), &x[..k]);
    let mut sums = [0i32; 4];
    for i in 0..k {
        let v = i32::from(x[i]);
        sums[0] += v * i32::from(w0[i]);
        sums[1] += v * i32::from(w1[i]);
        sums[2] += v * i32::from(w2[i]);
        sums[3] += v * i32::from(w3[i]);
    }
    sums
}

/// Pooling of `C` planes (`P` pools one, in `f32`), the quantization unchanged; `tmp`
/// holds one input and one pooled plane ([`pool_scratch`]).
pub fn pool<P: PlanePool<f32>, const C: usize>(x: &[i8], q: Quant, y: &mut [i8], tmp: &mut [f32]) {
    let (plane, pooled) = tmp[..P::IN + P::OUT].split_at_mut(P::IN);
    let inverse = 1.0 / q.scale;
    for c in 0..C {
        dequantize(&x[c * P::IN..][..P::IN], q, plane);
        P::plane(plane, pooled);
        for (o, &v) in y[c * P::OUT..][..P::OUT].iter_mut().zip(pooled.iter()) {
            *o = q.quantize_with(v, inverse);
        }
    }
}

/// `f32` elements of [`pool`]'s scratch.
pub const fn pool_scratch<P: PlanePool<f32>>() -> usize {
    P::IN + P::OUT
}

/// An activation on its own: `y = quantize(A(dequantize(x)))` with the output's own
/// quantization.
pub fn activation<A: Activation>(x: &[i8], x_q: Quant, y: &mut [i8], y_q: Quant, alpha: f32) {
    let inverse = 1.0 / y_q.scale;
    for (o, &v) in y.iter_mut().zip(x) {
        *o = y_q.quantize_with(A::f::<f32>(x_q.dequantize(v), alpha), inverse);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::activation::{Identity, Tanh};
    use crate::rng::Rng;

    fn random_i8(len: usize, rng: &mut Rng) -> Vec<i8> {
        (0..len).map(|_| rng.uniform(-128.0, 128.0).floor().clamp(-128.0, 127.0) as i8).collect()
    }

    /// Every level's tile kernel (and the one-pixel dot products) equals the plain sums,
    /// for output counts on and off the block of four, pixel counts on and off the tile
    /// and odd and even `k`.
    #[test]
    fn products_on_every_level_are_the_exact_integer_sums() {
        let mut rng = Rng::new(5);
        for (pixels, k, outputs) in [(1, 1, 1), (1, 33, 7), (3, 25, 6), (17, 150, 16), (2, 400, 10), (40, 33, 7)] {
            // taps[t][p], then laid out in pairs as `im2col` lays them (the taps in order
            // for one pixel).
            let taps = random_i8(pixels * k, &mut rng);
            let mut cols = vec![0i8; pixels * k.div_ceil(2) * 2];
            for t in 0..k {
                for p in 0..pixels {
                    let at = if pixels == 1 { t } else { ((t / 2) * pixels + p) * 2 + t % 2 };
                    cols[at] = taps[t * pixels + p];
                }
            }
            let w = random_i8(outputs * k, &mut rng);
            let bias: Vec<i32> = (0..outputs as i32).map(|o| o * 1000 - 3000).collect();
            let multipliers = vec![1.0f32; outputs];
            let expected: Vec<f32> = (0..outputs)
                .flat_map(|o| {
                    let (taps, w, bias) = (&taps, &w, &bias);
                    (0..pixels).map(move |p| {
                        let sum: i32 = (0..k).map(|t| i32::from(taps[t * pixels + p]) * i32::from(w[o * k + t])).sum();
                        (sum + bias[o]) as f32
                    })
                })
                .collect();
            let mut levels = vec![Level::Portable];
            #[cfg(target_arch = "x86_64")]
            if simd::level() >= Level::Avx2 {
                levels.push(Level::Avx2);
            }
            #[cfg(target_arch = "x86_64")]
            if simd::level() >= Level::Avx512 && has_avx512bw() {
                levels.push(Level::Avx512);
            }
            for name in levels {
                let mut y = vec![0.0f32; outputs * pixels];
                let mut rows = vec![0.0f32; rows_scratch(pixels)];
                let out = Out::F32(&mut y);
                match name {
                    #[cfg(target_arch = "x86_64")]
                    // SAFETY: listed above only where the processor has AVX-512F and BW.
                    Level::Avx512 => unsafe {
                        x86::weighted_avx512::<Identity>(&cols, pixels, k, &w, &bias, &multipliers, 0.0, out, &mut rows)
                    },
                    #[cfg(target_arch = "x86_64")]
                    // SAFETY: listed above only where the processor has AVX2.
                    Level::Avx2 => unsafe {
                        x86::weighted_avx2::<Identity>(&cols, pixels, k, &w, &bias, &multipliers, 0.0, out, &mut rows)
                    },
                    _ => weighted_body::<Identity, Portable>(
                        &cols,
                        pixels,
                        k,
                        &w,
                        &bias,
                        &multipliers,
                        0.0,
                        out,
                        &mut rows,
                    ),
                }
                assert_eq!(y, expected, "{name:?}, {pixels} × {k} × {outputs}");
            }
        }
    }

    struct G3;
    impl Geometry for G3 {
        const C: usize = 2;
        const H: usize = 4;
        const W: usize = 5;
        const OC: usize = 4;
        const KH: usize = 3;
        const KW: usize = 2;
        const SH: usize = 1;
        const SW: usize = 2;
        const PAD_TOP: usize = 1;
        const PAD_BOTTOM: usize = 1;
        const PAD_LEFT: usize = 1;
        const PAD_RIGHT: usize = 0;
        const DH: usize = 1;
        const DW: usize = 1;
        const GROUPS: usize = 2;
        const BIAS: bool = true;
        const OH: usize = 4;
        const OW: usize = 3;
    }

    /// The int8 convolution against the same convolution on the dequantized values in
    /// f64: equal up to the output's rounding, with padding, stride and groups.
    #[test]
    fn convolution_is_the_real_convolution_up_to_one_output_step() {
        let mut rng = Rng::new(9);
        let x = random_i8(G3::INPUT_LEN, &mut rng);
        let w = random_i8(G3::WEIGHT_LEN, &mut rng);
        let (x_q, w_scale, y_q) = (Quant { scale: 0.02, zero: -7 }, 0.01f32, Quant { scale: 0.05, zero: 3 });
        let real_bias = [0.3f32, -0.2, 0.0, 0.1];
        let bias_of = |o: usize| {
            let sum: i32 = w[o * G3::K..(o + 1) * G3::K].iter().map(|&v| i32::from(v)).sum();
            (f64::from(real_bias[o]) / f64::from(x_q.scale * w_scale)).round() as i32 - x_q.zero * sum
        };
        let bias: Vec<i32> = (0..4).map(bias_of).collect();
        let multipliers = [x_q.scale * w_scale; 4];
        let mut y = vec![0i8; G3::OUTPUT_LEN];
        let mut cols = vec![0i8; conv_scratch::<G3>()];
        let mut rows = vec![0.0f32; rows_scratch(G3::P)];
        conv::<G3, Tanh>(&x, x_q.zero, &w, &bias, &multipliers, 0.0, Out::Int8(&mut y, y_q), &mut cols, &mut rows);
        for o in 0..G3::OC {
            let g = o / G3::OCG;
            for oh in 0..G3::OH {
                for ow in 0..G3::OW {
                    let mut sum = real_bias[o] as f64;
                    for c in 0..G3::CG {
                        for i in 0..G3::KH {
                            for j in 0..G3::KW {
                                let (h, wc) = ((oh + i) as isize - 1, (ow * 2 + j) as isize - 1);
                                if h >= 0 && wc >= 0 && (h as usize) < G3::H && (wc as usize) < G3::W {
                                    let xv = x_q
                                        .dequantize(x[((g * G3::CG + c) * G3::H + h as usize) * G3::W + wc as usize]);
                                    let wv = w_scale * f32::from(w[((o * G3::CG + c) * G3::KH + i) * G3::KW + j]);
                                    sum += xv as f64 * wv as f64;
                                }
                            }
                        }
                    }
                    let got = y_q.dequantize(y[(o * G3::OH + oh) * G3::OW + ow]) as f64;
                    assert!(
                        (got - sum.tanh()).abs() <= 0.5 * y_q.scale as f64 + 1e-3,
                        "{o} {oh} {ow}: {got} vs {}",
                        sum.tanh()
                    );
                }
            }
        }
    }
}
