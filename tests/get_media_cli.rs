//! The `get_media` CLI contract against the local stand-in: frame lines as blocks arrive,
//! fragment lines after their frames, several streams, exactly once across faults,
//! `--checkpoint` (a restart, and a `kill -9` and restart), `--max-fragments`, exit codes.
#![cfg(feature = "aws")]

mod common;

use std::collections::{HashMap, HashSet};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use common::standin::*;
use common::*;
use serde_json::Value;
use tokio::io::AsyncBufReadExt;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

fn cli(s: &StandIn, args: &[&str]) -> tokio::process::Command {
    let mut c = tokio::process::Command::new(example_bin("get_media"));
    c.args(["--region", "us-east-1", "--endpoint-url", &s.url, "--json", "--frames"])
        .args(["--read-timeout-ms", "300", "--backoff-initial-ms", "5", "--backoff-max-ms", "40"])
        .args(args)
        .envs(cli_env())
        .kill_on_drop(true);
    c
}

fn parse(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn numbers(frags: &[ServedFragment]) -> Vec<String> {
    frags.iter().map(|f| f.number.clone()).collect()
}

#[test]
fn two_streams_with_faults_then_a_restart_from_the_checkpoint() {
    let a = synthetic(10, 6, 200, 999_990);
    let b = synthetic(10, 4, 250, 123_456_789);
    let c = synthetic(3, 4, 250, 5);
    let dir = std::env::temp_dir().join(format!("kvp-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ckpt = dir.join("points");
    let ckpt = ckpt.to_str().unwrap();
    rt().block_on(async {
        let streams =
            HashMap::from([("a".to_owned(), a.clone()), ("b".to_owned(), b.clone()), ("c".to_owned(), c.clone())]);
        let plan: Plan = Arc::new(|call: &Call| match (call.stream.as_str(), call.n) {
            ("a", 1) => vec![Fault::Cut { fragment: 1, at: At::MidCluster }],
            ("a", 2) => vec![Fault::Stall { fragment: 3, at: At::MidCluster, pause: Duration::from_secs(2) }],
            ("b", 1) => vec![Fault::Cut { fragment: 2, at: At::MidTrailingTags }],
            ("b", 2) => vec![Fault::throttle()],
            ("b", 3) => vec![Fault::Status(503, "ServiceUnavailable")],
            _ => vec![],
        });
        let s = StandIn::start(streams, plan).await;
        let args =
            ["--stream", "a", "--stream", "b", "--start", "earliest", "--max-fragments", "6", "--checkpoint", ckpt];
        let out = cli(&s, &args).output().await.unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        let lines = parse(&out.stdout);
        assert_eq!(check_cli_lines(&lines, "a", &a), numbers(&a[..6]));
        assert_eq!(check_cli_lines(&lines, "b", &b), numbers(&b[..6]));
        let text = std::fs::read_to_string(ckpt).unwrap();
        assert!(text.contains(&format!("a\ttoken:{}\n", a[5].number)), "{text}");
        assert!(text.contains(&format!("b\ttoken:{}\n", b[5].number)), "{text}");

        // Again with the same file and no --start: a and b go on after their 6th fragment;
        // c, which the file does not name, starts at the default, now (the newest).
        let args = ["--stream", "a", "--stream", "b", "--stream", "c", "--max-fragments", "1", "--checkpoint", ckpt];
        let out = cli(&s, &args).output().await.unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        let lines = parse(&out.stdout);
        assert_eq!(check_cli_lines(&lines, "a", &a), numbers(&a[6..7]));
        assert_eq!(check_cli_lines(&lines, "b", &b), numbers(&b[6..7]));
        assert_eq!(check_cli_lines(&lines, "c", &c), numbers(&c[2..3]));
        let selectors: Vec<String> = s.media_calls("a").iter().map(|v| v["StartSelectorType"].to_string()).collect();
        assert_eq!(selectors.last().unwrap(), "\"CONTINUATION_TOKEN\"");
        assert_eq!(s.media_calls("a").last().unwrap()["ContinuationToken"], a[5].number.as_str());
    });
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn exit_codes() {
    let a = synthetic(4, 2, 100, 1);
    rt().block_on(async {
        let s = StandIn::start(HashMap::from([("a".to_owned(), a.clone())]), Arc::new(|_| vec![])).await;
        // A stream that gives up: 1, after the other stream's lines.
        let out = cli(&s, &["--stream", "a", "--stream", "nope", "--start", "earliest", "--max-fragments", "3"])
            .output()
            .await
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(check_cli_lines(&parse(&out.stdout), "a", &a), numbers(&a[..3]));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("nope: gave up"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Usage errors: 2.
        for bad in
            [&["--frames"][..], &["--stream", "a", "--start", "yesterday"], &["--stream", "a", "--max-fragments", "x"]]
        {
            let st = tokio::process::Command::new(example_bin("get_media")).args(bad).output().await.unwrap();
            assert_eq!(st.status.code(), Some(2), "{bad:?}");
        }
    });
}

/// (fragment number, position) of every frame line and the numbers of the fragment lines
/// read from a child before it is killed or ends.
async fn read_until(child: &mut tokio::process::Child, fragments: usize) -> Vec<Value> {
    let mut out = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut lines = Vec::new();
    let mut seen = 0;
    while let Some(l) = tokio::time::timeout(Duration::from_secs(20), out.next_line()).await.unwrap().unwrap() {
        let v: Value = serde_json::from_str(&l).unwrap();
        seen += (v["type"] == "fragment") as usize;
        lines.push(v);
        if seen == fragments && lines.last().unwrap()["type"] == "frame" {
            break; // killed in the middle of a fragment
        }
    }
    lines
}

/// A stand-in serving `frags` as `stream`, a frame every 5 ms, without faults.
async fn paced(stream: &str, frags: &[ServedFragment]) -> StandIn {
    let streams = HashMap::from([(stream.to_owned(), frags.to_vec())]);
    StandIn::start_paced(streams, Arc::new(|_| vec![]), Some(Duration::from_millis(5))).await
}

/// `get_media` reading `stream` from the earliest fragment, with a checkpoint file, its
/// output piped.
fn from_earliest(s: &StandIn, stream: &str, ckpt: &str) -> tokio::process::Child {
    cli(s, &["--stream", stream, "--start", "earliest", "--checkpoint", ckpt]).stdout(Stdio::piped()).spawn().unwrap()
}

#[test]
fn kill_9_and_restart_repeats_at_most_the_fragment_in_flight() {
    let a = synthetic(12, 10, 100, 77);
    let dir = std::env::temp_dir().join(format!("kvp-kill-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ckpt = dir.join("points");
    rt().block_on(async {
        let s = paced("a", &a).await;
        let ckpt = ckpt.to_str().unwrap();
        let mut child = from_earliest(&s, "a", ckpt);
        let before = read_until(&mut child, 4).await;
        child.start_kill().unwrap(); // SIGKILL
        child.wait().await.unwrap();
        let out = cli(&s, &["--stream", "a", "--max-fragments", "8", "--checkpoint", ckpt]).output().await.unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        let after = parse(&out.stdout);
        check_cli_lines(&after, "a", &a[4..]);
        let key = |l: &Value| (l["fragment_number"].as_str().unwrap().to_owned(), l["position"].as_u64());
        let first: Vec<_> = before.iter().map(key).collect();
        let second: Vec<_> = after.iter().map(key).collect();
        // Everything, in order, once the overlap is taken out; the overlap is only the
        // frames of the fragment in flight when the first run died.
        let all: HashSet<_> = first.iter().chain(&second).cloned().collect();
        let want: HashSet<_> = a
            .iter()
            .flat_map(|f| {
                (0..f.pts_ns.len() as u64).map(|p| (f.number.clone(), Some(p))).chain([(f.number.clone(), None)])
            })
            .collect();
        assert_eq!(all, want);
        let repeated: HashSet<_> = first.iter().filter(|k| second.contains(k)).map(|k| k.0.clone()).collect();
        assert_eq!(repeated, HashSet::from([a[4].number.clone()]), "repeats limited to the fragment in flight");
    });
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_closed_pipe_ends_it_at_once_without_saving_past_what_was_written() {
    let a = synthetic(40, 10, 100, 4_242);
    let dir = std::env::temp_dir().join(format!("kvp-pipe-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ckpt = dir.join("points");
    rt().block_on(async {
        let s = paced("a", &a).await;
        let ckpt = ckpt.to_str().unwrap();
        let mut child = from_earliest(&s, "a", ckpt);
        let mut out = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let mut fragments = 0;
        while fragments < 2 {
            let l = out.next_line().await.unwrap().unwrap();
            fragments += l.contains(r#""type":"fragment""#) as usize;
        }
        drop(out); // the reader goes away, as `| head` does
        let st = tokio::time::timeout(Duration::from_secs(20), child.wait()).await.expect("exits").unwrap();
        assert_eq!(st.code(), Some(0));
        // A restart goes on from a fragment boundary after the two fragments read and well
        // before the 40 served (a fragment takes 50 ms to serve; the exit is at the next line).
        let again = cli(&s, &["--stream", "a", "--max-fragments", "1", "--checkpoint", ckpt]).output().await.unwrap();
        let lines = parse(&again.stdout);
        let next = lines.last().unwrap()["fragment_number"].as_str().unwrap().to_owned();
        let at = a.iter().position(|f| f.number == next).expect("a served fragment");
        assert!(at >= 2, "resumed at fragment {at}, before what was read");
        assert!(at <= 10, "resumed at fragment {at}: it went on after the pipe closed");
    });
    std::fs::remove_dir_all(dir).unwrap();
}
