//! The fuzz targets' invariant checks (`fuzz/src/harness.rs`), run on every input the project
//! knows: the project's own test files, every file of the shared corpus (valid or not) and
//! cuts of them, hand-made edge cases, and each input a fuzzer ever found failing, as a
//! `fuzz_<n>_<what>` test with its bytes inline (none so far: the runs listed in the
//! README found no failure).

#[path = "../fuzz/src/harness.rs"]
mod harness;

mod common;

use std::path::PathBuf;

/// Runs every target's checks on one input.
fn all_targets(data: &[u8]) {
    harness::one_shot(data);
    harness::fragments(data);
    harness::elements(data);
    for sizes in [[1u8, 0], [7, 3], [63, 0]] {
        let mut input = vec![2, sizes[0], sizes[1]];
        input.extend_from_slice(data);
        harness::chunked(&input);
    }
}

#[test]
fn seed_inputs_hold_every_invariant() {
    let mut files: Vec<PathBuf> = Vec::new();
    let own = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata");
    files.extend(
        std::fs::read_dir(own)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "mkv")),
    );
    for sub in [
        "kvs-java",
        "pic-producer",
        "generated",
        "libwebm",
        "libwebm/invalid",
        "matroska-test-files/invalid_ebml",
        "matroska-test-files/test_files",
    ] {
        if let Some(dir) = common::shared(sub) {
            files.extend(std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).filter(|p| {
                matches!(p.extension().and_then(|e| e.to_str()), Some("mkv" | "mka" | "webm"))
                    && std::fs::metadata(p).is_ok_and(|m| m.len() < 3_000_000)
            }));
        }
    }
    assert!(!files.is_empty());
    for f in files {
        let data = std::fs::read(&f).unwrap();
        // Whole files, and cut at a few points (cuts are where truncation paths live).
        all_targets(&data);
        for cut in [data.len() / 3, data.len() / 2 + 1, data.len().saturating_sub(7)] {
            harness::one_shot(&data[..cut]);
            harness::elements(&data[..cut]);
        }
    }
}

#[test]
fn empty_and_tiny_inputs() {
    for data in [&[][..], &[0x1A], &[0xFF], &[0x00; 9], &[0x1A, 0x45, 0xDF, 0xA3], &[0x1A, 0x45, 0xDF, 0xA3, 0x80]] {
        all_targets(data);
    }
}

/// An EBML header whose DocType is cut short by its own parent's size: the child exceeds
/// the parent (a structural error), then the top level is junk until the end.
#[test]
fn hand_made_child_exceeds_ebml_header() {
    all_targets(&[0x1A, 0x45, 0xDF, 0xA3, 0x83, 0x42, 0x82, 0x88, b'm', b'a', b't']);
}

/// A Segment whose unknown-size Cluster holds a BlockGroup cut by a new EBML header.
#[test]
fn hand_made_block_group_cut_by_new_document() {
    let doc: &[u8] =
        &[0x1A, 0x45, 0xDF, 0xA3, 0x80, 0x18, 0x53, 0x80, 0x67, 0xFF, 0x1F, 0x43, 0xB6, 0x75, 0xFF, 0xE7, 0x81, 0x00];
    let group: &[u8] = &[0xA0, 0x90, 0xA1, 0x85, 0x81, 0x00, 0x00, 0x80, 0xAA];
    let data = [doc, group, doc].concat();
    all_targets(&data);
}
