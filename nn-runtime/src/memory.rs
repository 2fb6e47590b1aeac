//! Cutting one planned buffer into a step's inputs and output: the macro plans every
//! value's range at compile time, and these split the buffer along those ranges
//! without copies. `no_std`: the static inference types use them too.

/// Splits one buffer into a layer's input (read) and output (written) ranges; the
/// planner lays every output after its input, so they never overlap.
#[inline(always)]
pub fn split_io<F>(
    buffer: &mut [F], input: core::ops::Range<usize>, output: core::ops::Range<usize>,
) -> (&[F], &mut [F]) {
    debug_assert!(input.end <= output.start);
    let (head, tail) = buffer.split_at_mut(output.start);
    (&head[input], &mut tail[..output.end - output.start])
}

/// One buffer cut around a step's `output` range: what lies before it, the output, and
/// what lies after it, so the step reads its inputs wherever the liveness plan put them.
#[inline(always)]
pub fn around<F>(buffer: &mut [F], output: core::ops::Range<usize>) -> (&[F], &mut [F], &[F]) {
    let (before, rest) = buffer.split_at_mut(output.start);
    let (output, after) = rest.split_at_mut(output.end - output.start);
    (before, output, after)
}

/// `N` mutable slices of one buffer at `ranges`, which the planner made disjoint
/// (backward reads one value's gradient and writes others' in the same arena).
///
/// # Panics
///
/// When two ranges overlap or one runs past the buffer: a planner bug, never input.
#[inline]
pub fn disjoint<F, const N: usize>(buffer: &mut [F], ranges: [core::ops::Range<usize>; N]) -> [&mut [F]; N] {
    let mut order: [usize; N] = core::array::from_fn(|i| i);
    order.sort_unstable_by_key(|&i| ranges[i].start);
    let mut parts: [Option<&mut [F]>; N] = core::array::from_fn(|_| None);
    let (mut rest, mut consumed) = (buffer, 0);
    for i in order {
        let range = &ranges[i];
        assert!(range.start >= consumed && range.start <= range.end, "overlapping ranges {ranges:?}");
        let (_, tail) = core::mem::take(&mut rest).split_at_mut(range.start - consumed);
        let (part, tail) = tail.split_at_mut(range.end - range.start);
        parts[i] = Some(part);
        (rest, consumed) = (tail, range.end);
    }
    parts.map(|part| part.expect("every range is assigned once"))
}

#[cfg(test)]
mod tests {
    use super::disjoint;

    #[test]
    fn disjoint_returns_each_range_in_the_order_asked() {
        let mut buffer: Vec<u32> = (0..10).collect();
        let [a, b, c] = disjoint(&mut buffer, [6..8, 0..2, 3..3]);
        assert_eq!((&*a, &*b, &*c), (&[6, 7][..], &[0, 1][..], &[][..]));
        a[0] = 60;
        assert_eq!(buffer[6], 60);
    }

    #[test]
    #[should_panic(expected = "overlapping")]
    fn disjoint_refuses_overlaps() {
        let mut buffer = [0u8; 8];
        let _ = disjoint(&mut buffer, [0..4, 3..5]);
    }
}
