//! Classification metrics over a confusion matrix: accuracy, Cohen's kappa, Matthews
//! correlation (the multi-class form), and the row-normalized matrix; the predicted
//! class of each row of outputs.

use crate::float::Float;

/// `counts[true][predicted]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confusion {
    pub classes: usize,
    pub counts: Vec<u64>,
}

impl Confusion {
    pub fn new(classes: usize) -> Self {
        Confusion { classes, counts: vec![0; classes * classes] }
    }

    pub fn add(&mut self, truth: usize, predicted: usize) {
        self.counts[truth * self.classes + predicted] += 1;
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
pub fn argmax_rows<F: Float>(output: &[F], classes: usize) -> impl Iterator<Item = usize> + '_ {
    output.chunks_exact(classes).map(|row| {
        let mut best = 0;
        for (i, &v) in row.iter().enumerate() {
            if v > row[best] {
                best = i;
            }
        }
        best
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Against scikit-learn 1.x (`accuracy_score`, `cohen_kappa_score`,
    /// `matthews_corrcoef`) on the same labels, computed when this test was written.
    #[test]
    fn matches_scikit_learn() {
        let cases: [(&[(usize, usize)], usize, f64, f64, f64); 2] = [
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
                m.add(t, p);
            }
            assert!((m.accuracy() - accuracy).abs() < 1e-12);
            assert!((m.cohen_kappa() - kappa).abs() < 1e-12, "{}", m.cohen_kappa());
            assert!((m.matthews() - mcc).abs() < 1e-12, "{}", m.matthews());
        }
        let mut m = Confusion::new(3);
        for (t, p) in [(1, 1), (1, 1), (1, 2)] {
            m.add(t, p);
        }
        assert_eq!(&m.normalized()[3..6], &[0.0, 2.0 / 3.0, 1.0 / 3.0]);
    }
}
