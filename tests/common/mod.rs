//! Test helpers shared by every integration test: every core test also runs through
//! `poll_ref`, mixed polls and (with `tokio`) both async adapters.
#![allow(dead_code)]

pub mod build;
pub mod players;

use std::path::{Path, PathBuf};

use bytes::Bytes;
use kinesis_video_parser::{DemuxOptions, Demuxer, Error, Event, Fragment, FragmentAssembler, ReadDemuxer, Status};

/// `../shared/testdata`, or `$KVS_TESTDATA`. `None` (with a loud notice) when missing;
/// with `KVS_REQUIRE_SHARED_TESTDATA=1` a missing corpus fails the test instead.
pub fn shared(sub: &str) -> Option<PathBuf> {
    let root = std::env::var_os("KVS_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/testdata"));
    let dir = root.join(sub);
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var("KVS_REQUIRE_SHARED_TESTDATA").is_ok_and(|v| v == "1") {
        panic!("shared test data required but {} not found", dir.display());
    }
    eprintln!("\n!!!!!!!! SKIPPED: {} not found (set KVS_TESTDATA) !!!!!!!!\n", dir.display());
    None
}

/// Reads a file of the shared corpus, or `None` when the corpus is missing.
pub fn shared_file(sub: &str, name: &str) -> Option<Vec<u8>> {
    let dir = shared(sub)?;
    Some(std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{sub}/{name}: {e}")))
}

/// A file of the project's own `testdata/`.
pub fn own_file(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata").join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Every event (and the truncation error) of `data` fed in pieces of the given sizes
/// (cycled), through the I/O-free core. Each piece is copied into its own buffer, like
/// data arriving from a network.
pub fn events_chunked(data: &[u8], sizes: &[usize]) -> Vec<Result<Event, Error>> {
    events_chunked_with(data, sizes, DemuxOptions::default())
}

pub fn events_chunked_with(data: &[u8], sizes: &[usize], opts: DemuxOptions) -> Vec<Result<Event, Error>> {
    let out = events_core(data, sizes, opts, Api::Owned);
    // The lending API must give the same events, used alone or mixed with `poll`.
    for api in [Api::Lent, Api::Mixed] {
        let lent = events_core(data, sizes, opts, api);
        assert!(lent == out, "{api:?} differs from poll (pieces {:?})", &sizes[..sizes.len().min(4)]);
    }
    // The async adapters run the same core: with the `tokio` feature, every test that parses
    // through here checks them too, with the same pieces.
    #[cfg(feature = "tokio")]
    {
        let (stream, codec) = asyncs::events(data, sizes, opts);
        assert!(stream == out, "AsyncDemuxer differs from the core (pieces {:?})", &sizes[..sizes.len().min(4)]);
        assert!(codec == out, "KvsCodec differs from the core (pieces {:?})", &sizes[..sizes.len().min(4)]);
    }
    out
}

#[cfg(feature = "tokio")]
pub mod asyncs;

#[cfg(feature = "aws")]
pub mod standin;

/// Which poll of the core [`events_core`] uses.
#[derive(Debug, Clone, Copy)]
enum Api {
    /// `poll`.
    Owned,
    /// `poll_ref`, each lent frame copied out.
    Lent,
    /// Both in turn (two `poll_ref`s, one `poll`).
    Mixed,
}

fn events_core(data: &[u8], sizes: &[usize], opts: DemuxOptions, api: Api) -> Vec<Result<Event, Error>> {
    let mut d = Demuxer::with_options(opts);
    let mut out = Vec::new();
    let mut pos = 0;
    let mut k = 0;
    // Bound on iterations so that a stuck parser fails instead of hanging.
    let mut budget = 50 * data.len() + 10_000;
    for call in 0usize.. {
        budget = budget.checked_sub(1).expect("parser made no progress");
        let lend = match api {
            Api::Owned => false,
            Api::Lent => true,
            Api::Mixed => call % 3 != 2,
        };
        let polled = if lend {
            let before = (d.position(), d.buffered());
            let polled = d.poll_ref().map(|s| s.map(|ev| ev.into_owned()));
            // What a lent frame occupies already counts as consumed.
            if let Ok(Status::Ready(Event::Frame(f))) = &polled {
                assert!(d.position() >= f.info.offset + f.data.len() as u64 && d.position() >= before.0);
                assert_eq!(before.0 + before.1 as u64, d.position() + d.buffered() as u64);
            }
            polled
        } else {
            d.poll()
        };
        match polled {
            Ok(Status::Ready(ev)) => out.push(Ok(ev)),
            Ok(Status::Done) => break,
            Ok(Status::NeedMore(_)) => {
                if pos == data.len() {
                    d.finish();
                } else {
                    let n = sizes[k % sizes.len()].max(1).min(data.len() - pos);
                    k += 1;
                    d.push(Bytes::copy_from_slice(&data[pos..pos + n]));
                    pos += n;
                }
            }
            Err(e) => out.push(Err(e)),
        }
    }
    out
}

/// One-shot: the whole input as one piece.
pub fn events(data: &[u8]) -> Vec<Result<Event, Error>> {
    events_chunked(data, &[data.len().max(1)])
}

/// Through the sync adapter, reading `read_size` bytes at a time.
pub fn events_read(data: &[u8], read_size: usize) -> Vec<Result<Event, Error>> {
    ReadDemuxer::new(data).with_read_size(read_size).collect()
}

/// Whole fragments from events.
pub fn fragments(evs: &[Result<Event, Error>]) -> Vec<Fragment> {
    let mut asm = FragmentAssembler::new();
    evs.iter().filter_map(|e| e.as_ref().ok()).filter_map(|e| asm.push(e.clone())).collect()
}

pub fn frames(evs: &[Result<Event, Error>]) -> Vec<kinesis_video_parser::Frame> {
    evs.iter()
        .filter_map(|e| match e {
            Ok(Event::Frame(f)) => Some(f.clone()),
            _ => None,
        })
        .collect()
}

pub fn truncations(evs: &[Result<Event, Error>]) -> Vec<Error> {
    evs.iter().filter_map(|e| e.as_ref().err().cloned()).collect()
}

pub fn damages(evs: &[Result<Event, Error>]) -> Vec<kinesis_video_parser::Damage> {
    evs.iter()
        .filter_map(|e| match e {
            Ok(Event::Damage(d)) => Some(d.clone()),
            _ => None,
        })
        .collect()
}

/// A small deterministic PRNG (xorshift) for chunkings.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Random piece sizes: mostly small, sometimes large.
pub fn random_sizes(rng: &mut Rng, n: usize) -> Vec<usize> {
    (0..n)
        .map(|_| match rng.below(4) {
            0 => 1,
            1 => 1 + rng.below(16) as usize,
            2 => 1 + rng.below(4096) as usize,
            _ => 1 + rng.below(100_000) as usize,
        })
        .collect()
}

/// Path of an example binary, built with the test profile and the test's features when it is
/// missing or older than a source file: a full `cargo test` has built it already (no nested
/// cargo then), a single `--test` target does not build examples.
pub fn example_bin(name: &str) -> PathBuf {
    static BUILT: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap().join("examples");
    let bin = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    let stale = || {
        let made = std::fs::metadata(&bin).and_then(|m| m.modified()).ok();
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let newest = ["src", "examples", "Cargo.toml"].iter().filter_map(|p| newest_mtime(&root.join(p))).max();
        made.is_none() || newest > made
    };
    if !built.iter().any(|b| b == name) {
        if stale() {
            let mut features = Vec::new();
            if cfg!(feature = "tokio") {
                features.push("--features=tokio");
            }
            if cfg!(feature = "aws") {
                features.push("--features=aws");
            }
            if cfg!(feature = "decode") {
                features.push("--features=decode");
            }
            let st = std::process::Command::new(env!("CARGO"))
                .args(["build", "--quiet", "--profile", "test", "--example", name])
                .args(features)
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .status()
                .expect("cargo runs");
            assert!(st.success(), "building example {name}");
        }
        built.push(name.to_owned());
    }
    assert!(bin.exists(), "{} missing", bin.display());
    bin
}

/// The latest modification time of a file, or of any file under a directory.
fn newest_mtime(path: &Path) -> Option<std::time::SystemTime> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_dir() {
        return meta.modified().ok();
    }
    std::fs::read_dir(path).ok()?.filter_map(|e| newest_mtime(&e.ok()?.path())).max()
}
