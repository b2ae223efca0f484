//! Translation between the two vocabularies: Chat Completions (what clients speak) and
//! OpenRouter's Responses API (what orpipe sends upstream). Pure functions only.

pub(crate) mod background_task;
pub(crate) mod citations;
pub(crate) mod efforts;
pub(crate) mod endpoint;
pub(crate) mod fit_model;
pub mod from_chat;
pub(crate) mod identifiers;
pub(crate) mod image_history;
pub(crate) mod image_output;
pub(crate) mod long_chats;
pub(crate) mod phase;
pub(crate) mod provider_headers;
pub(crate) mod reasoning_default;
pub(crate) mod server_tools;
pub(crate) mod to_chat_request;
pub mod to_chunks;
pub(crate) mod to_completion;
pub mod to_responses;
pub(crate) mod web_search;
