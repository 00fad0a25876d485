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

const USAGE: &str = "usage: merge [--pack-clusters] [--stop-at-mismatch] [--from-ms T] [--to-ms T] \
[--time pts|producer|server] <INPUT | -> <OUTPUT | ->";

struct Args {
    merge: MergeOptions,
    from_ms: Option<i64>,
    to_ms: Option<i64>,
    time: ClipTime,
    input: String,
    output: String,
}

fn parse_args() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let mut merge = MergeOptions::default();
    let (mut from_ms, mut to_ms, mut time) = (None, None, ClipTime::Pts);
    let mut paths = Vec::new();
    let num = |v: Option<String>, what: &str| -> Result<i64, String> {
        v.ok_or(format!("{what} needs a value"))?.parse().map_err(|_| format!("{what} needs a whole number of ms"))
    };
    while let Some(a) = it.next() {
        match a.as_str() {
            "--pack-clusters" => merge.pack_clusters = true,
            "--stop-at-mismatch" => merge.stop_at_mismatch = true,
            "--from-ms" => from_ms = Some(num(it.next(), "--from-ms")?),
            "--to-ms" => to_ms = Some(num(it.next(), "--to-ms")?),
            "--time" => {
                time = match it.next().as_deref() {
                    Some("pts") => ClipTime::Pts,
                    Some("producer") => ClipTime::Producer,
                    Some("server") => ClipTime::Server,
                    _ => return Err("--time takes pts, producer or server".into()),
                }
            }
            "-h" | "--help" => return Err(String::new()),
            s if s.starts_with("--") => return Err(format!("unknown option {s}")),
            _ => paths.push(a),
        }
    }
    let [input, output]: [String; 2] = paths.try_into().map_err(|_| "need an input and an output".to_string())?;
    Ok(Args { merge, from_ms, to_ms, time, input, output })
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(msg) => {
            if !msg.is_empty() {
                eprintln!("merge: {msg}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
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
            time: args.time,
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
    let r = merge(input, output, args.merge)?;
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
