//! Data sets in memory and shuffled mini-batches over them, as PyTorch's `Dataset` and
//! `DataLoader`: a [`Dataset`] is any collection of samples with targets of the type a
//! loss takes (class labels, per-pixel labels, float vectors); [`ImageSet`] holds
//! labelled images, [`Samples`] anything else; [`Batches`] draws shuffled
//! mini-batches from a seed (optionally dropping the last partial one and augmenting
//! images on the way, without allocating).

use crate::error::Error;
use crate::float::Float;
use crate::io::augment::Augment;
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

    /// The images at `indices`, in that order.
    pub fn subset(&self, indices: &[usize]) -> Self {
        let len = self.sample_len();
        ImageSet {
            images: indices.iter().flat_map(|&i| &self.images[i * len..(i + 1) * len]).copied().collect(),
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
            shape: self.shape,
        }
    }

    /// A random `validation` fraction split off (see [`split_indices`]): `(train, validation)`.
    pub fn split(&self, validation: f64, seed: u64) -> Result<(Self, Self), Error> {
        self.check()?;
        let (train, held) = split_indices(self.len(), validation, seed)?;
        Ok((self.subset(&train), self.subset(&held)))
    }

    /// `(x − mean[c]) / std[c]` on every pixel of channel `c`, as torchvision's
    /// `Normalize`. One mean and deviation per channel, deviations above 0.
    pub fn normalize_channels(&mut self, mean: &[f64], std: &[f64]) -> Result<(), Error> {
        let sample = self.check()?;
        let channels = self.shape[0];
        if mean.len() != channels || std.len() != channels || std.iter().any(|&s| s <= 0.0 || !s.is_finite()) {
            return Err(Error::Data {
                source: "normalize_channels".into(),
                message: format!(
                    "{channels} channels need {channels} means and {channels} deviations above 0, given {mean:?} and {std:?}"
                ),
            });
        }
        let plane = sample / channels.max(1);
        for image in self.images.chunks_exact_mut(sample.max(1)) {
            for (c, values) in image.chunks_exact_mut(plane.max(1)).enumerate() {
                let (m, inv) = (F::from_f64(mean[c]), F::from_f64(1.0 / std[c]));
                values.iter_mut().for_each(|p| *p = (*p - m) * inv);
            }
        }
        Ok(())
    }

    /// Each channel's mean and standard deviation over every image (what
    /// [`ImageSet::normalize_channels`] takes).
    pub fn channel_stats(&self) -> (Vec<f64>, Vec<f64>) {
        let channels = self.shape[0];
        let plane = self.shape[1] * self.shape[2];
        let (mut sum, mut count) = (vec![0.0f64; channels], (plane * self.len()).max(1) as f64);
        let planes = || self.images.chunks_exact(plane.max(1)).enumerate().map(|(i, p)| (i % channels.max(1), p));
        for (c, values) in planes() {
            sum[c] += values.iter().map(|v| v.to_f64()).sum::<f64>();
        }
        let mean: Vec<f64> = sum.iter().map(|s| s / count).collect();
        let mut squares = vec![0.0f64; channels];
        for (c, values) in planes() {
            squares[c] += values.iter().map(|v| (v.to_f64() - mean[c]).powi(2)).sum::<f64>();
        }
        count = count.max(1.0);
        (mean, squares.iter().map(|s| (s / count).sqrt()).collect())
    }

    /// Mean and standard deviation over all pixels.
    pub fn pixel_stats(&self) -> (f64, f64) {
        let n = self.images.len().max(1) as f64;
        let mean = self.images.iter().map(|p| p.to_f64()).sum::<f64>() / n;
        let var = self.images.iter().map(|p| (p.to_f64() - mean).powi(2)).sum::<f64>() / n;
        (mean, var.sqrt())
    }
}

/// Samples and their targets, as a loss wants them: `Target` is `usize` for class
/// labels (one per sample, or one per position for per-pixel labels) and the element
/// type for regression targets or probabilities.
pub trait Dataset<F> {
    type Target: Copy;
    /// The number of samples.
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// One sample's shape, e.g. `[C, H, W]`.
    fn input_shape(&self) -> &[usize];
    /// Targets per sample: 1 for a class label, `H·W` for per-pixel labels.
    fn target_len(&self) -> usize;
    /// Sample `index`'s values.
    fn input(&self, index: usize) -> &[F];
    /// Sample `index`'s targets.
    fn target(&self, index: usize) -> &[Self::Target];
    /// Whether the fields agree (lengths against shapes); [`Batches`] asks first.
    fn check(&self) -> Result<(), Error>;
}

impl<F: Float> Dataset<F> for ImageSet<F> {
    type Target = usize;
    fn len(&self) -> usize {
        self.labels.len()
    }
    fn input_shape(&self) -> &[usize] {
        &self.shape
    }
    fn target_len(&self) -> usize {
        1
    }
    fn input(&self, index: usize) -> &[F] {
        let len = self.sample_len();
        &self.images[index * len..(index + 1) * len]
    }
    fn target(&self, index: usize) -> &[usize] {
        std::slice::from_ref(&self.labels[index])
    }
    fn check(&self) -> Result<(), Error> {
        ImageSet::check(self).map(|_| ())
    }
}

/// Any samples with any targets: `inputs` holds `len` samples of `input_shape`,
/// `targets` `target_len` targets for each (class labels as `usize`, values as `F`).
#[derive(Debug, Clone, PartialEq)]
pub struct Samples<F, T> {
    pub inputs: Vec<F>,
    pub targets: Vec<T>,
    pub input_shape: Vec<usize>,
    pub target_len: usize,
}

impl<F: Float, T: Copy> Samples<F, T> {
    fn input_len(&self) -> usize {
        self.input_shape.iter().product()
    }
    /// The samples at `indices`, in that order.
    pub fn subset(&self, indices: &[usize]) -> Self {
        let (n, t) = (self.input_len(), self.target_len);
        Samples {
            inputs: indices.iter().flat_map(|&i| &self.inputs[i * n..(i + 1) * n]).copied().collect(),
            targets: indices.iter().flat_map(|&i| &self.targets[i * t..(i + 1) * t]).copied().collect(),
            input_shape: self.input_shape.clone(),
            target_len: t,
        }
    }
    /// A random `validation` fraction split off (see [`split_indices`]): `(train, validation)`.
    pub fn split(&self, validation: f64, seed: u64) -> Result<(Self, Self), Error> {
        let (train, held) = split_indices(Dataset::<F>::len(self), validation, seed)?;
        Ok((self.subset(&train), self.subset(&held)))
    }
}

impl<F: Float, T: Copy> Dataset<F> for Samples<F, T> {
    type Target = T;
    fn len(&self) -> usize {
        self.targets.len() / self.target_len.max(1)
    }
    fn input_shape(&self) -> &[usize] {
        &self.input_shape
    }
    fn target_len(&self) -> usize {
        self.target_len
    }
    fn input(&self, index: usize) -> &[F] {
        let len = self.input_len();
        &self.inputs[index * len..(index + 1) * len]
    }
    fn target(&self, index: usize) -> &[T] {
        &self.targets[index * self.target_len..(index + 1) * self.target_len]
    }
    fn check(&self) -> Result<(), Error> {
        let err = |message: String| Error::Data { source: "samples".into(), message };
        if self.target_len == 0 || self.input_shape.contains(&0) {
            return Err(err(format!(
                "samples of shape {:?} with {} targets each: both need at least one value",
                self.input_shape, self.target_len
            )));
        }
        let len = self.targets.len() / self.target_len;
        let input = self.input_shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
        let total = input.and_then(|n| n.checked_mul(len));
        if !self.targets.len().is_multiple_of(self.target_len) || total != Some(self.inputs.len()) {
            return Err(err(format!(
                "{} targets ({} per sample) and {} input values do not make whole samples of shape {:?}",
                self.targets.len(),
                self.target_len,
                self.inputs.len(),
                self.input_shape
            )));
        }
        Ok(())
    }
}

/// A random split of `0..len` into `(train, validation)` index lists, `validation`
/// being the fraction (rounded) held out, both in ascending order. Seeded, so the same
/// seed holds out the same samples. A fraction outside `[0, 1)` is an error.
pub fn split_indices(len: usize, validation: f64, seed: u64) -> Result<(Vec<usize>, Vec<usize>), Error> {
    if !(0.0..1.0).contains(&validation) {
        return Err(Error::Data {
            source: "validation split".into(),
            message: format!("a fraction of {validation} is not in [0, 1)"),
        });
    }
    let mut order: Vec<usize> = (0..len).collect();
    Rng::new(seed).shuffle(&mut order);
    let held = (len as f64 * validation).round() as usize;
    let (mut validation, mut train) = (order[..held].to_vec(), order[held..].to_vec());
    validation.sort_unstable();
    train.sort_unstable();
    Ok((train, validation))
}

/// One mini-batch: its inputs (`len × sample` values) and its targets.
pub type Batch<'a, F, T = usize> = (&'a [F], &'a [T]);

/// Draws shuffled mini-batches into buffers it owns, reusing them from batch to batch,
/// as a `DataLoader(shuffle=True)`: call [`Batches::shuffle`] at each epoch's start.
#[derive(Debug, Clone)]
pub struct Batches<F, T = usize> {
    order: Vec<usize>,
    rng: Rng,
    batch_size: usize,
    drop_last: bool,
    augment: Option<Augment<F>>,
    position: usize,
    inputs: Vec<F>,
    targets: Vec<T>,
}

impl<F: Float, T: Copy> Batches<F, T> {
    /// Batches over a set of `len` samples; a `batch_size` of 0 is an error.
    pub fn new(len: usize, batch_size: usize, seed: u64) -> Result<Self, Error> {
        if batch_size == 0 {
            return Err(Error::Data { source: "Batches".into(), message: "batch size must be at least 1".into() });
        }
        Ok(Batches {
            order: (0..len).collect(),
            rng: Rng::new(seed),
            batch_size,
            drop_last: false,
            augment: None,
            position: len,
            inputs: Vec::new(),
            targets: Vec::new(),
        })
    }

    /// Leaves out each epoch's last batch when it would be smaller than the others
    /// (`DataLoader(drop_last=True)`): batch norm then never sees a tiny batch.
    pub fn drop_last(mut self, drop_last: bool) -> Self {
        self.drop_last = drop_last;
        self
    }

    /// Augments every batch drawn (see [`Augment`]).
    pub fn augment(mut self, augment: Augment<F>) -> Self {
        self.augment = Some(augment);
        self
    }

    /// Batches in an epoch.
    pub fn per_epoch(&self) -> usize {
        if self.drop_last {
            self.order.len() / self.batch_size
        } else {
            self.order.len().div_ceil(self.batch_size)
        }
    }

    /// The last position an epoch draws from (past the dropped partial batch).
    fn end(&self) -> usize {
        if self.drop_last {
            self.order.len() - self.order.len() % self.batch_size
        } else {
            self.order.len()
        }
    }

    /// Batches left in the epoch under way.
    pub fn remaining(&self) -> usize {
        self.end().saturating_sub(self.position).div_ceil(self.batch_size)
    }

    /// Whether an epoch is under way: batches remain since the last [`Batches::shuffle`].
    pub fn in_epoch(&self) -> bool {
        self.position < self.end()
    }

    /// Saves the order, position and random streams into `checkpoint` as `name`.
    pub fn save(&self, name: &str, checkpoint: &mut Checkpoint) {
        checkpoint.set_stream(name, &self.rng);
        if let Some(augment) = &self.augment {
            checkpoint.set_stream(&format!("{name}.augment"), augment.rng());
        }
        checkpoint.set_indices(name, self.order.iter().map(|&i| i as u64));
        checkpoint.set_counter(&format!("{name}.position"), self.position as u64);
    }

    /// Continues from what [`Batches::save`] saved as `name`: the same batches follow as
    /// would have without the interruption. The saved order must be a permutation of
    /// this loader's samples; on error nothing changes.
    pub fn restore(&mut self, name: &str, checkpoint: &Checkpoint) -> Result<(), Error> {
        let fail = |message: String| Error::Checkpoint { source: format!("batches {name:?}"), message };
        let rng = checkpoint.stream(name)?;
        let augment_rng = match &self.augment {
            Some(_) => Some(checkpoint.stream(&format!("{name}.augment"))?),
            None => None,
        };
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
        if let (Some(augment), Some(rng)) = (&mut self.augment, augment_rng) {
            augment.set_rng(rng);
        }
        Ok(())
    }

    /// Reshuffles; call at the start of every epoch.
    pub fn shuffle(&mut self) {
        self.rng.shuffle(&mut self.order);
        self.position = 0;
    }

    /// The next batch (the last one of an epoch may be smaller, unless
    /// [`Batches::drop_last`]), or `None` at the end.
    ///
    /// `set` must be the set these batches were made for: one of another length (or whose
    /// fields disagree, see [`Dataset::check`]) is an error, not a panic or a batch drawn
    /// from part of it.
    pub fn next_batch<'a, D: Dataset<F, Target = T> + ?Sized>(
        &'a mut self, set: &D,
    ) -> Result<Option<Batch<'a, F, T>>, Error> {
        set.check()?;
        if set.len() != self.order.len() {
            return Err(Error::Data {
                source: "Batches".into(),
                message: format!("made for {} samples, but the set has {}", self.order.len(), set.len()),
            });
        }
        if self.position >= self.end() {
            return Ok(None);
        }
        if self.augment.is_some() && set.input_shape().len() != 3 {
            // Refused before the batch is drawn: the loader stays where it was.
            return Err(Error::Data {
                source: "Batches".into(),
                message: format!("augmenting needs images [C, H, W], not samples of shape {:?}", set.input_shape()),
            });
        }
        let end = self.position.saturating_add(self.batch_size).min(self.order.len());
        self.inputs.clear();
        self.targets.clear();
        for &i in &self.order[self.position..end] {
            self.inputs.extend_from_slice(set.input(i));
            self.targets.extend_from_slice(set.target(i));
        }
        self.position = end;
        if let Some(augment) = &mut self.augment {
            augment.apply(&mut self.inputs, set.input_shape())?;
        }
        Ok(Some((&self.inputs, &self.targets)))
    }
}
