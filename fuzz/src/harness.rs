//! Invariant checks for the fuzz targets. Each entry point parses its input and panics if
//! an invariant does not hold; the absence of a panic alone is not the goal.
//!
//! Shared with `tests/fuzz_regressions.rs` in the main crate, which replays every known
//! failure and the seed inputs through the same checks.

use bytes::Bytes;
use kinesis_video_parser::{
    DemuxOptions, Demuxer, ElementEvent, ElementReader, Error, ErrorKind, Event, FragmentAssembler, Limits, Status,
};

/// Small limits so that the fuzzer reaches the limit paths (and fragments split into parts)
/// with small inputs.
fn options() -> DemuxOptions {
    let limits = Limits::default().with_max_element_size(1 << 20).with_max_depth(12).with_max_fragment_bytes(16 << 10);
    DemuxOptions::default().with_limits(limits)
}

/// Polls until `Done`, with a budget: a parser that stops making progress fails. Call `i`
/// (counted in `calls`) goes through the lending `poll_ref` when bit `i % 8` of `lend` is
/// set (its frame copied out), else through `poll`.
fn drain(d: &mut Demuxer, input_len: usize, lend: u8, calls: &mut usize, out: &mut Vec<Result<Event, Error>>) {
    let mut budget = 64 * input_len + 4096;
    loop {
        budget = budget.checked_sub(1).expect("no progress: poll budget exhausted");
        *calls += 1;
        let polled =
            if lend >> (*calls % 8) & 1 == 1 { d.poll_ref().map(|s| s.map(|ev| ev.into_owned())) } else { d.poll() };
        match polled {
            Ok(Status::Ready(ev)) => out.push(Ok(ev)),
            Ok(Status::NeedMore(_)) => return,
            Ok(Status::Done) => return,
            Err(e) => out.push(Err(e)),
        }
    }
}

/// All events of `data` pushed in the given piece sizes (cycled), then finished.
pub fn events_with(data: &[u8], sizes: &[usize], verify_crc: bool) -> Vec<Result<Event, Error>> {
    events_lent(data, sizes, verify_crc, 0)
}

/// As [`events_with`], the polls that `lend` picks (see [`drain`]) through `poll_ref`.
pub fn events_lent(data: &[u8], sizes: &[usize], verify_crc: bool, lend: u8) -> Vec<Result<Event, Error>> {
    let mut d = Demuxer::with_options(options().with_crc_verification(verify_crc));
    let mut out = Vec::new();
    let mut pos = 0;
    let mut k = 0;
    let mut calls = 0;
    while pos < data.len() {
        let n = sizes[k % sizes.len()].clamp(1, data.len() - pos);
        k += 1;
        d.push(Bytes::copy_from_slice(&data[pos..pos + n]));
        pos += n;
        drain(&mut d, data.len(), lend, &mut calls, &mut out);
    }
    d.finish();
    drain(&mut d, data.len(), lend, &mut calls, &mut out);
    assert!(matches!(d.poll(), Ok(Status::Done)), "not done after finish");
    out
}

/// Checks what must hold for any input.
pub fn check(data: &[u8], evs: &[Result<Event, Error>]) {
    let len = data.len() as u64;
    let mut frame_end = 0u64;
    let mut damage_end = 0u64;
    let mut open: Option<u64> = None;
    let mut next_index = 0u64;
    let mut frames_in_open = 0u64;
    let mut truncations = 0;
    let mut last_fragment_end = 0u64;
    let mut split_from: Option<u32> = None;
    for (i, ev) in evs.iter().enumerate() {
        match ev {
            Ok(Event::Frame(f)) => {
                // Frames are views of the input, in input order, never overlapping.
                assert!(f.info.offset >= frame_end, "frame at {} overlaps the previous one", f.info.offset);
                let end = f.info.offset + f.data.len() as u64;
                assert!(end <= len, "frame past the end of the input");
                assert_eq!(
                    &f.data[..],
                    &data[f.info.offset as usize..end as usize],
                    "frame bytes differ from the input"
                );
                frame_end = end;
                assert_eq!(Some(f.info.fragment), open, "frame outside its fragment");
                assert!(f.info.lace_index < f.info.lace_count);
                frames_in_open += 1;
            }
            Ok(Event::Damage(d)) => {
                assert!(d.offset.checked_add(d.length).is_some_and(|e| e <= len), "damage past the end");
                assert_ne!(d.error.kind(), ErrorKind::Truncated);
                // Skipped spans come in input order and do not overlap. (A checksum mismatch
                // covers its whole master, which may hold other reports.)
                if d.length > 0 && d.error.kind() != ErrorKind::ChecksumMismatch {
                    assert!(d.offset >= damage_end, "damage at {} overlaps the previous one", d.offset);
                    damage_end = d.offset + d.length;
                }
            }
            Ok(Event::FragmentStart { index, offset }) => {
                assert_eq!(open, None, "fragment {index} opened inside another");
                assert_eq!(*index, next_index, "fragment indices skip");
                assert!(*offset <= len && *offset >= last_fragment_end.min(*offset));
                open = Some(*index);
                next_index += 1;
                frames_in_open = 0;
            }
            Ok(Event::FragmentEnd(m)) => {
                assert_eq!(open, Some(m.index), "fragment {} closed but not open", m.index);
                assert_eq!(m.frames, frames_in_open, "frame count of fragment {}", m.index);
                assert!(m.keyframes <= m.frames);
                assert!(m.offset <= m.end_offset && m.end_offset <= len, "fragment bounds");
                assert!(!(m.complete && (m.damaged || m.truncated || m.split || m.part > 0)));
                // A part follows the part before it.
                assert_eq!(m.part, split_from.map_or(0, |p| p + 1), "fragment {} is not the next part", m.index);
                split_from = m.split.then_some(m.part);
                last_fragment_end = m.end_offset;
                open = None;
            }
            Ok(_) => {}
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::Truncated, "only truncation is an error");
                assert!(e.offset() <= len);
                truncations += 1;
                // After the truncation, open elements only close: no new fragment, no damage,
                // and the fragment that was cut is not complete.
                for later in &evs[i + 1..] {
                    match later {
                        Ok(Event::FragmentStart { .. } | Event::Damage(_)) | Err(_) => {
                            panic!("{later:?} after truncation")
                        }
                        Ok(Event::FragmentEnd(m)) => assert!(!m.complete, "cut fragment complete"),
                        _ => {}
                    }
                }
            }
        }
    }
    assert!(truncations <= 1, "truncation reported {truncations} times");
    assert_eq!(open, None, "a fragment was left open at the end");
}

/// The whole input in one piece.
pub fn one_shot(data: &[u8]) {
    let evs = events_with(data, &[data.len().max(1)], false);
    check(data, &evs);
}

/// Equal events, a NaN float (a Duration can be one) equal to itself: compared as they print.
fn same(a: &[Result<Event, Error>], b: &[Result<Event, Error>]) -> bool {
    a == b || format!("{a:?}") == format!("{b:?}")
}

/// The first bytes choose piece sizes; the events must equal the one-shot events.
pub fn chunked(data: &[u8]) {
    let Some((&n, rest)) = data.split_first() else { return };
    let n = usize::from(n % 8) + 1;
    if rest.len() < n {
        return;
    }
    let (sizes, input) = rest.split_at(n);
    let sizes: Vec<usize> = sizes.iter().map(|&s| usize::from(s) % 64 + 1).collect();
    let verify = n % 2 == 0;
    let whole = events_with(input, &[input.len().max(1)], verify);
    check(input, &whole);
    let pieces = events_with(input, &sizes, verify);
    assert!(same(&pieces, &whole), "events depend on chunking (sizes {sizes:?})");
    // The lending API, alone and mixed with `poll` (a pattern the input picks).
    for lend in [0xFF, rest[0]] {
        let lent = events_lent(input, &sizes, verify, lend);
        assert!(same(&lent, &whole), "poll_ref differs from poll (sizes {sizes:?}, lend {lend:#x})");
    }
}

/// Whole fragments and their KVS metadata.
pub fn fragments(data: &[u8]) {
    let evs = events_with(data, &[4096], true);
    check(data, &evs);
    let mut asm = FragmentAssembler::new();
    let mut frames = 0usize;
    let mut n = 0u64;
    for ev in evs.iter().filter_map(|e| e.as_ref().ok()) {
        if matches!(ev, Event::Frame(_)) {
            frames += 1;
        }
        if let Some(f) = asm.push(ev.clone()) {
            assert_eq!(f.meta.index, n);
            n += 1;
            assert_eq!(f.frames.len() as u64, f.meta.frames);
            assert!(f.frames.iter().all(|x| x.info.fragment == f.meta.index));
            let k = &f.meta.kvs;
            if let Some(num) = &k.fragment_number {
                assert!(num.as_str().bytes().all(|b| b.is_ascii_digit()) && !num.as_str().is_empty());
            }
            for t in [&k.server_timestamp, &k.producer_timestamp].into_iter().flatten() {
                // Exact parse: the string reproduces the value.
                let (s, frac) = t.as_str().split_once('.').unwrap_or((t.as_str(), ""));
                assert_eq!(t.nanos() / 1_000_000_000, s.parse::<u64>().unwrap());
                assert!(frac.len() <= 9);
            }
            let aws = k.aws_tags.len();
            let all: usize = f.meta.tags.iter().map(|t| t.tag.simple_tags.len()).sum();
            assert!(aws <= all);
            let _ = f.meta.user_tags().count();
            let _ = f.meta.cluster_timestamp_ns();
        }
    }
    assert_eq!(n, evs.iter().filter(|e| matches!(e, Ok(Event::FragmentEnd(_)))).count() as u64);
    let delivered: usize = evs.iter().filter(|e| matches!(e, Ok(Event::Frame(_)))).count();
    assert_eq!(frames, delivered);
}

/// The element reader: balanced start/end, increasing offsets, no progress stall.
pub fn elements(data: &[u8]) {
    let mut r = ElementReader::new(Limits::default().with_max_element_size(1 << 20)).with_crc_verification(true);
    r.push(Bytes::copy_from_slice(data));
    r.finish();
    let mut depth = 0usize;
    let mut last = 0u64;
    let mut budget = 64 * data.len() + 4096;
    loop {
        budget = budget.checked_sub(1).expect("no progress in the element reader");
        match r.poll() {
            Ok(Status::Ready(ev)) => match ev {
                ElementEvent::Start(h) => {
                    assert!(h.offset >= last || h.header_len == 0, "element offsets go back");
                    last = h.offset;
                    depth += 1;
                }
                ElementEvent::End(h, end) => {
                    assert!(depth > 0, "end without start");
                    depth -= 1;
                    assert!(end >= h.offset);
                    if let Some(e) = h.end() {
                        assert!(end <= e || end == r.position(), "master ended past its size");
                    }
                }
                ElementEvent::Data(h, d) => {
                    assert!(h.offset >= last);
                    last = h.offset;
                    assert_eq!(Some(d.len() as u64), h.size);
                    let start = h.data_offset() as usize;
                    assert_eq!(&d[..], &data[start..start + d.len()]);
                }
                ElementEvent::Skipped(h) => {
                    assert!(h.offset >= last);
                    last = h.offset;
                }
                ElementEvent::Damage(d) => assert!(d.offset + d.length <= data.len() as u64),
            },
            Ok(Status::Done) => break,
            Ok(Status::NeedMore(_)) => panic!("needs more after finish"),
            Err(e) => assert_eq!(e.kind(), ErrorKind::Truncated),
        }
    }
    assert_eq!(depth, 0, "unbalanced start/end");
}
