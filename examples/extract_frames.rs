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

const USAGE: &str = "usage: extract_frames [--track N] [--keyframes-only] [--every SECONDS] [--width W] \
[--format png|jpeg] [--threads N] [--json] <INPUT | -> <OUTDIR>";

struct Args {
    opts: DecodeOptions,
    jpeg: bool,
    json: bool,
    input: String,
    outdir: PathBuf,
}

fn parse_args() -> Result<Args, String> {
    let mut opts = DecodeOptions::default();
    let (mut jpeg, mut json) = (false, false);
    let mut paths = Vec::new();
    let mut it = std::env::args().skip(1);
    let value = |it: &mut std::iter::Skip<std::env::Args>, name: &str| it.next().ok_or(format!("{name} needs a value"));
    while let Some(a) = it.next() {
        match a.as_str() {
            "--track" => opts.track = Some(value(&mut it, "--track")?.parse().map_err(|_| "--track needs a number")?),
            "--keyframes-only" => opts.mode = Mode::Keyframes,
            "--every" => {
                let s: f64 = value(&mut it, "--every")?.parse().map_err(|_| "--every needs seconds")?;
                if !(s > 0.0 && s.is_finite()) {
                    return Err("--every needs a positive number of seconds".into());
                }
                opts.mode = Mode::Every((s * 1e9).round() as u64);
            }
            "--width" => opts.width = Some(value(&mut it, "--width")?.parse().map_err(|_| "--width needs a number")?),
            "--format" => {
                jpeg = match value(&mut it, "--format")?.as_str() {
                    "png" => false,
                    "jpeg" | "jpg" => true,
                    f => return Err(format!("unknown format {f}")),
                }
            }
            "--threads" => {
                opts.threads = value(&mut it, "--threads")?.parse().map_err(|_| "--threads needs a number")?
            }
            "--json" => json = true,
            "-h" | "--help" => return Err(String::new()),
            s if s.starts_with("--") => return Err(format!("unknown option {s}")),
            _ => paths.push(a),
        }
    }
    let [input, outdir]: [String; 2] =
        paths.try_into().map_err(|_| "need an input and an output directory".to_string())?;
    Ok(Args { opts, jpeg, json, input, outdir: outdir.into() })
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(msg) => {
            if !msg.is_empty() {
                eprintln!("extract_frames: {msg}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
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
    let mut frames = ImageExtractor::new(input, args.opts);
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
        let name = format!("{index:06}.{}", if args.jpeg { "jpg" } else { "png" });
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
