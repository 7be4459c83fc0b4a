//! The benchmark: `check` against the parse-only floor, and against other
//! linters, side by side.
//!
//! ```text
//! cargo run --release --example bench -- --corpora DIR [--generator FILE]
//!     [--sizes 50,1000,10000] [--runs 5] [-j N]
//!     [--peer NAME=COMMAND ...] [--peer-runs N] [--instructions]
//! ```
//!
//! Reads the synthetic Convex backend of each size from `DIR/files-<size>`
//! (its `convex/` folder). A missing one is generated with `--generator`, the
//! corpus generator (`python3 FILE OUT --files N --seed 1`), when one is given;
//! docs/performance.md says how to make them by hand. Then for each size it
//! runs this same binary as a child
//! process, alternating the floor (walk, read and swc-parse every file on the
//! same code path as `check`, nothing else) and `check` (the whole analysis,
//! JSON streamed to a sink, as the CLI streams it). Machines are noisy: the ratio is the median of
//! per-pair ratios, with their range. Wall time is taken from outside, so
//! process start-up is included; peak memory is the child's own high-water
//! mark (VmHWM, Linux).
//!
//! Each `--peer` is another tool's command line (split on whitespace; `{dir}`
//! is the corpus's project folder, the one holding `convex/`), run alternately
//! with `check` on the same corpus: its ratio is the median of the per-pair
//! ratios peer / check, so "5x" means the peer took five times as long. Its
//! peak is the largest resident size among its processes (a launcher and the
//! binary it starts), from the kernel's accounting of reaped children.
//! `scripts/peers.sh` installs the peers the README compares against and runs
//! this.
//!
//! `--instructions` also counts the instructions the floor and `check`
//! execute on one thread, under `valgrind --tool=callgrind`: the same count
//! for the same binary and corpus whatever else the machine is doing, so a
//! change of a percent shows where wall times on a shared machine cannot.

// A measuring tool: its table goes to stdout, its progress to stderr.
#![allow(clippy::print_stdout, clippy::print_stderr)]

// mimalloc: the parse floor is 20-27 % faster with it (../shared/bench/BASELINE.md),
// and the model's many small allocations gain more.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

use convex_audit::engine::parse_only;
use convex_audit::output::json;
use convex_audit::{check, Options};

const USAGE: &str = "usage: bench --corpora DIR [--generator FILE] [--sizes 50,1000,10000] [--runs N] [-j N]\n             [--peer NAME=COMMAND ...] [--peer-runs N] [--instructions]\n       bench child floor|check DIR THREADS\n       bench child peer COMMAND [ARG ...]";

struct Args {
    sizes: Vec<usize>,
    runs: usize,
    threads: usize,
    /// Makes a missing corpus (`python3 FILE OUT --files N --seed 1`).
    generator: Option<PathBuf>,
    corpora: PathBuf,
    peers: Vec<Peer>,
    /// Paired runs per peer and size (ESLint takes minutes on 10,000 files).
    peer_runs: usize,
    /// Also count instructions under callgrind.
    instructions: bool,
}

struct Peer {
    name: String,
    /// The command's words, `{dir}` not yet replaced.
    argv: Vec<String>,
}

impl Peer {
    fn parse(spec: &str) -> Result<Peer, String> {
        let (name, command) = spec
            .split_once('=')
            .ok_or(format!("--peer {spec}: expected NAME=COMMAND"))?;
        let argv: Vec<String> = command.split_whitespace().map(str::to_owned).collect();
        if name.trim().is_empty() || argv.is_empty() {
            return Err(format!("--peer {spec}: expected NAME=COMMAND"));
        }
        Ok(Peer {
            name: name.trim().to_owned(),
            argv,
        })
    }

    fn argv(&self, project: &Path) -> Vec<String> {
        let dir = project.to_string_lossy();
        self.argv.iter().map(|w| w.replace("{dir}", &dir)).collect()
    }
}

fn parse_args(mut it: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut a = Args {
        sizes: vec![50, 1000, 10000],
        runs: 5,
        threads: 2,
        generator: None,
        corpora: PathBuf::new(),
        peers: Vec::new(),
        peer_runs: 0,
        instructions: false,
    };
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--sizes" => {
                a.sizes = value()?
                    .split(',')
                    .map(|s| s.trim().parse().map_err(|e| format!("--sizes: {e}")))
                    .collect::<Result<_, _>>()?;
            }
            "--runs" => a.runs = value()?.parse().map_err(|e| format!("--runs: {e}"))?,
            "-j" | "--threads" => a.threads = value()?.parse().map_err(|e| format!("-j: {e}"))?,
            "--generator" => a.generator = Some(PathBuf::from(value()?)),
            "--corpora" => a.corpora = PathBuf::from(value()?),
            "--peer" => a.peers.push(Peer::parse(&value()?)?),
            "--peer-runs" => {
                a.peer_runs = value()?.parse().map_err(|e| format!("--peer-runs: {e}"))?;
            }
            "--instructions" => a.instructions = true,
            _ => return Err(format!("unknown argument {flag}")),
        }
    }
    if a.corpora.as_os_str().is_empty() {
        return Err("--corpora DIR is required: the folder holding files-<size>/convex".into());
    }
    if a.runs == 0 {
        return Err("--runs must be at least 1".into());
    }
    if a.peer_runs == 0 {
        a.peer_runs = a.runs;
    }
    Ok(a)
}

/// The child's own peak resident memory, in KiB.
fn peak_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// One measured run, in this process: prints `files bytes peak_kib`.
fn child(mode: &str, dir: &str, threads: &str) -> ExitCode {
    let opts = Options {
        paths: vec![PathBuf::from(dir)],
        config: None,
        threads: threads.parse().unwrap_or(0),
        fast_exit: true,
        release_memory: Some(convex_audit::mimalloc_collect),
        keep_sources: false,
    };
    let (files, bytes) = match mode {
        "floor" => match parse_only(&opts) {
            Ok(t) => (t.files, t.bytes),
            Err(e) => {
                eprintln!("{}", e.0);
                return ExitCode::from(2);
            }
        },
        // The JSON is streamed, as the CLI streams it to stdout.
        "check" => match check(&opts) {
            Ok(report) => {
                let mut out = std::io::BufWriter::new(Counted(0));
                if let Err(e) = json::write(&report, &mut out).and_then(|()| out.flush()) {
                    eprintln!("{e}");
                    return ExitCode::from(2);
                }
                (report.files_checked, out.get_ref().0)
            }
            Err(e) => {
                eprintln!("{}", e.0);
                return ExitCode::from(2);
            }
        },
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    println!("{files} {bytes} {}", peak_kib().unwrap_or(0));
    ExitCode::SUCCESS
}

/// One run of a peer: runs its command (output discarded, as `check`'s is
/// counted and dropped) and prints `exit_code peak_kib`, the peak being the
/// largest of its reaped processes'.
fn child_peer(argv: &[String]) -> ExitCode {
    let Some((program, args)) = argv.split_first() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let status = match Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{program}: {e}");
            return ExitCode::from(2);
        }
    };
    // A linter exits 1 when it finds something; a signal has no code.
    let code = status.code().unwrap_or(-1);
    println!("{code} {}", children_peak_kib().unwrap_or(0));
    ExitCode::SUCCESS
}

/// The largest resident size of any reaped child (and its reaped
/// descendants), in KiB.
#[cfg(target_os = "linux")]
fn children_peak_kib() -> Option<u64> {
    // SAFETY: `getrusage` only writes the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as above; RUSAGE_CHILDREN is a valid `who`.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    (rc == 0).then(|| u64::try_from(usage.ru_maxrss).unwrap_or(0))
}

#[cfg(not(target_os = "linux"))]
fn children_peak_kib() -> Option<u64> {
    None
}

/// A sink that counts what is written to it.
struct Counted(usize);

impl std::io::Write for Counted {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += std::hint::black_box(buf).len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct Sample {
    secs: f64,
    files: usize,
    peak_kib: u64,
}

/// Runs this binary as `child ARGS...`: its wall time, taken from outside
/// (start-up included), and what it printed.
fn timed_child(args: &[std::ffi::OsString], what: &str) -> Result<(f64, String), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let start = Instant::now();
    let out = Command::new(exe)
        .arg("child")
        .args(args)
        .output()
        .map_err(|e| e.to_string())?;
    let secs = start.elapsed().as_secs_f64();
    if !out.status.success() {
        return Err(format!(
            "{what} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok((secs, String::from_utf8_lossy(&out.stdout).into_owned()))
}

fn run_child(mode: &str, dir: &Path, threads: usize) -> Result<Sample, String> {
    let args = [mode.into(), dir.into(), threads.to_string().into()];
    let (secs, text) = timed_child(&args, mode)?;
    let mut it = text
        .split_whitespace()
        .map(|w| w.parse::<u64>().unwrap_or(0));
    let files = it.next().unwrap_or(0) as usize;
    let _bytes = it.next();
    let peak_kib = it.next().unwrap_or(0);
    Ok(Sample {
        secs,
        files,
        peak_kib,
    })
}

struct PeerSample {
    secs: f64,
    peak_kib: u64,
    exit: i32,
}

fn run_peer(peer: &Peer, project: &Path) -> Result<PeerSample, String> {
    let mut args = vec!["peer".into()];
    args.extend(peer.argv(project).into_iter().map(Into::into));
    let (secs, text) = timed_child(&args, &format!("peer {}", peer.name))?;
    let mut it = text.split_whitespace();
    let exit = it.next().and_then(|w| w.parse().ok()).unwrap_or(-1);
    let peak_kib = it.next().and_then(|w| w.parse().ok()).unwrap_or(0);
    Ok(PeerSample {
        secs,
        peak_kib,
        exit,
    })
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v.get(n / 2).copied().unwrap_or(0.0),
        n => {
            (v.get(n / 2 - 1).copied().unwrap_or(0.0) + v.get(n / 2).copied().unwrap_or(0.0)) / 2.0
        }
    }
}

fn corpus(a: &Args, size: usize) -> Result<PathBuf, String> {
    let dir = a.corpora.join(format!("files-{size}"));
    if dir.join("convex").is_dir() {
        return Ok(dir.join("convex"));
    }
    let Some(generator) = &a.generator else {
        return Err(format!(
            "no corpus at {}/convex: generate it (see docs/performance.md) or pass --generator FILE",
            dir.display()
        ));
    };
    eprintln!("generating {} ...", dir.display());
    let status = Command::new("python3")
        .arg(generator)
        .arg(&dir)
        .args(["--files", &size.to_string(), "--seed", "1"])
        .status()
        .map_err(|e| format!("python3 {}: {e}", generator.display()))?;
    if !status.success() || !dir.join("convex").is_dir() {
        return Err(format!(
            "{} did not produce {}/convex",
            generator.display(),
            dir.display()
        ));
    }
    Ok(dir.join("convex"))
}

struct Row {
    size: usize,
    floor: f64,
    check: f64,
    ratio: f64,
    ratio_min: f64,
    ratio_max: f64,
    files_per_s: f64,
    floor_peak: u64,
    check_peak: u64,
}

fn measure(a: &Args, size: usize) -> Result<Row, String> {
    let dir = corpus(a, size)?;
    // Warm the page cache and the binary once.
    run_child("floor", &dir, a.threads)?;
    run_child("check", &dir, a.threads)?;
    let (mut floors, mut checks, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    let (mut floor_peak, mut check_peak, mut files) = (0, 0, 0);
    for _ in 0..a.runs {
        let f = run_child("floor", &dir, a.threads)?;
        let c = run_child("check", &dir, a.threads)?;
        ratios.push(c.secs / f.secs.max(1e-9));
        floors.push(f.secs);
        checks.push(c.secs);
        floor_peak = floor_peak.max(f.peak_kib);
        check_peak = check_peak.max(c.peak_kib);
        files = c.files;
    }
    let ratio_min = ratios.iter().copied().fold(f64::INFINITY, f64::min);
    let ratio_max = ratios.iter().copied().fold(0.0, f64::max);
    let check = median(&mut checks);
    Ok(Row {
        size,
        floor: median(&mut floors),
        check,
        ratio: median(&mut ratios),
        ratio_min,
        ratio_max,
        files_per_s: files as f64 / check.max(1e-9),
        floor_peak,
        check_peak,
    })
}

/// Instructions `child MODE DIR 1` executes, counted by callgrind (which
/// prints `==PID== Collected : N` on stderr; the profile itself is discarded).
fn instructions(mode: &str, dir: &Path) -> Result<u64, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = Command::new("valgrind")
        .args(["--tool=callgrind", "--callgrind-out-file=/dev/null"])
        .arg(exe)
        .args(["child", mode])
        .arg(dir)
        .arg("1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .output()
        .map_err(|e| format!("valgrind: {e} (--instructions needs valgrind)"))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(format!("{mode} under callgrind failed: {stderr}"));
    }
    collected(&stderr)
        .ok_or_else(|| format!("no instruction count in callgrind's output: {stderr}"))
}

/// The count in callgrind's `Collected : 2181141711` line.
fn collected(stderr: &str) -> Option<u64> {
    stderr.lines().find_map(|l| {
        let (_, n) = l.split_once("Collected :")?;
        n.trim().parse().ok()
    })
}

struct PeerRow {
    size: usize,
    name: String,
    peer: f64,
    check: f64,
    ratio: f64,
    ratio_min: f64,
    ratio_max: f64,
    peer_peak: u64,
    check_peak: u64,
    exits: Vec<i32>,
}

/// A peer against `check`, alternating. A warm-up pair is run first, and
/// counted when the peer took over a minute (ESLint on 10,000 files).
fn measure_peer(a: &Args, size: usize, peer: &Peer) -> Result<PeerRow, String> {
    let dir = corpus(a, size)?;
    let project = dir.parent().unwrap_or(&dir);
    let (mut peers, mut checks, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    let (mut peer_peak, mut check_peak, mut exits) = (0, 0, Vec::new());
    let mut record = |p: PeerSample, c: Sample| {
        ratios.push(p.secs / c.secs.max(1e-9));
        peers.push(p.secs);
        checks.push(c.secs);
        peer_peak = peer_peak.max(p.peak_kib);
        check_peak = check_peak.max(c.peak_kib);
        if !exits.contains(&p.exit) {
            exits.push(p.exit);
        }
    };
    let warm = run_peer(peer, project)?;
    let warm_check = run_child("check", &dir, a.threads)?;
    let mut left = a.peer_runs;
    if warm.secs > 60.0 {
        record(warm, warm_check);
        left = left.saturating_sub(1);
    }
    for _ in 0..left {
        let p = run_peer(peer, project)?;
        let c = run_child("check", &dir, a.threads)?;
        record(p, c);
    }
    exits.sort_unstable();
    let ratio_min = ratios.iter().copied().fold(f64::INFINITY, f64::min);
    let ratio_max = ratios.iter().copied().fold(0.0, f64::max);
    Ok(PeerRow {
        size,
        name: peer.name.clone(),
        peer: median(&mut peers),
        check: median(&mut checks),
        ratio: median(&mut ratios),
        ratio_min,
        ratio_max,
        peer_peak,
        check_peak,
        exits,
    })
}

fn main() -> ExitCode {
    let mut argv = std::env::args().skip(1).peekable();
    if argv.peek().map(String::as_str) == Some("child") {
        let rest: Vec<String> = argv.skip(1).collect();
        return match rest.as_slice() {
            [mode, argv @ ..] if mode == "peer" => child_peer(argv),
            [mode, dir, threads] => child(mode, dir, threads),
            _ => {
                eprintln!("{USAGE}");
                ExitCode::from(2)
            }
        };
    }
    let args = match parse_args(argv) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    println!(
        "convex-audit bench: {} threads, {} paired runs per size (median; ratio = check / floor per pair)\n",
        args.threads, args.runs
    );
    println!("| files | floor s | check s | check / floor (min-max) | files/s | floor peak MiB | check peak MiB |");
    println!("|---:|---:|---:|---|---:|---:|---:|");
    let mut rows = Vec::new();
    for &size in &args.sizes {
        match measure(&args, size) {
            Ok(r) => {
                println!(
                    "| {} | {:.3} | {:.3} | {:.2} ({:.2}-{:.2}) | {:.0} | {:.1} | {:.1} |",
                    r.size,
                    r.floor,
                    r.check,
                    r.ratio,
                    r.ratio_min,
                    r.ratio_max,
                    r.files_per_s,
                    r.floor_peak as f64 / 1024.0,
                    r.check_peak as f64 / 1024.0
                );
                rows.push(r);
            }
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        }
    }
    // Linearity: the cost per file as the corpus grows tenfold.
    for pair in rows.windows(2) {
        if let [small, big] = pair {
            println!(
                "\ncheck {} files / {} files: {:.2}x the time for {:.0}x the files",
                big.size,
                small.size,
                big.check / small.check.max(1e-9),
                big.size as f64 / small.size as f64
            );
        }
    }
    if args.instructions {
        println!("\nInstructions on one thread (callgrind; ratio = check / floor)\n");
        println!("| files | floor M | check M | check / floor |");
        println!("|---:|---:|---:|---:|");
        for &size in &args.sizes {
            let counts = corpus(&args, size)
                .and_then(|dir| Ok((instructions("floor", &dir)?, instructions("check", &dir)?)));
            match counts {
                Ok((floor, check)) => println!(
                    "| {size} | {:.1} | {:.1} | {:.3} |",
                    floor as f64 / 1e6,
                    check as f64 / 1e6,
                    check as f64 / (floor as f64).max(1.0)
                ),
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
            }
        }
    }
    if args.peers.is_empty() {
        return ExitCode::SUCCESS;
    }
    println!(
        "\nPeers: {} paired runs each (median; ratio = peer / check per pair)\n",
        args.peer_runs
    );
    println!("| files | peer | peer s | check s | peer / check (min-max) | peer peak MiB | check peak MiB | peer exit |");
    println!("|---:|---|---:|---:|---|---:|---:|---|");
    for &size in &args.sizes {
        for peer in &args.peers {
            match measure_peer(&args, size, peer) {
                Ok(r) => {
                    let exits: Vec<String> = r.exits.iter().map(i32::to_string).collect();
                    println!(
                        "| {} | {} | {:.3} | {:.3} | {:.2} ({:.2}-{:.2}) | {:.1} | {:.1} | {} |",
                        r.size,
                        r.name,
                        r.peer,
                        r.check,
                        r.ratio,
                        r.ratio_min,
                        r.ratio_max,
                        r.peer_peak as f64 / 1024.0,
                        r.check_peak as f64 / 1024.0,
                        exits.join(",")
                    );
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
            }
        }
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_callgrinds_count() {
        let stderr = "==6269== Callgrind, a call-graph generating cache profiler\n==6269== \n==6269== Events    : Ir\n==6269== Collected : 2181141711\n==6269== \n==6269== I   refs:      2,181,141,711\n";
        assert_eq!(collected(stderr), Some(2_181_141_711));
        assert_eq!(collected("==1== Events    : Ir\n"), None);
    }
}
