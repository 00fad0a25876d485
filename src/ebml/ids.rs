//! The element IDs RFC 8794 itself defines: the EBML header and the global elements.

use super::ElementId;

/// EBML header.
pub const EBML: ElementId = ElementId(0x1A45DFA3);
/// EBMLVersion.
pub const EBML_VERSION: ElementId = ElementId(0x4286);
/// EBMLReadVersion.
pub const EBML_READ_VERSION: ElementId = ElementId(0x42F7);
/// EBMLMaxIDLength.
pub const EBML_MAX_ID_LENGTH: ElementId = ElementId(0x42F2);
/// EBMLMaxSizeLength.
pub const EBML_MAX_SIZE_LENGTH: ElementId = ElementId(0x42F3);
/// DocType.
pub const DOC_TYPE: ElementId = ElementId(0x4282);
/// DocTypeVersion.
pub const DOC_TYPE_VERSION: ElementId = ElementId(0x4287);
/// DocTypeReadVersion.
pub const DOC_TYPE_READ_VERSION: ElementId = ElementId(0x4285);
/// Void (global filler).
pub const VOID: ElementId = ElementId(0xEC);
/// CRC-32 (global, first child of its parent).
pub const CRC32: ElementId = ElementId(0xBF);
