//! `get_media --stream NAME [--region R] [--endpoint-url URL]
//!   [--start now|earliest|fragment:NUMBER|token:TOKEN|producer-ts:EPOCH_MS|server-ts:EPOCH_MS]
//!   [--max-fragments N] [--frames] [--json]`
//!
//! Consumes a Kinesis Video stream live with `aws::GetMediaConsumer`: reconnects with
//! backoff and resumes after the last complete fragment. With `--json` it prints `inspect`'s
//! `fragment` lines (and `frame` lines with `--frames`) for every fragment delivered;
//! without, one readable line per fragment. It exits 0 after N fragments (`--max-fragments`),
//! 1 when the consumer gives up, 2 on usage errors. `--endpoint-url` is used for
//! GetDataEndpoint; GetMedia goes to the data endpoint that call returns. Credentials and
//! region come from the usual AWS environment and config chain.

#[path = "common/json.rs"]
#[allow(dead_code)]
mod json;
#[path = "common/lines.rs"]
mod lines;

use std::io::Write;
use std::process::ExitCode;

use kinesis_video_parser::aws::{ConsumerError, GetMediaConsumer, StartSelector};

const USAGE: &str = "usage: get_media --stream NAME [--region R] [--endpoint-url URL] \
[--start now|earliest|fragment:NUMBER|token:TOKEN|producer-ts:EPOCH_MS|server-ts:EPOCH_MS] \
[--max-fragments N] [--frames] [--json]";

struct Args {
    stream: String,
    region: Option<String>,
    endpoint_url: Option<String>,
    start: StartSelector,
    max_fragments: Option<u64>,
    frames: bool,
    json: bool,
}

fn parse_start(s: &str) -> Result<StartSelector, String> {
    let ms = |v: &str| v.parse::<i64>().map_err(|_| format!("bad epoch milliseconds in --start {s}"));
    Ok(match s.split_once(':') {
        None if s == "now" => StartSelector::Now,
        None if s == "earliest" => StartSelector::Earliest,
        Some(("fragment", n)) => {
            StartSelector::AfterFragment(n.parse().map_err(|_| format!("bad fragment number in --start {s}"))?)
        }
        Some(("token", t)) => StartSelector::ContinuationToken(t.to_owned()),
        Some(("producer-ts", v)) => StartSelector::ProducerTimestamp(ms(v)?),
        Some(("server-ts", v)) => StartSelector::ServerTimestamp(ms(v)?),
        _ => return Err(format!("unknown --start {s}")),
    })
}

fn parse_args() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let mut a = Args {
        stream: String::new(),
        region: None,
        endpoint_url: None,
        start: StartSelector::Now,
        max_fragments: None,
        frames: false,
        json: false,
    };
    let value = |it: &mut std::iter::Skip<std::env::Args>, name: &str| it.next().ok_or(format!("{name} needs a value"));
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--stream" => a.stream = value(&mut it, "--stream")?,
            "--region" => a.region = Some(value(&mut it, "--region")?),
            "--endpoint-url" => a.endpoint_url = Some(value(&mut it, "--endpoint-url")?),
            "--start" => a.start = parse_start(&value(&mut it, "--start")?)?,
            "--max-fragments" => {
                a.max_fragments =
                    Some(value(&mut it, "--max-fragments")?.parse().map_err(|_| "--max-fragments needs a number")?)
            }
            "--frames" => a.frames = true,
            "--json" => a.json = true,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if a.stream.is_empty() {
        return Err("--stream is required".into());
    }
    Ok(a)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(msg) => {
            if !msg.is_empty() {
                eprintln!("get_media: {msg}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    rt.block_on(run(args))
}

async fn run(args: Args) -> ExitCode {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(r) = &args.region {
        loader = loader.region(aws_config::Region::new(r.clone()));
    }
    let sdk = loader.load().await;
    let mut builder = GetMediaConsumer::builder(&args.stream).start(args.start.clone());
    if let Some(url) = &args.endpoint_url {
        builder = builder.endpoint_url(url);
    }
    let mut consumer = builder.build(&sdk);
    let mut out = std::io::stdout().lock();
    let mut delivered = 0u64;
    while args.max_fragments.is_none_or(|n| delivered < n) {
        match consumer.next_fragment().await {
            Some(Ok(mut fragment)) => {
                // Number fragments in delivery order (one connection's count restarts).
                fragment.meta.index = delivered;
                if args.json {
                    if args.frames {
                        for f in &mut fragment.frames {
                            f.fragment = delivered;
                            let _ = writeln!(out, "{}", lines::frame_json(f));
                        }
                    }
                    let _ = writeln!(out, "{}", lines::fragment_json(&fragment.meta));
                } else {
                    let _ = writeln!(out, "{}", lines::fragment_text(&fragment.meta));
                }
                let _ = out.flush();
                delivered += 1;
            }
            Some(Err(e @ ConsumerError::InBand { .. })) => eprintln!("get_media: {e}"),
            Some(Err(e)) => {
                eprintln!("get_media: {e}");
                return ExitCode::from(1);
            }
            None => return ExitCode::from(1),
        }
    }
    ExitCode::SUCCESS
}
