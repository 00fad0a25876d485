//! Peak memory stays flat in stream length: a GetMedia-shaped stream of more than 1 GiB piped
//! into `inspect --json -` keeps its resident set under 32 MiB. The peak (VmHWM) is read from
//! /proc while the stream is written, until just before the child exits (Linux only).

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::*;

/// The child's peak resident set so far, in bytes (`None` once it has exited).
fn peak_rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[test]
fn one_gib_through_inspect_json_stays_under_32_mib() {
    if !cfg!(target_os = "linux") {
        eprintln!("!!!!!!!! SKIPPED: peak RSS is read from /proc (Linux only) !!!!!!!!");
        return;
    }
    let chunk = own_file("kvs_like.mkv");
    let copies = (1usize << 30) / chunk.len() + 1;
    let mut child = Command::new(example_bin("inspect"))
        .args(["--json", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    // Count the output as it comes (the frames of every copy must be there).
    let mut out = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut buf = vec![0u8; 1 << 16];
        let (mut lines, mut last) = (0u64, Vec::new());
        loop {
            match std::io::Read::read(&mut out, &mut buf) {
                Ok(0) | Err(_) => return (lines, String::from_utf8_lossy(&last).into_owned()),
                Ok(n) => {
                    lines += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
                    last.extend_from_slice(&buf[..n]);
                    let keep = last.len().saturating_sub(512);
                    last.drain(..keep);
                }
            }
        }
    });
    let mut stdin = child.stdin.take().unwrap();
    let mut peak = 0;
    for i in 0..copies {
        stdin.write_all(&chunk).unwrap();
        if i % 1024 == 0 {
            peak = peak.max(peak_rss(pid).unwrap_or(0));
        }
    }
    drop(stdin);
    while let Some(p) = peak_rss(pid) {
        peak = peak.max(p);
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let status = child.wait().unwrap();
    let (lines, tail) = reader.join().unwrap();
    assert!(status.success(), "inspect failed: {status}");
    let bytes = (copies * chunk.len()) as u64;
    assert!(bytes > 1 << 30);
    assert!(
        tail.trim_end().ends_with(&format!(
            r#""bytes":{bytes},"fragments":{},"frames":{},"truncated":false,"damaged":false}}"#,
            3 * copies,
            81 * copies
        )),
        "{tail}"
    );
    assert!(lines > 84 * copies as u64, "{lines} lines");
    println!("{bytes} bytes through inspect --json -: peak RSS {peak} bytes");
    assert!(peak > 0, "no reading of VmHWM");
    assert!(peak < 32 << 20, "peak RSS {peak} bytes");
}
