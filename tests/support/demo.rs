//! The first run's demo lab (tests/lab/demo.sh), as `./run.sh` starts it.

use crate::Profile;
use std::path::Path;
use std::process::Command;

/// The first run's demo lab (tests/lab/demo.sh): Kamailio and Prosody with their bots,
/// on the demo's fixed ports, stopped when dropped.
pub struct DemoLab {
    dir: tempfile::TempDir,
}

fn demo_sh(args: &[&Path]) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("lab/demo.sh");
    let out = Command::new(script).args(args).output().expect("demo.sh runs");
    assert!(out.status.success(), "demo.sh {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

impl DemoLab {
    pub fn start() -> DemoLab {
        let dir = tempfile::tempdir().expect("temp dir");
        demo_sh(&[Path::new("start"), dir.path()]);
        DemoLab { dir }
    }

    /// Logs `p` in as the demo user (license, accounts, passwords), as `./run.sh` does.
    pub fn log_in(&self, p: &Profile) {
        demo_sh(&[Path::new("profile"), self.dir.path(), p.home.path(), &crate::target_dir()]);
    }
}

impl Drop for DemoLab {
    fn drop(&mut self) {
        demo_sh(&[Path::new("stop"), self.dir.path()]);
    }
}
