//! Fuzzing harness for kinesis-video-parser: the invariant checks live in `harness.rs`,
//! which the crate's own tests include too (`tests/fuzz_regressions.rs`).
pub mod harness;
