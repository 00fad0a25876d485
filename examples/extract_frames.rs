//! `extract_frames [--track N] [--keyframes-only] [--every SECONDS] [--width W] [--format png|jpeg]
//! [--threads N] [--json] <INPUT | -> <OUTDIR>`
//!
//! Decodes a video track (default: the first video track) and writes `000000.png`,
//! `000001.png`, … in output order (`.jpg` with `--format jpeg`) and `OUTDIR/frames.jsonl`,
//! one line per image:
//! `{"file":str,"index":u64,"pts_ns":i64,"fragment":u64,"fragment_number":str|null,"server_timestamp_ms":u64|null,"producer_timestamp_ms":u64|null,"keyframe":bool,"width":u64,"height":u64}`;
//! with `--json` the same lines go to stdout too. A progress line on stderr when stderr is a
//! terminal. Exit 1 with a clear message for a track it cannot decode; 2 for usage or I/O.

#[path = "common/json.rs"]
#[allow(dead_code)]
mod json;

use std::io::{self, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use kinesis_video_parser::decode::{DecodeError, DecodeOptions, ImageExtractor, Mode, Picture};

/// Decodes a KVS / Matroska stream's video to PNG or JPEG images, with `frames.jsonl`.
#[derive(clap::Parser)]
#[command(name = "extract_frames")]
struct Args {
    /// Track to decode (default: the first video track).
    #[arg(long, value_name = "N")]
    track: Option<u64>,
    /// Decode keyframes only (other frames are not decoded at all).
    #[arg(long)]
    keyframes_only: bool,
    /// At most one image per this many seconds.
    #[arg(long, value_name = "SECONDS", value_parser = positive_seconds)]
    every: Option<f64>,
    /// Output width (the aspect ratio is kept).
    #[arg(long, value_name = "W")]
    width: Option<u32>,
    /// Image format.
    #[arg(long, value_enum, default_value = "png")]
    format: Format,
    /// Decoder threads (0: FFmpeg's choice).
    #[arg(long, value_name = "N", default_value_t = 0)]
    threads: usize,
    /// Also print each `frames.jsonl` line on stdout.
    #[arg(long)]
    json: bool,
    /// The input file, or `-` for stdin.
    #[arg(value_name = "INPUT | -")]
    input: String,
    /// Where the images and `frames.jsonl` go (created if missing).
    #[arg(value_name = "OUTDIR")]
    outdir: PathBuf,
}

/// `--format`.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    /// PNG.
    Png,
    /// JPEG.
    #[value(alias = "jpg")]
    Jpeg,
}

fn positive_seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v.is_finite() => Ok(v),
        _ => Err("needs a positive number of seconds".into()),
    }
}

impl Args {
    fn decode_options(&self) -> DecodeOptions {
        let mode = match self.every {
            Some(s) => Mode::Every((s * 1e9).round() as u64),
            None if self.keyframes_only => Mode::Keyframes,
            None => Mode::default(),
        };
        DecodeOptions { mode, width: self.width, threads: self.threads, track: self.track, ..DecodeOptions::default() }
    }
}

fn main() -> ExitCode {
    // Usage errors exit 2 (clap's convention, and this tool's contract); --help exits 0.
    let args = <Args as clap::Parser>::parse();
    match run(&args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("extract_frames: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &Args) -> io::Result<ExitCode> {
    let input: Box<dyn Read> =
        if args.input == "-" { Box::new(io::stdin().lock()) } else { Box::new(std::fs::File::open(&args.input)?) };
    std::fs::create_dir_all(&args.outdir)?;
    let mut jsonl = io::BufWriter::new(std::fs::File::create(args.outdir.join("frames.jsonl"))?);
    let mut stdout = io::stdout().lock();
    let progress = io::stderr().is_terminal();
    let start = Instant::now();
    let mut frames = ImageExtractor::new(input, args.decode_options());
    let mut index = 0u64;
    while let Some(item) = frames.next() {
        let img = match item {
            Ok(img) => img,
            Err(e @ DecodeError::Corrupt { .. }) => {
                eprintln!("extract_frames: {e} (skipped to the next keyframe)");
                continue;
            }
            Err(e) => {
                eprintln!("extract_frames: {e}");
                return Ok(ExitCode::from(1));
            }
        };
        let name = format!("{index:06}.{}", if args.format == Format::Jpeg { "jpg" } else { "png" });
        let (w, h) = img.picture.dimensions();
        let saved = match &img.picture {
            Picture::Rgb(i) => i.save(args.outdir.join(&name)),
            Picture::Rgba(i) => i.save(args.outdir.join(&name)),
            Picture::Gray(i) => i.save(args.outdir.join(&name)),
            Picture::Raw(_) => unreachable!("RGB output requested"),
        };
        saved.map_err(|e| io::Error::other(format!("{name}: {e}")))?;
        let f = &img.fragment;
        let line = json::Obj::new()
            .str("file", &name)
            .u64("index", index)
            .i64("pts_ns", img.pts_ns)
            .u64("fragment", f.index)
            .opt_str("fragment_number", f.fragment_number.as_ref().map(|n| n.as_str()))
            .opt_u64("server_timestamp_ms", f.server_timestamp_ms)
            .opt_u64("producer_timestamp_ms", f.producer_timestamp_ms)
            .bool("keyframe", img.keyframe)
            .u64("width", u64::from(w))
            .u64("height", u64::from(h))
            .finish();
        writeln!(jsonl, "{line}")?;
        if args.json {
            writeln!(stdout, "{line}")?;
        }
        index += 1;
        if progress && index.is_multiple_of(10) {
            let fps = index as f64 / start.elapsed().as_secs_f64().max(1e-9);
            eprint!("\r{index} frames, {} fragments, {fps:.1} fps   ", frames.fragments_seen());
        }
    }
    jsonl.flush()?;
    if progress {
        eprintln!("\r{index} frames, {} fragments, done.            ", frames.fragments_seen());
    }
    Ok(ExitCode::SUCCESS)
}
