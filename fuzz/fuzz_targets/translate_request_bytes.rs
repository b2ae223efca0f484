//! The request translator on arbitrary bytes: an error or a request, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use orpipe_guest::translate::to_responses::translate_request;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(translated) = translate_request(bytes) {
        assert!(translated.body.is_object());
    }
});
