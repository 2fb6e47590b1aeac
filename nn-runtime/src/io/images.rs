//! A folder of images per class as a data set, as torchvision's `ImageFolder`:
//! `root/<class>/<file>.png|jpg|jpeg`, classes numbered in sorted folder order, files
//! read in sorted order, pixels scaled to [0, 1] (`ToTensor`). Images are converted to
//! the channels asked for (grayscale by the `image` crate's Rec. 709 luma, or RGB) and
//! either resized (bilinear, the `image` crate's triangle filter) or checked to be of
//! the size asked for.
//!
//! Every bad file is reported, not only the first: one that does not decode, or whose
//! size differs where no resizing was asked for.

use crate::error::Error;
use crate::float::Float;
use crate::io::data::ImageSet;
use std::path::{Path, PathBuf};

/// What the images become.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageFolder {
    /// 1 (grayscale) or 3 (RGB).
    pub channels: usize,
    /// Height and width every image must have (or is resized to).
    pub size: (usize, usize),
    /// Resize images of another size (otherwise they are an error).
    pub resize: bool,
}

/// The images and the classes' names (index = label).
pub type Labelled<F> = (ImageSet<F>, Vec<String>);

/// Reads every image under `root`, one subfolder per class.
pub fn read_folder<F: Float>(root: impl AsRef<Path>, format: &ImageFolder) -> Result<Labelled<F>, Error> {
    let root = root.as_ref();
    let fail = |message: String| Error::Data { source: root.display().to_string(), message };
    if !matches!(format.channels, 1 | 3) || format.size.0 == 0 || format.size.1 == 0 {
        return Err(fail(format!(
            "images of {} channels and {}×{} pixels: channels must be 1 or 3, sizes at least 1",
            format.channels, format.size.0, format.size.1
        )));
    }
    let mut classes: Vec<(String, PathBuf)> = entries(root)
        .map_err(|e| fail(format!("cannot list: {e}")))?
        .into_iter()
        .filter(|p| p.is_dir())
        .filter_map(|p| Some((p.file_name()?.to_str()?.to_string(), p)))
        .collect();
    classes.sort();
    if classes.is_empty() {
        return Err(fail("it has no class folders (root/<class>/<image>)".into()));
    }
    let (height, width) = format.size;
    let sample = format.channels * height * width;
    let (mut images, mut labels, mut problems) = (Vec::new(), Vec::new(), Vec::new());
    for (label, (_, folder)) in classes.iter().enumerate() {
        let mut files: Vec<PathBuf> = match entries(folder) {
            Ok(files) => files.into_iter().filter(|p| p.is_file() && is_image(p)).collect(),
            Err(e) => {
                problems.push(format!("{}: cannot list: {e}", folder.display()));
                continue;
            }
        };
        files.sort();
        for file in files {
            match decode(&file, format) {
                Ok(pixels) => {
                    debug_assert_eq!(pixels.len(), sample);
                    images.extend(pixels.into_iter().map(|p| F::from_usize(p as usize) / F::from_f64(255.0)));
                    labels.push(label);
                }
                Err(message) => problems.push(format!("{}: {message}", file.display())),
            }
        }
    }
    if !problems.is_empty() {
        let shown = problems.len().min(20);
        let mut message = format!("{} bad file(s): {}", problems.len(), problems[..shown].join("; "));
        if problems.len() > shown {
            message.push_str(&format!("; and {} more", problems.len() - shown));
        }
        return Err(fail(message));
    }
    if labels.is_empty() {
        return Err(fail("its class folders hold no .png, .jpg or .jpeg files".into()));
    }
    let names = classes.into_iter().map(|(name, _)| name).collect();
    Ok((ImageSet { images, labels, shape: [format.channels, height, width] }, names))
}

fn entries(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    std::fs::read_dir(dir)?.map(|entry| entry.map(|e| e.path())).collect()
}

fn is_image(path: &Path) -> bool {
    let extension = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    matches!(extension.as_deref(), Some("png" | "jpg" | "jpeg"))
}

/// One image's bytes, channel-major (`[C, H, W]`), or what is wrong with it.
fn decode(path: &Path, format: &ImageFolder) -> Result<Vec<u8>, String> {
    let image = image::ImageReader::open(path)
        .map_err(|e| format!("cannot read: {e}"))?
        .with_guessed_format()
        .map_err(|e| format!("cannot read: {e}"))?
        .decode()
        .map_err(|e| format!("not a readable image: {e}"))?;
    let (height, width) = format.size;
    let (w, h) = (image.width() as usize, image.height() as usize);
    let image = if (h, w) == (height, width) {
        image
    } else if format.resize {
        image.resize_exact(width as u32, height as u32, image::imageops::FilterType::Triangle)
    } else {
        return Err(format!("{h}×{w} pixels, expected {height}×{width} (or ask for resizing)"));
    };
    Ok(match format.channels {
        1 => image.to_luma8().into_raw(),
        _ => {
            // Interleaved RGB to channel-major planes.
            let rgb = image.to_rgb8().into_raw();
            (0..3).flat_map(|c| rgb.iter().skip(c).step_by(3).copied().collect::<Vec<u8>>()).collect()
        }
    })
}
