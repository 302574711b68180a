//! Devices on the machine, through Linux's hidraw: finding headsets and lights in sysfs,
//! opening their `/dev/hidrawN` nodes, and one thread per open device that reads its
//! input reports and writes what the plugin queues for it.
//!
//! Written on hidraw and sysfs directly rather than through hidapi: hidapi 2.6's
//! pure-Rust backend (the one that needs no system library) is itself just hidraw plus
//! sysfs, but it pins nix 0.30 while the softphone's WebRTC stack pins nix 0.31, and the
//! workspace keeps one version of each crate. What is used is small and stable UAPI:
//! sysfs's `uevent` and `report_descriptor` files, and read/write on the node, where the
//! first byte of a write is the report id (0 for devices without ids), as in hidapi. As
//! with hidapi's hidraw backends (and unlike its libusb ones) the kernel's own driver
//! stays bound.

use serde::Serialize;
use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

/// The longest a device thread waits on a read before it looks at its write queue.
const READ_SLICE: Duration = Duration::from_millis(40);

/// One hidraw node as sysfs describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Found {
    /// `/dev/hidrawN`.
    pub path: String,
    pub vendor_id: u16,
    pub product_id: u16,
    /// The device's name as the kernel has it (USB manufacturer and product strings).
    pub product: String,
    /// The raw report descriptor (readable without opening the node).
    #[serde(skip)]
    pub descriptor: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    /// The node exists but this user may not open it (hidraw is root-only without the
    /// udev rule).
    #[error("{path}: permission denied (install the udev rule, then unplug and replug the device)")]
    Denied { path: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// Lists hidraw nodes. `root` is `/` except in tests of the sysfs reading.
pub struct Scanner {
    sys: PathBuf,
    dev: PathBuf,
}

impl Default for Scanner {
    fn default() -> Self {
        Scanner::new()
    }
}

/// A directory laid out like `/` (`sys/class/hidraw/<node>/device/{uevent,
/// report_descriptor}` and `dev/<node>`) to read devices from instead of the machine's:
/// for the lab test with the softphone, which runs where no hidraw device can exist.
pub const ROOT_ENV: &str = "UCDESK_HID_ROOT";

impl Scanner {
    /// The machine's devices, or those under [`ROOT_ENV`] when it is set.
    pub fn new() -> Scanner {
        match std::env::var_os(ROOT_ENV) {
            Some(root) => Scanner::at(Path::new(&root)),
            None => Scanner::at(Path::new("/")),
        }
    }

    /// A scanner reading `<root>/sys/class/hidraw` and opening `<root>/dev/hidrawN`.
    pub fn at(root: &Path) -> Scanner {
        Scanner { sys: root.join("sys/class/hidraw"), dev: root.join("dev") }
    }

    /// Every hidraw node with a readable description, in name order. A machine without
    /// hidraw (a container) has none, which is not an error.
    pub fn scan(&self) -> Vec<Found> {
        let Ok(entries) = std::fs::read_dir(&self.sys) else { return Vec::new() };
        let mut found: Vec<Found> = entries
            .filter_map(Result::ok)
            .filter_map(|e| self.describe(&e.file_name().to_string_lossy()))
            .collect();
        found.sort_by(|a, b| a.path.cmp(&b.path));
        found
    }

    fn describe(&self, node: &str) -> Option<Found> {
        let device = self.sys.join(node).join("device");
        let uevent = std::fs::read_to_string(device.join("uevent")).ok()?;
        let (vendor_id, product_id) =
            uevent.lines().find_map(|l| l.strip_prefix("HID_ID=")).and_then(parse_hid_id)?;
        let product =
            uevent.lines().find_map(|l| l.strip_prefix("HID_NAME=")).unwrap_or_default().to_string();
        let descriptor = std::fs::read(device.join("report_descriptor")).ok()?;
        Some(Found {
            path: self.dev.join(node).to_string_lossy().into_owned(),
            vendor_id,
            product_id,
            product,
            descriptor,
        })
    }

    /// Opens a node for reading and writing.
    pub fn open(&self, path: &str) -> Result<File, DeviceError> {
        OpenOptions::new().read(true).write(true).open(path).map_err(|source| match source.kind() {
            ErrorKind::PermissionDenied => DeviceError::Denied { path: path.into() },
            _ => DeviceError::Io { path: path.into(), source },
        })
    }
}

/// `HID_ID=0003:00000B0E:00000307`: bus, vendor, product.
fn parse_hid_id(text: &str) -> Option<(u16, u16)> {
    let mut parts = text.split(':');
    let _bus = parts.next()?;
    let vendor = u32::from_str_radix(parts.next()?, 16).ok()?;
    let product = u32::from_str_radix(parts.next()?, 16).ok()?;
    Some((vendor as u16, product as u16))
}

/// What a device thread tells the engine.
#[derive(Debug)]
pub enum Io {
    Report {
        path: String,
        bytes: Vec<u8>,
    },
    /// A write succeeded or failed (a light's "connected").
    Wrote {
        path: String,
        ok: bool,
    },
    /// The device went away (a read error); the thread has ended.
    Gone {
        path: String,
        reason: String,
    },
}

/// The handle the engine keeps for an open device: dropping it ends the thread.
pub struct Port {
    writes: mpsc::Sender<Vec<u8>>,
}

impl Port {
    /// Queues a write (report-id byte first).
    pub fn write(&self, bytes: Vec<u8>) {
        let _ = self.writes.send(bytes);
    }
}

/// Starts the thread for an open device; `on_io` is called from that thread.
pub fn spawn(path: String, mut file: File, on_io: impl Fn(Io) + Send + 'static) -> std::io::Result<Port> {
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    std::thread::Builder::new().name(format!("hid {path}")).spawn(move || {
        let mut buf = [0u8; 4096];
        loop {
            loop {
                match rx.try_recv() {
                    Ok(bytes) => {
                        let ok = file.write_all(&bytes).is_ok();
                        on_io(Io::Wrote { path: path.clone(), ok });
                    }
                    Err(mpsc::TryRecvError::Empty) => break,
                    // The engine dropped the port: close the device.
                    Err(mpsc::TryRecvError::Disconnected) => return,
                }
            }
            match readable(&file, READ_SLICE) {
                Ok(false) => continue,
                Ok(true) => {}
                Err(e) => return on_io(Io::Gone { path: path.clone(), reason: e.to_string() }),
            }
            match file.read(&mut buf) {
                Ok(0) => {}
                Ok(n) => on_io(Io::Report { path: path.clone(), bytes: buf[..n].to_vec() }),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return on_io(Io::Gone { path: path.clone(), reason: e.to_string() }),
            }
        }
    })?;
    Ok(Port { writes: tx })
}

/// Waits up to `timeout` for the node to have a report to read. A node whose device
/// was unplugged reports POLLHUP/POLLERR, which is an error here.
fn readable(file: &File, timeout: Duration) -> std::io::Result<bool> {
    let mut fds = libc::pollfd { fd: file.as_raw_fd(), events: libc::POLLIN, revents: 0 };
    // SAFETY: one valid pollfd for the duration of the call.
    let n = unsafe { libc::poll(&mut fds, 1, timeout.as_millis() as libc::c_int) };
    if n < 0 {
        let e = std::io::Error::last_os_error();
        return if e.kind() == ErrorKind::Interrupted { Ok(false) } else { Err(e) };
    }
    if fds.revents & (libc::POLLERR | libc::POLLHUP | libc::POLLNVAL) != 0 {
        return Err(std::io::Error::new(ErrorKind::NotConnected, "the device is gone"));
    }
    Ok(n > 0 && fds.revents & libc::POLLIN != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// sysfs as the kernel lays it out, in a temporary directory.
    #[test]
    fn sysfs_nodes_are_described_and_odd_ones_skipped() {
        let root = tempfile::tempdir().unwrap();
        let node = |name: &str, uevent: &str, rdesc: Option<&[u8]>| {
            let dir = root.path().join("sys/class/hidraw").join(name).join("device");
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("uevent"), uevent).unwrap();
            if let Some(r) = rdesc {
                std::fs::write(dir.join("report_descriptor"), r).unwrap();
            }
        };
        node(
            "hidraw0",
            "DRIVER=jabra\nHID_ID=0003:00000B0E:00000307\nHID_NAME=Jabra EVOLVE LINK MS\n",
            Some(&[5, 11]),
        );
        node("hidraw1", "HID_NAME=no id\n", Some(&[1]));
        node("hidraw2", "HID_ID=0003:0000047F:0000C053\n", None);
        let found = Scanner::at(root.path()).scan();
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!((found[0].vendor_id, found[0].product_id), (0x0b0e, 0x0307));
        assert_eq!(found[0].product, "Jabra EVOLVE LINK MS");
        assert!(found[0].path.ends_with("dev/hidraw0"));
        assert_eq!(found[0].descriptor, vec![5, 11]);
        assert!(Scanner::at(&root.path().join("nothing")).scan().is_empty());
    }
}
