//! `inspect [--json] [--elements] [--verify-crc] <FILE | ->`: what is in a KVS / Matroska stream.
//!
//! - no flag: a readable summary (tracks, then one line per fragment);
//! - `--json`: JSON Lines (`track`, `frame`, `fragment`, `damage`, then `end`);
//! - `--elements`: the element tree (offset, ID, name, header size, data size, leaf value);
//! - `--verify-crc`: check CRC-32 elements; a mismatch is reported as damage;
//! - `--async` (built with `--features tokio`): read through the tokio adapter; the output is
//!   byte-identical.
//!
//! Exit status: 0 clean, 1 truncated or damaged (after printing everything recoverable),
//! 2 usage or I/O error. Output does not depend on how the input arrives.

#[path = "common/json.rs"]
mod json;
#[path = "common/lines.rs"]
mod lines;

use std::io::{self, BufWriter, Read, Write};
use std::process::ExitCode;

use bytes::{Bytes, BytesMut};
use json::{hex, Obj};
use kinesis_video_parser::ebml::{decode_value, Schema, Value};
use kinesis_video_parser::mkv::{ids, Matroska};
use kinesis_video_parser::{
    DemuxOptions, ElementEvent, ElementHeader, ElementReader, Error, Event, Limits, ReadDemuxer, Status,
};
use lines::*;

/// What is in a KVS / Matroska stream: tracks, then one line per fragment.
#[derive(clap::Parser)]
#[command(name = "inspect")]
struct Args {
    /// JSON Lines (`track`, `frame`, `fragment`, `damage`, then `end`).
    #[arg(long)]
    json: bool,
    /// The element tree (offset, ID, name, header size, data size, leaf value).
    #[arg(long)]
    elements: bool,
    /// Check CRC-32 elements; a mismatch is reported as damage.
    #[arg(long)]
    verify_crc: bool,
    /// Read through the tokio adapter (needs `--features tokio`); the output is identical.
    #[arg(long = "async")]
    async_io: bool,
    /// The input file, or `-` for stdin.
    #[arg(value_name = "FILE | -")]
    input: String,
}

fn open(path: &str) -> io::Result<Box<dyn Read>> {
    if path == "-" {
        Ok(Box::new(io::stdin().lock()))
    } else {
        Ok(Box::new(std::fs::File::open(path)?))
    }
}

fn main() -> ExitCode {
    // Usage errors exit 2 (clap's convention, and this tool's contract); --help exits 0.
    let args = <Args as clap::Parser>::parse();
    if args.async_io && args.elements {
        eprintln!("inspect: --async applies to the event views, not --elements");
        return ExitCode::from(2);
    }
    let mut out = BufWriter::new(io::stdout().lock());
    let result = if args.async_io {
        run_async(&args, &mut out)
    } else {
        match open(&args.input) {
            Ok(input) if args.elements => elements(input, args.verify_crc, &mut out),
            Ok(input) => events(input, args.json, args.verify_crc, &mut out),
            Err(e) => Err(io::Error::new(e.kind(), format!("{}: {e}", args.input))),
        }
    };
    let flushed = out.flush();
    match (result, flushed) {
        (Ok(clean), Ok(())) => ExitCode::from(if clean { 0 } else { 1 }),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("inspect: {e}");
            ExitCode::from(2)
        }
    }
}

#[cfg(feature = "tokio")]
fn run_async(args: &Args, out: &mut impl Write) -> io::Result<bool> {
    events_async(&args.input, args.json, args.verify_crc, out)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", args.input)))
}

#[cfg(not(feature = "tokio"))]
fn run_async(_: &Args, _: &mut impl Write) -> io::Result<bool> {
    Err(io::Error::other(
        "--async needs the tokio feature: cargo run --features tokio --example inspect -- --async ...",
    ))
}

/// Counters for the `end` line.
#[derive(Default)]
struct Totals {
    fragments: u64,
    frames: u64,
    truncated: bool,
    damaged: bool,
}

/// Prints one item; updates the totals.
fn handle(item: Result<Event, Error>, as_json: bool, t: &mut Totals, out: &mut impl Write) -> io::Result<()> {
    match item {
        Ok(Event::Track(track)) => {
            let line = if as_json { track_json(&track) } else { track_text(&track) };
            writeln!(out, "{line}")?;
        }
        Ok(Event::Frame(f)) => {
            t.frames += 1;
            if as_json {
                writeln!(out, "{}", frame_json(&f))?;
            }
        }
        Ok(Event::FragmentEnd(m)) => {
            t.fragments += 1;
            let line = if as_json { fragment_json(&m) } else { fragment_text(&m) };
            writeln!(out, "{line}")?;
        }
        Ok(Event::Damage(d)) => {
            t.damaged = true;
            let line = if as_json { damage_json(&d) } else { damage_text(&d) };
            writeln!(out, "{line}")?;
        }
        Ok(_) => {}
        Err(e) if e.is_truncation() => {
            t.truncated = true;
            if as_json {
                eprintln!("inspect: {e}");
            } else {
                writeln!(out, "{e}")?;
            }
        }
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

/// Prints the `end` line; returns `true` when the input was clean.
fn finish(bytes: u64, as_json: bool, t: &Totals, out: &mut impl Write) -> io::Result<bool> {
    if as_json {
        let end = Obj::new()
            .str("type", "end")
            .u64("bytes", bytes)
            .u64("fragments", t.fragments)
            .u64("frames", t.frames)
            .bool("truncated", t.truncated)
            .bool("damaged", t.damaged)
            .finish();
        writeln!(out, "{end}")?;
    } else {
        let state = match (t.truncated, t.damaged) {
            (false, false) => "clean",
            (true, false) => "truncated",
            (false, true) => "damaged",
            (true, true) => "damaged and truncated",
        };
        writeln!(out, "end: {bytes} bytes, {} fragments, {} frames, {state}", t.fragments, t.frames)?;
    }
    Ok(!t.truncated && !t.damaged)
}

/// Returns `Ok(true)` when the input was clean.
fn events(input: Box<dyn Read>, as_json: bool, verify_crc: bool, out: &mut impl Write) -> io::Result<bool> {
    let mut demux = ReadDemuxer::with_options(input, DemuxOptions::default().with_crc_verification(verify_crc));
    let mut t = Totals::default();
    for item in demux.by_ref() {
        handle(item, as_json, &mut t, out)?;
    }
    finish(demux.demuxer().position(), as_json, &t, out)
}

/// `--async`: the same through the tokio adapter.
#[cfg(feature = "tokio")]
fn events_async(path: &str, as_json: bool, verify_crc: bool, out: &mut impl Write) -> io::Result<bool> {
    use futures::StreamExt;
    use kinesis_video_parser::AsyncDemuxer;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async {
        let input: Box<dyn tokio::io::AsyncRead + Unpin> =
            if path == "-" { Box::new(tokio::io::stdin()) } else { Box::new(tokio::fs::File::open(path).await?) };
        let mut demux = AsyncDemuxer::with_options(input, DemuxOptions::default().with_crc_verification(verify_crc));
        let mut t = Totals::default();
        while let Some(item) = demux.next().await {
            handle(item, as_json, &mut t, out)?;
        }
        finish(demux.demuxer().position(), as_json, &t, out)
    })
}

/// `--elements`: the element tree. Returns `Ok(true)` when the input was clean.
fn elements(mut input: Box<dyn Read>, verify_crc: bool, out: &mut impl Write) -> io::Result<bool> {
    let mut r = ElementReader::new(Limits::default()).with_crc_verification(verify_crc);
    let mut depth = 0usize;
    let mut clean = true;
    loop {
        match r.poll() {
            Ok(Status::Ready(ev)) => match ev {
                ElementEvent::Start(h) => {
                    let size = h.size.map_or("unknown".to_owned(), |s| s.to_string());
                    element_line(out, &h, depth, &format!("size {size}"))?;
                    depth += 1;
                }
                ElementEvent::End(..) => depth = depth.saturating_sub(1),
                ElementEvent::Data(h, data) => {
                    let v = describe(h.id, &data);
                    element_line(out, &h, depth, &format!("size {}: {v}", data.len()))?;
                }
                ElementEvent::Skipped(h) => {
                    let size = h.size.map_or("unknown".to_owned(), |s| s.to_string());
                    element_line(out, &h, depth, &format!("size {size} (skipped)"))?;
                }
                ElementEvent::Damage(d) => {
                    clean = false;
                    writeln!(out, "{:>10} {}", d.offset, damage_text(&d))?;
                }
            },
            Ok(Status::NeedMore(n)) => {
                let mut buf = BytesMut::zeroed(n.max(64 * 1024));
                let got = loop {
                    match input.read(&mut buf) {
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        other => break other?,
                    }
                };
                if got == 0 {
                    r.finish();
                } else {
                    buf.truncate(got);
                    r.push(buf.freeze());
                }
            }
            Ok(Status::Done) => break,
            Err(e) => {
                clean = false;
                writeln!(out, "{e}")?;
            }
        }
    }
    writeln!(out, "end: {} bytes", r.position())?;
    Ok(clean)
}

/// One line of the element tree: offset, indentation, name, ID, header size, then `rest`.
fn element_line(out: &mut impl Write, h: &ElementHeader, depth: usize, rest: &str) -> io::Result<()> {
    writeln!(
        out,
        "{:>10} {}+ {} [{:X}] header {} {rest}",
        h.offset,
        "  ".repeat(depth),
        Matroska::name(h.id).unwrap_or("Unknown"),
        h.id.0,
        h.header_len
    )
}

fn describe(id: kinesis_video_parser::ElementId, data: &Bytes) -> String {
    if matches!(id, ids::SIMPLE_BLOCK | ids::BLOCK) {
        return block_summary(data);
    }
    match ids::schema(id).and_then(|s| decode_value(s.ty, data)) {
        Some(Value::Uint(v)) => v.to_string(),
        Some(Value::Int(v)) => v.to_string(),
        Some(Value::Float(v)) => format!("{v:?}"),
        Some(Value::String(s)) => format!("{s:?}"),
        Some(Value::Date(ns)) => format!("{ns} ns after 2001-01-01"),
        Some(Value::Binary(b)) => {
            let shown = &b[..b.len().min(16)];
            format!("{}{}", hex(shown), if b.len() > 16 { "…" } else { "" })
        }
        Some(Value::Invalid(k)) => format!("<{}>", Error::new(k, 0).kind().as_str()),
        None => String::new(),
    }
}

fn block_summary(data: &[u8]) -> String {
    // Track VINT, 16-bit timestamp, flags: enough for a human; the demuxer does the rest.
    let Some(&first) = data.first() else {
        return "<empty block>".into();
    };
    let w = first.leading_zeros() as usize + 1;
    if first == 0 || data.len() < w + 3 {
        return "<invalid block header>".into();
    }
    let mut track = u64::from(first) & (0xFF >> w);
    for &b in &data[1..w] {
        track = (track << 8) | u64::from(b);
    }
    let ts = i16::from_be_bytes([data[w], data[w + 1]]);
    let flags = data[w + 2];
    let lacing = ["", ", Xiph lacing", ", fixed lacing", ", EBML lacing"][usize::from((flags >> 1) & 3)];
    let key = if flags & 0x80 != 0 { ", key" } else { "" };
    format!("track {track}, timestamp {ts}{key}{lacing}, {} bytes", data.len())
}
