//! Test only: misbehaviour on demand, so end-to-end tests can show that the host's sandbox
//! stops a looping or memory-hungry instance and keeps serving the others. Compiled only
//! with the cargo feature `test-faults` (the test guest host/build.rs builds beside the
//! shipped one), so the shipped component cannot contain these routes.

use super::http_io::ResponseWriter;
use super::wasi::http::types::ResponseOutparam;
use crate::routes::Fault;

/// Never returns normally: the host's CPU budget or memory cap ends the instance.
pub fn run(fault: Fault, out: ResponseOutparam) -> ! {
    match fault {
        Fault::Loop => spin(),
        Fault::StreamThenLoop => {
            // Kept alive while spinning, so the body is neither finished nor dropped.
            let _writer = ResponseWriter::start(out, 200, &[("content-type", "text/event-stream")])
                .map(|mut writer| {
                    let _ = writer.write(b"data: {\"fault\":\"partial answer\"}\n\n");
                    writer
                });
            spin()
        }
        Fault::Alloc => {
            let mut hoard: Vec<Vec<u8>> = Vec::new();
            loop {
                // Filled, so the pages are really touched.
                hoard.push(vec![0xA5; 1 << 20]);
                std::hint::black_box(&hoard);
            }
        }
    }
}

/// No host calls inside: only the epoch check can stop it.
fn spin() -> ! {
    let mut counter = 0_u64;
    loop {
        counter = std::hint::black_box(counter.wrapping_add(1));
    }
}
