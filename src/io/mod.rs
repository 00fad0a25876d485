//! Adapters that feed the core from I/O. They hold no parsing logic.
//!
//! Each is a [`Pull`](crate::demux::Pull) on the core's one driver: the driver calls it
//! when the input runs out (it reads once and pushes what arrived, or says to return), and
//! builds each event directly as the adapter's item, so an adapter's `next` is the
//! driver's loop with a read in it, not a second loop converting the core's answers.
//!
//! Both read by one rule ([`read_size::ReadSize`]): a read is pushed whole, its frames
//! slices of it, unless it came back much shorter than asked, when it is copied to its size;
//! the next read doubles while reads come back full and halves when they do not. Both read
//! into the same few reused buffers ([`buffers::ReadBuffers`]; the sync adapter's zeroed
//! once when allocated, the async one's never, as tokio reads into spare capacity): a fresh
//! buffer per read cost more than the copy into it (a large one is mapped anew and faults
//! in page by page), and a slowing stream lets them go. They start from different
//! sizes, for their different uses: the sync adapter (files, pipes) at 64 KiB (up to 1 MiB),
//! for throughput; the async one (many live streams, mostly idle) at 8 KiB (up to 256 KiB),
//! for memory per stream.
//!
//! When the core holds the start of a leaf (a frame's block, say) whose rest fits in the
//! next read, the sync adapter reads that rest into one buffer after a copy of the start
//! (`Demuxer::unfinished_leaf`), so the core takes the leaf as one slice instead of
//! gathering it from two reads: the start is copied rather than the whole leaf. The buffer
//! is no larger than the start (bytes that arrived) plus one read, so a declared size still
//! never makes it allocate. (The async adapter does not: the same rule there made the
//! PutMedia client, which reads its source through it, about 10% slower on loopback, for a
//! reason not yet found.)

pub(crate) mod buffers;
pub(crate) mod items;
pub(crate) mod read;
pub(crate) mod read_size;

#[cfg(feature = "tokio")]
pub(crate) mod tokio;
