//! The reader's whole-subtree skip (`with_skipped_subtrees`), on Matroska Cues.

use bytes::Bytes;

use crate::ebml::writer::{self, Size};
use crate::ebml::{ElementEvent, ElementId, ElementReader};
use crate::limits::Limits;
use crate::mkv::{ids, Matroska};
use crate::Status;

/// A Segment of unknown size holding one Cues of `points` CuePoints, then a Void.
fn segment_with_cues(points: u64) -> Vec<u8> {
    let mut cues = Vec::new();
    for t in 0..points {
        let mut pos = Vec::new();
        writer::uint(&mut pos, ids::CUE_TRACK, 1);
        writer::uint(&mut pos, ids::CUE_CLUSTER_POSITION, 1000 + t);
        let mut point = Vec::new();
        writer::uint(&mut point, ids::CUE_TIME, t);
        writer::element(&mut point, ids::CUE_TRACK_POSITIONS, Size::Minimal, &pos);
        writer::element(&mut cues, ids::CUE_POINT, Size::Minimal, &point);
    }
    let mut body = Vec::new();
    writer::element(&mut body, ids::CUES, Size::Minimal, &cues);
    writer::element(&mut body, ids::VOID, Size::Minimal, &[0; 2]);
    let mut out = Vec::new();
    writer::element(&mut out, ids::SEGMENT, Size::Unknown(8), &body);
    out
}

/// Feeds `data` in pieces of `piece` bytes (then finishes) and returns the IDs of the
/// elements seen as Skipped, Started or Data, with their kind.
fn seen(data: &[u8], piece: usize) -> Vec<(char, ElementId)> {
    let mut r = ElementReader::<Matroska>::new(Limits::default()).with_skipped_subtrees(&[ids::CUES]);
    let mut chunks = data.chunks(piece);
    let mut out = Vec::new();
    for _ in 0..100_000 {
        match r.poll() {
            Ok(Status::Ready(ElementEvent::Skipped(h))) => out.push(('s', h.id)),
            Ok(Status::Ready(ElementEvent::Start(h))) => out.push(('m', h.id)),
            Ok(Status::Ready(ElementEvent::Data(h, _))) => out.push(('d', h.id)),
            Ok(Status::Ready(_)) | Err(_) => {}
            Ok(Status::NeedMore(_)) => match chunks.next() {
                Some(c) => r.push(Bytes::copy_from_slice(c)),
                None => r.finish(),
            },
            Ok(Status::Done) => return out,
        }
    }
    panic!("the reader never finished");
}

/// A clean Cues that reaches the reader in many pieces is still skipped whole: the
/// reader waits for it and joins the pieces; the events equal those of one piece.
#[test]
fn clean_subtree_in_pieces_is_skipped_whole() {
    let data = segment_with_cues(50);
    let whole = seen(&data, data.len());
    assert_eq!(whole, [('m', ids::SEGMENT), ('s', ids::CUES), ('s', ids::VOID)]);
    for piece in [1, 3, 7, 64, 500] {
        assert_eq!(seen(&data, piece), whole, "pieces of {piece}");
    }
}

/// With CRC verification on nothing is skipped, so nothing is waited for either: the
/// Cues is opened as soon as its header has arrived.
#[test]
fn subtree_is_not_waited_for_when_it_cannot_be_skipped() {
    let data = segment_with_cues(50);
    let mut r = ElementReader::<Matroska>::new(Limits::default())
        .with_skipped_subtrees(&[ids::CUES])
        .with_crc_verification(true);
    r.push(Bytes::copy_from_slice(&data[..data.len() / 2]));
    let mut started = Vec::new();
    while let Ok(Status::Ready(ev)) = r.poll() {
        if let ElementEvent::Start(h) = ev {
            started.push(h.id);
        }
    }
    assert_eq!(started[..2], [ids::SEGMENT, ids::CUES]);
}

/// When the input ends inside the subtree the reader does not wait forever: what
/// arrived is read element by element (and the cut reported).
#[test]
fn subtree_cut_by_the_end_of_input_is_read_as_far_as_it_goes() {
    let data = segment_with_cues(50);
    let cut = &data[..data.len() / 2];
    let got = seen(cut, 16);
    assert_eq!(got[..2], [('m', ids::SEGMENT), ('m', ids::CUES)]);
    assert!(got.iter().filter(|(_, id)| *id == ids::CUE_POINT).count() >= 20, "{got:?}");
    assert!(!got.contains(&('s', ids::CUES)));
}
