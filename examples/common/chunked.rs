//! A `std::io::Read` over memory that returns at most 64 KiB per call: the "streamed" input
//! of the `throughput` example and of `benches/parse.rs`.

/// Reads the slice it holds, at most 64 KiB per call.
pub struct Chunked<'a>(pub &'a [u8]);

impl std::io::Read for Chunked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(64 * 1024).min(self.0.len());
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}
