//! Weight files: round trips, PyTorch's key names and layouts, every load error, and a
//! fuzzed loader that never panics.

use nn::prelude::*;
use nn::Error;
use proptest::prelude::*;
use safetensors::tensor::{Dtype, SafeTensors, TensorView};

network! {
    pub LeNet5: [1, 32, 32] => conv(1, 6, 5) -> tanh -> avgpool(2)
        -> conv(6, 16, 5) -> tanh -> avgpool(2) -> conv(16, 120, 5) -> tanh
        -> flatten -> linear(120, 84) -> tanh -> linear(84, 10);
    Normed: [2, 4, 4] => c1: conv(2, 3, 3, bias = false) -> batchnorm(3) -> relu -> flatten -> fc: linear(12, 2)
        -> separable_test: identity;
    Tiny: [3] => linear(3, 2) -> batchnorm(2);
    // Normed's backbone under a head of another name, and of the same name and another size.
    NewHead: [2, 4, 4] => c1: conv(2, 3, 3, bias = false) -> batchnorm(3) -> relu -> flatten -> head: linear(12, 5);
    WrongHead: [2, 4, 4] => c1: conv(2, 3, 3, bias = false) -> batchnorm(3) -> relu -> flatten -> fc: linear(12, 5);
    // Tiny with one layer more.
    Deeper: [3] => linear(3, 2) -> batchnorm(2) -> linear(2, 4)
}

#[path = "common/peak.rs"]
mod peak;
use peak::peak;

fn temp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("nn-weights-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn round_trip_with_pytorch_keys() {
    let path = temp("lenet.safetensors");
    let a = LeNet5::new(1);
    a.save(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let mut names = file.names();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "0.bias",
            "0.weight",
            "11.bias",
            "11.weight",
            "3.bias",
            "3.weight",
            "6.bias",
            "6.weight",
            "9.bias",
            "9.weight"
        ]
    );
    assert_eq!(file.tensor("6.weight").unwrap().shape(), &[120, 16, 5, 5]);
    assert_eq!(file.tensor("0.weight").unwrap().dtype(), Dtype::F32);
    let mut b = LeNet5::new(2);
    assert_ne!(a.params(), b.params());
    b.load(&path).unwrap();
    assert_eq!(a.params(), b.params());
    // The same file into an f64 network, converted as PyTorch's copy_ would.
    let mut c = LeNet5::<f64>::with_seed(3);
    c.load(&path).unwrap();
    assert!(a.params().iter().zip(c.params()).all(|(x, y)| *x as f64 == *y));
}

#[test]
fn batch_norm_buffers_and_names_round_trip() {
    let path = temp("normed.safetensors");
    let mut a = Normed::new(1);
    a.train_step(&[0.5; 64], &[1, 0], &SoftmaxCrossEntropy, &mut Sgd::new(0.1)).unwrap();
    a.save(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let counter = file.tensor("1.num_batches_tracked").unwrap();
    assert_eq!((counter.dtype(), counter.shape()), (Dtype::I64, &[][..]));
    assert_eq!(counter.data(), 1i64.to_le_bytes());
    assert!(file.tensor("c1.weight").is_ok() && file.tensor("fc.bias").is_ok());
    assert!(file.tensor("c1.bias").is_err(), "bias = false stores no bias");
    let mut b = Normed::new(9);
    b.load(&path).unwrap();
    assert_eq!(a.params(), b.params());
    assert_eq!(a.buffers(), b.buffers());
}

/// Writes a safetensors file of the given (key, dtype, shape, bytes) tensors.
fn write(path: &std::path::Path, tensors: &[(&str, Dtype, Vec<usize>, Vec<u8>)]) {
    let views: Vec<(&str, TensorView)> =
        tensors.iter().map(|(k, d, s, b)| (*k, TensorView::new(*d, s.clone(), b).unwrap())).collect();
    std::fs::write(path, safetensors::serialize(views, None).unwrap()).unwrap();
}

fn f32s(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn good_tiny() -> Vec<(&'static str, Dtype, Vec<usize>, Vec<u8>)> {
    vec![
        ("0.weight", Dtype::F32, vec![2, 3], f32s(&[1.0; 6])),
        ("0.bias", Dtype::F32, vec![2], f32s(&[2.0; 2])),
        ("1.weight", Dtype::F32, vec![2], f32s(&[3.0; 2])),
        ("1.bias", Dtype::F32, vec![2], f32s(&[4.0; 2])),
        ("1.running_mean", Dtype::F32, vec![2], f32s(&[5.0; 2])),
        ("1.running_var", Dtype::F32, vec![2], f32s(&[6.0; 2])),
        ("1.num_batches_tracked", Dtype::I64, vec![], 7i64.to_le_bytes().to_vec()),
    ]
}

#[test]
fn a_well_formed_file_loads_everything() {
    let path = temp("tiny.safetensors");
    write(&path, &good_tiny());
    let mut net = Tiny::new(0);
    net.load(&path).unwrap();
    assert_eq!(net.params(), &[1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 4.0, 4.0]);
    assert_eq!(net.buffers(), &[5.0, 5.0, 6.0, 6.0, 7.0]);
}

#[test]
fn every_kind_of_mismatch_is_reported_and_nothing_changes() {
    let path = temp("bad.safetensors");
    let mut tensors = good_tiny();
    tensors.retain(|t| t.0 != "0.bias"); // missing
    tensors[0].2 = vec![3, 2]; // wrong shape
    tensors[1].1 = Dtype::I32; // wrong type (4-byte elements, so the file is still valid)
    tensors.push(("2.weight", Dtype::F32, vec![1], f32s(&[0.0]))); // unexpected
    write(&path, &tensors);
    let mut net = Tiny::new(0);
    let before = (net.params().to_vec(), net.buffers().to_vec());
    let err = net.load(&path).unwrap_err();
    let Error::Weights { problems, .. } = &err else { panic!("{err}") };
    assert_eq!(problems.len(), 4, "{err}");
    let text = err.to_string();
    for needle in [
        "size mismatch for \"0.weight\": the file has shape [3, 2], the network expects [2, 3]",
        "missing key \"0.bias\" (shape [2])",
        "1.weight: element type I32, expected F32 or F64",
        "unexpected key \"2.weight\"",
        "into Tiny",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
    assert_eq!((net.params().to_vec(), net.buffers().to_vec()), before);
}

#[test]
fn truncated_corrupt_and_absent_files_are_errors() {
    let path = temp("tiny2.safetensors");
    write(&path, &good_tiny());
    let bytes = std::fs::read(&path).unwrap();
    let mut net = Tiny::new(0);
    for (name, data) in
        [("truncated", bytes[..bytes.len() - 3].to_vec()), ("garbage", b"not a safetensors file".to_vec())]
    {
        let p = temp(name);
        std::fs::write(&p, data).unwrap();
        let err = net.load(&p).unwrap_err().to_string();
        assert!(err.contains("not a valid safetensors file"), "{name}: {err}");
    }
    let err = net.load(temp("absent")).unwrap_err().to_string();
    assert!(err.contains("cannot read"), "{err}");
}

#[test]
fn save_errors_say_saving() {
    let net = Tiny::new(0);
    let err = net.save(temp("no-such-dir").join("x.safetensors")).unwrap_err().to_string();
    assert!(err.starts_with("error saving weights (Tiny to "), "{err}");
    assert!(err.contains("cannot write") && !err.contains("loading"), "{err}");
}

fn fuzz_cases() -> u32 {
    std::env::var("NN_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(2_000)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: fuzz_cases(), failure_persistence: None, ..ProptestConfig::default() })]

    /// Damaged files (bytes flipped, cut short, spliced) are errors, never panics, and
    /// a failed load, strict or not, leaves the network as it was.
    #[test]
    fn damaged_files_never_panic_the_loader(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
        cut in prop::option::of(any::<prop::sample::Index>()),
        header_noise in prop::collection::vec(any::<u8>(), 0..3),
    ) {
        let tensors = good_tiny();
        let views: Vec<(&str, TensorView)> =
            tensors.iter().map(|(k, d, s, b)| (*k, TensorView::new(*d, s.clone(), b).unwrap())).collect();
        let mut bytes = safetensors::serialize(views, None).unwrap();
        for (at, value) in edits {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        if let Some(at) = cut {
            bytes.truncate(at.index(bytes.len()));
        }
        let at = 8.min(bytes.len());
        bytes.splice(at..at, header_noise);
        let mut net = Tiny::new(0);
        let before = (net.params().to_vec(), net.buffers().to_vec());
        if net.load_safetensors(&bytes, "fuzz").is_err() {
            prop_assert_eq!((net.params().to_vec(), net.buffers().to_vec()), before.clone());
        }
        let mut net = Tiny::new(0);
        if net.load_safetensors_non_strict(&bytes, "fuzz").is_err() {
            prop_assert_eq!((net.params().to_vec(), net.buffers().to_vec()), before);
        }
    }
}

/// A fresh, empty directory of its own for a test that looks at every file in it.
fn fresh_dir(name: &str) -> std::path::PathBuf {
    let dir = temp(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Every entry of `dir` but `keep`, sorted: what a save left behind.
fn others(dir: &std::path::Path, keep: &[&str]) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !keep.contains(&n.as_str()))
        .collect();
    names.sort();
    names
}

/// Threads saving different values to one path: every save returns `Ok`; the file, read
/// at any moment by a reader thread and by each saver right after its save, is always
/// one complete save (byte for byte); afterwards it is one of them and no temporary file
/// is left. (With one temporary name per process, the savers truncated and renamed each
/// other's files: saves failed, and files that were a mix of two saves were reported
/// `Ok`.)
#[test]
fn concurrent_saves_to_one_path_each_leave_a_complete_file() {
    use std::collections::HashSet;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    const THREADS: usize = 4;
    const SAVES: usize = 12;
    let dir = fresh_dir("concurrent");
    let path = dir.join("lenet.safetensors");
    let version = |t: usize, i: usize| {
        let mut net = LeNet5::new(t as u64);
        net.params_mut()[0] = (t * SAVES + i) as f32;
        net
    };
    let versions: HashSet<Vec<u8>> = (0..THREADS)
        .flat_map(|t| (0..SAVES).map(move |i| (t, i)))
        .map(|(t, i)| version(t, i).to_safetensors().unwrap())
        .collect();
    assert_eq!(versions.len(), THREADS * SAVES);
    let versions = Arc::new(versions);
    version(0, 0).save(&path).unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let (versions, done, path) = (versions.clone(), done.clone(), path.clone());
        std::thread::spawn(move || {
            let mut reads = 0;
            while !done.load(Ordering::Relaxed) {
                let bytes = std::fs::read(&path).unwrap();
                assert!(versions.contains(&bytes), "a reader saw {} bytes that no save wrote", bytes.len());
                reads += 1;
            }
            reads
        })
    };
    let savers: Vec<_> = (0..THREADS)
        .map(|t| {
            let (versions, path) = (versions.clone(), path.clone());
            std::thread::spawn(move || {
                for i in 0..SAVES {
                    let net = version(t, i);
                    net.save(&path).unwrap_or_else(|e| panic!("save {i} of thread {t}: {e}"));
                    let bytes = std::fs::read(&path).unwrap();
                    assert!(versions.contains(&bytes), "after an Ok save the file is no complete save");
                }
            })
        })
        .collect();
    for saver in savers {
        saver.join().unwrap();
    }
    done.store(true, Ordering::Relaxed);
    assert!(reader.join().unwrap() > 0);
    assert!(versions.contains(&std::fs::read(&path).unwrap()));
    LeNet5::new(9).load(&path).unwrap();
    assert_eq!(others(&dir, &["lenet.safetensors"]), Vec::<String>::new(), "temporary files left behind");
}

/// A save through a symbolic link (or a chain of them, or one whose target does not
/// exist yet) writes the file the link points to and leaves the link a link.
#[cfg(unix)]
#[test]
fn saving_through_a_symlink_writes_its_target() {
    use std::os::unix::fs::symlink;
    let dir = fresh_dir("symlinks");
    let real = dir.join("real.safetensors");
    Tiny::new(1).save(&real).unwrap();
    symlink("real.safetensors", dir.join("link.safetensors")).unwrap();
    symlink(dir.join("link.safetensors"), dir.join("chain.safetensors")).unwrap();
    std::fs::create_dir(dir.join("sub")).unwrap();
    symlink("../absent.safetensors", dir.join("sub").join("dangling.safetensors")).unwrap();
    for (seed, name) in [(2, "link.safetensors"), (3, "chain.safetensors")] {
        let net = Tiny::new(seed);
        net.save(dir.join(name)).unwrap();
        assert_eq!(std::fs::read(&real).unwrap(), net.to_safetensors().unwrap(), "{name}");
    }
    let net = Tiny::new(4);
    net.save(dir.join("sub").join("dangling.safetensors")).unwrap();
    assert_eq!(std::fs::read(dir.join("absent.safetensors")).unwrap(), net.to_safetensors().unwrap());
    for (link, target) in [
        ("link.safetensors", "real.safetensors".into()),
        ("chain.safetensors", dir.join("link.safetensors")),
        ("sub/dangling.safetensors", "../absent.safetensors".into()),
    ] {
        assert!(std::fs::symlink_metadata(dir.join(link)).unwrap().file_type().is_symlink(), "{link} replaced");
        assert_eq!(std::fs::read_link(dir.join(link)).unwrap(), target);
    }
    assert_eq!(
        others(&dir, &["real.safetensors", "link.safetensors", "chain.safetensors", "absent.safetensors", "sub"]),
        Vec::<String>::new()
    );
}

/// A save keeps the mode of the file it replaces (0600 stays 0600); a new file gets the
/// default mode, as `std::fs::write` gives it; a read-only file is not replaced.
#[cfg(unix)]
#[test]
fn saving_keeps_the_file_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let dir = fresh_dir("permissions");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
    // Several modes, so that at least one differs from the default under any umask.
    for wanted in [0o600, 0o664, 0o640] {
        let path = dir.join(format!("{wanted:o}.safetensors"));
        std::fs::write(&path, b"old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(wanted)).unwrap();
        Tiny::new(1).save(&path).unwrap();
        assert_eq!(mode(&path), wanted, "{wanted:o} became {:o}", mode(&path));
        assert_eq!(std::fs::read(&path).unwrap(), Tiny::new(1).to_safetensors().unwrap());
    }
    std::fs::write(dir.join("plain"), b"").unwrap();
    Tiny::new(1).save(dir.join("new.safetensors")).unwrap();
    assert_eq!(mode(&dir.join("new.safetensors")), mode(&dir.join("plain")));
    let locked = dir.join("read-only.safetensors");
    std::fs::write(&locked, b"keep me").unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o444)).unwrap();
    let err = Tiny::new(1).save(&locked).unwrap_err().to_string();
    assert!(err.contains("read-only"), "{err}");
    assert_eq!(std::fs::read(&locked).unwrap(), b"keep me");
}

/// A crashed save's temporary file (`.<name>.<pid>-<n>.tmp`, nobody holding its lock)
/// is removed by the next save to that path; a live save's (locked) and files of other
/// names are not.
#[test]
fn the_next_save_removes_a_crashed_saves_temporary_file() {
    let dir = fresh_dir("orphans");
    let path = dir.join("model.safetensors");
    let orphan = dir.join(".model.safetensors.4194999-17.tmp");
    std::fs::write(&orphan, b"half a save").unwrap();
    let live = dir.join(".model.safetensors.4194998-3.tmp");
    let held = std::fs::File::create(&live).unwrap();
    held.lock().unwrap();
    let unrelated =
        [".model.safetensors.backup.tmp", ".model.safetensors.1-2.tmp.keep", ".other.safetensors.1-2.tmp", "notes.tmp"];
    for name in unrelated {
        std::fs::write(dir.join(name), b"mine").unwrap();
    }
    Tiny::new(1).save(&path).unwrap();
    assert!(!orphan.exists(), "the orphan is still there");
    let mut expected: Vec<String> = unrelated.iter().map(|n| n.to_string()).collect();
    expected.push(".model.safetensors.4194998-3.tmp".into());
    expected.sort();
    assert_eq!(others(&dir, &["model.safetensors"]), expected);
    drop(held);
    Tiny::new(1).save(&path).unwrap();
    assert!(!live.exists(), "once its lock is released, it is an orphan too");
}

/// Runs `f` on its own thread and fails if it takes longer than `seconds` (a reader
/// that does not stop at what the file's header declares runs until memory runs out).
fn within<T: Send + 'static>(seconds: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || sender.send(f()));
    receiver.recv_timeout(std::time::Duration::from_secs(seconds)).expect("the load did not finish: unbounded read?")
}

#[cfg(target_os = "linux")]
#[test]
fn loading_dev_zero_stops_at_the_header() {
    let err = within(10, || Tiny::new(0).load("/dev/zero").unwrap_err().to_string());
    assert!(err.contains("not a valid safetensors file"), "{err}");
}

/// A FIFO that yields `prefix` and then zeros for as long as anyone reads.
#[cfg(unix)]
fn endless(name: &str, prefix: Vec<u8>) -> std::path::PathBuf {
    use std::io::Write;
    let path = temp(name);
    let _ = std::fs::remove_file(&path);
    let status = std::process::Command::new("mkfifo").arg(&path).status().expect("mkfifo runs");
    assert!(status.success(), "mkfifo {}", path.display());
    let fifo = path.clone();
    std::thread::spawn(move || {
        // Blocks until the loader opens the FIFO; ends when it closes it (broken pipe).
        let mut file = std::fs::OpenOptions::new().write(true).open(fifo).unwrap();
        let zeros = vec![0u8; 1 << 16];
        if file.write_all(&prefix).is_ok() {
            while file.write_all(&zeros).is_ok() {}
        }
    });
    path
}

/// A FIFO that yields `bytes` and ends.
#[cfg(unix)]
fn finite_fifo(name: &str, bytes: Vec<u8>) -> std::path::PathBuf {
    use std::io::Write;
    let path = temp(name);
    let _ = std::fs::remove_file(&path);
    assert!(std::process::Command::new("mkfifo").arg(&path).status().unwrap().success());
    let fifo = path.clone();
    std::thread::spawn(move || {
        let _ = std::fs::OpenOptions::new().write(true).open(fifo).unwrap().write_all(&bytes);
    });
    path
}

/// Endless sources: a whole valid file followed by endless bytes, a header length past
/// the format's limit, a header that never ends. Each is an error after at most what
/// the header declares plus one byte, and the network is unchanged.
#[cfg(unix)]
#[test]
fn loading_an_endless_stream_reads_only_what_the_header_declares() {
    let good = Tiny::new(5).to_safetensors().unwrap();
    let huge_header = (1u64 << 40).to_le_bytes().to_vec();
    let mut endless_header = 1_000_000u64.to_le_bytes().to_vec();
    endless_header.extend(b"{\"0.weight\": ");
    for (name, prefix, needle) in [
        ("endless-data", good.clone(), "there is more after the 72 bytes"),
        ("endless-huge-header", huge_header, "header"),
        ("endless-header", endless_header, "not a valid safetensors file"),
    ] {
        let path = endless(name, prefix);
        let (err, unchanged) = within(10, move || {
            let mut net = Tiny::new(0);
            let before = (net.params().to_vec(), net.buffers().to_vec());
            let err = net.load(&path).unwrap_err().to_string();
            (err, before == (net.params().to_vec(), net.buffers().to_vec()))
        });
        assert!(err.contains(needle), "{name}: {err}");
        assert!(unchanged, "{name}");
    }
    // The same file, ending where it should, loads from a FIFO.
    let path = finite_fifo("finite", good);
    let params = within(10, move || {
        let mut net = Tiny::new(0);
        net.load(&path).unwrap();
        net.params().to_vec()
    });
    assert_eq!(params, Tiny::new(5).params());
}

/// One tensor of a file: key, element type, shape, bytes.
type Entry = (String, Dtype, Vec<usize>, Vec<u8>);

fn bits(values: &[f32]) -> Vec<u32> {
    values.iter().map(|v| v.to_bits()).collect()
}

/// Loads that fail for any reason, from bytes or from a file, strict or not, change
/// nothing: not one bit of the parameters or buffers (NaN payloads and signed zeros
/// included), even when every tensor but the last checks out.
#[test]
fn failed_loads_leave_params_and_buffers_bit_identical() {
    let mut net = Normed::new(1);
    net.train_step(&[0.25; 64], &[0, 1], &SoftmaxCrossEntropy, &mut Sgd::new(0.1)).unwrap();
    net.params_mut()[0] = f32::from_bits(0x7fc0_1234);
    net.params_mut()[1] = -0.0;
    net.buffers_mut()[0] = f32::from_bits(0xffc0_0001);
    let before = (bits(net.params()), bits(net.buffers()));
    let mut donor = Normed::new(2);
    donor.train_step(&[0.5; 64], &[1, 0], &SoftmaxCrossEntropy, &mut Sgd::new(0.1)).unwrap();
    let good = donor.to_safetensors().unwrap();
    let file = SafeTensors::deserialize(&good).unwrap();
    let tensors: Vec<Entry> = file
        .tensors()
        .into_iter()
        .map(|(name, view)| (name, view.dtype(), view.shape().to_vec(), view.data().to_vec()))
        .collect();
    let edited = |edit: &dyn Fn(&mut Vec<Entry>)| {
        let mut tensors = tensors.clone();
        edit(&mut tensors);
        let views: Vec<(&str, TensorView)> =
            tensors.iter().map(|(k, d, s, b)| (k.as_str(), TensorView::new(*d, s.clone(), b).unwrap())).collect();
        safetensors::serialize(views, None).unwrap()
    };
    let find = |t: &mut Vec<Entry>, key: &str| t.iter().position(|x| x.0 == key).unwrap();
    let mut cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "last param wrongly typed",
            edited(&|t| {
                let i = find(t, "fc.bias");
                t[i].1 = Dtype::I32;
            }),
        ),
        (
            "counter wrongly typed",
            edited(&|t| {
                let i = find(t, "1.num_batches_tracked");
                t[i].1 = Dtype::F64;
            }),
        ),
        (
            "last param missing",
            edited(&|t| {
                let i = find(t, "fc.bias");
                t.remove(i);
            }),
        ),
        (
            "last param reshaped",
            edited(&|t| {
                let i = find(t, "fc.weight");
                t[i].2 = vec![12, 2];
            }),
        ),
        ("unexpected key", edited(&|t| t.push(("extra".into(), Dtype::F32, vec![1], vec![0; 4])))),
        ("truncated", good[..good.len() - 1].to_vec()),
        ("trailing byte", [&good[..], &[0]].concat()),
        ("empty", Vec::new()),
        ("garbage", b"garbage".to_vec()),
    ];
    cases.push(("header only", good[..good.len() - tensors.iter().map(|t| t.3.len()).sum::<usize>()].to_vec()));
    for (name, bytes) in &cases {
        assert!(net.load_safetensors(bytes, name).is_err(), "{name} loaded from bytes");
        assert_eq!((bits(net.params()), bits(net.buffers())), before, "{name} (bytes)");
        let path = temp(&format!("failed-{}", name.replace(' ', "-")));
        std::fs::write(&path, bytes).unwrap();
        assert!(net.load(&path).is_err(), "{name} loaded from a file");
        assert_eq!((bits(net.params()), bits(net.buffers())), before, "{name} (file)");
        // A non-strict load takes a missing or unexpected tensor; it refuses the rest.
        if !["last param missing", "unexpected key"].contains(name) {
            assert!(net.load_safetensors_non_strict(bytes, name).is_err(), "{name} loaded non-strict from bytes");
            assert!(net.load_non_strict(&path).is_err(), "{name} loaded non-strict from a file");
            assert_eq!((bits(net.params()), bits(net.buffers())), before, "{name} (non-strict)");
        }
    }
    net.load_safetensors(&good, "good").unwrap();
    assert_eq!(bits(net.params()), bits(donor.params()));
}

/// The file's tensors but those `drop` names, as safetensors bytes.
fn without(bytes: &[u8], drop: &[&str]) -> Vec<u8> {
    let file = SafeTensors::deserialize(bytes).unwrap();
    let kept: Vec<(String, TensorView)> =
        file.tensors().into_iter().filter(|(k, _)| !drop.contains(&k.as_str())).collect();
    safetensors::serialize(kept, None).unwrap()
}

/// Fine-tuning: a trained backbone's file loads non-strict under a head of another
/// name. The backbone's parameters and running statistics are loaded, the new head
/// keeps its initialization, and the report names the new head's keys (missing) and
/// the old head's (unexpected). A strict load refuses the same file and changes nothing.
#[test]
fn a_backbone_loads_non_strict_under_a_new_head() {
    let mut backbone = Normed::new(1);
    backbone.train_step(&[0.5; 64], &[1, 0], &SoftmaxCrossEntropy, &mut Sgd::new(0.1)).unwrap();
    let path = temp("backbone.safetensors");
    backbone.save(&path).unwrap();
    let mut net = NewHead::new(2);
    let before = (bits(net.params()), bits(net.buffers()));
    let err = net.load(&path).unwrap_err().to_string();
    assert!(err.contains("missing key \"head.weight\"") && err.contains("unexpected key \"fc.weight\""), "{err}");
    assert_eq!((bits(net.params()), bits(net.buffers())), before);
    let report = net.load_non_strict(&path).unwrap();
    assert_eq!(report.missing_keys, ["head.weight", "head.bias"]);
    assert_eq!(report.unexpected_keys, ["fc.bias", "fc.weight"]);
    assert!(!report.all_matched());
    // c1 (54 values) and the batch norm (6) come first in both; then the heads.
    let backbone_len = 54 + 6;
    assert_eq!(bits(&net.params()[..backbone_len]), bits(&backbone.params()[..backbone_len]));
    assert_eq!(bits(&net.params()[backbone_len..]), before.0[backbone_len..], "the new head keeps its values");
    assert_eq!(bits(net.buffers()), bits(backbone.buffers()), "running statistics and the batch count");
    // The network trains on from there.
    net.train_step(&[0.5; 64], &[4, 0], &SoftmaxCrossEntropy, &mut Sgd::new(0.1)).unwrap();
}

/// A head of the old name and another size is refused, non-strict too, as PyTorch does
/// ("size mismatch for fc.weight"): both shapes are named and nothing changes. Without
/// the old head's tensors the file loads, and the head is reported missing.
#[test]
fn a_head_of_the_same_name_and_another_size_is_refused_until_it_leaves_the_file() {
    let backbone = Normed::new(1);
    let mut net = WrongHead::new(2);
    let before = (bits(net.params()), bits(net.buffers()));
    let err = net.load_safetensors_non_strict(&backbone.to_safetensors().unwrap(), "backbone").unwrap_err();
    let Error::Weights { problems, .. } = &err else { panic!("{err}") };
    assert_eq!(problems.len(), 2, "{err}");
    let text = err.to_string();
    for needle in [
        "error(s) loading weights (backbone into WrongHead)",
        "size mismatch for \"fc.weight\": the file has shape [2, 12], the network expects [5, 12]",
        "size mismatch for \"fc.bias\": the file has shape [2], the network expects [5]",
        "leave the tensor out of the file, or give the layer another name",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
    assert_eq!((bits(net.params()), bits(net.buffers())), before);
    let trimmed = without(&backbone.to_safetensors().unwrap(), &["fc.weight", "fc.bias"]);
    let report = net.load_safetensors_non_strict(&trimmed, "backbone without fc").unwrap();
    assert_eq!(report.missing_keys, ["fc.weight", "fc.bias"]);
    assert!(report.unexpected_keys.is_empty());
    assert_eq!(bits(&net.params()[..60]), bits(&backbone.params()[..60]));
    assert_eq!(bits(&net.params()[60..]), before.0[60..]);
}

/// A file with a layer less loads into a network with a layer more (the extra layer
/// reported missing, its values kept), and the other way round (reported unexpected),
/// into f32 and f64 networks alike; a file that matches exactly reports nothing.
#[test]
fn a_layer_more_or_less_is_reported() {
    let small = Tiny::new(1);
    let path = temp("tiny-for-deeper.safetensors");
    small.save(&path).unwrap();
    let mut deeper = Deeper::new(2);
    let kept = deeper.params()[12..].to_vec();
    let report = deeper.load_non_strict(&path).unwrap();
    assert_eq!(report.missing_keys, ["2.weight", "2.bias"]);
    assert!(report.unexpected_keys.is_empty());
    assert_eq!(&deeper.params()[..12], small.params());
    assert_eq!(&deeper.params()[12..], &kept[..]);
    assert_eq!(deeper.buffers(), small.buffers());

    let mut tiny = Tiny::<f64>::with_seed(3);
    let report = tiny.load_safetensors_non_strict(&Deeper::new(4).to_safetensors().unwrap(), "deeper").unwrap();
    assert!(report.missing_keys.is_empty());
    assert_eq!(report.unexpected_keys, ["2.bias", "2.weight"]);
    assert_eq!(
        report.to_string(),
        "2 keys unexpected (in the file, not the network's; not loaded): \"2.bias\", \"2.weight\""
    );
    let expected: Vec<f64> = Deeper::new(4).params()[..12].iter().map(|v| *v as f64).collect();
    assert_eq!(tiny.params(), &expected[..]);

    let report = Tiny::new(0).load_non_strict(&path).unwrap();
    assert!(report.all_matched());
    assert_eq!(report.to_string(), "all keys matched");
}

/// Unexpected tensors of any element type and size load past, reported sorted; a
/// matching key of the wrong element type is refused and changes nothing.
#[test]
fn unexpected_tensors_of_any_type_are_reported_and_wrong_types_refused() {
    let mut tensors = good_tiny();
    tensors.push(("z.big", Dtype::F64, vec![1000], vec![0; 8000]));
    tensors.push(("aux.mask", Dtype::U8, vec![5], vec![1; 5]));
    tensors.push(("aux.ids", Dtype::I32, vec![3], vec![0; 12]));
    tensors.push(("aux.half", Dtype::BF16, vec![3], vec![0; 6]));
    let path = temp("tiny-extra.safetensors");
    write(&path, &tensors);
    let mut net = Tiny::new(0);
    let report = net.load_non_strict(&path).unwrap();
    assert!(report.missing_keys.is_empty());
    assert_eq!(report.unexpected_keys, ["aux.half", "aux.ids", "aux.mask", "z.big"]);
    assert_eq!(net.params(), &[1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 4.0, 4.0]);
    assert_eq!(net.buffers(), &[5.0, 5.0, 6.0, 6.0, 7.0]);

    tensors[2].1 = Dtype::I32; // 1.weight
    write(&path, &tensors);
    let mut net = Tiny::new(0);
    let before = (bits(net.params()), bits(net.buffers()));
    let err = net.load_non_strict(&path).unwrap_err().to_string();
    assert!(err.contains("1.weight: element type I32, expected F32 or F64"), "{err}");
    assert_eq!((bits(net.params()), bits(net.buffers())), before);
}

/// A file much larger than the network (a 16 MiB tensor the network lacks): a
/// non-strict load reads past that tensor's data without holding it, so the most heap
/// it holds at once is a small fraction of the file; a strict load refuses the file
/// from its header alone.
#[test]
fn unexpected_tensors_are_read_past_not_held() {
    const BIG: usize = 4 << 20; // f32 values: 16 MiB
    let mut tensors = good_tiny();
    tensors.push(("backbone.weight", Dtype::F32, vec![BIG], vec![0; 4 * BIG]));
    let path = temp("tiny-in-big.safetensors");
    write(&path, &tensors);
    drop(tensors);
    let mut net = Tiny::new(0);
    let (report, held) = peak(|| net.load_non_strict(&path).unwrap());
    assert_eq!(report.unexpected_keys, ["backbone.weight"]);
    assert_eq!(net.buffers(), &[5.0, 5.0, 6.0, 6.0, 7.0]);
    assert!(held < 64 * 1024, "a non-strict load held {held} bytes of a {}-byte file", 4 * BIG);
    let (err, held) = peak(|| Tiny::new(0).load(&path).unwrap_err().to_string());
    assert!(err.contains("unexpected key \"backbone.weight\""), "{err}");
    assert!(held < 64 * 1024, "a strict load held {held} bytes");
}

/// Non-strict, an endless stream after a file with a tensor the network lacks is an
/// error once the data its header declares and one byte more are read, and the network
/// is unchanged; the same file, ending where it should, loads from a FIFO.
#[cfg(unix)]
#[test]
fn a_non_strict_load_of_an_endless_stream_stops_after_the_declared_data() {
    let mut tensors = good_tiny();
    tensors.push(("extra", Dtype::F32, vec![1000], f32s(&[0.5; 1000])));
    let views: Vec<(&str, TensorView)> =
        tensors.iter().map(|(k, d, s, b)| (*k, TensorView::new(*d, s.clone(), b).unwrap())).collect();
    let bytes = safetensors::serialize(views, None).unwrap();
    let path = endless("endless-non-strict", bytes.clone());
    let (err, unchanged) = within(10, move || {
        let mut net = Tiny::new(0);
        let before = (net.params().to_vec(), net.buffers().to_vec());
        let err = net.load_non_strict(&path).unwrap_err().to_string();
        (err, before == (net.params().to_vec(), net.buffers().to_vec()))
    });
    assert!(err.contains("there is more after the 4072 bytes of tensor data"), "{err}");
    assert!(unchanged);
    let path = finite_fifo("finite-non-strict", bytes);
    let report = within(10, move || Tiny::new(0).load_non_strict(&path).unwrap());
    assert_eq!(report.unexpected_keys, ["extra"]);
}
