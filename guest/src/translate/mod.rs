//! Translation between the two vocabularies: Chat Completions (what clients speak) and
//! OpenRouter's Responses API (what orpipe sends upstream). Pure functions only.

pub(crate) mod background_task;
pub(crate) mod citations;
pub(crate) mod efforts;
pub(crate) mod fit_model;
pub(crate) mod identifiers;
pub(crate) mod image_history;
pub(crate) mod long_chats;
pub(crate) mod phase;
pub(crate) mod reasoning_default;
// Not called yet: a later issue wires it (Responses requests in, Chat Completions out).
// Kept compiled and tested meanwhile, so the dead-code lint is off for it alone.
#[allow(dead_code)]
pub(crate) mod to_chat_request;
pub mod to_chunks;
pub(crate) mod to_completion;
pub mod to_responses;
pub(crate) mod web_search;
