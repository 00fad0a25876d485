//! The events must not depend on how the input is cut into pieces.

mod common;

use std::path::PathBuf;

use bytes::Bytes;
use common::*;
use kinesis_video_parser::{DemuxOptions, Demuxer, Event, ReadDemuxer, Status};

/// Every file of the shared corpus folders that parse cleanly or truncated, plus our own.
fn corpus() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for sub in ["kvs-java", "pic-producer", "generated"] {
        let Some(dir) = shared(sub) else { continue };
        let mut names: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        names.sort();
        for p in names {
            if matches!(p.extension().and_then(|e| e.to_str()), Some("mkv" | "mka" | "webm")) {
                out.push((format!("{sub}/{}", p.file_name().unwrap().to_string_lossy()), std::fs::read(&p).unwrap()));
            }
        }
    }
    let own = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata");
    for e in std::fs::read_dir(own).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "mkv") {
            out.push((format!("testdata/{}", p.file_name().unwrap().to_string_lossy()), std::fs::read(&p).unwrap()));
        }
    }
    assert!(!out.is_empty());
    out
}

#[test]
fn random_chunkings_give_one_shot_events() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for (name, data) in corpus() {
        let whole = events(&data);
        assert!(!frames(&whole).is_empty() || name.contains("empty") || name.contains("tags_empty"), "{name}");
        for round in 0..4 {
            let sizes = random_sizes(&mut rng, 64);
            assert!(events_chunked(&data, &sizes) == whole, "{name}: chunking round {round} {:?}", &sizes[..4]);
        }
        for fixed in [7, 4096] {
            assert!(events_chunked(&data, &[fixed]) == whole, "{name}: pieces of {fixed}");
        }
        if data.len() <= 300_000 {
            assert!(events_chunked(&data, &[1]) == whole, "{name}: 1-byte pieces");
        }
    }
}

/// The SimpleBlock fast path is only a shortcut: with it switched off, every block taking the
/// general path, each file gives the same events, whole and in random pieces.
#[test]
fn general_path_gives_the_fast_paths_events() {
    let mut rng = Rng(11);
    let general = DemuxOptions::default().with_general_path_only(true);
    for (name, data) in corpus() {
        let whole = events(&data);
        assert!(events_chunked_with(&data, &[data.len()], general) == whole, "{name}: general path, one piece");
        let sizes = random_sizes(&mut rng, 64);
        assert!(events_chunked_with(&data, &sizes, general) == whole, "{name}: general path, {:?}", &sizes[..4]);
    }
}

#[test]
fn one_byte_pieces_of_a_large_capture() {
    let Some(data) = shared_file("kvs-java", "output_get_media.mkv") else { return };
    assert!(events_chunked(&data, &[1]) == events(&data));
}

#[test]
fn every_split_point_of_small_files() {
    for (name, data) in corpus().into_iter().filter(|(_, d)| d.len() <= 20_000) {
        let whole = events(&data);
        for cut in 1..data.len() {
            assert!(events_chunked(&data, &[cut, data.len()]) == whole, "{name}: split at {cut}");
        }
    }
}

/// Events delivered before `finish` for a prefix are a prefix of the whole stream's events;
/// after `finish`, every frame is one of the whole stream's frames (a cut block is never a
/// frame) and a fragment cut inside a known-size element is never complete.
#[test]
fn every_prefix_gives_a_prefix_of_the_events() {
    let mut rng = Rng(7);
    for (name, data) in corpus() {
        let whole = events(&data);
        let all_frames = frames(&whole);
        let cuts: Vec<usize> = if data.len() <= 6_000 {
            (0..=data.len()).collect()
        } else {
            (0..150).map(|_| rng.below(data.len() as u64 + 1) as usize).collect()
        };
        for cut in cuts {
            let mut d = Demuxer::new();
            d.push(Bytes::copy_from_slice(&data[..cut]));
            let mut before = Vec::new();
            loop {
                match d.poll() {
                    Ok(Status::Ready(ev)) => before.push(Ok(ev)),
                    Ok(Status::NeedMore(_)) => break,
                    Ok(Status::Done) => panic!("{name}: done before finish"),
                    Err(e) => panic!("{name}: error before finish: {e}"),
                }
            }
            assert!(whole.len() >= before.len() && whole[..before.len()] == before[..], "{name}: prefix {cut}");
            d.finish();
            let mut after = Vec::new();
            for _ in 0..1_000_000 {
                match d.poll() {
                    Ok(Status::Ready(ev)) => after.push(Ok(ev)),
                    Ok(Status::Done) => break,
                    Ok(Status::NeedMore(_)) => panic!("{name}: needs more after finish"),
                    Err(e) => after.push(Err(e)),
                }
            }
            assert!(matches!(d.poll(), Ok(Status::Done)), "{name}: prefix {cut} did not end");
            let truncated = !truncations(&after).is_empty();
            for ev in &after {
                match ev {
                    Ok(Event::Frame(f)) => assert!(all_frames.contains(f), "{name}: prefix {cut} made up a frame"),
                    Ok(Event::FragmentEnd(m)) if truncated => {
                        assert!(!m.complete, "{name}: prefix {cut}: a cut fragment is complete")
                    }
                    _ => {}
                }
            }
        }
    }
}

#[test]
fn sync_adapter_and_apis_agree() {
    for (name, data) in corpus() {
        let whole = events(&data);
        for read_size in [1, 1000, 65536, 1 << 20] {
            if read_size == 1 && data.len() > 300_000 {
                continue;
            }
            assert!(events_read(&data, read_size) == whole, "{name}: sync adapter, reads of {read_size}");
        }
        // Frame API: the frames of the event stream, in order.
        let via_frames: Vec<_> = ReadDemuxer::new(&data[..]).frames().filter_map(Result::ok).collect();
        assert_eq!(via_frames, frames(&whole), "{name}: frames()");
        // Fragment API: the same frames grouped, and the same fragment metadata.
        let via_fragments: Vec<_> = ReadDemuxer::new(&data[..]).fragments().filter_map(Result::ok).collect();
        let grouped: Vec<_> = via_fragments.iter().flat_map(|f| f.frames.clone()).collect();
        assert_eq!(grouped, frames(&whole), "{name}: fragments() frames");
        assert_eq!(via_fragments, fragments(&whole), "{name}: fragments()");
        for f in &via_fragments {
            assert!(f.frames.iter().all(|x| x.info.fragment == f.meta.index), "{name}");
            assert_eq!(f.frames.len() as u64, f.meta.frames);
        }
    }
}

#[test]
fn frames_are_views_of_the_pushed_bytes() {
    let data = own_file("kvs_like.mkv");
    let buf = Bytes::from(data.clone());
    let mut d = Demuxer::new();
    d.push(buf.clone());
    d.finish();
    let range = buf.as_ptr() as usize..buf.as_ptr() as usize + buf.len();
    let mut n = 0;
    while let Status::Ready(ev) = d.poll().unwrap() {
        if let Event::Frame(f) = ev {
            n += 1;
            assert!(range.contains(&(f.data.as_ptr() as usize)), "frame copied");
            assert_eq!(&data[f.info.offset as usize..f.info.offset as usize + f.data.len()], &f.data[..]);
        }
    }
    assert!(n > 0);
}
