//! The SSE decoder (alone, and inside the stream pipeline) on arbitrary bytes in arbitrary
//! pieces: it never panics, and the events and frames do not depend on where the network
//! cut the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use orpipe_guest::openai::Frames;
use orpipe_guest::pipeline::StreamPipeline;
use orpipe_guest::sse::{SseDecoder, SseEvent};
use orpipe_guest::translate::to_chunks::{ChunkTranslator, StreamContext};

fn decode<'a>(pieces: impl Iterator<Item = &'a [u8]>) -> Vec<SseEvent> {
    let mut decoder = SseDecoder::new();
    let mut events = Vec::new();
    for piece in pieces {
        decoder.push(piece);
        // Inputs stay far below the event size limit, so no read can fail.
        while let Some(event) = decoder.next_event().expect("no oversize event") {
            events.push(event);
        }
    }
    events.extend(decoder.finish());
    events
}

fuzz_target!(|input: (Vec<u8>, Vec<u8>)| {
    let (bytes, cuts) = input;
    let whole = decode(std::iter::once(bytes.as_slice()));
    let mut pieces = Vec::new();
    let mut rest = bytes.as_slice();
    for cut in cuts.iter().map(|c| usize::from(*c % 16)) {
        let (piece, tail) = rest.split_at(cut.min(rest.len()));
        pieces.push(piece);
        rest = tail;
    }
    pieces.push(rest);
    let split_pieces = pieces.clone();
    let split = decode(pieces.into_iter());
    assert_eq!(whole, split, "events depend on where the bytes were cut");

    // A tiny limit exercises the oversize path; it only has to stay panic-free.
    let mut small = SseDecoder::with_limit(8);
    small.push(&bytes);
    for _ in 0..bytes.len() + 1 {
        if let Ok(None) = small.next_event() {
            break;
        }
    }
    let _ = small.finish();

    // The whole answer pipeline on the same bytes: its frames do not depend on the cuts.
    let frames = |pieces: &[&[u8]]| {
        let mut pipeline = StreamPipeline::new(ChunkTranslator::new(StreamContext {
            model: "m".into(),
            created: 0,
            fallback_id: "f".into(),
            error_id: "e".into(),
            timestamp: "t".into(),
        }));
        let mut out = Frames::default();
        for piece in pieces {
            out.append(&mut pipeline.push(piece));
        }
        out.append(&mut pipeline.finish());
        out
    };
    assert_eq!(frames(&[bytes.as_slice()]), frames(&split_pieces));
});
