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

/// Consumes a Kinesis Video stream live: reconnects with backoff and resumes after the last
/// complete fragment.
#[derive(clap::Parser)]
#[command(name = "get_media")]
struct Args {
    /// The stream's name.
    #[arg(long, value_name = "NAME")]
    stream: String,
    /// AWS region (default: the usual AWS config chain).
    #[arg(long, value_name = "R")]
    region: Option<String>,
    /// Endpoint for GetDataEndpoint (tests, VPC endpoints).
    #[arg(long, value_name = "URL")]
    endpoint_url: Option<String>,
    /// Where to start: now, earliest, fragment:NUMBER, token:TOKEN, producer-ts:EPOCH_MS or
    /// server-ts:EPOCH_MS.
    #[arg(long, value_name = "SELECTOR", value_parser = parse_start, default_value = "now")]
    start: StartSelector,
    /// Exit 0 after this many fragments.
    #[arg(long, value_name = "N")]
    max_fragments: Option<u64>,
    /// With `--json`, also a `frame` line per frame.
    #[arg(long)]
    frames: bool,
    /// JSON Lines (`inspect`'s `fragment` and `frame` lines).
    #[arg(long)]
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

fn main() -> ExitCode {
    // Usage errors exit 2 (clap's convention, and this tool's contract); --help exits 0.
    let args = <Args as clap::Parser>::parse();
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
                            f.info.fragment = delivered;
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
