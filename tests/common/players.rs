//! Other programs as oracles: what ffprobe and GStreamer read from a file. A missing tool
//! skips loudly, or fails with `KVS_REQUIRE_TOOLS=1` (CI).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Whether `tool` runs; see the module docs for what happens when it does not.
pub fn tool_ok(tool: &str) -> bool {
    let version = match tool {
        "mkvinfo" => "--version",
        "gst-launch-1.0" => "--version",
        _ => "-version",
    };
    let ok = Command::new(tool).arg(version).stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok();
    if !ok {
        if std::env::var("KVS_REQUIRE_TOOLS").is_ok_and(|v| v == "1") {
            panic!("{tool} is required but not found");
        }
        eprintln!("\n!!!!!!!! SKIPPED: {tool} not found on PATH !!!!!!!!\n");
    }
    ok
}

/// The packets of a file's first stream as ffprobe reads them: (pts in ms, key flag).
pub fn ffprobe_packets(path: &Path) -> Vec<(i64, bool)> {
    let out = Command::new("timeout")
        .args(["60", "ffprobe", "-v", "error", "-select_streams", "0", "-show_entries", "packet=pts,flags"])
        .args(["-of", "csv=p=0"])
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success(), "ffprobe failed on {}: {}", path.display(), String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (pts, flags) = l.split_once(',').unwrap_or_else(|| panic!("ffprobe line {l:?}"));
            (pts.trim().parse().unwrap(), flags.starts_with('K'))
        })
        .collect()
}

/// The buffers GStreamer's `matroskademux` hands out for a one-track file: their count.
pub fn gst_buffers(path: &Path) -> usize {
    let out = Command::new("timeout")
        .args(["60", "gst-launch-1.0", "-q", "filesrc"])
        .arg(format!("location={}", path.display()))
        .args(["!", "matroskademux", "!", "fakesink", "dump=true", "sync=false"])
        .output()
        .unwrap();
    assert!(out.status.success(), "GStreamer failed on {}: {}", path.display(), String::from_utf8_lossy(&out.stderr));
    // `dump=true` prints each buffer as a hex dump whose first line starts at offset 0.
    String::from_utf8_lossy(&out.stdout).lines().filter(|l| l.starts_with("00000000 ")).count()
}

/// A fresh directory for one test's files, named after it and the process.
pub fn scratch_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kvp-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
