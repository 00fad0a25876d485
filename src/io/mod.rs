//! Adapters that feed the core from I/O. They hold no parsing logic.

pub(crate) mod items;
pub(crate) mod read;

#[cfg(feature = "tokio")]
pub(crate) mod tokio;
