//! The producer side, without I/O: a Matroska source cut into a PutMedia body
//! ([`Fragmenter`]), and PutMedia's acknowledgements ([`Ack`]). The upload itself is
//! `aws::PutMediaClient` (feature `aws`).

mod ack;
mod fragmenter;

pub use ack::{Ack, AckError, AckEvent, AckLines, AckParseError};
pub use fragmenter::{Fragmenter, FragmenterError, FragmenterOptions, FragmenterStats, Piece, Timecodes};
