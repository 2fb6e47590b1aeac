//! Labelled image sets in memory and shuffled mini-batches over them.

use crate::error::Error;
use crate::float::Float;
use crate::io::checkpoint::Checkpoint;
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
    ///
    /// Both arrays are checked first ([`Idx::check`]: their dimensions must describe their
    /// data), images must have at least one pixel, and there must be one label per image.
    pub fn from_idx(images: &Idx, labels: &Idx) -> Result<Self, Error> {
        let err = |message: String| Error::Data { source: "IDX data".into(), message };
        if images.dims.len() != 3 {
            return Err(err(format!("images must have 3 dimensions [n, H, W], found {:?}", images.dims)));
        }
        if labels.dims.len() != 1 {
            return Err(err(format!("labels must have 1 dimension [n], found {:?}", labels.dims)));
        }
        images.check("IDX images")?;
        labels.check("IDX labels")?;
        if images.dims[1] == 0 || images.dims[2] == 0 {
            return Err(err(format!(
                "images of {}×{} pixels (dimensions {:?}): an image needs at least one pixel",
                images.dims[1], images.dims[2], images.dims
            )));
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
    /// Values in one image: `C × H × W` (saturating at `usize::MAX` for a shape no set
    /// could hold; [`ImageSet::check`] reports that as an error).
    pub fn sample_len(&self) -> usize {
        self.shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d)).unwrap_or(usize::MAX)
    }

    /// Checks that the public fields agree: `images` holds `labels.len()` images of
    /// `shape`. Returns one image's length.
    pub fn check(&self) -> Result<usize, Error> {
        let err = |message: String| Error::Data { source: "image set".into(), message };
        let sample = self.shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
        let total = sample.and_then(|s| s.checked_mul(self.labels.len()));
        match (sample, total) {
            (Some(sample), Some(total)) if total == self.images.len() => Ok(sample),
            _ => Err(err(format!(
                "{} labels of images shaped {:?} need {} values, but `images` holds {}",
                self.labels.len(),
                self.shape,
                total.map_or("more".to_string(), |t| t.to_string()),
                self.images.len()
            ))),
        }
    }

    /// Zero-pads every image by `pad` pixels on each side (LeNet-5's 28×28 → 32×32).
    /// Checks the set first ([`ImageSet::check`]); a padded size that overflows is an error.
    pub fn padded(&self, pad: usize) -> Result<Self, Error> {
        let sample = self.check()?;
        let [c, h, w] = self.shape;
        let overflow = || Error::Data {
            source: "image set".into(),
            message: format!("padding images shaped {:?} by {pad} overflows", self.shape),
        };
        let grow = |d: usize| pad.checked_mul(2).and_then(|p| p.checked_add(d));
        let (ph, pw) = (grow(h).ok_or_else(overflow)?, grow(w).ok_or_else(overflow)?);
        let padded = c.checked_mul(ph).and_then(|n| n.checked_mul(pw)).ok_or_else(overflow)?;
        let total = padded.checked_mul(self.len()).ok_or_else(overflow)?;
        let mut images = vec![F::ZERO; total];
        if sample > 0 {
            for (src, dst) in self.images.chunks_exact(sample).zip(images.chunks_exact_mut(padded)) {
                for ch in 0..c {
                    for row in 0..h {
                        let from = &src[(ch * h + row) * w..][..w];
                        dst[(ch * ph + row + pad) * pw + pad..][..w].copy_from_slice(from);
                    }
                }
            }
        }
        Ok(ImageSet { images, labels: self.labels.clone(), shape: [c, ph, pw] })
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

/// One mini-batch: its inputs (`len × C × H × W` values) and its labels.
pub type Batch<'a, F> = (&'a [F], &'a [usize]);

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
    /// Batches over a set of `len` samples; a `batch_size` of 0 is an error.
    pub fn new(len: usize, batch_size: usize, seed: u64) -> Result<Self, Error> {
        if batch_size == 0 {
            return Err(Error::Data { source: "Batches".into(), message: "batch size must be at least 1".into() });
        }
        Ok(Batches {
            order: (0..len).collect(),
            rng: Rng::new(seed),
            batch_size,
            position: len,
            inputs: Vec::new(),
            labels: Vec::new(),
        })
    }

    /// Whether an epoch is under way: batches remain since the last [`Batches::shuffle`].
    pub fn in_epoch(&self) -> bool {
        self.position < self.order.len()
    }

    /// Saves the order, position and random stream into `checkpoint` as `name`.
    pub fn save(&self, name: &str, checkpoint: &mut Checkpoint) {
        checkpoint.set_stream(name, &self.rng);
        checkpoint.set_indices(name, self.order.iter().map(|&i| i as u64));
        checkpoint.set_counter(&format!("{name}.position"), self.position as u64);
    }

    /// Continues from what [`Batches::save`] saved as `name`: the same batches follow as
    /// would have without the interruption. The saved order must be a permutation of
    /// this loader's samples; on error nothing changes.
    pub fn restore(&mut self, name: &str, checkpoint: &Checkpoint) -> Result<(), Error> {
        let fail = |message: String| Error::Checkpoint { source: format!("batches {name:?}"), message };
        let rng = checkpoint.stream(name)?;
        let saved = checkpoint.indices(name)?;
        let position = checkpoint.counter(&format!("{name}.position")).ok_or_else(|| fail("no position".into()))?;
        let len = self.order.len();
        let mut seen = vec![false; len];
        let mut order = Vec::with_capacity(len);
        for &i in saved {
            let i = usize::try_from(i).ok().filter(|&i| i < len && !seen[i]);
            let i = i.ok_or_else(|| fail(format!("the saved order is not a permutation of {len} samples")))?;
            seen[i] = true;
            order.push(i);
        }
        if order.len() != len || position > len as u64 {
            return Err(fail(format!("saved for {} samples at {position}, this loader has {len}", order.len())));
        }
        (self.order, self.rng, self.position) = (order, rng, position as usize);
        Ok(())
    }

    /// Reshuffles; call at the start of every epoch.
    pub fn shuffle(&mut self) {
        self.rng.shuffle(&mut self.order);
        self.position = 0;
    }

    /// The next batch (the last one of an epoch may be smaller), or `None` at the end.
    ///
    /// `set` must be the set these batches were made for: one of another length (or whose
    /// fields disagree, see [`ImageSet::check`]) is an error, not a panic or a batch drawn
    /// from part of it.
    pub fn next_batch<'a>(&'a mut self, set: &ImageSet<F>) -> Result<Option<Batch<'a, F>>, Error> {
        let len = set.check()?;
        if set.len() != self.order.len() {
            return Err(Error::Data {
                source: "Batches".into(),
                message: format!("made for {} samples, but the set has {}", self.order.len(), set.len()),
            });
        }
        if self.position >= self.order.len() {
            return Ok(None);
        }
        let end = self.position.saturating_add(self.batch_size).min(self.order.len());
        self.inputs.clear();
        self.labels.clear();
        for &i in &self.order[self.position..end] {
            self.inputs.extend_from_slice(&set.images[i * len..(i + 1) * len]);
            self.labels.push(set.labels[i]);
        }
        self.position = end;
        Ok(Some((&self.inputs, &self.labels)))
    }
}
