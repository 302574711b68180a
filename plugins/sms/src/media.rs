//! An MMS's files before they go: the manual's limits (10 files, 500 KB of media, the
//! supported types), and JPEG and PNG pictures recompressed, and scaled down when
//! that is not enough, so a photo larger than the whole budget still goes. The
//! prepared copies are written to the outgoing folder; the user's files are never
//! touched.
//!
//! CPU-heavy (decoding a 12-megapixel photo and encoding it a few times takes about a
//! second): run it on the blocking pool, never on the engine's task.

use std::path::{Path, PathBuf};
use ucdesk_sdk::contract::sms::{MAX_FILES, MAX_MEDIA_BYTES};

/// The manual's pop-up when files are over the limits.
pub const OVER_LIMIT: &str = "Maximum size of attached files for MMS reached";

/// What MMS carries (by extension): pictures, audio, video, contact and calendar
/// cards, text and PDF, the types carriers' MMS relays accept.
const SUPPORTED: &[(&str, &str)] = &[
    ("jpg", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("png", "image/png"),
    ("gif", "image/gif"),
    ("bmp", "image/bmp"),
    ("mp3", "audio/mpeg"),
    ("m4a", "audio/mp4"),
    ("amr", "audio/amr"),
    ("wav", "audio/wav"),
    ("ogg", "audio/ogg"),
    ("mp4", "video/mp4"),
    ("3gp", "video/3gpp"),
    ("mov", "video/quicktime"),
    ("vcf", "text/vcard"),
    ("ics", "text/calendar"),
    ("txt", "text/plain"),
    ("pdf", "application/pdf"),
];

/// The smallest a recompressed picture may get on its longest side before we give up.
const MIN_SIDE: u32 = 320;
/// The least budget a picture is recompressed into.
const MIN_SHARE: u64 = 8 * 1024;
/// No picture goes larger than this on its longest side: phones show no more.
const MAX_SIDE: u32 = 2048;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MediaError {
    #[error("{OVER_LIMIT}: at most {MAX_FILES} files per message ({0} chosen)")]
    TooManyFiles(usize),
    #[error("{OVER_LIMIT}: {name} is {kb} KB; at most 500 KB of media per message")]
    TooLarge { name: String, kb: u64 },
    #[error("{OVER_LIMIT}: the files come to {kb} KB; at most 500 KB of media per message")]
    TotalTooLarge { kb: u64 },
    #[error("{0} is not a file type MMS can carry (pictures, audio, video, vCard, calendar, text, PDF)")]
    Unsupported(String),
    #[error("cannot read {0}")]
    Unreadable(String),
    #[error("cannot prepare {name}: {why}")]
    Failed { name: String, why: String },
}

/// One file ready to upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    pub path: PathBuf,
    pub name: String,
    pub mime: String,
    pub size: u64,
    /// Re-encoded to fit (and the size before).
    pub recompressed: Option<u64>,
}

/// The file name extensions MMS carries (what the attach dialog lists).
pub fn extensions() -> impl Iterator<Item = &'static str> {
    SUPPORTED.iter().map(|(e, _)| *e)
}

/// The content type of a supported file name; None: MMS does not carry it.
pub fn mime_of(name: &str) -> Option<&'static str> {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase())?;
    SUPPORTED.iter().find(|(e, _)| *e == ext).map(|(_, m)| *m)
}

fn name_of(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "file".into())
}

/// Checks the files and writes what goes into `out_dir` (pictures recompressed when
/// the whole does not fit in 500 KB).
pub fn prepare(files: &[PathBuf], out_dir: &Path) -> Result<Vec<Prepared>, MediaError> {
    if files.len() > MAX_FILES {
        return Err(MediaError::TooManyFiles(files.len()));
    }
    let mut items = Vec::new();
    for path in files {
        let name = name_of(path);
        let mime = mime_of(&name).ok_or_else(|| MediaError::Unsupported(name.clone()))?;
        let size =
            std::fs::metadata(path).map_err(|_| MediaError::Unreadable(path.display().to_string()))?.len();
        items.push((path, name, mime, size));
    }
    let picture = |mime: &str| matches!(mime, "image/jpeg" | "image/png");
    // What cannot be made smaller takes its share first.
    let fixed: u64 = items.iter().filter(|i| !picture(i.2)).map(|i| i.3).sum();
    if let Some(big) = items.iter().find(|i| !picture(i.2) && i.3 > MAX_MEDIA_BYTES) {
        return Err(MediaError::TooLarge { name: big.1.clone(), kb: big.3.div_ceil(1024) });
    }
    if fixed > MAX_MEDIA_BYTES {
        return Err(MediaError::TotalTooLarge { kb: fixed.div_ceil(1024) });
    }
    let pictures: u64 = items.iter().filter(|i| picture(i.2)).map(|i| i.3).sum();
    let budget = MAX_MEDIA_BYTES - fixed;
    // Every picture needs some room even at its smallest.
    let count = items.iter().filter(|i| picture(i.2)).count() as u64;
    if fixed + pictures > MAX_MEDIA_BYTES && budget < count * MIN_SHARE {
        return Err(MediaError::TotalTooLarge { kb: (fixed + count * MIN_SHARE).div_ceil(1024) });
    }
    std::fs::create_dir_all(out_dir)
        .map_err(|e| MediaError::Failed { name: "the outgoing folder".into(), why: e.to_string() })?;
    let mut out = Vec::new();
    for (i, (path, name, mime, size)) in items.into_iter().enumerate() {
        let target = out_dir.join(format!("{i}-{}", ucdesk_xmpp::transfer::safe_name(&name)));
        let fail = |why: String| MediaError::Failed { name: name.clone(), why };
        if !picture(mime) || fixed + pictures <= MAX_MEDIA_BYTES {
            std::fs::copy(path, &target).map_err(|e| fail(e.to_string()))?;
            out.push(Prepared { path: target, name, mime: mime.to_string(), size, recompressed: None });
            continue;
        }
        // Each picture gets the budget in proportion to its size, with some room for
        // the container's overhead.
        let share = (budget as u128 * size as u128 / pictures.max(1) as u128) as u64;
        let share = share.saturating_sub(1024).max(MIN_SHARE);
        let bytes = std::fs::read(path).map_err(|_| MediaError::Unreadable(path.display().to_string()))?;
        let (data, mime, name) = fit(&bytes, mime, &name, share).map_err(fail)?;
        let target = out_dir.join(format!("{i}-{}", ucdesk_xmpp::transfer::safe_name(&name)));
        std::fs::write(&target, &data)
            .map_err(|e| MediaError::Failed { name: name.clone(), why: e.to_string() })?;
        out.push(Prepared {
            path: target,
            name,
            mime: mime.to_string(),
            size: data.len() as u64,
            recompressed: Some(size),
        });
    }
    // The shares round down and leave room: the whole is within the limit, checked.
    let total: u64 = out.iter().map(|p| p.size).sum();
    if total > MAX_MEDIA_BYTES {
        return Err(MediaError::TotalTooLarge { kb: total.div_ceil(1024) });
    }
    Ok(out)
}

/// A picture re-encoded into at most `budget` bytes: the highest JPEG quality that fits
/// at full size (up to [`MAX_SIDE`]), else scaled down step by step. A PNG with
/// transparency stays a PNG (scaled); one without becomes a JPEG, as photos are.
pub fn fit(
    bytes: &[u8],
    mime: &str,
    name: &str,
    budget: u64,
) -> Result<(Vec<u8>, &'static str, String), String> {
    use image::GenericImageView;
    // A decompression bomb is refused by the decoder's default limits.
    let img = image::load_from_memory(bytes).map_err(|e| format!("not a readable picture: {e}"))?;
    let transparent =
        mime == "image/png" && img.color().has_alpha() && img.to_rgba8().pixels().any(|p| p.0[3] < 255);
    let (w, h) = img.dimensions();
    let mut side = w.max(h).min(MAX_SIDE);
    loop {
        let scaled = if side < w.max(h) {
            img.resize(side, side, image::imageops::FilterType::Triangle)
        } else {
            img.clone()
        };
        if transparent {
            let mut png = Vec::new();
            scaled
                .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
                .map_err(|e| e.to_string())?;
            if png.len() as u64 <= budget {
                return Ok((png, "image/png", name.to_string()));
            }
        } else {
            let rgb = scaled.to_rgb8();
            let encode = |q: u8| -> Result<Vec<u8>, String> {
                let mut out = Vec::new();
                image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, q)
                    .encode_image(&rgb)
                    .map_err(|e| e.to_string())?;
                Ok(out)
            };
            // The best quality that fits: a binary search over 40..=90.
            let (mut lo, mut hi, mut best) = (40u8, 90u8, None);
            while lo <= hi {
                let q = lo + (hi - lo) / 2;
                let data = encode(q)?;
                if data.len() as u64 <= budget {
                    best = Some(data);
                    lo = q + 1;
                } else {
                    hi = q - 1;
                }
            }
            if let Some(data) = best {
                let stem = name.rsplit_once('.').map(|(s, _)| s).unwrap_or(name);
                return Ok((data, "image/jpeg", format!("{stem}.jpg")));
            }
        }
        if side <= MIN_SIDE {
            return Err(format!("it does not fit in {} KB even at {side} pixels", budget / 1024));
        }
        side = (side * 3 / 4).max(MIN_SIDE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    /// A noisy photo-like picture: JPEG at quality 95 makes it several megabytes.
    pub fn photo(w: u32, h: u32) -> Vec<u8> {
        let mut seed = 0x2545_f491_u32;
        let img = image::RgbImage::from_fn(w, h, |x, y| {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            let n = (seed & 0x3f) as u8;
            image::Rgb([(x * 255 / w) as u8 ^ n, (y * 255 / h) as u8 ^ n, 128 ^ n])
        });
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 95).encode_image(&img).unwrap();
        out
    }

    #[test]
    fn limits_are_the_manuals() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let eleven: Vec<PathBuf> = (0..11).map(|i| write(dir.path(), &format!("{i}.txt"), b"x")).collect();
        assert_eq!(prepare(&eleven, &out), Err(MediaError::TooManyFiles(11)));
        let big = write(dir.path(), "big.pdf", &vec![0u8; 501 * 1024]);
        let e = prepare(&[big], &out).unwrap_err();
        assert!(e.to_string().starts_with(OVER_LIMIT), "{e}");
        let exe = write(dir.path(), "tool.exe", b"MZ");
        assert_eq!(prepare(&[exe], &out), Err(MediaError::Unsupported("tool.exe".into())));
        let ten: Vec<PathBuf> =
            (0..10).map(|i| write(dir.path(), &format!("{i}.vcf"), b"BEGIN:VCARD")).collect();
        assert_eq!(prepare(&ten, &out).unwrap().len(), 10);
    }

    #[test]
    fn a_large_photo_is_recompressed_under_the_budget_and_still_decodes() {
        let dir = tempfile::tempdir().unwrap();
        let jpeg = photo(1600, 1200);
        assert!(jpeg.len() > 1_000_000, "{}", jpeg.len());
        let src = write(dir.path(), "photo.jpeg", &jpeg);
        let note = write(dir.path(), "note.txt", &vec![b'a'; 100 * 1024]);
        let done = prepare(&[note, src], &dir.path().join("out")).unwrap();
        let total: u64 = done.iter().map(|p| p.size).sum();
        assert!(total <= MAX_MEDIA_BYTES, "{total}");
        let pic = &done[1];
        assert_eq!((pic.name.as_str(), pic.mime.as_str()), ("photo.jpg", "image/jpeg"));
        assert_eq!(pic.recompressed, Some(jpeg.len() as u64));
        let back = image::open(&pic.path).unwrap();
        assert!(back.width() >= 320);
        // The user's file is untouched.
        assert_eq!(std::fs::read(dir.path().join("photo.jpeg")).unwrap(), jpeg);
    }

    #[test]
    fn a_transparent_png_stays_a_png() {
        let img =
            image::RgbaImage::from_fn(400, 300, |x, y| image::Rgba([x as u8, y as u8, 0, (x % 256) as u8]));
        let mut png = Vec::new();
        img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png).unwrap();
        let (data, mime, name) = fit(&png, "image/png", "logo.png", 60 * 1024).unwrap();
        assert_eq!((mime, name.as_str()), ("image/png", "logo.png"));
        assert!(data.len() <= 60 * 1024);
    }
}
