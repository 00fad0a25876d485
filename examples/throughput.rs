//! `throughput [--stream | --borrowed] [--runs N] <FILE>`: parse speed of the
//! frame-at-a-time API.
//!
//! Reads the file into memory, then parses it N times (default 10), touching every frame's
//! payload length, and prints one JSON line:
//! `{"file":str,"bytes":u64,"frames":u64,"fragments":u64,"runs":u64,"median_s":f64,"mb_per_s":f64,"frames_per_s":f64}`.
//! `--stream` feeds the same bytes through a `std::io::Read` that returns at most 64 KiB per
//! call. `--borrowed` parses the in-memory file through [`Demuxer::poll_ref`], which lends
//! each payload in place instead of handing out a `Bytes`. Only the parse is timed.

#[path = "common/chunked.rs"]
mod chunked;
#[path = "common/json.rs"]
#[allow(dead_code)]
mod json;

use std::process::ExitCode;
use std::time::Instant;

use bytes::Bytes;
use chunked::Chunked;
use kinesis_video_parser::{Demuxer, Event, EventRef, ReadDemuxer, Status};

/// Returns (frames, fragments, payload bytes touched), through `poll`, or through the
/// lending `poll_ref` when `lend`.
fn parse_memory(data: &Bytes, lend: bool) -> (u64, u64, u64) {
    let mut d = Demuxer::new();
    d.push(data.clone());
    d.finish();
    let (mut frames, mut fragments, mut touched) = (0, 0, 0);
    // One loop per API, so that the choice is not made again per frame.
    macro_rules! drain {
        ($poll:ident, $event:ident) => {
            loop {
                match d.$poll() {
                    Ok(Status::Ready($event::Frame(f))) => {
                        frames += 1;
                        touched += f.data.len() as u64;
                    }
                    Ok(Status::Ready($event::FragmentEnd(_))) => fragments += 1,
                    Ok(Status::Ready(_)) => {}
                    Ok(_) => break,
                    Err(_) => {}
                }
            }
        };
    }
    if lend {
        drain!(poll_ref, EventRef);
    } else {
        drain!(poll, Event);
    }
    (frames, fragments, touched)
}

fn parse_stream(data: &[u8]) -> (u64, u64, u64) {
    let (mut frames, mut fragments, mut touched) = (0, 0, 0);
    let mut events = ReadDemuxer::new(Chunked(data));
    // Matched in place, as the in-memory loop matches `poll`: binding each event first
    // (`for ev in`, `while let Some(ev)`) moves its 128 bytes once more before the body
    // sees them, a cost of the loop (about 10 ns per frame here), not of the adapter.
    loop {
        match events.next() {
            Some(Ok(Event::Frame(f))) => {
                frames += 1;
                touched += f.data.len() as u64;
            }
            Some(Ok(Event::FragmentEnd(_))) => fragments += 1,
            Some(_) => {}
            None => break,
        }
    }
    (frames, fragments, touched)
}

/// Parse speed of the frame-at-a-time API: one JSON line with the median of N parses.
#[derive(clap::Parser)]
#[command(name = "throughput")]
struct Args {
    /// Feed the bytes through a `std::io::Read` of at most 64 KiB per call.
    #[arg(long, conflicts_with = "borrowed")]
    stream: bool,
    /// Parse through `Demuxer::poll_ref` (payloads lent in place).
    #[arg(long)]
    borrowed: bool,
    /// How many parses to take the median of.
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    runs: u64,
    /// The input file.
    #[arg(value_name = "FILE")]
    file: String,
}

fn main() -> ExitCode {
    // Usage errors exit 2 (clap's convention, and this tool's contract); --help exits 0.
    let Args { stream, borrowed, runs, file } = <Args as clap::Parser>::parse();
    let data = match std::fs::read(&file) {
        Ok(d) => Bytes::from(d),
        Err(e) => {
            eprintln!("throughput: {file}: {e}");
            return ExitCode::from(2);
        }
    };
    let mut times = Vec::new();
    let mut result = (0, 0, 0);
    for _ in 0..runs {
        let t = Instant::now();
        result = if stream { parse_stream(&data) } else { parse_memory(&data, borrowed) };
        times.push(t.elapsed().as_secs_f64());
        std::hint::black_box(result);
    }
    times.sort_by(f64::total_cmp);
    let median = if times.len() % 2 == 1 {
        times[times.len() / 2]
    } else {
        (times[times.len() / 2 - 1] + times[times.len() / 2]) / 2.0
    };
    let (frames, fragments, _) = result;
    let line = json::Obj::new()
        .str("file", &file)
        .u64("bytes", data.len() as u64)
        .u64("frames", frames)
        .u64("fragments", fragments)
        .u64("runs", runs)
        .opt_f64("median_s", Some(median))
        .opt_f64("mb_per_s", Some(data.len() as f64 / 1e6 / median))
        .opt_f64("frames_per_s", Some(frames as f64 / median))
        .finish();
    println!("{line}");
    ExitCode::SUCCESS
}
