//! The GPU side of the pictures plugins publish: decoded images by hash (decoded once,
//! kept while the shell runs) and one texture per video surface, re-uploaded only when
//! the kernel has a newer frame.

use crate::render::Pictures;
use eframe::egui::{self, ColorImage, TextureHandle, TextureOptions};
use std::collections::HashMap;
use ucdesk_kernel::Kernel;

pub struct KernelPictures {
    kernel: Kernel,
    /// `None`: the bytes did not decode (logged once).
    images: HashMap<String, Option<TextureHandle>>,
    frames: HashMap<(String, String), (u64, TextureHandle)>,
}

impl KernelPictures {
    pub fn new(kernel: Kernel) -> Self {
        KernelPictures { kernel, images: HashMap::new(), frames: HashMap::new() }
    }
}

fn decode(bytes: &[u8]) -> Result<ColorImage, image::ImageError> {
    let rgba = image::load_from_memory(bytes)?.to_rgba8();
    let size = [rgba.width() as usize, rgba.height() as usize];
    Ok(ColorImage::from_rgba_unmultiplied(size, rgba.as_raw()))
}

impl Pictures for KernelPictures {
    fn image(&mut self, ctx: &egui::Context, hash: &str) -> Option<TextureHandle> {
        if let Some(t) = self.images.get(hash) {
            return t.clone();
        }
        // Not published yet: ask again next frame (not cached as missing).
        let bytes = self.kernel.image(hash)?;
        let texture = match decode(&bytes) {
            Ok(img) => Some(ctx.load_texture(format!("image:{hash}"), img, TextureOptions::LINEAR)),
            Err(e) => {
                tracing::warn!("image {hash} does not decode: {e}");
                None
            }
        };
        self.images.insert(hash.to_string(), texture.clone());
        texture
    }

    fn frame(&mut self, ctx: &egui::Context, plugin: &str, surface: &str) -> Option<TextureHandle> {
        let frame = self.kernel.frame(plugin, surface)?;
        let key = (plugin.to_string(), surface.to_string());
        if let Some((generation, tex)) = self.frames.get_mut(&key) {
            if *generation != frame.generation {
                let img = ColorImage::from_rgba_unmultiplied(
                    [frame.width as usize, frame.height as usize],
                    &frame.rgba,
                );
                tex.set(img, TextureOptions::LINEAR);
                *generation = frame.generation;
            }
            return Some(tex.clone());
        }
        let img =
            ColorImage::from_rgba_unmultiplied([frame.width as usize, frame.height as usize], &frame.rgba);
        let tex = ctx.load_texture(format!("surface:{plugin}/{surface}"), img, TextureOptions::LINEAR);
        self.frames.insert(key, (frame.generation, tex.clone()));
        Some(tex)
    }
}
