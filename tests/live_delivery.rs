//! The live consumers' delivery rule, without a network: a stream served again and again
//! from the resume point, cut at random places and chunked at random, gives every frame and
//! every fragment (part) exactly once, in order (`aws::Delivery`).
#![cfg(feature = "aws")]

mod common;

use common::standin::{synthetic, ServedFragment};
use common::Rng;
use kinesis_video_parser::aws::{Delivery, LiveItem, StartSelector};
use kinesis_video_parser::{DemuxOptions, Limits};

/// What a consumer saw: (fragment number, position, pts) per frame; (number, part, complete)
/// per fragment.
#[derive(Debug, Default, PartialEq)]
struct Seen {
    frames: Vec<(String, u64, i64)>,
    fragments: Vec<(String, u32, bool)>,
}

fn drain(d: &mut Delivery, seen: &mut Seen) {
    while let Some(item) = d.next_item() {
        match item.expect("no in-band errors here") {
            LiveItem::Frame(f) => {
                assert_eq!(f.frame.info.fragment, seen.fragments.len() as u64, "index of the fragment to come");
                let n = f.fragment.fragment_number.as_ref().unwrap().to_string();
                seen.frames.push((n, f.position, f.frame.info.pts_ns));
            }
            LiveItem::Fragment(f) => {
                assert_eq!(f.meta.index, seen.fragments.len() as u64);
                let n = f.meta.kvs.fragment_number.as_ref().unwrap().to_string();
                seen.fragments.push((n, f.meta.part, f.meta.complete));
            }
        }
    }
}

/// Serves `frags` as GetMedia would, from `d`'s resume point each time, cutting each
/// response at a random byte in its first fragments (with `rng`; else never) until the
/// stream is done.
fn consume(frags: &[ServedFragment], options: DemuxOptions, mut rng: Option<&mut Rng>) -> (Seen, usize) {
    let mut d = Delivery::new("s", StartSelector::Earliest, options);
    let mut seen = Seen::default();
    let mut connections = 0;
    loop {
        let start = match d.resume_point() {
            StartSelector::Earliest => 0,
            StartSelector::ContinuationToken(t) => frags.iter().position(|f| f.number == t).unwrap() + 1,
            other => panic!("resume point {other:?}"),
        };
        if start == frags.len() {
            return (seen, connections);
        }
        connections += 1;
        assert!(connections < 10_000, "no progress: {seen:?}");
        let body: Vec<u8> = frags[start..].iter().flat_map(|f| f.bytes.iter().copied()).collect();
        // Cut somewhere in its first fragments (or, sometimes, not cut).
        let near = frags[0].bytes.len() as u64 * 5 / 2;
        let cut = rng.as_mut().map_or(body.len(), |r| (r.below(near * 5 / 4) as usize).min(body.len()));
        d.connection_lost();
        let mut at = 0;
        while at < cut {
            let n = (1 + rng.as_mut().map_or(999, |r| r.below(3000)) as usize).min(cut - at);
            d.push(body[at..at + n].to_vec().into());
            at += n;
            drain(&mut d, &mut seen);
        }
        if cut == body.len() {
            d.end_of_response();
        }
        drain(&mut d, &mut seen);
    }
}

fn expected(frags: &[ServedFragment]) -> Seen {
    let mut want = Seen::default();
    for f in frags {
        for (i, pts) in f.pts_ns.iter().enumerate() {
            want.frames.push((f.number.clone(), i as u64, *pts));
        }
        want.fragments.push((f.number.clone(), 0, true));
    }
    want
}

#[test]
fn random_cuts_and_chunkings_deliver_everything_exactly_once() {
    // Fragment numbers cross from 11 to 12 digits in the middle.
    let frags = synthetic(40, 12, 40, 99_999_900_000);
    assert!(frags[0].number.len() < frags[39].number.len());
    let want = expected(&frags);
    for seed in 1..=40u64 {
        let mut rng = Rng(seed * 0x9E37_79B9);
        let (got, connections) = consume(&frags, DemuxOptions::default(), Some(&mut rng));
        assert!(connections > 15, "the cuts were exercised: {connections} connections");
        assert_eq!(got, want, "seed {seed}");
    }
}

#[test]
fn parts_of_a_long_fragment_come_once_across_cuts() {
    // A bound a third of a fragment's size: each fragment comes in parts.
    let frags = synthetic(10, 30, 33, 5_000);
    let limit = frags[0].bytes.len() as u64 / 3;
    let options = DemuxOptions::default().with_limits(Limits::default().with_max_fragment_bytes(limit));
    let (clean, _) = consume(&frags, options, None);
    assert!(clean.fragments.len() > 20, "parts: {}", clean.fragments.len());
    let want = expected(&frags);
    assert_eq!(clean.frames, want.frames);
    for seed in 1..=30u64 {
        let (got, _) = consume(&frags, options, Some(&mut Rng(seed * 7_777_777)));
        assert_eq!(got, clean, "seed {seed}");
    }
}

#[test]
fn a_fragment_served_again_after_it_was_delivered_is_not_delivered_twice() {
    let frags = synthetic(3, 5, 40, 100);
    let mut d = Delivery::new("s", StartSelector::Earliest, DemuxOptions::default());
    let mut seen = Seen::default();
    for f in &frags {
        d.push(f.bytes.clone().into());
    }
    d.end_of_response();
    drain(&mut d, &mut seen);
    // A service that answers the resume point with everything again.
    d.connection_lost();
    for f in &frags {
        d.push(f.bytes.clone().into());
    }
    d.end_of_response();
    drain(&mut d, &mut seen);
    assert_eq!(seen, expected(&frags));
    assert_eq!(d.resume_point(), StartSelector::ContinuationToken(frags[2].number.clone()));
    assert_eq!(d.millis_behind_now(), Some(1002));
}
