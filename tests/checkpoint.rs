//! Checkpoints: a run stopped after a checkpoint and resumed from it (in a fresh
//! network and optimizer, as a new process would) reaches exactly the weights of a run
//! never stopped — with dropout, batch norm, SGD with momentum or Adam, and a shuffled
//! data loader mid-epoch; and a bad checkpoint is an error that changes nothing.

use nn::data::{Batches, ImageSet};
use nn::prelude::*;
use nn::runtime::io::checkpoint::Checkpoint;

network! {
    Net: [1, 6, 6] => conv(1, 4, 3) -> batchnorm(4) -> relu -> flatten -> dropout(0.25) -> linear(64, 3);
    Other: [1, 6, 6] => flatten -> linear(36, 3);
    /// Layers named like a checkpoint's own entries.
    Named: [4] => rng: linear(4, 4) -> optimizer: linear(4, 3) -> index: batchnorm(3)
}

fn data() -> ImageSet<f32> {
    let mut rng = nn::runtime::rng::Rng::new(3);
    let count = 50;
    ImageSet {
        images: (0..count * 36).map(|_| rng.uniform(-1.0, 1.0) as f32).collect(),
        labels: (0..count).map(|i| i % 3).collect(),
        shape: [1, 6, 6],
    }
}

/// Trains `steps` steps (batches of 8, reshuffled each epoch) from `start`: a fresh
/// network, or the checkpoint at `path`; writes a checkpoint at step `save_at`.
fn train<O: Optimizer<f32>>(
    mut optimizer: O, steps: u64, resume: Option<&std::path::Path>, save_at: Option<(u64, &std::path::Path)>,
) -> Vec<f32> {
    let set = data();
    let mut net = Net::new(7);
    let mut batches = Batches::new(set.len(), 8, 11).unwrap();
    let mut step = 0;
    if let Some(path) = resume {
        let checkpoint = net.load_checkpoint(path, &mut optimizer).unwrap();
        batches.restore("data", &checkpoint).unwrap();
        step = checkpoint.step;
    }
    while step < steps {
        if !batches.in_epoch() {
            batches.shuffle();
        }
        let (images, labels) = batches.next_batch(&set).unwrap().expect("a batch in the epoch");
        net.train_step(images, labels, &SoftmaxCrossEntropy, &mut optimizer).unwrap();
        step += 1;
        if let Some((at, path)) = save_at.filter(|&(at, _)| at == step) {
            let mut checkpoint = Checkpoint::new(at);
            batches.save("data", &mut checkpoint);
            net.save_checkpoint(path, &optimizer, &checkpoint).unwrap();
        }
    }
    net.params().iter().chain(net.buffers()).copied().collect()
}

#[test]
fn a_resumed_run_reaches_the_weights_of_an_uninterrupted_one() {
    let dir = std::env::temp_dir().join(format!("nn-checkpoint-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("run.safetensors");
    // Step 9 is mid-epoch (7 batches an epoch).
    for at in [3, 9] {
        let whole = train(Sgd::new(0.05).momentum(0.9), 16, None, Some((at, &path)));
        assert_eq!(train(Sgd::new(0.05).momentum(0.9), 16, Some(&path), None), whole, "SGD, resumed at {at}");
        let whole = train(Adam::new(0.01), 16, None, Some((at, &path)));
        assert_eq!(train(Adam::new(0.01), 16, Some(&path), None), whole, "Adam, resumed at {at}");
        let rmsprop = || RmsProp::new(0.01).momentum(0.5).centered(true);
        let whole = train(rmsprop(), 16, None, Some((at, &path)));
        assert_eq!(train(rmsprop(), 16, Some(&path), None), whole, "RMSprop, resumed at {at}");
        let adagrad = || Adagrad::new(0.05).lr_decay(0.01);
        let whole = train(adagrad(), 16, None, Some((at, &path)));
        assert_eq!(train(adagrad(), 16, Some(&path), None), whole, "Adagrad, resumed at {at}");
    }
    // The optimizer's state matters: resuming Adam's weights with SGD's state goes
    // elsewhere (and is refused: another optimizer's state).
    train(Adam::new(0.01), 16, None, Some((9, &path)));
    let mut net = Net::new(7);
    assert!(net.load_checkpoint(&path, &mut Sgd::new(0.01)).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_bad_checkpoint_is_an_error_that_changes_nothing() {
    let dir = std::env::temp_dir().join(format!("nn-checkpoint-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.safetensors");
    train(Adam::new(0.01), 4, None, Some((4, &good)));
    let bytes = std::fs::read(&good).unwrap();

    // A network and optimizer one step into training, made alike each time.
    let fresh = || {
        let mut net = Net::new(1);
        let mut adam = Adam::new(0.01);
        net.train_step(&[0.5f32; 4 * 36], &[0, 1, 2, 0], &SoftmaxCrossEntropy, &mut adam).unwrap();
        (net, adam)
    };
    let state = |net: &Net, adam: &Adam| (net.params().to_vec(), net.buffers().to_vec(), format!("{adam:?}"));
    let (mut net, adam) = fresh();
    let before = state(&net, &adam);
    let expect_error = |name: &str, contents: &[u8], needle: &str| {
        let path = dir.join(name);
        std::fs::write(&path, contents).unwrap();
        let (mut net, mut adam) = fresh();
        let error = net.load_checkpoint(&path, &mut adam).expect_err(name).to_string();
        assert!(error.contains(needle), "{name}: {error}");
        assert_eq!(state(&net, &adam), before, "{name}: nothing changed");
    };
    // Another optimizer's state.
    let mut sgd = Sgd::new(0.1).momentum(0.9);
    let error = net.load_checkpoint(&good, &mut sgd).expect_err("Adam's state into SGD").to_string();
    assert!(error.contains("not of SGD"), "{error}");
    assert_eq!(state(&net, &adam), before);
    // Truncated, not a checkpoint, another network's.
    expect_error("truncated.safetensors", &bytes[..bytes.len() / 2], "not a safetensors file");
    let weights = dir.join("weights.safetensors");
    net.save(&weights).unwrap();
    expect_error("weights.safetensors", &std::fs::read(&weights).unwrap(), "not a version-1 nn checkpoint");
    let other = dir.join("other.safetensors");
    Other::new(1).save_checkpoint(&other, &Adam::new(0.01), &Checkpoint::new(0)).unwrap();
    expect_error("other.safetensors", &std::fs::read(&other).unwrap(), "written by network Other");
    // A data loader's saved order that is no permutation of its samples.
    let mut checkpoint = Checkpoint::new(0);
    let mut batches = Batches::<f32>::new(10, 4, 1).unwrap();
    batches.save("data", &mut checkpoint);
    checkpoint.set_indices("data", [0, 1, 2, 3, 4, 5, 6, 7, 8, 8]);
    assert!(batches.restore("data", &checkpoint).unwrap_err().to_string().contains("not a permutation"));
    checkpoint.set_indices("data", [0, 1, 2]);
    assert!(batches.restore("data", &checkpoint).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn layers_named_like_checkpoint_entries_round_trip_and_clashing_names_are_refused() {
    let dir = std::env::temp_dir().join(format!("nn-checkpoint-named-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("named.safetensors");
    let mut net = Named::<f32>::new(2);
    let mut adam = Adam::new(0.01);
    net.train_step(&[0.5, -1.0, 2.0, 0.0, 1.0, 1.0, -0.5, 0.25], &[0, 2], &SoftmaxCrossEntropy, &mut adam).unwrap();
    let mut checkpoint = Checkpoint::new(1);
    checkpoint.set_counter("epoch", 3);
    net.save_checkpoint(&path, &adam, &checkpoint).unwrap();
    let (mut copy, mut copy_adam) = (Named::<f32>::new(9), Adam::new(0.01));
    let loaded = copy.load_checkpoint(&path, &mut copy_adam).unwrap();
    assert_eq!((copy.params(), copy.buffers()), (net.params(), net.buffers()));
    assert_eq!((loaded.step, loaded.counter("epoch")), (1, Some(3)));
    assert_eq!(format!("{copy_adam:?}"), format!("{adam:?}"));
    // A stream stored where the network's own stream goes, or where a layer's tensor is.
    let mut clash = Checkpoint::new(1);
    clash.set_stream("network", &nn::runtime::rng::Rng::new(1));
    let error = net.save_checkpoint(&path, &adam, &clash).unwrap_err().to_string();
    assert!(error.contains("\"network\""), "{error}");
    let mut clash = Checkpoint::new(1);
    clash.set_stream("weight", &nn::runtime::rng::Rng::new(1));
    let error = net.save_checkpoint(&path, &adam, &clash).unwrap_err().to_string();
    assert!(error.contains("rng.weight"), "{error}");
    // The refused saves left the good checkpoint in place.
    assert!(copy.load_checkpoint(&path, &mut copy_adam).is_ok());
    std::fs::remove_dir_all(&dir).unwrap();
}
