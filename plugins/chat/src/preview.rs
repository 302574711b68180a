//! Image previews for the conversation: a small JPEG of an attached picture, made
//! before its upload and carried in the message (XEP-0264 style).

use std::path::Path;

/// A preview of an image file: fits 160x160, JPEG, as a data URI; None for other files
/// or when the image cannot be read. Decoding a photo takes tens of milliseconds: call
/// this off the engine (the upload runs it on the blocking pool).
pub fn thumbnail(path: &Path, mime: &str) -> Option<String> {
    use base64::Engine as _;
    if !matches!(mime, "image/png" | "image/jpeg" | "image/gif" | "image/webp") {
        return None;
    }
    // A decompression bomb is refused by the decoder's default limits.
    let img = image::ImageReader::open(path).ok()?.with_guessed_format().ok()?.decode().ok()?;
    let small = img.thumbnail(160, 160).to_rgb8();
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 70).encode_image(&small).ok()?;
    Some(format!("data:image/jpeg;base64,{}", base64::engine::general_purpose::STANDARD.encode(&jpeg)))
}
