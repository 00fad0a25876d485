//! Tags: Tag, Targets and (recursive) SimpleTag.

use bytes::Bytes;

use crate::ebml::value;
use crate::ebml::ElementId;
use crate::mkv::ids;

/// The value of a SimpleTag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagValue {
    /// Neither TagString nor TagBinary.
    None,
    /// TagString, NULs trimmed. A zero-length TagString is normal (KVS event tags).
    String(String),
    /// TagBinary, zero-copy.
    Binary(Bytes),
}

impl TagValue {
    /// The string value, if this is a TagString.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            TagValue::String(s) => Some(s),
            _ => None,
        }
    }
}

/// A SimpleTag, with its nested SimpleTags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimpleTag {
    /// TagName, NULs trimmed.
    pub name: String,
    /// TagLanguage as written (`und` when missing).
    pub language: Option<String>,
    /// TagLanguageBCP47.
    pub language_bcp47: Option<String>,
    /// TagDefault (default true).
    pub default: bool,
    /// TagString or TagBinary.
    pub value: TagValue,
    /// Nested SimpleTags, in order.
    pub children: Vec<SimpleTag>,
}

impl SimpleTag {
    /// This tag and all nested ones, depth first, in document order.
    pub fn walk(&self) -> impl Iterator<Item = &SimpleTag> {
        let mut stack = vec![self];
        std::iter::from_fn(move || {
            let t = stack.pop()?;
            stack.extend(t.children.iter().rev());
            Some(t)
        })
    }
}

/// Targets of a Tag. Missing Targets (everything KVS writes) means the whole Segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Targets {
    /// TargetTypeValue (default 50).
    pub type_value: u64,
    /// TargetType.
    pub target_type: Option<String>,
    /// TagTrackUID values (0 or none = all tracks).
    pub track_uids: Vec<u64>,
    /// TagEditionUID values.
    pub edition_uids: Vec<u64>,
    /// TagChapterUID values.
    pub chapter_uids: Vec<u64>,
    /// TagAttachmentUID values.
    pub attachment_uids: Vec<u64>,
}

impl Default for Targets {
    fn default() -> Self {
        Targets {
            type_value: 50,
            target_type: None,
            track_uids: Vec::new(),
            edition_uids: Vec::new(),
            chapter_uids: Vec::new(),
            attachment_uids: Vec::new(),
        }
    }
}

/// One Tag element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    /// Whether a Targets element was present.
    pub has_targets: bool,
    /// Its Targets (defaults when absent).
    pub targets: Targets,
    /// Top-level SimpleTags in order.
    pub simple_tags: Vec<SimpleTag>,
    /// Byte offset of the Tag element.
    pub offset: u64,
}

/// Builds Tags from element events; nesting is followed with an explicit stack.
#[derive(Debug, Default)]
pub(crate) struct TagBuilder {
    tag: Option<Tag>,
    open: Vec<SimpleTag>,
}

impl TagBuilder {
    pub fn start(&mut self, id: ElementId, offset: u64) {
        match id {
            ids::TAG => {
                self.tag =
                    Some(Tag { has_targets: false, targets: Targets::default(), simple_tags: Vec::new(), offset });
                self.open.clear();
            }
            ids::TARGETS => {
                if let Some(t) = &mut self.tag {
                    t.has_targets = true;
                }
            }
            ids::SIMPLE_TAG => {
                self.open.push(SimpleTag {
                    name: String::new(),
                    language: None,
                    language_bcp47: None,
                    default: true,
                    value: TagValue::None,
                    children: Vec::new(),
                });
            }
            _ => {}
        }
    }

    pub fn leaf(&mut self, id: ElementId, data: &Bytes) {
        if let Some(s) = self.open.last_mut() {
            match id {
                ids::TAG_NAME => s.name = value::string(data),
                ids::TAG_LANGUAGE => s.language = Some(value::string(data)),
                ids::TAG_LANGUAGE_BCP47 => s.language_bcp47 = Some(value::string(data)),
                ids::TAG_DEFAULT => s.default = !matches!(value::uint(data), Ok(0)),
                ids::TAG_STRING => s.value = TagValue::String(value::string(data)),
                ids::TAG_BINARY => s.value = TagValue::Binary(data.clone()),
                _ => {}
            }
            return;
        }
        let Some(t) = &mut self.tag else { return };
        let u = value::uint(data).unwrap_or(0);
        match id {
            ids::TARGET_TYPE_VALUE => t.targets.type_value = u,
            ids::TARGET_TYPE => t.targets.target_type = Some(value::string(data)),
            ids::TAG_TRACK_UID => t.targets.track_uids.push(u),
            ids::TAG_EDITION_UID => t.targets.edition_uids.push(u),
            ids::TAG_CHAPTER_UID => t.targets.chapter_uids.push(u),
            ids::TAG_ATTACHMENT_UID => t.targets.attachment_uids.push(u),
            _ => {}
        }
    }

    /// A SimpleTag ended: attach it to its parent SimpleTag or to the Tag. With `keep`
    /// false (over the limit) it is dropped.
    pub fn end_simple_tag(&mut self, keep: bool) {
        let Some(done) = self.open.pop() else { return };
        if !keep {
            return;
        }
        match self.open.last_mut() {
            Some(parent) => parent.children.push(done),
            None => {
                if let Some(t) = &mut self.tag {
                    t.simple_tags.push(done)
                }
            }
        }
    }

    /// The Tag ended.
    pub fn end_tag(&mut self) -> Option<Tag> {
        while !self.open.is_empty() {
            self.end_simple_tag(true);
        }
        self.tag.take()
    }
}
