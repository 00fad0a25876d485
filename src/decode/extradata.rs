//! The crate's only `unsafe` code: handing CodecPrivate to libavcodec as `extradata`.

use ffmpeg_next as ffmpeg;

/// Copies `data` into the codec context's `extradata`, zero-padded as libavcodec requires.
///
/// Called once per decoder, before it is opened; any previous extradata is freed first.
#[allow(unsafe_code)]
pub(super) fn set(ctx: &mut ffmpeg::codec::context::Context, data: &[u8]) -> Result<(), ffmpeg::Error> {
    use ffmpeg::ffi::{av_free, av_mallocz, AV_INPUT_BUFFER_PADDING_SIZE};
    let len = i32::try_from(data.len()).map_err(|_| ffmpeg::Error::InvalidData)?;
    // SAFETY: `ctx` owns a valid, not yet opened AVCodecContext (ffmpeg-next guarantees the
    // pointer). The buffer comes from av_mallocz with the required zeroed padding, is filled
    // with exactly `len` bytes, and ownership passes to the context, which frees it with
    // av_free when it is closed. Any earlier extradata was allocated the same way and is
    // freed here before being replaced.
    unsafe {
        let raw = ctx.as_mut_ptr();
        let buf = av_mallocz(data.len() + AV_INPUT_BUFFER_PADDING_SIZE as usize) as *mut u8;
        if buf.is_null() {
            return Err(ffmpeg::Error::Other { errno: libc_enomem() });
        }
        std::ptr::copy_nonoverlapping(data.as_ptr(), buf, data.len());
        if !(*raw).extradata.is_null() {
            av_free((*raw).extradata as *mut _);
        }
        (*raw).extradata = buf;
        (*raw).extradata_size = len;
    }
    Ok(())
}

fn libc_enomem() -> i32 {
    12
}
