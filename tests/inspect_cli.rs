//! The `inspect` example is a contract: flags, JSON Lines and exit codes.

mod common;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use common::*;

fn inspect_bin() -> PathBuf {
    example_bin("inspect")
}

fn run_file(args: &[&str]) -> Output {
    Command::new(inspect_bin()).args(args).output().unwrap()
}

/// Runs with the input on stdin, written in random pieces with pauses.
fn run_stdin(args: &[&str], data: &[u8], seed: u64) -> Output {
    let mut child =
        Command::new(inspect_bin()).args(args).arg("-").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let data = data.to_vec();
    let writer = std::thread::spawn(move || {
        let mut rng = Rng(seed);
        let mut pos = 0;
        while pos < data.len() {
            let n = (1 + rng.below(9000) as usize).min(data.len() - pos);
            if stdin.write_all(&data[pos..pos + n]).is_err() {
                return;
            }
            stdin.flush().unwrap();
            if rng.below(8) == 0 {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            pos += n;
        }
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

fn own(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata").join(name).to_string_lossy().into_owned()
}

#[test]
fn json_lines_follow_the_contract() {
    let out = run_file(&["--json", &own("kvs_like.mkv")]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let keys = |v: &serde_json::Value| -> Vec<String> { v.as_object().unwrap().keys().cloned().collect() };
    let track_keys = "type number uid kind codec_id codec_private_hex name language default_duration_ns width height sampling_frequency channels bit_depth";
    let frame_keys = "type fragment track pts_ns duration_ns keyframe size offset";
    let fragment_keys = "type index fragment_number server_timestamp_ms producer_timestamp_ms millis_behind_now continuation_token error_code error_id cluster_timestamp_ns frames complete tags";
    let end_keys = "type bytes fragments frames truncated damaged";
    let sorted = |s: &str| {
        let mut v: Vec<String> = s.split(' ').map(String::from).collect();
        v.sort();
        v
    };
    let (tk, fk, gk, ek) = (sorted(track_keys), sorted(frame_keys), sorted(fragment_keys), sorted(end_keys));
    for l in &lines {
        let want = match l["type"].as_str().unwrap() {
            "track" => &tk,
            "frame" => &fk,
            "fragment" => &gk,
            "end" => &ek,
            t => panic!("unexpected line type {t}"),
        };
        assert_eq!(&keys(l), want);
    }
    // Field order is part of the contract too.
    let first_track = text.lines().next().unwrap();
    assert!(first_track.starts_with(r#"{"type":"track","number":1,"uid":"#), "{first_track}");
    let end = lines.last().unwrap();
    assert_eq!(end["type"], "end");
    assert_eq!(end["bytes"], std::fs::metadata(own("kvs_like.mkv")).unwrap().len());
    assert_eq!(
        (end["fragments"].as_u64(), end["truncated"].as_bool(), end["damaged"].as_bool()),
        (Some(3), Some(false), Some(false))
    );
    let frames = lines.iter().filter(|l| l["type"] == "frame").count() as u64;
    assert_eq!(end["frames"].as_u64(), Some(frames));
    let frag: Vec<_> = lines.iter().filter(|l| l["type"] == "fragment").collect();
    assert_eq!(frag[0]["fragment_number"], "91343852333181432392682062607743920146159169390");
    assert_eq!(frag[0]["server_timestamp_ms"], 1_700_000_000_100u64);
    assert_eq!(frag[2]["millis_behind_now"], 700);
    assert!(frag.iter().all(|f| f["complete"] == true));
    assert!(frag[0]["tags"].as_array().unwrap().iter().any(|t| t["name"] == "MOTION" && t["value"] == "yes"));
}

#[test]
fn ground_truth_line_for_a_capture() {
    let Some(dir) = shared("kvs-java") else { return };
    let path = dir.join("output_get_media.mkv");
    let out = run_file(&["--json", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    let line = text.lines().find(|l| l.contains(r#""type":"fragment","index":1,"#)).unwrap();
    assert_eq!(
        line,
        r#"{"type":"fragment","index":1,"fragment_number":"91343852333181432397633822764885441725874549018","server_timestamp_ms":1511852110915,"producer_timestamp_ms":1511852110513,"millis_behind_now":14155,"continuation_token":"91343852333181432397633822764885441725874549018","error_code":null,"error_id":null,"cluster_timestamp_ns":2000000000,"frames":60,"complete":true,"tags":[{"name":"COMPATIBLE_BRANDS","value":"isomavc1mp42"},{"name":"MAJOR_BRAND","value":"M4V "},{"name":"MINOR_VERSION","value":"1"},{"name":"ENCODER","value":"Lavf57.71.100"},{"name":"HANDLER_NAME","value":"ETI ISO Video Media Handler"},{"name":"ENCODER","value":"Elemental H.264"},{"name":"DURATION","value":"00:00:10.000000000"}]}"#
    );
    let track = text.lines().next().unwrap();
    assert_eq!(
        track,
        r#"{"type":"track","number":1,"uid":1,"kind":"video","codec_id":"V_MPEG4/ISO/AVC","codec_private_hex":"014d401e03010027274d401eb9101405ff2e02d4040407c0000003004000000f38a0003d090007a13bdee03e1108d401000428fe3c80","name":null,"language":"und","default_duration_ns":33333333,"width":640,"height":360,"sampling_frequency":null,"channels":null,"bit_depth":null}"#
    );
}

#[test]
fn stdin_in_random_pieces_is_byte_identical_to_the_file() {
    let mut inputs = vec![(own("kvs_like.mkv"), 0)];
    if let Some(dir) = shared("kvs-java") {
        inputs.push((dir.join("output-get-media-equal-timecode.mkv").to_string_lossy().into_owned(), 1));
        inputs.push((dir.join("test_mixed_tags.mkv").to_string_lossy().into_owned(), 0));
    }
    for (path, code) in inputs {
        let data = std::fs::read(&path).unwrap();
        for args in [&["--json"][..], &[][..], &["--elements"][..]] {
            let from_file = run_file(&[args, &[path.as_str()]].concat());
            assert_eq!(from_file.status.code(), Some(code), "{path} {args:?}");
            for seed in [1, 2] {
                let from_stdin = run_stdin(args, &data, seed);
                assert_eq!(from_stdin.status.code(), Some(code), "{path} {args:?}");
                assert!(from_stdin.stdout == from_file.stdout, "{path} {args:?}: stdin output differs");
            }
            // The async path (tokio adapter) prints the same bytes, from a file and from stdin.
            if cfg!(feature = "tokio") && !args.contains(&"--elements") {
                let with_async = [args, &["--async"]].concat();
                let from_file_async = run_file(&[&with_async[..], &[path.as_str()]].concat());
                assert_eq!(from_file_async.status.code(), Some(code), "{path} {with_async:?}");
                assert!(from_file_async.stdout == from_file.stdout, "{path} {with_async:?}: async output differs");
                let from_stdin_async = run_stdin(&with_async, &data, 3);
                assert!(
                    from_stdin_async.stdout == from_file.stdout,
                    "{path} {with_async:?}: async stdin output differs"
                );
            }
        }
    }
}

#[test]
fn damage_and_truncation_exit_1_and_are_reported() {
    let data = std::fs::read(own("kvs_like.mkv")).unwrap();
    // Junk between the first and second document, and a cut in the last frame.
    let second = data.windows(4).skip(1).position(|w| w == [0x1A, 0x45, 0xDF, 0xA3]).unwrap() + 1;
    let damaged = [&data[..second], &[0x42u8; 16][..], &data[second..data.len() - 200]].concat();
    let out = run_stdin(&["--json"], &damaged, 3);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let dmg: Vec<_> = lines.iter().filter(|l| l["type"] == "damage").collect();
    assert_eq!(dmg.len(), 1);
    assert_eq!((dmg[0]["offset"].as_u64(), dmg[0]["length"].as_u64()), (Some(second as u64), Some(16)));
    let end = lines.last().unwrap();
    assert_eq!(
        (end["truncated"].as_bool(), end["damaged"].as_bool(), end["fragments"].as_u64()),
        (Some(true), Some(true), Some(3))
    );
}

#[test]
fn usage_and_io_errors_exit_2() {
    assert_eq!(run_file(&[]).status.code(), Some(2));
    assert_eq!(run_file(&["--bogus", &own("kvs_like.mkv")]).status.code(), Some(2));
    assert_eq!(run_file(&["/nonexistent/file.mkv"]).status.code(), Some(2));
}

#[test]
fn elements_tree_names_offsets_and_values() {
    let out = run_file(&["--elements", &own("kvs_like.mkv")]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    let first = text.lines().next().unwrap();
    assert!(first.trim_start().starts_with("0 + EBML [1A45DFA3] header"), "{first}");
    assert!(text.contains("+ Segment [18538067] header 12 size unknown"));
    assert!(text.contains("DocType [4282] header 3 size 8: \"matroska\""));
    assert!(text.contains("TagName [45A3]") && text.contains("\"AWS_KINESISVIDEO_CONTINUATION_TOKEN\""));
    assert_eq!(text.matches("+ Cluster [1F43B675]").count(), 3);
    assert!(text.contains("SimpleBlock [A3]") && text.contains("track 1, timestamp 64, key, 1779 bytes"));
}
