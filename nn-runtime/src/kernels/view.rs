//! Strided views the kernels take instead of copies: a matrix ([`Mat`]) and the
//! offsets of a convolution's pixels or taps in an image ([`Walk`]).

/// A strided, read-only matrix view: `data[i * row_stride + j * col_stride]` is element (i, j).
#[derive(Clone, Copy)]
pub struct Mat<'a, F> {
    pub data: &'a [F],
    pub rows: usize,
    pub cols: usize,
    pub row_stride: usize,
    pub col_stride: usize,
}

impl<'a, F> Mat<'a, F> {
    /// Row-major `rows × cols` matrix.
    pub fn row_major(data: &'a [F], rows: usize, cols: usize) -> Self {
        Mat { data, rows, cols, row_stride: cols, col_stride: 1 }
    }
    /// Rows `row_stride` apart, columns `col_stride` apart.
    pub fn strided(data: &'a [F], rows: usize, cols: usize, row_stride: usize, col_stride: usize) -> Self {
        Mat { data, rows, cols, row_stride, col_stride }
    }
    /// The transpose of a row-major `cols × rows` matrix, without moving data.
    pub fn transposed(data: &'a [F], rows: usize, cols: usize) -> Self {
        Mat { data, rows, cols, row_stride: 1, col_stride: rows }
    }
}

/// Three nested loops of offsets: index `q` of `n[0]·n[1]·n[2]` maps to
/// `(q / (n1·n2))·step[0] + (q / n2 % n1)·step[1] + (q % n2)·step[2]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Walk {
    pub n: [usize; 3],
    pub step: [usize; 3],
}

impl Walk {
    pub fn len(&self) -> usize {
        self.n[0] * self.n[1] * self.n[2]
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every offset in order, by counting rather than dividing.
    pub fn offsets(&self) -> Offsets {
        Offsets { walk: *self, index: [0; 3], offset: 0, remaining: self.len() }
    }

    /// The largest offset (the walk is not empty); `usize::MAX` where it overflows, so
    /// that a bounds check against it fails rather than wraps.
    pub(crate) fn last(&self) -> usize {
        (0..3).fold(0usize, |sum, i| sum.saturating_add((self.n[i] - 1).saturating_mul(self.step[i])))
    }
}

/// The offsets of a [`Walk`] in order: three counters and a running sum (a nested
/// `flat_map` was not inlined and cost a sixth of the Keras network's inference).
#[derive(Clone, Debug)]
pub struct Offsets {
    walk: Walk,
    index: [usize; 3],
    offset: usize,
    remaining: usize,
}

impl Iterator for Offsets {
    type Item = usize;

    #[inline(always)]
    fn next(&mut self) -> Option<usize> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let current = self.offset;
        let Walk { n, step } = self.walk;
        self.index[2] += 1;
        self.offset += step[2];
        if self.index[2] == n[2] {
            self.index[2] = 0;
            self.index[1] += 1;
            self.offset = self.offset - n[2] * step[2] + step[1];
            if self.index[1] == n[1] {
                self.index[1] = 0;
                self.index[0] += 1;
                self.offset = self.offset - n[1] * step[1] + step[0];
            }
        }
        Some(current)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

/// One past the last element a `rows × cols` view with these strides addresses (0 when
/// empty); `usize::MAX` where that overflows, so that a bounds check against it fails
/// rather than wraps (a view with absurd strides must not pass the kernels' asserts).
pub(crate) fn extent(rows: usize, cols: usize, row_stride: usize, col_stride: usize) -> usize {
    if rows == 0 || cols == 0 {
        return 0;
    }
    (rows - 1).saturating_mul(row_stride).saturating_add((cols - 1).saturating_mul(col_stride)).saturating_add(1)
}

/// Sets the first `n` values of `m` rows, `ld` apart, to zero: a product over an empty
/// reduction that overwrites.
pub(crate) fn clear_rows<F: crate::float::Float>(c: &mut [F], m: usize, n: usize, ld: usize) {
    c.chunks_mut(ld.max(1)).take(m).for_each(|row| row[..n].fill(F::ZERO));
}
