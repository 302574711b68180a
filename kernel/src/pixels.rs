//! Pixels that travel beside the view trees: images by content hash and the latest
//! frame of each video surface.
//!
//! Images are kept up to a byte budget; past it the oldest go first (a plugin that
//! needs one again publishes it again). Frames replace each other and carry a
//! generation so the shell re-uploads a texture only when it changed.

use std::{
    collections::{HashMap, VecDeque},
    sync::Arc,
};

/// How many bytes of encoded images the kernel keeps for the shell.
pub const IMAGE_BUDGET: usize = 64 * 1024 * 1024;

/// One RGBA picture of a surface.
#[derive(Debug)]
pub struct Frame {
    pub width: u32,
    pub height: u32,
    pub rgba: Vec<u8>,
    /// Counts up with every frame of the kernel, so a changed frame is a new number.
    pub generation: u64,
}

#[derive(Default)]
pub(crate) struct Pixels {
    images: HashMap<String, Arc<Vec<u8>>>,
    order: VecDeque<String>,
    image_bytes: usize,
    /// By `(plugin id, surface id)`.
    frames: HashMap<(String, String), Arc<Frame>>,
    generation: u64,
}

impl Pixels {
    pub(crate) fn add_image(&mut self, hash: &str, bytes: Vec<u8>) {
        if self.images.contains_key(hash) || bytes.len() > IMAGE_BUDGET {
            return;
        }
        self.image_bytes += bytes.len();
        self.images.insert(hash.to_string(), Arc::new(bytes));
        self.order.push_back(hash.to_string());
        while self.image_bytes > IMAGE_BUDGET {
            let Some(old) = self.order.pop_front() else { break };
            if let Some(b) = self.images.remove(&old) {
                self.image_bytes -= b.len();
            }
        }
    }

    pub(crate) fn image(&self, hash: &str) -> Option<Arc<Vec<u8>>> {
        self.images.get(hash).cloned()
    }

    /// Stores a frame; refuses one whose size does not match its byte count.
    pub(crate) fn set_frame(
        &mut self,
        plugin: &str,
        surface: &str,
        width: u32,
        height: u32,
        rgba: Vec<u8>,
    ) -> bool {
        if (width as usize) * (height as usize) * 4 != rgba.len() {
            return false;
        }
        self.generation += 1;
        let frame = Frame { width, height, rgba, generation: self.generation };
        self.frames.insert((plugin.to_string(), surface.to_string()), Arc::new(frame));
        true
    }

    pub(crate) fn frame(&self, plugin: &str, surface: &str) -> Option<Arc<Frame>> {
        self.frames.get(&(plugin.to_string(), surface.to_string())).cloned()
    }

    pub(crate) fn forget_plugin(&mut self, plugin: &str) {
        self.frames.retain(|(p, _), _| p != plugin);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_stay_within_the_budget_oldest_first() {
        let mut p = Pixels::default();
        let chunk = IMAGE_BUDGET / 4;
        for i in 0..5 {
            p.add_image(&format!("h{i}"), vec![0; chunk]);
        }
        assert!(p.image("h0").is_none());
        assert!(p.image("h4").is_some() && p.image("h1").is_some());
        assert!(p.image_bytes <= IMAGE_BUDGET);
    }

    #[test]
    fn frames_must_match_their_size() {
        let mut p = Pixels::default();
        assert!(!p.set_frame("video", "remote", 2, 2, vec![0; 15]));
        assert!(p.set_frame("video", "remote", 2, 2, vec![0; 16]));
        let first = p.frame("video", "remote").unwrap().generation;
        assert!(p.set_frame("video", "remote", 2, 2, vec![1; 16]));
        assert!(p.frame("video", "remote").unwrap().generation > first);
        p.forget_plugin("video");
        assert!(p.frame("video", "remote").is_none());
    }
}
