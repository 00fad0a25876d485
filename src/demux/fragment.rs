//! The document and fragment state machine: element events to tracks, tags and fragments, and
//! the bound on what one fragment holds.

use std::sync::Arc;

use bytes::Bytes;

use crate::ebml::reader::Damage;
use crate::ebml::{value, ElementHeader, Schema};
use crate::error::{ErrorKind, Limit};
use crate::frame::{FragmentMeta, FragmentTag, TagPosition};
use crate::kvs::KvsMetadata;
use crate::limits::Limits;
use crate::mkv::ids::{self, Matroska};
use crate::mkv::{HeaderBuilder, InfoBuilder, SegmentInfo, Track, TrackBuilder};

use super::{whole_element, BlockTrack, Demuxer, Event, GroupState};

#[derive(Debug)]
pub(super) struct FragState {
    /// Boxed from the start: closing hands the box to the event, without a copy.
    pub(super) meta: Box<FragmentMeta>,
    pub(super) segment_seen: bool,
    pub(super) tags: usize,
    /// Damage was reported after this fragment's Cluster started.
    pub(super) damage_after_cluster: bool,
    /// Where the input that its frames may hold starts (see [`Demuxer::held_at`]).
    pub(super) held_from: u64,
    /// Damage reports in it.
    pub(super) damages: u64,
}

impl Demuxer {
    pub(super) fn set_tracks(&mut self, tracks: Arc<[Arc<Track>]>) {
        self.block_tracks = tracks.iter().map(|t| BlockTrack::of(t)).collect();
        self.tracks = tracks;
    }

    pub(super) fn open_fragment(&mut self, offset: u64) {
        let index = self.next_index;
        self.next_index += 1;
        self.frag = Some(FragState {
            meta: Box::new(FragmentMeta {
                index,
                offset,
                starts_document: false,
                end_offset: offset,
                kvs: KvsMetadata::default(),
                tags: Vec::new(),
                tracks: self.tracks.clone(),
                info: self.info.clone(),
                cluster_offset: None,
                cluster_timestamp: None,
                frames: 0,
                keyframes: 0,
                complete: false,
                part: 0,
                split: false,
                damaged: false,
                truncated: false,
            }),
            segment_seen: false,
            tags: 0,
            damage_after_cluster: false,
            held_from: offset,
            damages: 0,
        });
        self.out.push_back(Event::FragmentStart { index, offset });
    }

    #[inline]
    pub(super) fn ensure_fragment(&mut self, offset: u64) -> &mut FragState {
        if self.frag.is_none() {
            self.open_fragment(offset);
        }
        self.frag.as_mut().expect("opened above")
    }

    pub(super) fn close_fragment(&mut self, end: u64) {
        if let Some(f) = self.frag.take() {
            let mut meta = f.meta;
            meta.end_offset = end;
            if !Arc::ptr_eq(&meta.tracks, &self.tracks) {
                meta.tracks = self.tracks.clone();
            }
            if !Arc::ptr_eq(&meta.info, &self.info) {
                meta.info = self.info.clone();
            }
            meta.complete = !meta.damaged && !meta.truncated && !meta.split && meta.part == 0;
            self.out.push_back(Event::FragmentEnd(meta));
        }
    }

    /// At most what collecting the open fragment's frames and damage reports holds once
    /// the input up to `at` is read: the input it spans (which holds every payload), plus
    /// [`Limits::FRAME_COST`] per frame and [`Limits::DAMAGE_COST`] per damage report.
    /// Computed from counts the demuxer keeps anyway, so the hot path pays nothing for it.
    pub(super) fn held_at(&self, at: u64) -> u64 {
        let Some(f) = &self.frag else { return 0 };
        let span = at.saturating_sub(f.held_from);
        span.saturating_add(f.meta.frames.saturating_mul(Limits::FRAME_COST))
            .saturating_add(f.damages.saturating_mul(Limits::DAMAGE_COST))
    }

    /// Makes room for what an element ending at `end` adds (`extra`: its frame or damage
    /// report): when it would take the open fragment past [`Limits::max_fragment_bytes`] and
    /// the fragment holds something already, the fragment is first closed as a part and the
    /// next part opened at `offset`, with what is known of the fragment.
    pub(super) fn hold(&mut self, offset: u64, end: u64, extra: u64) {
        let Some(f) = &self.frag else { return };
        let holds_something = f.meta.frames > 0 || f.damages > 0;
        if holds_something && self.held_at(end).saturating_add(extra) > self.limits.max_fragment_bytes {
            self.split_fragment(offset);
        }
    }

    #[cold]
    #[inline(never)]
    pub(super) fn split_fragment(&mut self, offset: u64) {
        let Some(f) = &mut self.frag else { return };
        f.meta.split = true;
        let (kvs, tags, cluster_offset, cluster_timestamp) =
            (f.meta.kvs.clone(), f.meta.tags.clone(), f.meta.cluster_offset, f.meta.cluster_timestamp);
        let (part, damage_after_cluster, tag_count) = (f.meta.part.saturating_add(1), f.damage_after_cluster, f.tags);
        self.close_fragment(offset);
        self.open_fragment(offset);
        let f = self.frag.as_mut().expect("opened above");
        f.meta.kvs = kvs;
        f.meta.tags = tags;
        f.tags = tag_count;
        f.meta.part = part;
        f.meta.cluster_offset = cluster_offset;
        f.meta.cluster_timestamp = cluster_timestamp;
        f.segment_seen = true;
        f.damage_after_cluster = damage_after_cluster;
    }

    #[cold]
    pub(super) fn damage(&mut self, mut d: Damage) {
        if let (None, Some(id)) = (d.error.element_name(), d.error.element()) {
            d.error = d.error.in_element(id, Matroska::spec(id));
        }
        self.hold(d.offset, d.offset, Limits::DAMAGE_COST);
        self.track_damaged |= self.track_builder.is_some();
        if let Some(f) = &mut self.frag {
            f.damages += 1;
            if self.cluster_open || f.meta.cluster_offset.is_none() {
                f.meta.damaged = true;
            }
            f.damage_after_cluster |= f.meta.cluster_offset.is_some();
        }
        self.out.push_back(Event::Damage(d));
    }

    pub(super) fn on_start(&mut self, h: ElementHeader) {
        match h.id {
            ids::EBML => {
                self.close_fragment(h.offset);
                self.header = Some(HeaderBuilder::new(h.offset));
                self.info = Arc::new(SegmentInfo::default());
                self.set_tracks(Arc::from(Vec::new()));
                self.open_fragment(h.offset);
                if let Some(f) = &mut self.frag {
                    f.meta.starts_document = true;
                }
            }
            ids::SEGMENT => {
                let restart = self.frag.as_ref().is_some_and(|f| f.segment_seen || f.meta.cluster_offset.is_some());
                if restart {
                    self.close_fragment(h.offset);
                    self.info = Arc::new(SegmentInfo::default());
                    self.set_tracks(Arc::from(Vec::new()));
                }
                self.ensure_fragment(h.offset).segment_seen = true;
            }
            ids::INFO | ids::TRACKS => {
                // Info and Tracks come before a document's Cluster: after one, they start a
                // new document whose EBML header and Segment were lost to damage.
                if self.frag.as_ref().is_some_and(|f| f.damage_after_cluster) {
                    self.close_fragment(h.offset);
                    self.ensure_fragment(h.offset).segment_seen = true;
                }
                if h.id == ids::INFO {
                    self.info_builder = Some(InfoBuilder::default());
                } else {
                    self.tracks_building = Some(Vec::new());
                }
            }
            ids::TRACK_ENTRY => {
                self.track_builder = Some(TrackBuilder::new(h.offset));
                self.track_damaged = false;
            }
            ids::VIDEO | ids::AUDIO | ids::CONTENT_ENCODING => {
                if let Some(t) = &mut self.track_builder {
                    t.start(h.id)
                }
            }
            ids::CLUSTER => {
                if self.frag.as_ref().is_some_and(|f| f.meta.cluster_offset.is_some()) {
                    self.close_fragment(h.offset);
                }
                let f = self.ensure_fragment(h.offset);
                f.meta.cluster_offset = Some(h.offset);
                self.cluster_open = true;
                self.cluster_timestamp = 0;
            }
            ids::BLOCK_GROUP => self.group = Some(GroupState::default()),
            ids::TAGS => self.tags_offset = h.offset,
            ids::TAG | ids::TARGETS | ids::SIMPLE_TAG => self.tag_builder.start(h.id, h.offset),
            _ => {}
        }
    }

    pub(super) fn on_end(&mut self, h: ElementHeader, _end: u64) {
        match h.id {
            ids::EBML => {
                if let Some(b) = self.header.take() {
                    self.out.push_back(Event::Header(Arc::new(b.build())));
                }
            }
            ids::INFO => {
                if let Some(b) = self.info_builder.take() {
                    self.info = Arc::new(b.0);
                    self.out.push_back(Event::Info(self.info.clone()));
                }
            }
            ids::TRACK_ENTRY => {
                if let (Some(b), Some(list)) = (self.track_builder.take(), &mut self.tracks_building) {
                    if self.track_damaged {
                        // Cut by damage: a partial definition is not a track.
                    } else if list.len() < self.limits.max_tracks {
                        list.push(Arc::new(b.build()));
                    } else {
                        self.damage(whole_element(&h, ErrorKind::LimitExceeded(Limit::Tracks)));
                    }
                }
            }
            ids::TRACKS => {
                if let Some(list) = self.tracks_building.take() {
                    for t in &list {
                        match self.announced.iter_mut().find(|a| a.number == t.number) {
                            Some(a) if a.same_definition(t) => continue,
                            Some(a) => *a = t.clone(),
                            None => self.announced.push(t.clone()),
                        }
                        self.out.push_back(Event::Track(t.clone()));
                    }
                    self.set_tracks(Arc::from(list));
                    if let Some(f) = &mut self.frag {
                        f.meta.tracks = self.tracks.clone();
                    }
                }
            }
            ids::CLUSTER => self.cluster_open = false,
            ids::BLOCK_GROUP => {
                if let Some(mut g) = self.group.take() {
                    if let Some((bh, data)) = g.block.take() {
                        self.queue_block(&bh, data, Some(&g));
                    }
                }
            }
            ids::SIMPLE_TAG => {
                // A SimpleTag cut by the end of input is not a tag (nor counted).
                let keep = !self.cut && self.count_simple_tag(&h);
                self.tag_builder.end_simple_tag(keep);
            }
            ids::TAG => {
                // After a cut, a Tag belongs to the open fragment or to none (never a new one).
                let open = !self.cut || self.frag.is_some();
                if let Some(tag) = self.tag_builder.end_tag().filter(|_| open) {
                    let tags_offset = self.tags_offset;
                    let f = self.ensure_fragment(tags_offset);
                    for s in &tag.simple_tags {
                        if let Some(v) = s.value.as_str() {
                            f.meta.kvs.apply(&s.name, v);
                        }
                    }
                    let position = match f.meta.cluster_offset {
                        Some(_) => TagPosition::AfterCluster,
                        None => TagPosition::BeforeCluster,
                    };
                    f.meta.tags.push(FragmentTag { tag, position, tags_offset });
                }
            }
            _ => {}
        }
    }

    /// Counts a SimpleTag that ended towards its fragment's limit: whether it is kept (the
    /// first one past the limit is reported, once).
    fn count_simple_tag(&mut self, h: &ElementHeader) -> bool {
        let Some(f) = &mut self.frag else { return true };
        f.tags += 1;
        let tags = f.tags;
        if tags == self.limits.max_tags_per_fragment + 1 {
            self.damage(whole_element(h, ErrorKind::LimitExceeded(Limit::TagsPerFragment)));
        }
        tags <= self.limits.max_tags_per_fragment
    }

    pub(super) fn on_data(&mut self, h: ElementHeader, data: Bytes) {
        match h.id {
            ids::SIMPLE_BLOCK => self.queue_block(&h, data, None),
            ids::BLOCK => {
                if self.group.is_some() {
                    // Checked as it arrives, so that its damage is reported in input order;
                    // its frames wait for the BlockGroup's end, whose later children they need.
                    match self.block_error(&data) {
                        Some(kind) => self.damage(whole_element(&h, kind)),
                        None => self.group.as_mut().expect("checked above").block = Some((h, data)),
                    }
                }
            }
            ids::BLOCK_DURATION => {
                if let Some(g) = &mut self.group {
                    g.duration = value::uint(&data).ok();
                }
            }
            ids::REFERENCE_BLOCK => {
                if let Some(g) = &mut self.group {
                    g.references += 1;
                }
            }
            ids::DISCARD_PADDING => {
                if let Some(g) = &mut self.group {
                    g.discard_padding = value::int(&data).unwrap_or(0);
                }
            }
            ids::TIMESTAMP => {
                if self.cluster_open {
                    self.cluster_timestamp = value::uint(&data).unwrap_or(0);
                    if let Some(f) = &mut self.frag {
                        f.meta.cluster_timestamp = Some(self.cluster_timestamp);
                    }
                }
            }
            _ => {
                if let Some(b) = &mut self.header {
                    b.leaf(h.id, &data);
                } else if let Some(b) = &mut self.track_builder {
                    b.leaf(h.id, &data);
                } else if let Some(b) = &mut self.info_builder {
                    b.leaf(h.id, &data);
                } else {
                    self.tag_builder.leaf(h.id, &data);
                }
            }
        }
    }
}
