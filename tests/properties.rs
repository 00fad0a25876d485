//! Property tests: random valid Matroska/KVS streams, written with the crate's element
//! writer, parse back to exactly what was generated, whatever the chunking; every prefix
//! yields a prefix of the events.

mod common;

use bytes::Bytes;
use common::build::*;
use common::*;
use kinesis_video_parser::ebml::writer::{self, Size};
use kinesis_video_parser::mkv::ids;
use kinesis_video_parser::{Demuxer, Status};
use proptest::prelude::*;

#[derive(Debug, Clone)]
struct TrackM {
    number: u64,
    default_duration: Option<u64>,
}

#[derive(Debug, Clone)]
struct BlockM {
    track: usize,
    rel: i16,
    key: bool,
    /// 0 none, 1 Xiph, 2 fixed, 3 EBML.
    lacing: u8,
    frames: Vec<Vec<u8>>,
    group: Option<(bool, Option<u64>)>,
}

#[derive(Debug, Clone)]
struct ClusterM {
    ts: u64,
    unknown_size: bool,
    crc: bool,
    void: bool,
    blocks: Vec<BlockM>,
}

#[derive(Debug, Clone)]
struct DocM {
    scale: u64,
    segment_width: u8,
    tracks: Vec<TrackM>,
    leading: Vec<(String, String)>,
    clusters: Vec<ClusterM>,
    trailing: Vec<(String, String)>,
}

fn tag_pairs() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec(("[A-Z][A-Z_]{0,12}", "[ -~]{0,20}"), 0..3)
}

fn block(ntracks: usize) -> impl Strategy<Value = BlockM> {
    (
        0..ntracks,
        -300i16..300,
        any::<bool>(),
        0u8..4,
        1usize..6,
        0usize..200,
        any::<u8>(),
        prop::option::of((any::<bool>(), prop::option::of(1u64..100))),
    )
        .prop_map(|(track, rel, key, lacing, n, len, seed, group)| {
            // Unlaced blocks hold one frame; a lace holds at least two.
            let (lacing, n) = if n == 1 || lacing == 0 { (0, 1) } else { (lacing, n) };
            let frames = (0..n)
                .map(|i| {
                    let l = if lacing == 2 { len } else { (len * (i + 1) * 7) % 211 };
                    (0..l).map(|k| seed.wrapping_add((k * 31 + i) as u8)).collect()
                })
                .collect();
            BlockM { track, rel, key, lacing, frames, group }
        })
}

fn cluster(ntracks: usize) -> impl Strategy<Value = ClusterM> {
    (0u64..100_000, any::<bool>(), any::<bool>(), any::<bool>(), prop::collection::vec(block(ntracks), 0..8))
        .prop_map(|(ts, unknown_size, crc, void, blocks)| ClusterM { ts, unknown_size, crc, void, blocks })
}

fn doc() -> impl Strategy<Value = DocM> {
    (1usize..4).prop_flat_map(|ntracks| {
        (
            prop::sample::select(vec![1_000_000u64, 20_832, 1000, 1]),
            1u8..=8,
            prop::collection::vec(prop::option::of(1u64..50_000_000), ntracks),
            tag_pairs(),
            prop::collection::vec(cluster(ntracks), 0..4),
            tag_pairs(),
        )
            .prop_map(|(scale, segment_width, dds, leading, clusters, trailing)| DocM {
                scale,
                segment_width,
                tracks: dds
                    .into_iter()
                    .enumerate()
                    .map(|(i, dd)| TrackM { number: i as u64 + 1, default_duration: dd })
                    .collect(),
                leading,
                clusters,
                trailing,
            })
    })
}

fn lace_bytes(b: &BlockM) -> Vec<u8> {
    let mut out = Vec::new();
    let n = b.frames.len();
    match b.lacing {
        0 => {}
        1 => {
            out.push((n - 1) as u8);
            for f in &b.frames[..n - 1] {
                let mut l = f.len();
                while l >= 255 {
                    out.push(255);
                    l -= 255;
                }
                out.push(l as u8);
            }
        }
        2 => out.push((n - 1) as u8),
        _ => {
            out.push((n - 1) as u8);
            writer::size(&mut out, b.frames[0].len() as u64, Size::Minimal);
            for w in b.frames[..n - 1].windows(2) {
                let d = w[1].len() as i64 - w[0].len() as i64;
                let width = (1..=8u32).find(|&k| d.abs() < (1i64 << (7 * k - 1)) - 1).unwrap();
                writer::size(&mut out, (d + (1i64 << (7 * width - 1)) - 1) as u64, Size::Width(width as u8));
            }
        }
    }
    for f in &b.frames {
        out.extend_from_slice(f);
    }
    out
}

fn write_tags(pairs: &[(String, String)]) -> Vec<u8> {
    if pairs.is_empty() {
        return Vec::new();
    }
    let p: Vec<(&str, &str)> = pairs.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    tags(&p)
}

fn write_doc(d: &DocM) -> Vec<u8> {
    let entries: Vec<Vec<u8>> = d
        .tracks
        .iter()
        .map(|t| {
            track(t.number, 1, "V_X", &t.default_duration.map(|dd| uint(ids::DEFAULT_DURATION, dd)).unwrap_or_default())
        })
        .collect();
    let mut body = vec![el(ids::VOID, &[0; 3]), info(d.scale), tracks(&entries), write_tags(&d.leading)];
    for c in &d.clusters {
        let mut children = Vec::new();
        if c.crc {
            children.push(el(ids::CRC32, &[0, 0, 0, 0]));
        }
        children.push(uint(ids::TIMESTAMP, c.ts));
        for b in &c.blocks {
            let number = d.tracks[b.track].number;
            let flags = (b.lacing << 1) | if b.key && b.group.is_none() { 0x80 } else { 0 };
            let mut body = Vec::new();
            writer::block_header(&mut body, number, b.rel, flags);
            body.extend(lace_bytes(b));
            match b.group {
                None => children.push(el(ids::SIMPLE_BLOCK, &body)),
                Some((referenced, duration)) => {
                    let mut g = vec![el(ids::BLOCK, &body)];
                    if referenced {
                        g.push(int(ids::REFERENCE_BLOCK, -1));
                    }
                    if let Some(du) = duration {
                        g.push(uint(ids::BLOCK_DURATION, du));
                    }
                    children.push(el(ids::BLOCK_GROUP, &g.concat()));
                }
            }
            if c.void {
                children.push(el(ids::VOID, &[]));
            }
        }
        let content = children.concat();
        body.push(if c.unknown_size { unknown(ids::CLUSTER, 1, &content) } else { el(ids::CLUSTER, &content) });
    }
    body.push(write_tags(&d.trailing));
    [ebml_header("matroska"), unknown(ids::SEGMENT, d.segment_width, &body.concat())].concat()
}

/// (track, pts ns, key, data) per frame, and user tags, per fragment.
type Expected = Vec<(Vec<(u64, i64, bool, Vec<u8>)>, Vec<(String, String)>)>;

fn expected(docs: &[DocM]) -> Expected {
    let mut out = Vec::new();
    for d in docs {
        let mut frags: Expected = Vec::new();
        for c in &d.clusters {
            let mut frames = Vec::new();
            for b in &c.blocks {
                let t = &d.tracks[b.track];
                let pts0 = (c.ts as i64 + i64::from(b.rel)) * d.scale as i64;
                let n = b.frames.len() as u64;
                let share = b.group.and_then(|g| g.1).map(|du| du * d.scale / n);
                let step = if n > 1 { t.default_duration.or(share) } else { None };
                let key = match b.group {
                    Some((referenced, _)) => !referenced,
                    None => b.key,
                };
                for (i, f) in b.frames.iter().enumerate() {
                    let pts = pts0 + step.map_or(0, |s| s as i64 * i as i64);
                    frames.push((t.number, pts, key, f.clone()));
                }
            }
            frags.push((frames, Vec::new()));
        }
        if frags.is_empty() {
            frags.push((Vec::new(), Vec::new()));
        }
        frags[0].1.extend(d.leading.iter().cloned());
        frags.last_mut().unwrap().1.extend(d.trailing.iter().cloned());
        out.extend(frags);
    }
    out
}

fn parsed(evs: &[Result<kinesis_video_parser::Event, kinesis_video_parser::Error>]) -> Expected {
    fragments(evs)
        .iter()
        .map(|f| {
            (
                f.frames.iter().map(|x| (x.info.track, x.info.pts_ns, x.info.keyframe, x.data.to_vec())).collect(),
                f.meta.user_tags().map(|t| (t.name.clone(), t.value.as_str().unwrap_or("").to_owned())).collect(),
            )
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(96), ..ProptestConfig::default() })]

    #[test]
    fn generated_streams_parse_back_exactly(docs in prop::collection::vec(doc(), 1..4), seed in any::<u64>()) {
        let data: Vec<u8> = docs.iter().flat_map(write_doc).collect();
        let whole = events(&data);
        prop_assert!(damages(&whole).is_empty(), "damage: {:?}", damages(&whole));
        prop_assert!(truncations(&whole).is_empty());
        prop_assert_eq!(parsed(&whole), expected(&docs));
        prop_assert!(fragments(&whole).iter().all(|f| f.meta.complete));

        let mut rng = Rng(seed | 1);
        let sizes = random_sizes(&mut rng, 16);
        prop_assert!(events_chunked(&data, &sizes) == whole, "chunking changed the events");
        prop_assert!(events_read(&data, 1 + rng.below(5000) as usize) == whole, "sync adapter differs");

        // Every prefix: what comes out before the end is a prefix of the whole.
        for _ in 0..4 {
            let cut = rng.below(data.len() as u64 + 1) as usize;
            let mut d = Demuxer::new();
            d.push(Bytes::copy_from_slice(&data[..cut]));
            let mut before = Vec::new();
            while let Ok(Status::Ready(ev)) = d.poll() {
                before.push(Ok(ev));
            }
            prop_assert!(whole.len() >= before.len() && whole[..before.len()] == before[..], "prefix {}", cut);
        }
    }
}
