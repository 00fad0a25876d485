#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    kinesis_video_parser_fuzz::harness::chunked(data);
});
