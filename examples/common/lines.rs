//! The JSON Lines and text lines of `inspect` (a contract), shared with `get_media`.
#![allow(dead_code)]

use kinesis_video_parser::{Damage, FragmentMeta, Frame, TagValue, Track};

use super::json::{hex, Obj};

pub fn track_json(t: &Track) -> String {
    let v = t.video.as_ref();
    let a = t.audio.as_ref();
    Obj::new()
        .str("type", "track")
        .u64("number", t.number)
        .u64("uid", t.uid)
        .str("kind", t.kind.as_str())
        .str("codec_id", &t.codec_id)
        .opt_str("codec_private_hex", t.codec_private.as_ref().map(|c| hex(c)).as_deref())
        .opt_str("name", t.name.as_deref())
        .opt_str("language", t.language.as_deref())
        .opt_u64("default_duration_ns", t.default_duration_ns)
        .opt_u64("width", v.and_then(|v| v.pixel_width))
        .opt_u64("height", v.and_then(|v| v.pixel_height))
        .opt_f64("sampling_frequency", a.map(|a| a.sampling_frequency))
        .opt_u64("channels", a.map(|a| a.channels))
        .opt_u64("bit_depth", a.and_then(|a| a.bit_depth))
        .finish()
}

pub fn track_text(t: &Track) -> String {
    let mut s = format!("track {}: {} {}", t.number, t.kind.as_str(), t.codec_id);
    if let Some(v) = &t.video {
        if let (Some(w), Some(h)) = (v.pixel_width, v.pixel_height) {
            s += &format!(" {w}x{h}");
        }
    }
    if let Some(a) = &t.audio {
        s += &format!(" {} Hz, {} ch", a.sampling_frequency, a.channels);
        if let Some(b) = a.bit_depth {
            s += &format!(", {b} bit");
        }
    }
    if let Some(d) = t.default_duration_ns {
        s += &format!(", {d} ns/frame");
    }
    if let Some(n) = &t.name {
        s += &format!(", name {n:?}");
    }
    if let Some(cp) = &t.codec_private {
        s += &format!(", CodecPrivate {} bytes", cp.len());
    }
    s
}

pub fn frame_json(f: &Frame) -> String {
    frame_obj(f).finish()
}

/// A `frame` line's fields, for tools that add their own.
pub fn frame_obj(f: &Frame) -> Obj {
    Obj::new()
        .str("type", "frame")
        .u64("fragment", f.info.fragment)
        .u64("track", f.info.track)
        .i64("pts_ns", f.info.pts_ns)
        .opt_u64("duration_ns", f.info.duration_ns)
        .bool("keyframe", f.info.keyframe)
        .u64("size", f.len() as u64)
        .u64("offset", f.info.offset)
}

pub fn fragment_json(m: &FragmentMeta) -> String {
    fragment_obj(m).finish()
}

/// A `fragment` line's fields, for tools that add their own.
pub fn fragment_obj(m: &FragmentMeta) -> Obj {
    let mut tags = String::from("[");
    for (i, s) in m.user_tags().enumerate() {
        if i > 0 {
            tags.push(',');
        }
        let o = Obj::new().str("name", &s.name);
        tags += &match &s.value {
            TagValue::Binary(b) => o.str("binary_hex", &hex(b)),
            TagValue::String(v) => o.str("value", v),
            TagValue::None => o.str("value", ""),
        }
        .finish();
    }
    tags.push(']');
    let k = &m.kvs;
    Obj::new()
        .str("type", "fragment")
        .u64("index", m.index)
        .opt_str("fragment_number", k.fragment_number.as_ref().map(|n| n.as_str()))
        .opt_u64("server_timestamp_ms", k.server_timestamp.as_ref().map(|t| t.millis()))
        .opt_u64("producer_timestamp_ms", k.producer_timestamp.as_ref().map(|t| t.millis()))
        .opt_u64("millis_behind_now", k.millis_behind_now)
        .opt_str("continuation_token", k.continuation_token.as_deref())
        .opt_str("error_code", k.error_code.as_deref())
        .opt_str("error_id", k.error_id.as_deref())
        .opt_i64("cluster_timestamp_ns", m.cluster_timestamp_ns())
        .u64("frames", m.frames)
        .bool("complete", m.complete)
        .raw("tags", &tags)
}

pub fn fragment_text(m: &FragmentMeta) -> String {
    let k = &m.kvs;
    let mut s = format!("fragment {}:", m.index);
    if let Some(n) = &k.fragment_number {
        s += &format!(" number {n},");
    }
    if let Some(t) = &k.server_timestamp {
        s += &format!(" server {},", t.as_str());
    }
    if let Some(t) = &k.producer_timestamp {
        s += &format!(" producer {},", t.as_str());
    }
    if let Some(ms) = k.millis_behind_now {
        s += &format!(" {ms} ms behind,");
    }
    if let Some(code) = &k.error_code {
        s += &format!(" ERROR {code},");
    }
    if let Some(id) = &k.error_id {
        s += &format!(" error id {id},");
    }
    if let Some(c) = m.cluster_timestamp {
        s += &format!(" cluster {c},");
    }
    s += &format!(" {} frames ({} key)", m.frames, m.keyframes);
    let user = m.user_tags().count();
    if user > 0 {
        s += &format!(", {user} user tags");
    }
    s += if m.complete { ", complete" } else { ", INCOMPLETE" };
    if m.split || m.part > 0 {
        s += &format!(
            " (part {}{})",
            m.part,
            if m.split { ", continued at the fragment byte limit" } else { ", the last" }
        );
    }
    if k.is_kvs_complete() {
        s += " (kvs-complete)";
    }
    s
}

pub fn damage_json(d: &Damage) -> String {
    Obj::new()
        .str("type", "damage")
        .u64("offset", d.offset)
        .u64("length", d.length)
        .str("reason", &d.error.to_string())
        .finish()
}

pub fn damage_text(d: &Damage) -> String {
    format!("DAMAGE at byte {} ({} bytes): {}", d.offset, d.length, d.error)
}
