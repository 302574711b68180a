//! Finding plugin libraries: which directories, in which order, and which files count.
//!
//! A plugin library is named `<prefix>ucdesk_plugin_<id><suffix>` (on Linux
//! `libucdesk_plugin_<id>.so`); anything else in a plugin directory is ignored, so
//! stray libraries never get loaded. The id in the name lets policy judge a file before
//! any of its code runs; the manifest inside must repeat it.

use std::path::{Path, PathBuf};
use ucdesk_plugin_api::valid_plugin_id;

/// A plugin library found on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub id: String,
    pub path: PathBuf,
}

/// What discovery found: the first library of each id, and the later ones it shadows.
#[derive(Debug, Default)]
pub struct Found {
    pub candidates: Vec<Candidate>,
    /// `(shadowed, winner)`: same id found again in a later directory.
    pub shadowed: Vec<(Candidate, PathBuf)>,
}

/// The plugin id encoded in a library file name, if it follows the convention.
pub fn plugin_id_from_file_name(name: &str) -> Option<&str> {
    let id = name
        .strip_prefix(std::env::consts::DLL_PREFIX)?
        .strip_suffix(std::env::consts::DLL_SUFFIX)?
        .strip_prefix("ucdesk_plugin_")?;
    valid_plugin_id(id).then_some(id)
}

/// The file name a plugin with `id` must have on this platform.
pub fn library_file_name(id: &str) -> String {
    format!("{}ucdesk_plugin_{id}{}", std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX)
}

/// Scans `dirs` in order (earlier wins on duplicate ids). Missing directories are
/// skipped; files within one directory are taken in name order so results are stable.
pub fn discover(dirs: &[PathBuf]) -> Found {
    let mut found = Found::default();
    let mut seen_dirs: Vec<PathBuf> = Vec::new();
    for dir in dirs {
        let canonical = dir.canonicalize().unwrap_or_else(|_| dir.clone());
        if seen_dirs.contains(&canonical) {
            continue;
        }
        seen_dirs.push(canonical);
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        let mut files: Vec<(String, PathBuf)> = entries
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file() || t.is_symlink()))
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                let id = plugin_id_from_file_name(&name)?.to_string();
                Some((id, e.path()))
            })
            .collect();
        files.sort();
        for (id, path) in files {
            let candidate = Candidate { id, path };
            match found.candidates.iter().find(|c| c.id == candidate.id) {
                Some(winner) => {
                    let winner = winner.path.clone();
                    found.shadowed.push((candidate, winner));
                }
                None => found.candidates.push(candidate),
            }
        }
    }
    found
}

/// The default search path, highest precedence first: `extra` (`--plugins`), then
/// `UCDESK_PLUGIN_PATH` (colon-separated), the user's plugin directory, the directory of
/// the running executable (where cargo puts the bundled plugins), and the package's
/// `../lib/ucdesk/plugins` from there.
pub fn search_path(
    extra: &[PathBuf],
    env: Option<&str>,
    user: &Path,
    exe_dir: Option<&Path>,
) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = extra.to_vec();
    if let Some(env) = env {
        dirs.extend(std::env::split_paths(env).filter(|p| !p.as_os_str().is_empty()));
    }
    dirs.push(user.to_path_buf());
    if let Some(exe) = exe_dir {
        dirs.push(exe.to_path_buf());
        // The package's place: /usr/lib/ucdesk/plugins beside /usr/bin/ucdesk (relative,
        // so an unpacked package in any root finds its own).
        if let Some(prefix) = exe.parent() {
            dirs.push(prefix.join(PACKAGED_PLUGINS));
        }
    }
    dirs
}

/// Where the package installs the bundled plugins, relative to the prefix above the
/// executable's directory (`/usr`).
pub const PACKAGED_PLUGINS: &str = "lib/ucdesk/plugins";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_conventional_names_count() {
        let ok = library_file_name("hello");
        assert_eq!(plugin_id_from_file_name(&ok), Some("hello"));
        for stray in [
            "libhello.so".to_string(),
            format!("{}ucdesk_plugin_Bad{}", std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX),
            format!("{ok}.sig"),
            format!("{}ucdesk_plugin_{}", std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX),
        ] {
            assert_eq!(plugin_id_from_file_name(&stray), None, "{stray}");
        }
    }

    #[test]
    fn earlier_directories_shadow_later_ones() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        for dir in [a.path(), b.path()] {
            std::fs::write(dir.join(library_file_name("x")), b"").unwrap();
        }
        std::fs::write(b.path().join(library_file_name("y")), b"").unwrap();
        std::fs::write(b.path().join("libother.so"), b"").unwrap();
        let found = discover(&[a.path().into(), b.path().into(), a.path().into()]);
        let ids: Vec<_> =
            found.candidates.iter().map(|c| (c.id.as_str(), c.path.parent().unwrap())).collect();
        assert_eq!(ids, vec![("x", a.path()), ("y", b.path())]);
        assert_eq!(found.shadowed.len(), 1);
        assert_eq!(found.shadowed[0].1, a.path().join(library_file_name("x")));
    }
}
