//! Generated images on their way to the client (FEATURES §2.13, §5.2): always in the form
//! OpenRouter's Chat Completions API uses (`images: [{"type": "image_url", …}]`, which Open
//! WebUI stores as files of the chat), and, by a setting, also as a Markdown image in the
//! text for clients that only render text. An image over the size cap is left out with a
//! note instead, so one huge answer cannot flood a client or a chat history. Pure.

use super::endpoint::wants_images;
use crate::catalog::entry::CatalogEntry;
use crate::errors::GatewayError;
use crate::openai::ChatImage;
use crate::responses::ImageCall;
use crate::setting_values::Reader;
use crate::settings::SettingsError;
use serde_json::{Map, Value, json};

pub mod keys {
    pub const MARKDOWN: &str = "image_output_markdown";
    pub const MAX_MB: &str = "image_output_max_mb";
    pub const AUTO: &str = "image_output_auto";
}

/// Default cap on one generated image, in MiB of data URL (about 7.5 MiB of image data).
pub const DEFAULT_MAX_MB: u64 = 10;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageOutput {
    /// Also put each image in the text as `![Generated image N](data:…)`. Off by
    /// default: the data then lives in the chat's text and comes back with every turn.
    pub markdown: bool,
    /// Largest data URL sent; larger ones are replaced by a note.
    pub max_bytes: usize,
    /// Image-output models get `modalities` asking for images when the client sent none
    /// (Open WebUI never does).
    pub auto_modalities: bool,
}

impl Default for ImageOutput {
    fn default() -> Self {
        Self {
            markdown: false,
            max_bytes: mib(DEFAULT_MAX_MB),
            auto_modalities: true,
        }
    }
}

fn mib(megabytes: u64) -> usize {
    usize::try_from(megabytes.saturating_mul(1024 * 1024)).unwrap_or(usize::MAX)
}

impl ImageOutput {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let read = Reader::new(lookup);
        Ok(Self {
            markdown: read.flag(keys::MARKDOWN, false)?,
            max_bytes: mib(read.number_in(keys::MAX_MB, DEFAULT_MAX_MB, 1..=64)?),
            auto_modalities: read.flag(keys::AUTO, true)?,
        })
    }
}

/// Checks and completes a request's output `modalities` against the model's catalog
/// entry: images asked of a model that cannot make them are a clear 400; an image model
/// asked nothing gets `["image", "text"]` (`["image"]` if it writes no text), except for
/// background tasks (a chat title is not an image).
pub fn settle_modalities(
    request: &mut Map<String, Value>,
    entry: Option<&CatalogEntry>,
    policy: &ImageOutput,
    background_task: bool,
) -> Result<(), GatewayError> {
    let Some(entry) = entry else {
        // An unknown model: OpenRouter decides.
        return Ok(());
    };
    let makes_images = entry.produces("image");
    if wants_images(request) {
        if !makes_images {
            return Err(GatewayError::InvalidRequest(format!(
                "{} does not generate images (its catalog entry lists no image output); remove \"image\" from `modalities` or choose an image model",
                entry.id
            )));
        }
        return Ok(());
    }
    let unset = request.get("modalities").is_none_or(Value::is_null);
    // Routers (`openrouter/auto`) list image output too, but asking them for images
    // would send every chat they route to an image model's endpoint.
    let router = entry.id.starts_with("openrouter/");
    if makes_images && unset && policy.auto_modalities && !background_task && !router {
        let modalities = if entry.produces("text") {
            json!(["image", "text"])
        } else {
            json!(["image"])
        };
        request.insert("modalities".into(), modalities);
    }
    Ok(())
}

/// What the client gets for one generated image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShownImage {
    /// The image for `images` (none when it was left out or failed).
    pub image: Option<ChatImage>,
    /// Text for the answer: the Markdown image, or the note saying why it is missing.
    pub text: Option<String>,
}

impl ImageOutput {
    /// The `number`th image of the answer (from 1), as the client should get it.
    pub fn show(&self, call: &ImageCall, number: usize) -> ShownImage {
        let Some(result) = call.result().filter(|_| !call.failed()) else {
            return ShownImage {
                image: None,
                text: Some(format!("*(Image {number} could not be generated.)*")),
            };
        };
        let url = data_url(result, call.output_format());
        if url.len() > self.max_bytes {
            return ShownImage {
                image: None,
                text: Some(format!(
                    "*(Image {number} was left out: {} is over the {} limit for one image.)*",
                    megabytes(url.len()),
                    megabytes(self.max_bytes)
                )),
            };
        }
        let text = self
            .markdown
            .then(|| format!("![Generated image {number}]({url})"));
        ShownImage {
            image: Some(ChatImage::new(url)),
            text,
        }
    }
}

/// `result` as a URL: data and web URLs as they are, bare base64 as a data URL of its
/// format (PNG when unsaid, the Responses API's default).
fn data_url(result: &str, format: Option<&str>) -> String {
    if result.starts_with("data:") || result.starts_with("https://") {
        return result.to_owned();
    }
    let mime = match format.unwrap_or("png") {
        "jpeg" | "jpg" => "image/jpeg",
        "webp" => "image/webp",
        "gif" => "image/gif",
        _ => "image/png",
    };
    format!("data:{mime};base64,{result}")
}

fn megabytes(bytes: usize) -> String {
    format!("{:.1} MB", bytes as f64 / 1_000_000.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn call(value: serde_json::Value) -> ImageCall {
        serde_json::from_value(value).expect("an image call")
    }

    fn url_of(shown: &ShownImage) -> Option<&str> {
        match &shown.image {
            Some(ChatImage::ImageUrl { image_url }) => Some(&image_url.url),
            None => None,
        }
    }

    #[test]
    fn bare_base64_becomes_a_data_url_of_its_format_and_data_urls_stay() {
        let policy = ImageOutput::default();
        let jpeg = policy.show(&call(json!({"result": "QUJD", "output_format": "jpeg"})), 1);
        assert_eq!(url_of(&jpeg), Some("data:image/jpeg;base64,QUJD"));
        assert_eq!(jpeg.text, None, "no Markdown unless asked");
        let png = policy.show(&call(json!({"result": "data:image/png;base64,QUJD"})), 2);
        assert_eq!(url_of(&png), Some("data:image/png;base64,QUJD"));
    }

    #[test]
    fn markdown_is_added_when_asked() {
        let policy = ImageOutput {
            markdown: true,
            ..ImageOutput::default()
        };
        let shown = policy.show(&call(json!({"result": "QUJD"})), 3);
        assert_eq!(
            shown.text.as_deref(),
            Some("![Generated image 3](data:image/png;base64,QUJD)")
        );
        assert!(shown.image.is_some());
    }

    #[test]
    fn an_image_over_the_cap_is_left_out_with_a_note() {
        let policy = ImageOutput {
            markdown: true,
            max_bytes: 30,
            ..ImageOutput::default()
        };
        let shown = policy.show(&call(json!({"result": "A".repeat(40)})), 1);
        assert_eq!(shown.image, None);
        let note = shown.text.unwrap_or_default();
        assert!(note.contains("Image 1 was left out"), "{note}");
        assert!(!note.contains("AAAA"), "no image data in the note: {note}");
    }

    fn entry(outputs: &[&str]) -> CatalogEntry {
        serde_json::from_value(
            json!({"id": "g/img", "architecture": {"output_modalities": outputs}}),
        )
        .expect("an entry")
    }

    fn settled(
        request: Value,
        entry: Option<&CatalogEntry>,
        task: bool,
    ) -> Result<Value, GatewayError> {
        let mut request = request.as_object().cloned().unwrap_or_default();
        settle_modalities(&mut request, entry, &ImageOutput::default(), task)?;
        Ok(request.get("modalities").cloned().unwrap_or(Value::Null))
    }

    #[test]
    fn image_models_get_image_modalities_unless_told_otherwise() {
        let both = entry(&["image", "text"]);
        let only = entry(&["image"]);
        let text = entry(&["text"]);
        assert_eq!(
            settled(json!({}), Some(&both), false).ok(),
            Some(json!(["image", "text"]))
        );
        assert_eq!(
            settled(json!({}), Some(&only), false).ok(),
            Some(json!(["image"]))
        );
        assert_eq!(
            settled(json!({}), Some(&both), true).ok(),
            Some(Value::Null),
            "tasks stay text"
        );
        assert_eq!(
            settled(json!({"modalities": ["text"]}), Some(&both), false).ok(),
            Some(json!(["text"]))
        );
        assert_eq!(
            settled(json!({}), Some(&text), false).ok(),
            Some(Value::Null)
        );
        assert_eq!(
            settled(json!({"modalities": ["image"]}), None, false).ok(),
            Some(json!(["image"]))
        );
        let refused = settled(json!({"modalities": ["image", "text"]}), Some(&text), false);
        assert!(refused.is_err_and(|e| e.to_string().contains("does not generate images")));
    }

    #[test]
    fn settings_are_read_and_checked() {
        let policy = ImageOutput::from_lookup(|k| match k {
            keys::MARKDOWN => Some("on".into()),
            keys::MAX_MB => Some("2".into()),
            _ => None,
        })
        .expect("valid");
        assert!(policy.markdown && policy.auto_modalities);
        assert_eq!(policy.max_bytes, 2 * 1024 * 1024);
        assert!(ImageOutput::from_lookup(|k| (k == keys::MAX_MB).then(|| "0".into())).is_err());
        assert!(ImageOutput::from_lookup(|k| (k == keys::MAX_MB).then(|| "65".into())).is_err());
    }

    #[test]
    fn a_failed_or_empty_image_says_so() {
        let policy = ImageOutput::default();
        for value in [
            json!({"status": "failed", "result": "QUJD"}),
            json!({"result": ""}),
            json!({}),
        ] {
            let shown = policy.show(&call(value), 1);
            assert_eq!(shown.image, None);
            assert!(
                shown
                    .text
                    .is_some_and(|t| t.contains("could not be generated"))
            );
        }
    }
}
