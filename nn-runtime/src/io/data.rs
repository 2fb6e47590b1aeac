//! Labelled image sets in memory and shuffled mini-batches over them.

use crate::error::Error;
use crate::float::Float;
use crate::io::idx::Idx;
use crate::rng::Rng;

/// Images as floats `[n, C, H, W]` with one class label each.
#[derive(Debug, Clone)]
pub struct ImageSet<F> {
    pub images: Vec<F>,
    pub labels: Vec<usize>,
    /// One image's shape, `[C, H, W]`.
    pub shape: [usize; 3],
}

impl<F: Float> ImageSet<F> {
    /// From IDX images `[n, H, W]` and labels `[n]`; pixels are scaled to [0, 1].
    pub fn from_idx(images: &Idx, labels: &Idx) -> Result<Self, Error> {
        let err = |message: String| Error::Data { source: "IDX data".into(), message };
        if images.dims.len() != 3 {
            return Err(err(format!("images must have 3 dimensions [n, H, W], found {:?}", images.dims)));
        }
        if labels.dims.len() != 1 {
            return Err(err(format!("labels must have 1 dimension [n], found {:?}", labels.dims)));
        }
        if images.len() != labels.len() {
            return Err(err(format!("{} images but {} labels", images.len(), labels.len())));
        }
        // Divided, not multiplied by 1/255, to match torchvision's `ToTensor` exactly.
        let scale = F::from_f64(255.0);
        Ok(ImageSet {
            images: images.data.iter().map(|&p| F::from_usize(p as usize) / scale).collect(),
            labels: labels.data.iter().map(|&l| l as usize).collect(),
            shape: [1, images.dims[1], images.dims[2]],
        })
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
    pub fn sample_len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Zero-pads every image by `pad` pixels on each side (LeNet-5's 28×28 → 32×32).
    pub fn padded(&self, pad: usize) -> Self {
        let [c, h, w] = self.shape;
        let (ph, pw) = (h + 2 * pad, w + 2 * pad);
        let mut images = vec![F::ZERO; self.len() * c * ph * pw];
        for (src, dst) in self.images.chunks_exact(c * h * w).zip(images.chunks_exact_mut(c * ph * pw)) {
            for ch in 0..c {
                for row in 0..h {
                    let from = &src[(ch * h + row) * w..][..w];
                    dst[(ch * ph + row + pad) * pw + pad..][..w].copy_from_slice(from);
                }
            }
        }
        ImageSet { images, labels: self.labels.clone(), shape: [c, ph, pw] }
    }

    /// `(x − mean) / std` on every pixel.
    pub fn normalize(&mut self, mean: f64, std: f64) {
        let (mean, inv) = (F::from_f64(mean), F::from_f64(1.0 / std));
        for p in &mut self.images {
            *p = (*p - mean) * inv;
        }
    }

    /// Mean and standard deviation over all pixels.
    pub fn pixel_stats(&self) -> (f64, f64) {
        let n = self.images.len().max(1) as f64;
        let mean = self.images.iter().map(|p| p.to_f64()).sum::<f64>() / n;
        let var = self.images.iter().map(|p| (p.to_f64() - mean).powi(2)).sum::<f64>() / n;
        (mean, var.sqrt())
    }
}

/// Draws shuffled mini-batches into buffers it owns, reusing them from batch to batch.
#[derive(Debug, Clone)]
pub struct Batches<F> {
    order: Vec<usize>,
    rng: Rng,
    batch_size: usize,
    position: usize,
    inputs: Vec<F>,
    labels: Vec<usize>,
}

impl<F: Float> Batches<F> {
    pub fn new(len: usize, batch_size: usize, seed: u64) -> Self {
        assert!(batch_size > 0, "batch size must be positive");
        Batches {
            order: (0..len).collect(),
            rng: Rng::new(seed),
            batch_size,
            position: len,
            inputs: Vec::new(),
            labels: Vec::new(),
        }
    }

    /// Reshuffles; call at the start of every epoch.
    pub fn shuffle(&mut self) {
        self.rng.shuffle(&mut self.order);
        self.position = 0;
    }

    /// The next batch (the last one of an epoch may be smaller), or `None` at the end.
    pub fn next_batch<'a>(&'a mut self, set: &ImageSet<F>) -> Option<(&'a [F], &'a [usize])> {
        if self.position >= self.order.len() {
            return None;
        }
        let end = (self.position + self.batch_size).min(self.order.len());
        let len = set.sample_len();
        self.inputs.clear();
        self.labels.clear();
        for &i in &self.order[self.position..end] {
            self.inputs.extend_from_slice(&set.images[i * len..(i + 1) * len]);
            self.labels.push(set.labels[i]);
        }
        self.position = end;
        Some((&self.inputs, &self.labels))
    }
}
