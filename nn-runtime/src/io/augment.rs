//! Image augmentation on a batch in place, from a seed, as torchvision's
//! `RandomCrop(size, padding)` and `RandomHorizontalFlip()`: each image shifted by a
//! random offset of up to `padding` pixels in each direction (what cropping a padded
//! image to its original size does), the uncovered border filled, and mirrored left to
//! right with probability ½. One image of scratch space, kept from batch to batch: no
//! allocation after the first.

use crate::error::Error;
use crate::float::Float;
use crate::rng::Rng;

/// What to do to every image of a batch (see the module documentation).
#[derive(Debug, Clone)]
pub struct Augment<F> {
    /// Largest shift, in pixels, of the random crop (0: no crop).
    pub padding: usize,
    /// Mirror half the images left to right.
    pub flip: bool,
    /// What the crop's uncovered border holds: 0 for raw pixels; on data already
    /// normalized, the normalized black `(0 − mean) / std`, as torchvision (which crops
    /// before normalizing) gives.
    pub fill: F,
    rng: Rng,
    scratch: Vec<F>,
}

impl<F: Float> Augment<F> {
    /// Random crops with `padding` and, with `flip`, horizontal flips, drawn from `seed`.
    pub fn new(padding: usize, flip: bool, seed: u64) -> Self {
        Augment { padding, flip, fill: F::ZERO, rng: Rng::new(seed), scratch: Vec::new() }
    }

    /// The border's value (see [`Augment::fill`]).
    pub fn fill(mut self, fill: F) -> Self {
        self.fill = fill;
        self
    }

    /// The random stream (a checkpoint keeps it).
    pub fn rng(&self) -> &Rng {
        &self.rng
    }

    pub fn set_rng(&mut self, rng: Rng) {
        self.rng = rng;
    }

    /// Augments every image of `batch`, each `[C, H, W]` as `shape` says; other shapes
    /// (features, sequences) are an error, not a silent no-op.
    pub fn apply(&mut self, batch: &mut [F], shape: &[usize]) -> Result<(), Error> {
        let &[channels, height, width] = shape else {
            return Err(Error::Data {
                source: "Augment".into(),
                message: format!("crops and flips need images [C, H, W], not samples of shape {shape:?}"),
            });
        };
        let (plane, image) = (height * width, channels * height * width);
        if image == 0 {
            return Ok(());
        }
        self.scratch.resize(image, F::ZERO);
        for sample in batch.chunks_exact_mut(image) {
            let span = 2 * self.padding + 1;
            let (dy, dx) = if self.padding > 0 {
                (
                    self.rng.below(span) as isize - self.padding as isize,
                    self.rng.below(span) as isize - self.padding as isize,
                )
            } else {
                (0, 0)
            };
            let flip = self.flip && self.rng.next_u64() >> 63 == 1;
            if (dy, dx) == (0, 0) && !flip {
                continue;
            }
            self.scratch.copy_from_slice(sample);
            for c in 0..channels {
                let (from, to) = (&self.scratch[c * plane..][..plane], &mut sample[c * plane..][..plane]);
                for y in 0..height {
                    // Output pixel (y, x) is the padded image's (y + p + dy, x + p + dx),
                    // the original's (y + dy, x + dx); flipped, its column is mirrored.
                    let sy = y as isize + dy;
                    for x in 0..width {
                        let column = if flip { width - 1 - x } else { x };
                        let sx = column as isize + dx;
                        let inside = (0..height as isize).contains(&sy) && (0..width as isize).contains(&sx);
                        to[y * width + x] = if inside { from[sy as usize * width + sx as usize] } else { self.fill };
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every output is a shifted, maybe mirrored copy of its input: some (dy, dx, flip)
    /// with |dy|, |dx| ≤ padding explains each image, the border being `fill`; over many
    /// images every shift and both orientations occur.
    #[test]
    fn images_are_shifted_and_mirrored_copies_and_every_choice_occurs() {
        let (c, h, w, padding) = (2, 4, 5, 2);
        let image: Vec<f64> = (0..c * h * w).map(|i| i as f64 + 1.0).collect();
        let count = if cfg!(miri) { 40 } else { 400 };
        let mut batch: Vec<f64> = image.iter().copied().cycle().take(count * image.len()).collect();
        let mut augment = Augment::new(padding, true, 5).fill(-1.0);
        augment.apply(&mut batch, &[c, h, w]).unwrap();
        let mut seen = std::collections::HashSet::new();
        for out in batch.chunks_exact(image.len()) {
            let explains = |dy: isize, dx: isize, flip: bool| {
                (0..c).all(|ch| {
                    (0..h).all(|y| {
                        (0..w).all(|x| {
                            let column = if flip { w - 1 - x } else { x };
                            let (sy, sx) = (y as isize + dy, column as isize + dx);
                            let inside = (0..h as isize).contains(&sy) && (0..w as isize).contains(&sx);
                            let want = if inside { image[(ch * h + sy as usize) * w + sx as usize] } else { -1.0 };
                            out[(ch * h + y) * w + x] == want
                        })
                    })
                })
            };
            let choice = (-2..=2)
                .flat_map(|dy| (-2..=2).flat_map(move |dx| [(dy, dx, false), (dy, dx, true)]))
                .find(|&(dy, dx, flip)| explains(dy, dx, flip))
                .expect("some shift and orientation explains the image");
            seen.insert(choice);
        }
        if !cfg!(miri) {
            assert_eq!(seen.len(), 50, "every shift, both orientations");
        }
        // The same seed augments alike; features are refused.
        let mut again: Vec<f64> = image.iter().copied().cycle().take(count * image.len()).collect();
        Augment::new(padding, true, 5).fill(-1.0).apply(&mut again, &[c, h, w]).unwrap();
        assert_eq!(again, batch);
        assert!(Augment::<f64>::new(1, true, 0).apply(&mut [0.0; 4], &[4]).is_err());
    }
}
