//! The test suites' local stand-in of Kinesis Video Streams, as a process: the Python tests
//! run the package's live consumer, archive reader and Ray module against it (one stand-in
//! for every suite). It serves on 127.0.0.1 until its stdin closes.
//!
//! usage: `standin [--cut K] NAME=FILE...` — each FILE a GetMedia capture (or any file of
//! KVS fragments), served as stream NAME, its fragments as they are in the file. With
//! `--cut K`, the first GetMedia and the first GetMediaForFragmentList call of every stream
//! are cut in the middle of the Cluster of their K-th fragment (from 0). Prints one JSON line,
//! `{"url": "http://127.0.0.1:PORT"}`, once listening.

#[path = "../tests/common/mod.rs"]
#[allow(unused_imports)]
mod common;

use std::collections::HashMap;
use std::io::Read;
use std::sync::Arc;

use clap::Parser;
use common::standin::{At, Call, Fault, ServedFragment, StandIn};
use kinesis_video_parser::ReadDemuxer;

#[derive(Parser)]
#[command(about = "A local stand-in of Kinesis Video Streams for tests (serves until stdin closes)")]
struct Args {
    /// Cut each stream's first GetMedia and GetMediaForFragmentList call inside fragment K.
    #[arg(long, value_name = "K")]
    cut: Option<usize>,
    /// Streams: NAME=FILE, FILE a file of KVS fragments.
    #[arg(required = true, value_name = "NAME=FILE")]
    streams: Vec<String>,
}

fn served(path: &str) -> Result<Vec<ServedFragment>, String> {
    let data = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
    let mut out = Vec::new();
    for f in ReadDemuxer::new(&data[..]).fragments() {
        let f = f.map_err(|e| format!("{path}: {e}"))?;
        if !f.meta.complete {
            continue; // served fragments are whole; a capture's cut end is not one
        }
        let bytes = data[f.meta.offset as usize..f.meta.end_offset as usize].to_vec();
        out.push(ServedFragment::from_chunk(bytes));
    }
    Ok(out)
}

fn main() {
    let args = Args::parse();
    let mut streams = HashMap::new();
    for s in &args.streams {
        let Some((name, path)) = s.split_once('=') else {
            eprintln!("standin: {s:?} is not NAME=FILE");
            std::process::exit(2);
        };
        match served(path) {
            Ok(fragments) => streams.insert(name.to_owned(), fragments),
            Err(e) => {
                eprintln!("standin: {e}");
                std::process::exit(1);
            }
        };
    }
    let cut = args.cut;
    let plan = Arc::new(move |c: &Call| match cut {
        Some(k) if c.n == 1 && (c.api == "GetMedia" || c.api == "GetMediaForFragmentList") => {
            vec![Fault::Cut { fragment: k, at: At::MidCluster }]
        }
        _ => Vec::new(),
    });
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a runtime");
    rt.block_on(async move {
        let s = StandIn::start(streams, plan).await;
        println!("{}", serde_json::json!({ "url": s.url }));
        // Served until whoever started it closes our stdin (or dies).
        let _ = tokio::task::spawn_blocking(|| std::io::stdin().read_to_end(&mut Vec::new())).await;
    });
}
