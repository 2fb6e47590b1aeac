//! Classification metrics over a confusion matrix: accuracy, Cohen's kappa, Matthews
//! correlation (the multi-class form), and the row-normalized matrix; the predicted
//! class of each row of outputs.

use crate::error::Error;
use crate::float::Float;

/// `counts[true][predicted]`, `classes × classes` counts. The fields are private so the
/// two always agree; read them with [`Confusion::classes`] and [`Confusion::counts`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confusion {
    classes: usize,
    counts: Vec<u64>,
}

impl Confusion {
    /// An empty matrix for `classes` classes.
    ///
    /// # Panics
    ///
    /// If `classes × classes` overflows `usize`: no such matrix could be allocated (the
    /// same condition as `Vec::with_capacity`'s "capacity overflow").
    pub fn new(classes: usize) -> Self {
        let cells = classes.checked_mul(classes).expect("capacity overflow: classes × classes overflows usize");
        Confusion { classes, counts: vec![0; cells] }
    }

    /// Number of classes (rows, and columns).
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// The counts, row by row: `counts()[truth * classes() + predicted]`.
    pub fn counts(&self) -> &[u64] {
        &self.counts
    }

    /// Counts one sample of class `truth` predicted as `predicted`. A class outside
    /// `0..classes` is an error naming it, and nothing is counted.
    pub fn add(&mut self, truth: usize, predicted: usize) -> Result<(), Error> {
        for (what, class) in [("true class", truth), ("predicted class", predicted)] {
            if class >= self.classes {
                return Err(Error::Data {
                    source: "Confusion::add".into(),
                    message: format!(
                        "{what} {class} is out of range: the matrix has {} classes (0..{})",
                        self.classes, self.classes
                    ),
                });
            }
        }
        self.counts[truth * self.classes + predicted] += 1;
        Ok(())
    }

    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    fn row(&self, k: usize) -> u64 {
        self.counts[k * self.classes..(k + 1) * self.classes].iter().sum()
    }

    fn column(&self, k: usize) -> u64 {
        (0..self.classes).map(|t| self.counts[t * self.classes + k]).sum()
    }

    fn correct(&self) -> u64 {
        (0..self.classes).map(|k| self.counts[k * self.classes + k]).sum()
    }

    pub fn accuracy(&self) -> f64 {
        self.correct() as f64 / self.total().max(1) as f64
    }

    /// `(p_o − p_e) / (1 − p_e)`, chance agreement `p_e` from the marginals.
    pub fn cohen_kappa(&self) -> f64 {
        let n = self.total() as f64;
        let expected: f64 =
            (0..self.classes).map(|k| self.row(k) as f64 * self.column(k) as f64).sum::<f64>() / (n * n);
        (self.accuracy() - expected) / (1.0 - expected)
    }

    /// Gorodkin's multi-class Matthews correlation coefficient (scikit-learn's).
    pub fn matthews(&self) -> f64 {
        let (c, s) = (self.correct() as f64, self.total() as f64);
        let (mut pt, mut pp, mut tt) = (0.0, 0.0, 0.0);
        for k in 0..self.classes {
            let (t, p) = (self.row(k) as f64, self.column(k) as f64);
            pt += p * t;
            pp += p * p;
            tt += t * t;
        }
        let denominator = ((s * s - pp) * (s * s - tt)).sqrt();
        if denominator == 0.0 {
            0.0
        } else {
            (c * s - pt) / denominator
        }
    }

    /// Each row divided by its total: the fraction of each true class predicted as each class.
    pub fn normalized(&self) -> Vec<f64> {
        let mut out = vec![0.0; self.counts.len()];
        for t in 0..self.classes {
            let total = self.row(t).max(1) as f64;
            for p in 0..self.classes {
                out[t * self.classes + p] = self.counts[t * self.classes + p] as f64 / total;
            }
        }
        out
    }
}

/// The index of the largest value in each row of `classes` values: the predicted class.
///
/// Ties go to the first maximum, and NaN counts as larger than every number, so a row
/// holding NaN predicts the index of its first NaN: `torch.argmax`'s behaviour on the CPU
/// (and NumPy's `argmax`). `classes` of 0, or an output that is not a whole number of
/// rows, is an error rather than a partial answer.
pub fn argmax_rows<F: Float>(output: &[F], classes: usize) -> Result<impl Iterator<Item = usize> + '_, Error> {
    let err = |message: String| Error::Data { source: "argmax_rows".into(), message };
    if classes == 0 {
        return Err(err("0 classes: each row needs at least one value".into()));
    }
    if !output.len().is_multiple_of(classes) {
        return Err(err(format!(
            "{} outputs are not whole rows of {classes} classes ({} rows and {} values left over)",
            output.len(),
            output.len() / classes,
            output.len() % classes
        )));
    }
    Ok(output.chunks_exact(classes).map(|row| {
        let mut best = 0;
        for (i, &v) in row.iter().enumerate() {
            if v.is_nan() {
                return i;
            }
            if v > row[best] {
                best = i;
            }
        }
        best
    }))
}

/// How many rows of `classes` outputs rank their label among their `k` largest values
/// (top-k accuracy's numerator; `k = 1` is [`argmax_rows`]'s). Ranks break ties as
/// [`argmax_rows`] does: the earlier index first, NaN above every number. A label out
/// of range, a `k` of 0 or a label count that is not the row count is an error.
pub fn top_k_correct<F: Float>(output: &[F], classes: usize, labels: &[usize], k: usize) -> Result<usize, Error> {
    let err = |message: String| Error::Data { source: "top_k_correct".into(), message };
    if k == 0 {
        return Err(err("k is 0: top-k needs at least one guess".into()));
    }
    let rows = argmax_rows(output, classes)?.count();
    if rows != labels.len() {
        return Err(err(format!("{rows} rows of outputs but {} labels", labels.len())));
    }
    if let Some(position) = labels.iter().position(|&l| l >= classes) {
        return Err(Error::LabelOutOfRange { position, label: labels[position], classes });
    }
    // `a` ranks above `b`: NaN first, then larger numbers; equal values by index.
    let above = |a: F, b: F| (a.is_nan() && !b.is_nan()) || a > b;
    Ok(output
        .chunks_exact(classes)
        .zip(labels)
        .filter(|(row, &label)| {
            let value = row[label];
            let ahead =
                row.iter().enumerate().filter(|&(i, &v)| above(v, value) || (i < label && !above(value, v))).count();
            ahead < k
        })
        .count())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (true, predicted) pairs, classes, and the expected accuracy, kappa and MCC.
    type Case = (&'static [(usize, usize)], usize, f64, f64, f64);

    /// Against scikit-learn 1.x (`accuracy_score`, `cohen_kappa_score`,
    /// `matthews_corrcoef`) on the same labels, computed when this test was written.
    #[test]
    fn matches_scikit_learn() {
        let cases: [Case; 2] = [
            (
                &[(0, 0), (0, 1), (1, 1), (1, 1), (2, 2), (2, 0), (2, 2), (1, 2)],
                3,
                0.625,
                0.428_571_428_571_428_6,
                0.428_571_428_571_428_55,
            ),
            (
                &[(0, 0), (1, 1), (2, 2), (3, 2), (0, 0), (1, 3), (2, 2), (3, 3), (3, 1), (3, 3)],
                4,
                0.7,
                0.594_594_594_594_594_6,
                0.602_796_286_786_31,
            ),
        ];
        for (pairs, classes, accuracy, kappa, mcc) in cases {
            let mut m = Confusion::new(classes);
            for &(t, p) in pairs {
                m.add(t, p).unwrap();
            }
            assert!((m.accuracy() - accuracy).abs() < 1e-12);
            assert!((m.cohen_kappa() - kappa).abs() < 1e-12, "{}", m.cohen_kappa());
            assert!((m.matthews() - mcc).abs() < 1e-12, "{}", m.matthews());
        }
        let mut m = Confusion::new(3);
        for (t, p) in [(1, 1), (1, 1), (1, 2)] {
            m.add(t, p).unwrap();
        }
        assert_eq!(&m.normalized()[3..6], &[0.0, 2.0 / 3.0, 1.0 / 3.0]);
    }

    #[test]
    fn top_k_counts_labels_among_the_largest_with_argmax_ties() {
        let output = [0.1f32, 0.5, 0.3, 0.2, /* row 2 */ 1.0, 1.0, 0.0, f32::NAN];
        // Row 1 ranks 1, 2, 3, 0; row 2 ranks 3 (NaN), 0, 1, 2.
        assert_eq!(top_k_correct(&output, 4, &[1, 3], 1).unwrap(), 2);
        assert_eq!(top_k_correct(&output, 4, &[2, 0], 1).unwrap(), 0);
        assert_eq!(top_k_correct(&output, 4, &[2, 0], 2).unwrap(), 2);
        assert_eq!(top_k_correct(&output, 4, &[0, 1], 2).unwrap(), 0);
        assert_eq!(top_k_correct(&output, 4, &[0, 1], 3).unwrap(), 1);
        assert_eq!(top_k_correct(&output, 4, &[0, 2], 4).unwrap(), 2);
        let argmax: Vec<usize> = argmax_rows(&output, 4).unwrap().collect();
        assert_eq!(top_k_correct(&output, 4, &argmax, 1).unwrap(), 2);
        assert!(top_k_correct(&output, 4, &[0, 4], 1).is_err());
        assert!(top_k_correct(&output, 4, &[0], 1).is_err());
        assert!(top_k_correct(&output, 4, &[0, 1], 0).is_err());
    }
}
