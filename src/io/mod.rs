//! Adapters that feed the core from I/O. They hold no parsing logic.

pub(crate) mod read;
