//! Translation between the two vocabularies: Chat Completions (what clients speak) and
//! OpenRouter's Responses API (what orpipe sends upstream). Pure functions only.

pub mod background_task;
pub mod citations;
pub mod efforts;
pub mod fit_model;
pub mod phase;
pub mod to_chat_request;
pub mod to_chunks;
pub mod to_completion;
pub mod to_responses;
