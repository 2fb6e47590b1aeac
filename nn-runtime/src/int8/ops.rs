//! The int8 operators the generated `<Net>Int8` types call. A convolution gathers a tile
//! of 16 output pixels' taps at a time (in pairs, as `vpmaddwd` multiplies and adds
//! them), so its scratch is one tile's columns, and four output channels share each
//! load; a linear layer takes dot products. Products are `i8 × i8` summed in `i32`; the
//! epilogue adds the bias, scales by the channel's multiplier, applies the fused
//! activation and quantizes (or, for the network's last layer, writes `f32`), a tile
//! at a time. Pooling and activations on their own run the `f32` code on dequantized
//! planes and quantize back, with the input's quantization for pooling (the average or
//! maximum of values on one grid stays on it).

use super::{Quant, ROUNDER};
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

impl Out<'_> {
    /// The first `n` of `values` (already activated) written at `at..`.
    #[inline(always)]
    #[allow(clippy::manual_clamp)] // max and min send NaN to a bound, as `round` does
    fn write(&mut self, at: usize, values: &[f32; TILE], n: usize) {
        match self {
            Out::Int8(y, q) => {
                // `round` on a whole tile, spelled so that it vectorizes: the clamp as max
                // and min, the conversion of values already within ±512.
                let (inverse, zero) = (1.0 / q.scale, q.zero as f32);
                let quantized: [i8; TILE] = core::array::from_fn(|i| {
                    let v = (values[i] * inverse).max(-512.0).min(512.0);
                    let rounded = (v + ROUNDER) - ROUNDER;
                    (rounded + zero).max(-128.0).min(127.0) as i8
                });
                y[at..at + n].copy_from_slice(&quantized[..n]);
            }
            Out::F32(y) => y[at..at + n].copy_from_slice(&values[..n]),
        }
    }
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

/// `i32` elements of [`conv`]'s weight pairs: four channels' taps, two to an element.
pub const fn pair_scratch<G: Geometry>() -> usize {
    4 * G::K.div_ceil(2)
}

/// Pixels one tile covers: with four channels, four AVX-512 registers of `i32` sums
/// (eight AVX2 ones).
pub const TILE: usize = 16;

/// Int8 elements of [`conv`]'s scratch: with unit horizontal stride the input padded
/// with its zero point (and a tile's slack), which the products read in place; else one
/// tile's taps, gathered in pairs.
pub const fn conv_scratch<G: Geometry>() -> usize {
    if G::SW == 1 {
        G::C * G::HP * G::WP + TILE
    } else {
        G::K.div_ceil(2) * 2 * TILE
    }
}

/// `linear(IN, OUT)` with activation `A` fused: `y = A(W x + b)`.
pub fn linear<A: Activation, const IN: usize, const OUT: usize>(
    x: &[i8], w: &[i8], bias: &[i32], multipliers: &[f32], alpha: f32, out: Out<'_>,
) {
    let (x, w, bias, multipliers) = (&x[..IN], &w[..OUT * IN], &bias[..OUT], &multipliers[..OUT]);
    match simd::level() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the processor has AVX-512F (`simd::level` says so) and BW (checked).
        Level::Avx512 if has_avx512bw() => unsafe { x86::linear_avx512::<A>(x, w, bias, multipliers, alpha, out) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `simd::level` reports AVX2 or above only where the processor has AVX2.
        Level::Avx2 | Level::Avx512 => unsafe { x86::linear_avx2::<A>(x, w, bias, multipliers, alpha, out) },
        _ => linear_body::<A>(x, w, bias, multipliers, alpha, out),
    }
}

/// A convolution of geometry `G` with activation `A` fused. `cols` holds
/// [`conv_scratch`] values (the padded input or a tile's taps, `x_zero` where the window
/// overlaps the padding: padding stands for a real 0), `pairs` [`pair_scratch`] (four
/// channels' weights in tap pairs).
#[allow(clippy::too_many_arguments)]
pub fn conv<G: Geometry, A: Activation>(
    x: &[i8], x_zero: i32, w: &[i8], bias: &[i32], multipliers: &[f32], alpha: f32, out: Out<'_>, cols: &mut [i8],
    pairs: &mut [i32],
) {
    let (cols, pairs) = (&mut cols[..conv_scratch::<G>()], &mut pairs[..pair_scratch::<G>()]);
    assert!(w.len() >= G::WEIGHT_LEN && bias.len() >= G::OC && multipliers.len() >= G::OC && x.len() >= G::INPUT_LEN);
    match simd::level() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the processor has AVX-512F (`simd::level` says so), BW and VNNI (checked).
        Level::Avx512 if has_avx512bw() && has_avx512vnni() => unsafe {
            x86::conv_avx512vnni::<G, A>(x, x_zero as i8, w, bias, multipliers, alpha, out, cols, pairs)
        },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the processor has AVX-512F (`simd::level` says so) and BW (checked).
        Level::Avx512 if has_avx512bw() => unsafe {
            x86::conv_avx512::<G, A>(x, x_zero as i8, w, bias, multipliers, alpha, out, cols, pairs)
        },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `simd::level` reports AVX2 or above only where the processor has AVX2.
        Level::Avx2 | Level::Avx512 => unsafe {
            x86::conv_avx2::<G, A>(x, x_zero as i8, w, bias, multipliers, alpha, out, cols, pairs)
        },
        _ => conv_body::<G, A, Portable>(x, x_zero as i8, w, bias, multipliers, alpha, out, cols, pairs),
    }
}

/// Whether the processor has AVX-512 VNNI (`vpdpwssd`: a pair product and its sum in
/// one instruction).
#[cfg(target_arch = "x86_64")]
fn has_avx512vnni() -> bool {
    #[cfg(feature = "std")]
    {
        std::is_x86_feature_detected!("avx512vnni")
    }
    #[cfg(not(feature = "std"))]
    {
        cfg!(target_feature = "avx512vnni")
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

/// One group's taps for the `n` output pixels from `start`, in pairs: byte
/// `(t/2 · TILE + p)·2 + t%2` is the pixel tap `t = (c·KH + i)·KW + j` (tap (i, j) of
/// channel c) sees at output pixel `start + p`, or `pad` outside the input; pixels past
/// `n` and the tap after an odd `K`'s last are zero.
#[inline(always)]
fn gather<G: Geometry>(x: &[i8], pad: i8, start: usize, n: usize, cols: &mut [i8]) {
    let (kh, kw) = (G::KH, G::KW);
    if n < TILE || G::K % 2 == 1 {
        cols.fill(0);
    }
    // Each pixel's window corner (before padding), the same for every tap.
    let mut corners = [(0usize, 0usize); TILE];
    for (p, corner) in corners[..n].iter_mut().enumerate() {
        let (oh, ow) = ((start + p) / G::OW, (start + p) % G::OW);
        *corner = ((oh * G::SH).wrapping_sub(G::PAD_TOP), (ow * G::SW).wrapping_sub(G::PAD_LEFT));
    }
    for c in 0..G::CG {
        let plane = &x[c * G::H * G::W..][..G::H * G::W];
        for i in 0..kh {
            for j in 0..kw {
                let t = (c * kh + i) * kw + j;
                let row = &mut cols[(t / 2) * 2 * TILE..][..2 * TILE];
                for (taps, &(h, w)) in row.chunks_exact_mut(2).zip(&corners[..n]) {
                    let (h, w) = (h.wrapping_add(i * G::DH), w.wrapping_add(j * G::DW));
                    taps[t % 2] = if h < G::H && w < G::W { plane[h * G::W + w] } else { pad };
                }
            }
        }
    }
}

/// The taps of one group's kernel as offsets in the padded input from a pixel's window
/// corner, walked in order `t = (c·KH + i)·KW + j` without divisions.
#[derive(Clone, Copy)]
struct Taps {
    count: usize,
    kh: usize,
    kw: usize,
    /// Offsets between taps along a row, between rows and between channels.
    step: usize,
    row: usize,
    plane: usize,
}

impl Taps {
    fn of<G: Geometry>() -> Taps {
        Taps { count: G::K, kh: G::KH, kw: G::KW, step: G::DW, row: G::DH * G::WP, plane: G::HP * G::WP }
    }

    /// The offsets, in order.
    #[inline(always)]
    fn offsets(self) -> impl Iterator<Item = usize> {
        let (mut i, mut j, mut channel, mut row) = (0, 0, 0, 0);
        (0..self.count).map(move |_| {
            let offset = channel + row + j * self.step;
            j += 1;
            if j == self.kw {
                (j, i, row) = (0, i + 1, row + self.row);
                if i == self.kh {
                    (i, row, channel) = (0, 0, channel + self.plane);
                }
            }
            offset
        })
    }
}

/// A level's product kernels.
trait Products {
    /// The sums of one tile (`cols` as [`gather`] lays it out, `pairs` tap pairs) with
    /// the four channels from `o` (`block` of them real; the others repeat the last).
    fn tile(cols: &[i8], weights: &[i32]) -> [[i32; TILE]; 4];

    /// The same for the `TILE` pixels whose windows start at `corner` in the padded
    /// input and follow each other (unit horizontal stride): each tap's values are
    /// `TILE` consecutive bytes from `corner + offset`, read in place.
    fn direct(padded: &[i8], corner: usize, taps: Taps, weights: &[i32]) -> [[i32; TILE]; 4];
}

/// Weights `t` and `t + 1` of `row` (0 past its end) as two `i16` in one `i32`, low
/// first: what `vpmaddwd` multiplies a pixel's tap pair by.
#[inline(always)]
fn weight_pair(row: &[i8], t: usize) -> i32 {
    let low = i32::from(row[t]) & 0xffff;
    let high = row.get(t + 1).map_or(0, |&v| i32::from(v));
    low | (high << 16)
}

/// The two weights of a pair.
#[inline(always)]
fn unpair(pair: i32) -> (i32, i32) {
    (i32::from(pair as i16), pair >> 16)
}

/// The four channels from `o` (`block` of them real; the others repeat the last) of
/// `w` (`k` weights a channel) in tap pairs: `weights[4·pair + r]`.
#[inline(always)]
fn pair_weights(w: &[i8], k: usize, o: usize, block: usize, weights: &mut [i32]) {
    let rows: [&[i8]; 4] = core::array::from_fn(|r| &w[(o + r.min(block - 1)) * k..][..k]);
    for (pair, four) in weights.chunks_exact_mut(4).take(k.div_ceil(2)).enumerate() {
        for (weight, row) in four.iter_mut().zip(rows) {
            *weight = weight_pair(row, 2 * pair);
        }
    }
}

/// The kernels in plain Rust.
struct Portable;

impl Products for Portable {
    #[inline(always)]
    fn tile(cols: &[i8], weights: &[i32]) -> [[i32; TILE]; 4] {
        let mut sums = [[0i32; TILE]; 4];
        for (x, four) in cols.chunks_exact(2 * TILE).zip(weights.chunks_exact(4)) {
            for (sums, &pair) in sums.iter_mut().zip(four) {
                let (w0, w1) = unpair(pair);
                for (s, taps) in sums.iter_mut().zip(x.chunks_exact(2)) {
                    *s += i32::from(taps[0]) * w0 + i32::from(taps[1]) * w1;
                }
            }
        }
        sums
    }

    #[inline(always)]
    fn direct(padded: &[i8], corner: usize, taps: Taps, weights: &[i32]) -> [[i32; TILE]; 4] {
        let mut sums = [[0i32; TILE]; 4];
        for (t, offset) in taps.offsets().enumerate() {
            let x = &padded[corner + offset..][..TILE];
            for (sums, &pair) in sums.iter_mut().zip(&weights[4 * (t / 2)..][..4]) {
                let wv = if t % 2 == 0 { unpair(pair).0 } else { unpair(pair).1 };
                for (s, &v) in sums.iter_mut().zip(x) {
                    *s += i32::from(v) * wv;
                }
            }
        }
        sums
    }
}

/// `x` padded with `pad` (its zero point) into `padded`, channel after channel.
#[inline(always)]
fn pad_input<G: Geometry>(x: &[i8], pad: i8, padded: &mut [i8]) {
    padded.fill(pad);
    for c in 0..G::C {
        for h in 0..G::H {
            let at = (c * G::HP + G::PAD_TOP + h) * G::WP + G::PAD_LEFT;
            padded[at..at + G::W].copy_from_slice(&x[(c * G::H + h) * G::W..][..G::W]);
        }
    }
}

/// The epilogue of one tile: channel `channel`'s `sums` scaled, activated and written
/// at `at..`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn finish<A: Activation>(
    sums: &[[i32; TILE]; 4], n: usize, channels: core::ops::Range<usize>, bias: &[i32], multipliers: &[f32],
    alpha: f32, out: &mut Out<'_>, at: impl Fn(usize) -> usize,
) {
    // The block's values together: one call of the (vector) activation.
    let mut values = [[0f32; TILE]; 4];
    for ((values, sums), channel) in values.iter_mut().zip(sums).zip(channels.clone()) {
        for (v, &sum) in values[..n].iter_mut().zip(sums) {
            *v = (sum + bias[channel]) as f32 * multipliers[channel];
        }
    }
    let flat = values.as_flattened_mut();
    activation::in_place::<f32, A>(&mut flat[..channels.len() * TILE], alpha);
    for (values, channel) in values.iter().zip(channels) {
        out.write(at(channel), values, n);
    }
}

/// The convolution on the kernels `K`: per group, per tile of pixels, its taps gathered
/// once, then four channels at a time, each tile's sums scaled, activated and written.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn conv_body<G: Geometry, A: Activation, K: Products>(
    x: &[i8], pad: i8, w: &[i8], bias: &[i32], multipliers: &[f32], alpha: f32, mut out: Out<'_>, cols: &mut [i8],
    weights: &mut [i32],
) {
    let (k, p, ocg) = (G::K, G::P, G::OCG);
    if G::SW == 1 {
        // Read in place: each output row in tiles of consecutive pixels.
        pad_input::<G>(x, pad, cols);
        let taps = Taps::of::<G>();
        for g in 0..G::GROUPS {
            let w = &w[g * ocg * k..][..ocg * k];
            let mut o = 0;
            while o < ocg {
                let block = (ocg - o).min(4);
                pair_weights(w, k, o, block, weights);
                for oh in 0..G::OH {
                    for ow in (0..G::OW).step_by(TILE) {
                        let n = TILE.min(G::OW - ow);
                        let corner = g * G::CG * G::HP * G::WP + oh * G::SH * G::WP + ow;
                        let sums = K::direct(cols, corner, taps, weights);
                        let channels = g * ocg + o..g * ocg + o + block;
                        let at = |channel: usize| channel * p + oh * G::OW + ow;
                        finish::<A>(&sums, n, channels, bias, multipliers, alpha, &mut out, at);
                    }
                }
                o += block;
            }
        }
        return;
    }
    for g in 0..G::GROUPS {
        let x = &x[g * G::CG * G::H * G::W..][..G::CG * G::H * G::W];
        let w = &w[g * ocg * k..][..ocg * k];
        for start in (0..p).step_by(TILE) {
            let n = TILE.min(p - start);
            gather::<G>(x, pad, start, n, cols);
            let mut o = 0;
            while o < ocg {
                let block = (ocg - o).min(4);
                pair_weights(w, k, o, block, weights);
                let sums = K::tile(cols, weights);
                let channels = g * ocg + o..g * ocg + o + block;
                finish::<A>(&sums, n, channels, bias, multipliers, alpha, &mut out, |channel| channel * p + start);
                o += block;
            }
        }
    }
}

/// The linear layer: sixteen outputs at a time, each a dot product, then scaled,
/// activated and written; written for the compiler to vectorize on the level its caller
/// enables.
#[inline(always)]
fn linear_body<A: Activation>(x: &[i8], w: &[i8], bias: &[i32], multipliers: &[f32], alpha: f32, mut out: Out<'_>) {
    let inputs = x.len();
    for start in (0..bias.len()).step_by(TILE) {
        let n = TILE.min(bias.len() - start);
        let mut values = [0f32; TILE];
        for (i, v) in values[..n].iter_mut().enumerate() {
            let o = start + i;
            let sum: i32 =
                x.iter().zip(&w[o * inputs..(o + 1) * inputs]).map(|(&a, &b)| i32::from(a) * i32::from(b)).sum();
            *v = (sum + bias[o]) as f32 * multipliers[o];
        }
        activation::in_place::<f32, A>(&mut values[..n], alpha);
        out.write(start, &values, n);
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{conv_body, linear_body, Out, Products, Taps, TILE};
    use crate::ops::activation::Activation;
    use crate::ops::conv2d::Geometry;
    use core::arch::x86_64::*;

    /// `$kernels`: the product kernels on `$sums`. The types are private and used only
    /// by `$entry`, whose caller guarantees `$sums`'s target features: that is what makes
    /// their safe methods sound.
    macro_rules! products_on {
        ($kernels:ident, $sums:ident, $entry:literal) => {
            #[doc = concat!("The kernels of `", $entry, "`.")]
            struct $kernels;

            impl Products for $kernels {
                #[inline(always)]
                fn tile(cols: &[i8], weights: &[i32]) -> [[i32; TILE]; 4] {
                    // SAFETY: only reached from the entry point, whose caller guarantees
                    // the features (see the macro).
                    unsafe { $sums(gathered(cols), weights) }
                }
                #[inline(always)]
                fn direct(padded: &[i8], corner: usize, taps: Taps, weights: &[i32]) -> [[i32; TILE]; 4] {
                    // SAFETY: as `tile`.
                    unsafe { $sums(tap_pairs(padded, corner, taps), weights) }
                }
            }
        };
    }

    products_on!(Avx512, sums_avx512, "conv_avx512");
    products_on!(Avx512Vnni, sums_avx512vnni, "conv_avx512vnni");
    products_on!(Avx2, sums_avx2, "conv_avx2");

    /// Taps `t` and `t + 1` of the `TILE` pixels from `corner`, interleaved byte by byte
    /// (tap `t + 1` zero past the last), pair after pair, as two halves of 16 bytes:
    /// what `vpmaddwd` takes once widened.
    #[inline(always)]
    fn tap_pairs(padded: &[i8], corner: usize, taps: Taps) -> impl Iterator<Item = [__m128i; 2]> + '_ {
        let mut offsets = taps.offsets();
        core::iter::from_fn(move || {
            let load = |offset: usize| {
                let bytes = &padded[corner + offset..][..TILE];
                // SAFETY: `bytes` holds the 16 bytes read; SSE2 is in every x86-64.
                unsafe { _mm_loadu_si128(bytes.as_ptr().cast()) }
            };
            let first = load(offsets.next()?);
            // SAFETY (below): SSE2 is in every x86-64.
            let second = offsets.next().map_or_else(|| unsafe { _mm_setzero_si128() }, load);
            Some(unsafe { [_mm_unpacklo_epi8(first, second), _mm_unpackhi_epi8(first, second)] })
        })
    }

    /// A tile's tap pairs gathered in `cols` (`2 × TILE` bytes each), as two halves.
    #[inline(always)]
    fn gathered(cols: &[i8]) -> impl Iterator<Item = [__m128i; 2]> + '_ {
        cols.chunks_exact(2 * TILE).map(|bytes| {
            // SAFETY: `bytes` holds the 2 × 16 bytes read; SSE2 is in every x86-64.
            unsafe { [_mm_loadu_si128(bytes.as_ptr().cast()), _mm_loadu_si128(bytes.as_ptr().add(TILE).cast())] }
        })
    }

    /// `$name`: the sums of one tile from its tap pairs (two halves of 16 bytes each) and
    /// the four channels' weight pairs, with AVX-512: each pair's bytes widened to 32
    /// `i16`, then `$accumulate(acc, x, weights)` with each channel's weight pair
    /// broadcast.
    macro_rules! sums_avx512_with {
        ($name:ident, $features:literal, $requirement:literal, $accumulate:expr) => {
            #[doc = concat!("The sums of a tile with ", $requirement, ".")]
            ///
            /// # Safety
            #[doc = concat!("The processor has ", $requirement, ".")]
            #[target_feature(enable = $features)]
            #[inline]
            unsafe fn $name(pairs: impl Iterator<Item = [__m128i; 2]>, weights: &[i32]) -> [[i32; TILE]; 4] {
                let mut acc = [_mm512_setzero_si512(); 4];
                for ([low, high], four) in pairs.zip(weights.chunks_exact(4)) {
                    let x = _mm512_cvtepi8_epi16(_mm256_set_m128i(high, low));
                    for (acc, &pair) in acc.iter_mut().zip(four) {
                        *acc = $accumulate(*acc, x, _mm512_set1_epi32(pair));
                    }
                }
                let mut sums = [[0i32; TILE]; 4];
                for (sums, acc) in sums.iter_mut().zip(acc) {
                    // SAFETY: `sums` has room for the 16 lanes written.
                    unsafe { _mm512_storeu_si512(sums.as_mut_ptr().cast(), acc) };
                }
                sums
            }
        };
    }

    // `vpmaddwd` then `vpaddd`; with VNNI, `vpdpwssd` does both.
    sums_avx512_with!(sums_avx512, "avx512f,avx512bw", "AVX-512F and AVX-512BW", |acc, x, w| {
        _mm512_add_epi32(acc, _mm512_madd_epi16(x, w))
    });
    sums_avx512_with!(sums_avx512vnni, "avx512f,avx512bw,avx512vnni", "AVX-512F, BW and VNNI", _mm512_dpwssd_epi32);

    /// The sums of a tile with AVX2, as [`sums_avx512`], in two halves of 8 pixels.
    ///
    /// # Safety
    /// The processor has AVX2.
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn sums_avx2(pairs: impl Iterator<Item = [__m128i; 2]>, weights: &[i32]) -> [[i32; TILE]; 4] {
        let mut acc = [[_mm256_setzero_si256(); 2]; 4];
        for (halves, four) in pairs.zip(weights.chunks_exact(4)) {
            let x = halves.map(|h| _mm256_cvtepi8_epi16(h));
            for (acc, &pair) in acc.iter_mut().zip(four) {
                let weights = _mm256_set1_epi32(pair);
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

    /// `$name`: the convolution on the kernels `$kernels`, compiled with `$features`.
    macro_rules! conv_compiled_for {
        ($name:ident, $kernels:ty, $features:literal, $requirement:literal) => {
            #[doc = concat!("The convolution compiled for ", $requirement, ".")]
            ///
            /// # Safety
            #[doc = concat!("The processor has ", $requirement, ".")]
            #[target_feature(enable = $features)]
            #[allow(clippy::too_many_arguments)]
            pub(super) unsafe fn $name<G: Geometry, A: Activation>(
                x: &[i8], pad: i8, w: &[i8], bias: &[i32], multipliers: &[f32], alpha: f32, out: Out<'_>,
                cols: &mut [i8], pairs: &mut [i32],
            ) {
                conv_body::<G, A, $kernels>(x, pad, w, bias, multipliers, alpha, out, cols, pairs)
            }
        };
    }

    conv_compiled_for!(conv_avx512, Avx512, "avx512f,avx512bw", "AVX-512F and AVX-512BW");
    conv_compiled_for!(conv_avx512vnni, Avx512Vnni, "avx512f,avx512bw,avx512vnni", "AVX-512F, BW and VNNI");
    conv_compiled_for!(conv_avx2, Avx2, "avx2", "AVX2");

    /// `$name`: the linear layer compiled with `$features`.
    macro_rules! linear_compiled_for {
        ($name:ident, $features:literal, $requirement:literal) => {
            #[doc = concat!("The linear layer compiled for ", $requirement, ".")]
            ///
            /// # Safety
            #[doc = concat!("The processor has ", $requirement, ".")]
            #[target_feature(enable = $features)]
            pub(super) unsafe fn $name<A: Activation>(
                x: &[i8], w: &[i8], bias: &[i32], multipliers: &[f32], alpha: f32, out: Out<'_>,
            ) {
                linear_body::<A>(x, w, bias, multipliers, alpha, out)
            }
        };
    }

    linear_compiled_for!(linear_avx512, "avx512f,avx512bw", "AVX-512F and AVX-512BW");
    linear_compiled_for!(linear_avx2, "avx2", "AVX2");
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

    /// A convolution of geometry `G` on every level equals the plain integer sums.
    fn convolution_is_exact<G: Geometry>() {
        let mut rng = Rng::new(G::K as u64);
        let x = random_i8(G::INPUT_LEN, &mut rng);
        let w = random_i8(G::WEIGHT_LEN, &mut rng);
        let bias: Vec<i32> = (0..G::OC as i32).map(|o| o * 1000 - 1500).collect();
        let multipliers = vec![1.0f32; G::OC];
        let pad = -3i8;
        let mut expected = vec![0f32; G::OUTPUT_LEN];
        for o in 0..G::OC {
            let g = o / G::OCG;
            for p in 0..G::P {
                let (oh, ow) = (p / G::OW, p % G::OW);
                let mut sum = bias[o];
                for c in 0..G::CG {
                    for i in 0..G::KH {
                        for j in 0..G::KW {
                            let h = (oh * G::SH + i * G::DH) as isize - G::PAD_TOP as isize;
                            let wc = (ow * G::SW + j * G::DW) as isize - G::PAD_LEFT as isize;
                            let inside = h >= 0 && wc >= 0 && (h as usize) < G::H && (wc as usize) < G::W;
                            let v = if inside {
                                x[((g * G::CG + c) * G::H + h as usize) * G::W + wc as usize]
                            } else {
                                pad
                            };
                            sum += i32::from(v) * i32::from(w[((o * G::CG + c) * G::KH + i) * G::KW + j]);
                        }
                    }
                }
                expected[o * G::P + p] = sum as f32;
            }
        }
        // Each level, and AVX-512 once more with VNNI where the processor has it.
        let mut kernels: Vec<(Level, bool)> = simd::levels_here().into_iter().map(|l| (l, false)).collect();
        #[cfg(target_arch = "x86_64")]
        if simd::level() >= Level::Avx512 && has_avx512bw() && has_avx512vnni() {
            kernels.push((Level::Avx512, true));
        }
        for (level, vnni) in kernels {
            let (mut y, mut cols) = (vec![0f32; G::OUTPUT_LEN], vec![0i8; conv_scratch::<G>()]);
            let mut pairs = vec![0i32; pair_scratch::<G>()];
            let out = Out::F32(&mut y);
            match level {
                #[cfg(target_arch = "x86_64")]
                // SAFETY: listed only where the processor has AVX-512F, BW and VNNI.
                Level::Avx512 if vnni => unsafe {
                    x86::conv_avx512vnni::<G, Identity>(
                        &x,
                        pad,
                        &w,
                        &bias,
                        &multipliers,
                        0.0,
                        out,
                        &mut cols,
                        &mut pairs,
                    )
                },
                #[cfg(target_arch = "x86_64")]
                // SAFETY: `levels_here` lists AVX-512 only where the processor has it; BW is checked.
                Level::Avx512 if has_avx512bw() => unsafe {
                    x86::conv_avx512::<G, Identity>(&x, pad, &w, &bias, &multipliers, 0.0, out, &mut cols, &mut pairs)
                },
                #[cfg(target_arch = "x86_64")]
                // SAFETY: `levels_here` lists AVX2 (and AVX-512, which implies it) only where the processor has it.
                Level::Avx2 | Level::Avx512 => unsafe {
                    x86::conv_avx2::<G, Identity>(&x, pad, &w, &bias, &multipliers, 0.0, out, &mut cols, &mut pairs)
                },
                _ => conv_body::<G, Identity, Portable>(
                    &x,
                    pad,
                    &w,
                    &bias,
                    &multipliers,
                    0.0,
                    out,
                    &mut cols,
                    &mut pairs,
                ),
            }
            assert_eq!(y, expected, "{level:?} (VNNI: {vnni}), K = {}, stride {}", G::K, G::SW);
        }
    }

    /// Both ways a convolution runs — taps gathered (strided), read in place (unit
    /// horizontal stride) — on every level, with output counts on and off the block of
    /// four, pixel counts on and off the tile, odd `K`, padding, dilation and groups;
    /// and a linear layer.
    #[test]
    fn products_on_every_level_are_the_exact_integer_sums() {
        convolution_is_exact::<G3>();
        convolution_is_exact::<G5>();
        convolution_is_exact::<G6>();
        let mut rng = Rng::new(5);
        let (inputs, outputs) = (37, 21);
        let (xl, wl) = (random_i8(inputs, &mut rng), random_i8(inputs * outputs, &mut rng));
        let bl: Vec<i32> = (0..outputs as i32).map(|o| 7 * o - 50).collect();
        let ml = vec![1.0f32; outputs];
        let expected: Vec<f32> = (0..outputs)
            .map(|o| {
                (bl[o] + (0..inputs).map(|i| i32::from(xl[i]) * i32::from(wl[o * inputs + i])).sum::<i32>()) as f32
            })
            .collect();
        for level in simd::levels_here() {
            let mut yl = vec![0f32; outputs];
            let out = Out::F32(&mut yl);
            match level {
                #[cfg(target_arch = "x86_64")]
                // SAFETY: as in `convolution_is_exact`.
                Level::Avx512 if has_avx512bw() => unsafe {
                    x86::linear_avx512::<Identity>(&xl, &wl, &bl, &ml, 0.0, out)
                },
                #[cfg(target_arch = "x86_64")]
                // SAFETY: as in `convolution_is_exact`.
                Level::Avx2 | Level::Avx512 => unsafe { x86::linear_avx2::<Identity>(&xl, &wl, &bl, &ml, 0.0, out) },
                _ => linear_body::<Identity>(&xl, &wl, &bl, &ml, 0.0, out),
            }
            assert_eq!(yl, expected, "{level:?}: linear");
        }
    }

    /// Unit horizontal stride (read in place): two groups of five channels (a block of
    /// four, then one), rows of 19 pixels (a tile and 3), dilated rows, odd `K`.
    struct G6;
    impl Geometry for G6 {
        const C: usize = 4;
        const H: usize = 6;
        const W: usize = 19;
        const OC: usize = 10;
        const KH: usize = 3;
        const KW: usize = 3;
        const SH: usize = 2;
        const SW: usize = 1;
        const PAD_TOP: usize = 2;
        const PAD_BOTTOM: usize = 2;
        const PAD_LEFT: usize = 1;
        const PAD_RIGHT: usize = 1;
        const DH: usize = 2;
        const DW: usize = 1;
        const GROUPS: usize = 2;
        const BIAS: bool = true;
        const OH: usize = 3;
        const OW: usize = 19;
    }

    /// Two blocks of channels (four, then two), two tiles of pixels (16, then 4), odd K.
    struct G5;
    impl Geometry for G5 {
        const C: usize = 3;
        const H: usize = 5;
        const W: usize = 7;
        const OC: usize = 6;
        const KH: usize = 3;
        const KW: usize = 3;
        const SH: usize = 1;
        const SW: usize = 2;
        const PAD_TOP: usize = 1;
        const PAD_BOTTOM: usize = 1;
        const PAD_LEFT: usize = 1;
        const PAD_RIGHT: usize = 1;
        const DH: usize = 1;
        const DW: usize = 1;
        const GROUPS: usize = 1;
        const BIAS: bool = true;
        const OH: usize = 5;
        const OW: usize = 4;
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
        let (mut cols, mut pairs) = (vec![0i8; conv_scratch::<G3>()], vec![0i32; pair_scratch::<G3>()]);
        conv::<G3, Tanh>(&x, x_q.zero, &w, &bias, &multipliers, 0.0, Out::Int8(&mut y, y_q), &mut cols, &mut pairs);
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
