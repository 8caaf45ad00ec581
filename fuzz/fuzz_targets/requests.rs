//! Request decoding and validation on arbitrary bytes: the first byte picks the method, the
//! rest is the request body as a client would send it. Whatever the input, the checks answer
//! with `Ok` or a client error, never a panic, and the error's message stays bounded.
#![no_main]

use briefing::api::requests::{Method, check};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((first, body)) = data.split_first() else {
        return;
    };
    let method = Method::ALL[usize::from(*first) % Method::ALL.len()];
    if let Err(error) = check(method, body) {
        let status = tonic::Status::from(error);
        assert_ne!(status.code(), tonic::Code::Internal, "{status:?}");
    }
});
