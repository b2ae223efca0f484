//! The request translator on structured, Chat-Completions-like JSON: a model, messages
//! whose fields come mostly from the words the translator knows, and any parameters.
//! Every request either translates to a Responses body or is refused with a 400.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use orpipe_fuzz::{object, value};
use orpipe_guest::translate::to_responses::translate_request;
use serde_json::Value;

#[derive(Debug)]
struct Request(Value);

impl<'a> Arbitrary<'a> for Request {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let mut request = object(u, 1)?;
        request.insert("model".into(), Value::String("openai/gpt-4o".into()));
        let len = u.int_in_range(1..=5)?;
        let mut messages = Vec::new();
        for _ in 0..len {
            let mut message = object(u, 2)?;
            if u.ratio(3, 4)? {
                let role = *u.choose(&["system", "developer", "user", "assistant", "tool"])?;
                message.insert("role".into(), Value::String(role.into()));
            }
            if u.ratio(3, 4)? {
                message.insert("content".into(), value(u, 2)?);
            }
            messages.push(Value::Object(message));
        }
        request.insert("messages".into(), Value::Array(messages));
        Ok(Request(Value::Object(request)))
    }
}

fuzz_target!(|request: Request| {
    let bytes = serde_json::to_vec(&request.0).expect("a Value serializes");
    match translate_request(&bytes) {
        Ok(translated) => {
            assert!(translated.body.get("input").is_some_and(Value::is_array));
            assert_eq!(translated.model, "openai/gpt-4o");
        }
        Err(error) => assert_eq!(error.http_status(), 400, "{error}"),
    }
});
