//! PutMedia acknowledgements: the newline-separated JSON objects of the PutMedia response,
//! parsed without I/O, and what each error id means.

use std::fmt;

use crate::kvs::FragmentNumber;

/// What an acknowledgement says about a fragment (or the connection, for `Idle`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckEvent {
    /// The service has started receiving the fragment.
    Buffering,
    /// The whole fragment was received.
    Received,
    /// The fragment is stored durably: it will not be needed again.
    Persisted,
    /// The service could not take the fragment (see [`Ack::error_id`]).
    Error,
    /// Keep-alive on a quiet connection.
    Idle,
}

impl AckEvent {
    /// The `EventType` spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            AckEvent::Buffering => "BUFFERING",
            AckEvent::Received => "RECEIVED",
            AckEvent::Persisted => "PERSISTED",
            AckEvent::Error => "ERROR",
            AckEvent::Idle => "IDLE",
        }
    }

    fn parse(s: &str) -> Option<AckEvent> {
        Some(match s {
            "BUFFERING" => AckEvent::Buffering,
            "RECEIVED" => AckEvent::Received,
            "PERSISTED" => AckEvent::Persisted,
            "ERROR" => AckEvent::Error,
            "IDLE" => AckEvent::Idle,
            _ => return None,
        })
    }
}

/// One acknowledgement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    /// `EventType`.
    pub event: AckEvent,
    /// `FragmentTimecode`: the Cluster timecode of the fragment, as it was sent.
    pub fragment_timecode: Option<u64>,
    /// `FragmentNumber`, once the service has given the fragment one.
    pub fragment_number: Option<FragmentNumber>,
    /// `ErrorId`, with `ERROR`.
    pub error_id: Option<u32>,
}

/// An acknowledgement line that is not one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AckParseError {
    /// The line (at most 200 bytes of it).
    pub line: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl fmt::Display for AckParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PutMedia acknowledgement {:?}: {}", self.line, self.reason)
    }
}

impl std::error::Error for AckParseError {}

impl Ack {
    /// Parses one line: a flat JSON object whose values are strings, numbers or `null`.
    /// Unknown keys are ignored; `EventType` is required.
    ///
    /// ```
    /// use kinesis_video_parser::producer::{Ack, AckEvent};
    /// let ack = Ack::parse(r#"{"EventType":"PERSISTED","FragmentTimecode":1700000000000,"FragmentNumber":"91343852333181432392682062607743920146159169392"}"#).unwrap();
    /// assert_eq!(ack.event, AckEvent::Persisted);
    /// assert_eq!(ack.fragment_timecode, Some(1_700_000_000_000));
    /// ```
    ///
    /// # Errors
    /// A line that is not such an object, or has no known `EventType`.
    pub fn parse(line: &str) -> Result<Ack, AckParseError> {
        let bad = |reason| AckParseError { line: line.chars().take(200).collect(), reason };
        let mut event = None;
        let mut ack = Ack { event: AckEvent::Idle, fragment_timecode: None, fragment_number: None, error_id: None };
        for (key, value) in pairs(line.trim()).map_err(bad)? {
            match (key.as_str(), value) {
                ("EventType", Value::Str(s)) => event = Some(AckEvent::parse(&s).ok_or(bad("unknown EventType"))?),
                ("FragmentTimecode", Value::Num(n)) => ack.fragment_timecode = Some(n),
                ("FragmentNumber", Value::Str(s)) => {
                    ack.fragment_number = Some(s.parse::<FragmentNumber>().map_err(|_| bad("bad FragmentNumber"))?)
                }
                ("ErrorId", Value::Num(n)) => ack.error_id = Some(u32::try_from(n).map_err(|_| bad("bad ErrorId"))?),
                ("EventType" | "FragmentTimecode" | "FragmentNumber" | "ErrorId", Value::Null) => {}
                ("EventType" | "FragmentTimecode" | "FragmentNumber" | "ErrorId", _) => {
                    return Err(bad("a known key with a value of the wrong type"))
                }
                _ => {}
            }
        }
        ack.event = event.ok_or(bad("no EventType"))?;
        Ok(ack)
    }
}

enum Value {
    Str(String),
    Num(u64),
    Null,
    Other,
}

/// The key/value pairs of a flat JSON object.
fn pairs(s: &str) -> Result<Vec<(String, Value)>, &'static str> {
    let mut p = Cursor { s: s.as_bytes(), at: 0 };
    p.expect(b'{')?;
    let mut out = Vec::new();
    p.ws();
    if p.eat(b'}') {
        return p.end().map(|()| out);
    }
    loop {
        p.ws();
        let key = p.string()?;
        p.ws();
        p.expect(b':')?;
        p.ws();
        let value = match p.peek() {
            Some(b'"') => Value::Str(p.string()?),
            Some(b'n') => p.word(b"null").map(|()| Value::Null)?,
            Some(b't') => p.word(b"true").map(|()| Value::Other)?,
            Some(b'f') => p.word(b"false").map(|()| Value::Other)?,
            Some(b'0'..=b'9' | b'-') => p.number()?,
            _ => return Err("a value that is not a string, number or null"),
        };
        out.push((key, value));
        p.ws();
        if p.eat(b',') {
            continue;
        }
        p.expect(b'}')?;
        return p.end().map(|()| out);
    }
}

struct Cursor<'a> {
    s: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.at).copied()
    }
    fn eat(&mut self, b: u8) -> bool {
        let hit = self.peek() == Some(b);
        self.at += usize::from(hit);
        hit
    }
    fn expect(&mut self, b: u8) -> Result<(), &'static str> {
        if self.eat(b) {
            Ok(())
        } else {
            Err("not a flat JSON object")
        }
    }
    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            self.at += 1;
        }
    }
    fn end(&mut self) -> Result<(), &'static str> {
        self.ws();
        if self.at == self.s.len() {
            Ok(())
        } else {
            Err("text after the object")
        }
    }
    fn word(&mut self, w: &[u8]) -> Result<(), &'static str> {
        if self.s[self.at..].starts_with(w) {
            self.at += w.len();
            Ok(())
        } else {
            Err("not a JSON value")
        }
    }
    /// A string without escapes other than `\"`, `\\` and `\/` (acknowledgements hold none).
    fn string(&mut self) -> Result<String, &'static str> {
        self.expect(b'"')?;
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None => return Err("an unterminated string"),
                Some(b'"') => {
                    self.at += 1;
                    return String::from_utf8(out).map_err(|_| "a string that is not UTF-8");
                }
                Some(b'\\') => {
                    match self.s.get(self.at + 1) {
                        Some(&c @ (b'"' | b'\\' | b'/')) => out.push(c),
                        _ => return Err("an escape acknowledgements do not use"),
                    }
                    self.at += 2;
                }
                Some(c) => {
                    out.push(c);
                    self.at += 1;
                }
            }
        }
    }
    /// A number: kept when it is a non-negative integer that fits in a `u64`.
    fn number(&mut self) -> Result<Value, &'static str> {
        let start = self.at;
        while matches!(self.peek(), Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')) {
            self.at += 1;
        }
        let text = std::str::from_utf8(&self.s[start..self.at]).map_err(|_| "a bad number")?;
        match text.parse::<u64>() {
            Ok(n) => Ok(Value::Num(n)),
            Err(_) if text.parse::<f64>().is_ok() => Ok(Value::Other),
            Err(_) => Err("a bad number"),
        }
    }
}

/// What an `ErrorId` of an `ERROR` acknowledgement means, and whether sending again can help.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AckError {
    /// The id.
    pub id: u32,
    /// Its name in the PutMedia documentation.
    pub name: &'static str,
    /// What it means.
    pub meaning: &'static str,
    /// Whether a new connection that sends the fragment again can succeed.
    pub retriable: bool,
}

impl AckError {
    /// The documented meaning of `id`; an id the documentation does not list is taken as not
    /// retriable (an unknown client error) below 5000, retriable (a service error) from 5000.
    pub fn of(id: u32) -> AckError {
        let (name, meaning, retriable) = match id {
            4000 => ("STREAM_READ_ERROR", "the service could not read the data stream", true),
            4001 => ("MAX_FRAGMENT_SIZE_REACHED", "a fragment is larger than 50 MB", false),
            4002 => ("MAX_FRAGMENT_DURATION_REACHED", "a fragment is longer than the maximum duration", false),
            4003 => ("MAX_CONNECTION_DURATION_REACHED", "the connection lasted longer than allowed", true),
            4004 => {
                ("FRAGMENT_TIMECODE_LESSER_THAN_PREVIOUS", "a fragment's timecode is below the previous one", false)
            }
            4005 => ("MORE_THAN_ALLOWED_TRACKS_FOUND", "more tracks than allowed", false),
            4006 => ("INVALID_MKV_DATA", "the body is not valid Matroska", false),
            4007 => ("INVALID_PRODUCER_TIMESTAMP", "the producer timestamp is not valid", false),
            4008 => ("STREAM_NOT_ACTIVE", "the stream no longer exists (deleted)", false),
            4009 => ("FRAGMENT_METADATA_LIMIT_REACHED", "too many fragment metadata items", false),
            4010 => ("TRACK_NUMBER_MISMATCH", "a block's track number is not in the Tracks header", false),
            4011 => ("FRAMES_MISSING_FOR_TRACK", "a fragment has no frame for a track of the header", false),
            4012 => ("INVALID_FRAGMENT_METADATA", "a fragment metadata name begins with AWS", false),
            4500 => ("KMS_ACCESS_DENIED", "access to the stream's KMS key is denied", false),
            4501 => ("KMS_KEY_DISABLED", "the stream's KMS key is disabled", false),
            4502 => ("KMS_VALIDATION_ERROR", "the stream's KMS key failed validation", false),
            4503 => ("KMS_KEY_UNAVAILABLE", "the stream's KMS key is unavailable", false),
            4504 => ("KMS_KEY_INVALID_USAGE", "the stream's KMS key is used in a way it does not allow", false),
            4505 => ("KMS_KEY_INVALID_STATE", "the stream's KMS key is in an invalid state", false),
            4506 => ("KMS_KEY_NOT_FOUND", "the stream's KMS key was not found", false),
            5000 => ("INTERNAL_ERROR", "an internal service error", true),
            5001 => ("ARCHIVAL_ERROR", "the service could not persist the fragment", true),
            id if id >= 5000 => ("UNKNOWN", "an undocumented service error", true),
            _ => ("UNKNOWN", "an undocumented error", false),
        };
        AckError { id, name, meaning, retriable }
    }
}

impl fmt::Display for AckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PutMedia error {} {}: {}", self.id, self.name, self.meaning)
    }
}

/// Splits a response body into lines as its pieces arrive (a line may span pieces).
#[derive(Debug, Default)]
pub struct AckLines {
    partial: Vec<u8>,
}

/// The longest acknowledgement line kept: anything longer is not an acknowledgement.
const MAX_LINE: usize = 64 * 1024;

impl AckLines {
    /// Feeds a piece of the body; returns the whole lines it completed (blank lines
    /// dropped). A line longer than 64 KiB is returned cut, to fail parsing rather than to
    /// grow without bound.
    pub fn push(&mut self, piece: &[u8]) -> Vec<String> {
        let mut out = Vec::new();
        for &b in piece {
            if b == b'\n' || self.partial.len() >= MAX_LINE {
                let line = String::from_utf8_lossy(&self.partial).trim().to_owned();
                if !line.is_empty() {
                    out.push(line);
                }
                self.partial.clear();
                if b == b'\n' {
                    continue;
                }
            }
            self.partial.push(b);
        }
        out
    }

    /// The end of the body: the last line if it had no newline.
    pub fn finish(&mut self) -> Option<String> {
        let line = String::from_utf8_lossy(&std::mem::take(&mut self.partial)).trim().to_owned();
        (!line.is_empty()).then_some(line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_and_field() {
        let a = Ack::parse(r#"{"EventType":"ERROR","FragmentTimecode":12,"ErrorId":4004}"#).unwrap();
        assert_eq!(
            a,
            Ack { event: AckEvent::Error, fragment_timecode: Some(12), fragment_number: None, error_id: Some(4004) }
        );
        for e in [AckEvent::Buffering, AckEvent::Received, AckEvent::Persisted, AckEvent::Error, AckEvent::Idle] {
            let line = format!(" {{ \"EventType\" : \"{}\", \"Other\": [1], \"x\": true }}", e.as_str());
            // Arrays are not flat: the parser says so rather than guessing.
            assert!(Ack::parse(&line).is_err());
            let line = format!("{{\"EventType\":\"{}\",\"FragmentNumber\":null,\"x\":1.5e3}}", e.as_str());
            assert_eq!(Ack::parse(&line).unwrap().event, e);
        }
    }

    #[test]
    fn not_acknowledgements() {
        for bad in [
            "",
            "{}",
            "{\"EventType\":\"NOPE\"}",
            "{\"EventType\":\"IDLE\"} x",
            "{\"EventType\":\"IDLE\",\"FragmentTimecode\":\"12\"}",
            "{\"EventType\":\"IDLE\",\"FragmentTimecode\":-1}",
            "{\"EventType\":\"IDLE\",\"FragmentNumber\":\"12a\"}",
            "{\"EventType\":\"IDLE\"",
            "{\"EventType\":\"IDL",
            "[1]",
        ] {
            assert!(Ack::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn lines_across_pieces() {
        let body = b"{\"EventType\":\"IDLE\"}\n\n{\"EventType\":\"BUFFERING\",\"FragmentTimecode\":5}\r\n{\"EventType\":\"RECEIVED\"}";
        for cut in 0..body.len() {
            let mut l = AckLines::default();
            let mut lines = l.push(&body[..cut]);
            lines.extend(l.push(&body[cut..]));
            lines.extend(l.finish());
            let events: Vec<AckEvent> = lines.iter().map(|x| Ack::parse(x).unwrap().event).collect();
            assert_eq!(events, [AckEvent::Idle, AckEvent::Buffering, AckEvent::Received], "cut at {cut}");
        }
    }

    #[test]
    fn error_ids() {
        assert!(AckError::of(5000).retriable && AckError::of(5001).retriable && AckError::of(4003).retriable);
        assert!(!AckError::of(4004).retriable && !AckError::of(4506).retriable && !AckError::of(4999).retriable);
        assert_eq!(
            AckError::of(4001).to_string(),
            "PutMedia error 4001 MAX_FRAGMENT_SIZE_REACHED: a fragment is larger than 50 MB"
        );
        for id in (4000..=4012).chain(4500..=4506).chain(5000..=5001) {
            assert_ne!(AckError::of(id).name, "UNKNOWN", "{id}");
        }
    }
}
