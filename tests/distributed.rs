//! Data-parallel training over MPI (feature `mpi`; `bash tools/mpi.sh` installs MPICH
//! and runs this): `examples/distributed.rs` under `mpiexec -n 1, 2, 3` with 1 to 3
//! threads per process reaches the same weights, bit for bit, with and without batch
//! norm; a rank killed mid-run ends the job with an error, not a hang; and a run
//! resumed from its checkpoint (on another process and thread count) reaches the
//! weights of one never interrupted. Loopback only.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The example, which `cargo test --features mpi` builds beside this test (with
/// `--test distributed`, build it first: `cargo build --features mpi --example
/// distributed`, as tools/mpi.sh does).
fn example() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's path");
    let profile = exe.parent().and_then(|deps| deps.parent()).expect("target/<profile>/deps/");
    let path = profile.join("examples").join("distributed");
    assert!(
        path.exists(),
        "{} is missing: build it first with `cargo build --features mpi --example distributed` (and the same \
         profile), or run `cargo test --features mpi`, which builds it",
        path.display()
    );
    path
}

/// Generous: a step takes milliseconds; only a hang comes near this.
const TIME_OUT: Duration = Duration::from_secs(300);

/// `mpiexec -n processes` running the example with `threads` threads each; its exit
/// status and output. Fails the test if it has not ended within [`TIME_OUT`].
fn mpiexec(processes: usize, threads: usize, args: &[&str]) -> (ExitStatus, String) {
    let mut child = Command::new("mpiexec")
        .args(["-n", &processes.to_string()])
        .arg(example())
        .args(args)
        .env("NN_THREADS", threads.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("mpiexec runs (tools/mpi.sh --install installs MPICH)");
    let mut stdout = child.stdout.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        stdout.read_to_string(&mut text).map(|_| text)
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("waits") {
            break status;
        }
        if start.elapsed() > TIME_OUT {
            let _ = child.kill();
            panic!("mpiexec -n {processes} {args:?} still running after {TIME_OUT:?}: a hang");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    (status, reader.join().expect("reader").expect("utf-8 output"))
}

/// The weights' fingerprint a successful run prints.
fn fingerprint(processes: usize, threads: usize, args: &[&str]) -> String {
    let (status, output) = mpiexec(processes, threads, args);
    assert!(status.success(), "mpiexec -n {processes} {args:?} failed: {status}\n{output}");
    let line = output.lines().find(|l| l.starts_with("weights fingerprint:")).expect("a fingerprint");
    line.to_string()
}

#[test]
fn processes_and_threads_reach_the_same_weights() {
    for net in ["lenet5", "lenet5-bn"] {
        let args = ["--net", net, "--steps", "12"];
        let single = fingerprint(1, 1, &args);
        for (processes, threads) in [(2, 1), (3, 1), (2, 2), (3, 3)] {
            assert_eq!(
                fingerprint(processes, threads, &args),
                single,
                "{net}: {processes} processes × {threads} threads"
            );
        }
    }
}

#[test]
fn a_killed_rank_ends_the_job_and_a_resumed_run_matches_an_uninterrupted_one() {
    let dir = std::env::temp_dir().join(format!("nn-distributed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let checkpoint = dir.join("run.safetensors");
    let checkpoint = checkpoint.to_str().unwrap();
    let uninterrupted = fingerprint(2, 1, &["--net", "lenet5-bn", "--steps", "14"]);

    // Rank 1 dies after step 9, whose checkpoint every process waited for: the others
    // end too, with an error.
    let start = Instant::now();
    let args = ["--net", "lenet5-bn", "--steps", "14", "--checkpoint", checkpoint, "--every", "3", "--die-at", "9"];
    let (status, output) = mpiexec(3, 1, &args);
    assert!(!status.success(), "the job reports the failure: {output}");
    assert!(!output.contains("weights fingerprint"), "no process finished: {output}");
    println!("a killed rank ended the job in {:.1} s", start.elapsed().as_secs_f64());

    // Resumed from step 9's checkpoint, on another process and thread count.
    let resumed = fingerprint(2, 2, &["--net", "lenet5-bn", "--steps", "14", "--checkpoint", checkpoint, "--resume"]);
    assert_eq!(resumed, uninterrupted);
    std::fs::remove_dir_all(&dir).unwrap();
}
