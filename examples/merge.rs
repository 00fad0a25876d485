//! `merge [--pack-clusters] [--stop-at-mismatch] [--from-ms T] [--to-ms T] <INPUT | -> <OUTPUT | ->`
//!
//! Turns a GetMedia body (one MKV document per fragment) into one continuous, playable
//! Matroska stream, byte-compatible with AWS's Java merger. With `--from-ms`/`--to-ms` it
//! writes a clip instead: the frames between the two times (stream time in ms; see
//! `--time`), as a standalone MKV that starts at a keyframe, timestamps rebased to 0.
//!
//! Exit status: 0 on success, 1 if the input was damaged or truncated (the output still
//! holds everything valid), 2 on usage or I/O errors.

use std::io::{self, BufWriter, Read, Write};
use std::process::ExitCode;

use kinesis_video_parser::clip::{clip, ClipOptions, ClipTime};
use kinesis_video_parser::merge::{merge, MergeOptions};

/// Merges a GetMedia body into one playable Matroska stream, or clips a time range of it.
#[derive(clap::Parser)]
#[command(name = "merge")]
struct Args {
    /// Re-time clusters so that sparse fragments play back to back.
    #[arg(long)]
    pack_clusters: bool,
    /// End the output at the first document that does not continue the previous one.
    #[arg(long)]
    stop_at_mismatch: bool,
    /// Clip: start (inclusive), ms of `--time`.
    #[arg(long, value_name = "T", allow_negative_numbers = true)]
    from_ms: Option<i64>,
    /// Clip: end (exclusive), ms of `--time`.
    #[arg(long, value_name = "T", allow_negative_numbers = true)]
    to_ms: Option<i64>,
    /// The clock of `--from-ms` and `--to-ms`.
    #[arg(long, value_enum, default_value = "pts")]
    time: Clock,
    /// The GetMedia body, or `-` for stdin.
    #[arg(value_name = "INPUT | -")]
    input: String,
    /// Where the merged stream goes, or `-` for stdout.
    #[arg(value_name = "OUTPUT | -")]
    output: String,
}

/// `--time`: which clock the clip times are on.
#[derive(Clone, Copy, clap::ValueEnum)]
enum Clock {
    /// Presentation time (Cluster and block timestamps).
    Pts,
    /// KVS producer timestamps, epoch ms.
    Producer,
    /// KVS server timestamps, epoch ms.
    Server,
}

impl From<Clock> for ClipTime {
    fn from(c: Clock) -> Self {
        match c {
            Clock::Pts => ClipTime::Pts,
            Clock::Producer => ClipTime::Producer,
            Clock::Server => ClipTime::Server,
        }
    }
}

fn main() -> ExitCode {
    // Usage errors exit 2 (clap's convention, and this tool's contract); --help exits 0.
    let args = <Args as clap::Parser>::parse();
    match run(&args) {
        Ok(clean) => ExitCode::from(if clean { 0 } else { 1 }),
        Err(e) => {
            eprintln!("merge: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &Args) -> io::Result<bool> {
    let input: Box<dyn Read> = if args.input == "-" {
        Box::new(io::stdin().lock())
    } else {
        Box::new(
            std::fs::File::open(&args.input).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", args.input)))?,
        )
    };
    let output: Box<dyn Write> = if args.output == "-" {
        Box::new(io::stdout().lock())
    } else {
        Box::new(
            std::fs::File::create(&args.output)
                .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", args.output)))?,
        )
    };
    let output = BufWriter::with_capacity(256 * 1024, output);
    if args.from_ms.is_some() || args.to_ms.is_some() {
        let opts = ClipOptions {
            from_ns: args.from_ms.map(|ms| ms.saturating_mul(1_000_000)),
            to_ns: args.to_ms.map(|ms| ms.saturating_mul(1_000_000)),
            time: args.time.into(),
            ..ClipOptions::default()
        };
        let r = clip(input, output, opts)?;
        eprintln!(
            "merge: clip of {} frames ({} ms .. {} ms of the output)",
            r.frames,
            r.first_pts_ns / 1_000_000,
            r.last_pts_ns / 1_000_000
        );
        return Ok(!r.damaged && !r.truncated);
    }
    let opts = MergeOptions {
        pack_clusters: args.pack_clusters,
        stop_at_mismatch: args.stop_at_mismatch,
        ..MergeOptions::default()
    };
    let r = merge(input, output, opts)?;
    eprintln!(
        "merge: {} documents -> {} segment(s), {} clusters, {} bytes{}",
        r.documents,
        r.segments,
        r.clusters,
        r.bytes_out,
        r.stopped_at.map_or(String::new(), |at| format!(", stopped at the document at byte {at}"))
    );
    Ok(!r.damaged && !r.truncated)
}
