//! A user's own data through the public API: a temporary folder of PNGs (two classes)
//! and a CSV, each trained on end to end; malformed files are errors naming every bad
//! file and line, never panics.

use nn::data::csv::{self, Columns, Csv};
use nn::data::images::{self, ImageFolder};
use nn::data::{Augment, Batches, Dataset, ImageSet};
use nn::prelude::*;
use std::path::{Path, PathBuf};

network! {
    Tiny: [1, 8, 8] => conv(1, 4, 3) -> relu -> flatten -> linear(144, 2);
    TinyRgb: [3, 8, 8] => conv(3, 4, 3) -> relu -> flatten -> linear(144, 2);
    Table: [4] => linear(4, 8) -> tanh -> linear(8, 3);
    TableRegression: [3] => linear(3, 2)
}

fn temporary(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nn-data-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Class `bright`: light images; class `dark`: dark ones, each with some noise.
fn write_pngs(root: &Path, per_class: usize, size: u32) {
    let mut rng = nn::runtime::rng::Rng::new(1);
    for (class, level) in [("bright", 200u8), ("dark", 40u8)] {
        std::fs::create_dir_all(root.join(class)).unwrap();
        for i in 0..per_class {
            let pixels: Vec<u8> = (0..size * size).map(|_| level.saturating_add(rng.below(40) as u8)).collect();
            let image = image::GrayImage::from_raw(size, size, pixels).unwrap();
            image.save(root.join(class).join(format!("{i:03}.png"))).unwrap();
        }
    }
}

fn accuracy<N: Network<f32>>(net: &mut N, set: &impl Dataset<f32, Target = usize>) -> f64 {
    net.eval();
    let mut correct = 0;
    for i in 0..set.len() {
        let output = net.forward(set.input(i)).unwrap();
        correct += usize::from(nn::argmax_rows(output, 2).unwrap().next() == Some(set.target(i)[0]));
    }
    net.train();
    correct as f64 / set.len() as f64
}

#[test]
fn a_folder_of_pngs_trains_end_to_end() {
    let root = temporary("pngs");
    write_pngs(&root, 12, 8);
    let format = ImageFolder { channels: 1, size: (8, 8), resize: false };
    let (set, classes): (ImageSet<f32>, _) = images::read_folder(&root, &format).unwrap();
    assert_eq!(classes, ["bright", "dark"]);
    assert_eq!((set.len(), set.shape), (24, [1, 8, 8]));
    assert_eq!(&set.labels[..13], &[0; 12].iter().chain(&[1]).copied().collect::<Vec<_>>()[..]);
    assert!(set.images.iter().all(|&p| (0.0..=1.0).contains(&p)));
    // RGB, and resized from 8×8 to 6×6… then 8×8 for the network.
    let (rgb, _) =
        images::read_folder::<f32>(&root, &ImageFolder { channels: 3, size: (8, 8), resize: false }).unwrap();
    assert_eq!(rgb.shape, [3, 8, 8]);
    let (small, _) =
        images::read_folder::<f32>(&root, &ImageFolder { channels: 1, size: (6, 6), resize: true }).unwrap();
    assert_eq!(small.shape, [1, 6, 6]);

    let (train, validation) = set.split(0.25, 3).unwrap();
    assert_eq!((train.len(), validation.len()), (18, 6));
    let mut net = Tiny::new(1);
    let mut batches = Batches::new(train.len(), 6, 2).unwrap().augment(Augment::new(1, true, 4));
    let history = Fit::new(15)
        .validation(&validation)
        .metric(Accuracy)
        .print(false)
        .run(&mut net, &train, &mut batches, &SoftmaxCrossEntropy, &mut Adam::new(0.02))
        .unwrap();
    assert_eq!(history.rows.len(), 15);
    assert_eq!(history.column("val_accuracy").unwrap().last(), Some(&1.0), "{}", history.to_csv());
    assert_eq!(accuracy(&mut net, &set), 1.0);
    let mut rgb_net = TinyRgb::new(1);
    let mut batches = Batches::new(rgb.len(), 8, 2).unwrap();
    Fit::new(15)
        .print(false)
        .run(&mut rgb_net, &rgb, &mut batches, &SoftmaxCrossEntropy, &mut Adam::new(0.02))
        .unwrap();
    assert_eq!(accuracy(&mut rgb_net, &rgb), 1.0);
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn bad_image_files_are_all_named() {
    let root = temporary("bad-pngs");
    write_pngs(&root, 2, 8);
    std::fs::write(root.join("bright").join("broken.png"), b"\x89PNG\r\n\x1a\nnot really").unwrap();
    std::fs::write(root.join("dark").join("empty.jpg"), b"").unwrap();
    let wrong = image::GrayImage::from_raw(5, 7, vec![0; 35]).unwrap();
    wrong.save(root.join("dark").join("small.png")).unwrap();
    std::fs::write(root.join("dark").join("notes.txt"), b"not an image, not read").unwrap();
    let format = ImageFolder { channels: 1, size: (8, 8), resize: false };
    let error = images::read_folder::<f32>(&root, &format).unwrap_err().to_string();
    for needle in
        ["3 bad file(s)", "broken.png: not a readable image", "empty.jpg", "small.png: 7×5 pixels, expected 8×8"]
    {
        assert!(error.contains(needle), "{needle:?} in {error}");
    }
    assert!(!error.contains("notes.txt"));
    // Resizing accepts the small one; the undecodable ones stay errors.
    let error = images::read_folder::<f32>(&root, &ImageFolder { resize: true, ..format }).unwrap_err().to_string();
    assert!(error.contains("2 bad file(s)") && !error.contains("small.png"), "{error}");
    // No class folders, or a root that is not there.
    let empty = temporary("empty-root");
    assert!(images::read_folder::<f32>(&empty, &format).unwrap_err().to_string().contains("no class folders"));
    assert!(images::read_folder::<f32>(empty.join("absent"), &format).unwrap_err().to_string().contains("cannot list"));
    assert!(images::read_folder::<f32>(&root, &ImageFolder { channels: 2, ..format }).is_err());
    std::fs::remove_dir_all(&root).unwrap();
    std::fs::remove_dir_all(&empty).unwrap();
}

#[test]
fn a_csv_trains_end_to_end() {
    let dir = temporary("csv");
    // Three classes, separated by the sign pattern of the first two features.
    let mut rng = nn::runtime::rng::Rng::new(5);
    let mut text = String::from("x1,x2,x3,x4,class\n");
    for i in 0..90 {
        let class = i % 3;
        let (a, b) = [(1.0, 1.0), (-1.0, 1.0), (0.0, -1.0)][class];
        let noise = |rng: &mut nn::runtime::rng::Rng| rng.uniform(-0.3, 0.3);
        let row = [a + noise(&mut rng), b + noise(&mut rng), noise(&mut rng), noise(&mut rng)];
        let names = ["setosa", "versicolor", "virginica"];
        text += &format!("{},{},{},{},{}\n", row[0], row[1], row[2], row[3], names[class]);
    }
    let path = dir.join("table.csv");
    std::fs::write(&path, &text).unwrap();
    let (samples, classes) = csv::read_classes::<f32>(&path, &Csv::default()).unwrap();
    assert_eq!(classes, ["setosa", "versicolor", "virginica"]);
    let (train, validation) = samples.split(0.2, 1).unwrap();
    let mut net = Table::new(2);
    let mut batches = Batches::new(train.len(), 16, 3).unwrap();
    let history = Fit::new(40)
        .validation(&validation)
        .metric(Accuracy)
        .print(false)
        .run(&mut net, &train, &mut batches, &SoftmaxCrossEntropy, &mut Adam::new(0.05))
        .unwrap();
    assert!(history.column("val_accuracy").unwrap().last().unwrap() > &0.9, "{}", history.to_csv());
    // Regression targets: two columns, no header.
    let mut text = String::new();
    for i in 0..40 {
        let x = [i as f64 / 40.0, (i % 7) as f64 / 7.0, 0.5];
        text += &format!("{},{},{},{},{}\n", x[0] + x[1], x[0], x[1], 2.0 * x[2] - x[0], x[2]);
    }
    let csv = Csv { header: false, targets: Columns::Indices(vec![0, 3]), ..Csv::default() };
    let path = dir.join("regression.csv");
    std::fs::write(&path, &text).unwrap();
    let samples = csv::read_values::<f32>(&path, &csv).unwrap();
    assert_eq!((samples.len(), samples.target_len, samples.input_shape.clone()), (40, 2, vec![3]));
    let mut net = TableRegression::new(1);
    let mut batches = Batches::new(samples.len(), 8, 3).unwrap();
    // Crops and flips are for images: asked of table rows, they are refused up front.
    let mut augmented = Batches::new(samples.len(), 8, 3).unwrap().augment(Augment::new(1, true, 0));
    augmented.shuffle();
    assert!(augmented.next_batch(&samples).unwrap_err().to_string().contains("augmenting needs images"));
    assert_eq!(augmented.remaining(), 5, "nothing drawn");
    let history = Fit::new(60)
        .print(false)
        .run(&mut net, &samples, &mut batches, &MeanSquaredError, &mut Adam::new(0.05))
        .unwrap();
    let losses = history.column("loss").unwrap();
    assert!(losses.last().unwrap() < &(losses[0] / 20.0), "{losses:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_csv_lines_are_all_named() {
    let dir = temporary("bad-csv");
    let path = dir.join("bad.csv");
    std::fs::write(&path, "a,b,c,d,label\n1,2,3,4,0\n1,2,3,0\n1,2,x,4,1\n1,2,3,4,5\n").unwrap();
    let error = csv::read_classes::<f32>(&path, &Csv { classes: Some(3), ..Csv::default() }).unwrap_err().to_string();
    for needle in [
        "bad.csv",
        "line 3: 4 fields, the header has 5",
        "line 4, column 2 (\"c\")",
        "line 5: label 5 is out of range for 3 classes",
    ] {
        assert!(error.contains(needle), "{needle:?} in {error}");
    }
    assert!(csv::read_classes::<f32>(dir.join("absent.csv"), &Csv::default())
        .unwrap_err()
        .to_string()
        .contains("cannot read"));
    // A label out of range for the network, from a file without a declared class count.
    std::fs::write(&path, "a,b,c,d,label\n1,2,3,4,0\n1,2,3,4,7\n").unwrap();
    let (samples, _) = csv::read_classes::<f32>(&path, &Csv::default()).unwrap();
    let mut batches = Batches::new(samples.len(), 2, 1).unwrap();
    let error = Fit::new(1)
        .print(false)
        .run(&mut Table::new(1), &samples, &mut batches, &SoftmaxCrossEntropy, &mut Sgd::new(0.1))
        .unwrap_err()
        .to_string();
    assert!(error.contains("label 7"), "{error}");
    std::fs::remove_dir_all(&dir).unwrap();
}
