//! Answers from OpenRouter's `/chat/completions` (the chat endpoint: presets, forced
//! models, `stop`, image output, the fallback) → the Responses events and objects the
//! rest of orpipe reads. Translating into the Responses vocabulary, rather than passing
//! chat chunks through, keeps one answer path: the same ids, reasoning capture and
//! markers, error cards, usage, Open WebUI events and image handling (as the original
//! pipe did, FEATURES §5.1). Pure functions only.

mod chunk;
mod stream;
#[cfg(test)]
mod tests;
mod whole;

pub use stream::ChatEventAdapter;
pub use whole::response_from_chat_completion;
