//! Damage on real GetMedia captures: junk between fragments, flipped bytes inside one
//! fragment, cuts anywhere. Every undamaged fragment must come through whole, and what is
//! lost must be reported.

mod common;

use common::*;
use kinesis_video_parser::{Error, Event, Fragment};

type Evs = Vec<Result<Event, Error>>;

/// The captures (GetMedia-shaped, several chunks each).
fn captures() -> Vec<(String, Vec<u8>)> {
    let mut v = vec![("kvs_like.mkv".to_owned(), own_file("kvs_like.mkv"))];
    for name in [
        "output_get_media.mkv",
        "kinesis_video_renderer_example_output.mkv",
        "test_mixed_tags.mkv",
        "output-get-media-non-increasing-timecode.mkv",
    ] {
        if let Some(d) = shared_file("kvs-java", name) {
            v.push((name.to_owned(), d));
        }
    }
    v
}

/// What must survive: per fragment its number, its frames (track, pts, payload), and
/// whether it is complete and KVS-complete.
type Summary = (Option<String>, Vec<(u64, i64, usize, u64)>, bool, bool);

fn fnv(b: &[u8]) -> u64 {
    b.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &x| (h ^ u64::from(x)).wrapping_mul(0x100_0000_01b3))
}

fn summary(f: &Fragment) -> Summary {
    (
        f.meta.kvs.fragment_number.as_ref().map(|n| n.to_string()),
        f.frames.iter().map(|x| (x.info.track, x.info.pts_ns, x.data.len(), fnv(&x.data))).collect(),
        f.meta.complete,
        f.meta.is_kvs_complete(),
    )
}

fn parse_randomly(data: &[u8], rng: &mut Rng) -> Evs {
    let sizes = random_sizes(rng, 32);
    events_chunked(data, &sizes)
}

#[test]
fn junk_between_fragments_loses_nothing() {
    let mut rng = Rng(0xDA3A6E);
    let junks: Vec<Vec<u8>> = vec![
        vec![0x00; 16],
        vec![0x42; 16],
        vec![0xFF],
        vec![0x1A],
        vec![0x1A, 0x45, 0xDF],
        vec![0x1F, 0x43, 0xB6, 0x75, 0x01],
        (0..100).map(|_| rng.next() as u8).collect(),
        (0..5000).map(|_| rng.next() as u8).collect(),
    ];
    for (name, data) in captures() {
        let clean = events(&data);
        let want: Vec<Summary> = fragments(&clean).iter().map(summary).collect();
        let starts: Vec<usize> = fragments(&clean).iter().map(|f| f.meta.offset as usize).collect();
        // Before every chunk but the first, at the very start, and at the very end.
        let mut points: Vec<usize> = starts[1..].to_vec();
        points.push(0);
        if truncations(&clean).is_empty() {
            // (Bytes appended to a truncated capture are just the missing bytes of its cut block.)
            points.push(data.len());
        }
        for &at in &points {
            for junk in &junks {
                let damaged = [&data[..at], &junk[..], &data[at..]].concat();
                let evs = parse_randomly(&damaged, &mut rng);
                assert!(evs == events(&damaged), "{name}: junk at {at}: chunking changed the events");
                let mut got: Vec<Summary> = fragments(&evs).iter().map(summary).collect();
                let t = truncations(&evs);
                if at == data.len() && t.len() == 1 && t[0].offset() == at as u64 && damages(&evs).is_empty() {
                    // A few stray bytes at the very end read as a cut element header: that is
                    // reported as truncation, which marks the last fragment incomplete.
                    let last = got.last_mut().unwrap();
                    assert!(!last.2, "{name}: truncated tail but last fragment complete");
                    last.2 = true;
                    assert_eq!(got, want, "{name}: {} junk bytes at the end", junk.len());
                    continue;
                }
                assert_eq!(got, want, "{name}: {} junk bytes at {at}", junk.len());
                let d = damages(&evs);
                assert!(!d.is_empty(), "{name}: junk at {at} not reported");
                assert_eq!(d[0].offset, at as u64, "{name}: junk at {at}");
                let reported: u64 = d.iter().map(|x| x.length).sum();
                assert_eq!(reported, junk.len() as u64, "{name}: {} junk bytes at {at}", junk.len());
                assert!(d.iter().all(|x| x.offset >= at as u64 && x.offset + x.length <= (at + junk.len()) as u64));
            }
        }
    }
}

#[test]
fn flipped_bytes_damage_only_their_fragment() {
    let mut rng = Rng(0xF1195);
    for (name, data) in captures() {
        let clean_frags = fragments(&events(&data));
        let n = clean_frags.len();
        for round in 0..60 {
            let k = rng.below(n as u64) as usize;
            let (lo, hi) = (clean_frags[k].meta.offset as usize, clean_frags[k].meta.end_offset as usize);
            let mut bad = data.clone();
            let flips = 1 + rng.below(4);
            for _ in 0..flips {
                let at = lo + rng.below((hi - lo) as u64) as usize;
                bad[at] ^= 1 << rng.below(8);
            }
            let evs = parse_randomly(&bad, &mut rng);
            assert!(evs == events(&bad), "{name} round {round}: chunking changed the events");
            let got = fragments(&evs);
            for (j, f) in clean_frags.iter().enumerate().filter(|(j, _)| *j != k) {
                let want = summary(f);
                let same: Vec<_> =
                    got.iter().filter(|g| g.meta.kvs.fragment_number == f.meta.kvs.fragment_number).collect();
                assert_eq!(
                    same.len(),
                    1,
                    "{name} round {round}: fragment {j} (flips in {k}) found {} times",
                    same.len()
                );
                assert_eq!(summary(same[0]), want, "{name} round {round}: fragment {j} changed by flips in {k}");
            }
            // Frames of other fragments never come out twice or out of thin air.
            let total: usize = got.iter().map(|g| g.frames.len()).sum();
            assert!(total <= clean_frags.iter().map(|f| f.frames.len()).sum::<usize>() + 64, "{name}");
        }
    }
}

#[test]
fn cuts_anywhere_deliver_every_complete_frame_and_report_the_cut() {
    let mut rng = Rng(0xC07);
    for (name, data) in captures() {
        let clean = events(&data);
        let all = frames(&clean);
        let starts: Vec<usize> = fragments(&clean).iter().map(|f| f.meta.offset as usize).collect();
        for _ in 0..80 {
            let cut = rng.below(data.len() as u64) as usize;
            let evs = parse_randomly(&data[..cut], &mut rng);
            // No lacing in these captures: a frame is whole when its last byte is before the cut.
            let want: Vec<_> = all.iter().filter(|f| f.info.offset as usize + f.len() <= cut).cloned().collect();
            assert_eq!(frames(&evs), want, "{name}: cut at {cut}");
            let frags = fragments(&evs);
            let last = frags.last().unwrap();
            let reported = !truncations(&evs).is_empty() || !last.meta.is_kvs_complete() || starts.contains(&cut);
            assert!(reported, "{name}: cut at {cut} not reported");
            if !truncations(&evs).is_empty() {
                assert!(!last.meta.complete, "{name}: cut at {cut}");
            }
        }
    }
}

#[test]
fn a_size_that_swallows_the_next_chunks_is_cut_at_the_next_ebml_header() {
    // Producer-SDK chunks: unknown-size Clusters whose SimpleBlocks carry 8-byte sizes.
    let Some(data) = shared_file("kvs-java", "test_mixed_tags.mkv") else { return };
    let clean = fragments(&events(&data));
    // First SimpleBlock of chunk 3: make its size 16 MiB larger.
    let c3 = clean[3].meta.cluster_offset.unwrap() as usize;
    let sb = c3 + data[c3..].windows(2).position(|w| w == [0xA3, 0x01]).unwrap();
    let mut bad = data.clone();
    bad[sb + 5] |= 0x01; // A3 01 00 00 00 xx xx xx xx: + 2^24
    let evs = events(&bad);
    let d = damages(&evs);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].offset, sb as u64);
    assert_eq!(d[0].offset + d[0].length, clean[4].meta.offset);
    let got = fragments(&evs);
    assert_eq!(got.len(), clean.len());
    for (j, (g, c)) in got.iter().zip(&clean).enumerate() {
        if j == 3 {
            assert!(!g.meta.complete && g.frames.is_empty());
        } else {
            assert_eq!(summary(g), summary(c), "fragment {j}");
        }
    }
    // A Void of the same kind at Segment level.
    let own = own_file("kvs_like.mkv");
    let clean = fragments(&events(&own));
    let void_at = clean[1].meta.offset as usize + 100;
    let mut bad = own[..void_at].to_vec();
    bad.extend_from_slice(&[0xEC, 0x01, 0, 0, 0, 0x10, 0, 0, 0]); // Void of 1 MiB
    bad.extend_from_slice(&own[void_at..]);
    let evs = events(&bad);
    let d = damages(&evs);
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].offset, void_at as u64);
    assert_eq!(fragments(&evs)[2].meta.kvs.fragment_number, clean[2].meta.kvs.fragment_number);
    assert_eq!(
        frames(&evs).len(),
        frames(&events(&own)).len() - clean[1].frames.len() + fragments(&evs)[1].frames.len()
    );
}
