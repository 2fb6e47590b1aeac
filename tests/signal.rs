//! The 1-D layers compute what PyTorch's `nn.Conv1d`, `nn.MaxPool1d` and `nn.AvgPool1d`
//! define, compared with loops written straight from those definitions: weights
//! `[out, in/groups, k]` and bias as the network's parameters, zero padding (minus
//! infinity for the maximum), dilation, groups, strides and ceil mode, the average
//! dividing by the window clipped to the padded input (`count_include_pad=True`).

use nn::network;
use nn::runtime::rng::Rng;
use nn::Network;

network! {
    Strided: [C = 4, L = 13] => conv1d(4, 6, 3, stride = 2, padding = 2, dilation = 2, groups = 2);
    Same: [C = 3, L = 10] => conv1d(3, 8, 4, padding = same, bias = false);
    Max: [C = 3, L = 11] => maxpool1d(3, stride = 2, padding = 1, ceil_mode = true);
    Average: [C = 3, L = 11] => avgpool1d(3, stride = 2, padding = 1, ceil_mode = true);
    AverageFloor: [C = 2, L = 9] => avgpool1d(4, stride = 3, padding = 2)
}

const BATCH: usize = 2;

fn input(len: usize) -> Vec<f64> {
    let mut rng = Rng::new(5);
    (0..BATCH * len).map(|_| rng.uniform(-1.0, 1.0)).collect()
}

/// A convolution's shape: channels `c` of length `l` to `o` channels, kernel `k`.
struct Conv {
    c: usize,
    l: usize,
    o: usize,
    k: usize,
    stride: usize,
    padding: (usize, usize),
    dilation: usize,
    groups: usize,
}

/// `nn.Conv1d`'s output, from its definition.
fn conv1d(x: &[f64], params: &[f64], bias: bool, g: &Conv) -> Vec<f64> {
    let (cg, og) = (g.c / g.groups, g.o / g.groups);
    let out = (g.l + g.padding.0 + g.padding.1 - g.dilation * (g.k - 1) - 1) / g.stride + 1;
    let (weight, b) = params.split_at(g.o * cg * g.k);
    let mut y = Vec::new();
    for sample in x.chunks(g.c * g.l) {
        for o in 0..g.o {
            let group = o / og;
            for j in 0..out {
                let mut sum = if bias { b[o] } else { 0.0 };
                for ci in 0..cg {
                    for t in 0..g.k {
                        let position = (j * g.stride + t * g.dilation) as isize - g.padding.0 as isize;
                        if (0..g.l as isize).contains(&position) {
                            let channel = group * cg + ci;
                            sum += weight[(o * cg + ci) * g.k + t] * sample[channel * g.l + position as usize];
                        }
                    }
                }
                y.push(sum);
            }
        }
    }
    y
}

/// PyTorch's `pooling_output_shape`.
fn pooled_length(l: usize, k: usize, s: usize, p: usize, ceil_mode: bool) -> usize {
    let reach = l + 2 * p - k + if ceil_mode { s - 1 } else { 0 };
    let out = reach / s + 1;
    if ceil_mode && (out - 1) * s >= l + p {
        out - 1
    } else {
        out
    }
}

/// `nn.MaxPool1d` (`average` false) or `nn.AvgPool1d` from their definitions.
fn pool1d(x: &[f64], c: usize, l: usize, (k, s, p): (usize, usize, usize), ceil_mode: bool, average: bool) -> Vec<f64> {
    let out = pooled_length(l, k, s, p, ceil_mode);
    let mut y = Vec::new();
    for plane in x.chunks(l).take(BATCH * c) {
        for j in 0..out {
            let start = (j * s) as isize - p as isize;
            let end = (start + k as isize).min((l + p) as isize);
            let inside = (start.max(0) as usize)..(end.min(l as isize) as usize);
            y.push(if average {
                plane[inside].iter().sum::<f64>() / (end - start) as f64
            } else {
                plane[inside].iter().copied().fold(f64::NEG_INFINITY, f64::max)
            });
        }
    }
    y
}

fn assert_close(actual: &[f64], expected: &[f64]) {
    assert_eq!(actual.len(), expected.len());
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        assert!((a - e).abs() < 1e-12, "element {i}: {a} vs {e}");
    }
}

#[test]
fn conv1d_is_pytorchs() {
    let mut net = Strided::<f64>::with_seed(1);
    let x = input(Strided::<f64>::INPUT_LEN);
    let shape = Conv { c: 4, l: 13, o: 6, k: 3, stride: 2, padding: (2, 2), dilation: 2, groups: 2 };
    let expected = conv1d(&x, net.params(), true, &shape);
    assert_eq!(expected.len(), BATCH * 6 * 7);
    assert_close(net.forward(&x).unwrap(), &expected);

    // `same` with an even kernel: one zero before, two after.
    let mut net = Same::<f64>::with_seed(2);
    let x = input(Same::<f64>::INPUT_LEN);
    let shape = Conv { c: 3, l: 10, o: 8, k: 4, stride: 1, padding: (1, 2), dilation: 1, groups: 1 };
    let expected = conv1d(&x, net.params(), false, &shape);
    assert_eq!(expected.len(), BATCH * 8 * 10);
    assert_close(net.forward(&x).unwrap(), &expected);
}

#[test]
fn pooling1d_is_pytorchs() {
    let x = input(3 * 11);
    let expected = pool1d(&x, 3, 11, (3, 2, 1), true, false);
    assert_eq!(expected.len(), BATCH * 3 * 6);
    assert_close(Max::<f64>::with_seed(0).forward(&x).unwrap(), &expected);
    let expected = pool1d(&x, 3, 11, (3, 2, 1), true, true);
    assert_close(Average::<f64>::with_seed(0).forward(&x).unwrap(), &expected);
    let x = input(2 * 9);
    let expected = pool1d(&x, 2, 9, (4, 3, 2), false, true);
    assert_eq!(expected.len(), BATCH * 2 * 4);
    assert_close(AverageFloor::<f64>::with_seed(0).forward(&x).unwrap(), &expected);
}
