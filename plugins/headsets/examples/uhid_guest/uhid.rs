//! The device side of Linux's uhid (`/dev/uhid`, `linux/uhid.h`): creates a HID device
//! from a report descriptor, sends its input reports, and reads what the host writes to
//! it. The kernel then treats it like a plugged-in USB device: its HID driver binds and
//! a real `/dev/hidrawN` appears, which the plugin opens as it would a real one.
//!
//! Hand-written because the Rust uhid crates are unmaintained and this is three packed
//! structs; the layout is the kernel's UAPI (stable since Linux 3.15's CREATE2/INPUT2).

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};

const UHID_DESTROY: u32 = 1;
const UHID_OUTPUT: u32 = 6;
const UHID_GET_REPORT: u32 = 9;
const UHID_GET_REPORT_REPLY: u32 = 10;
const UHID_CREATE2: u32 = 11;
const UHID_INPUT2: u32 = 12;
const UHID_SET_REPORT: u32 = 13;
const UHID_SET_REPORT_REPLY: u32 = 14;
/// `sizeof(struct uhid_event)`: the type plus the largest member (`uhid_create2_req`).
const EVENT_SIZE: usize = 4 + 128 + 64 + 64 + 2 + 2 + 4 * 4 + 4096;
const BUS_USB: u16 = 0x03;

/// What the host did to the device.
#[derive(Debug)]
pub enum FromHost {
    /// An output report (report-id byte first when the device uses ids).
    Output(Vec<u8>),
    /// Start, stop, open, close and answered report requests: nothing to check.
    Other,
}

pub struct Uhid {
    file: File,
    /// The handle that created the device destroys it; clones only read and write.
    owner: bool,
}

impl Uhid {
    pub fn create(name: &str, vendor: u16, product: u16, descriptor: &[u8]) -> std::io::Result<Uhid> {
        let mut file = OpenOptions::new().read(true).write(true).open("/dev/uhid")?;
        let mut ev = vec![0u8; EVENT_SIZE];
        ev[0..4].copy_from_slice(&UHID_CREATE2.to_ne_bytes());
        let name = name.as_bytes();
        ev[4..4 + name.len().min(127)].copy_from_slice(&name[..name.len().min(127)]);
        let mut at = 4 + 128 + 64 + 64;
        ev[at..at + 2].copy_from_slice(&(descriptor.len() as u16).to_ne_bytes());
        at += 2;
        ev[at..at + 2].copy_from_slice(&BUS_USB.to_ne_bytes());
        at += 2;
        ev[at..at + 4].copy_from_slice(&u32::from(vendor).to_ne_bytes());
        at += 4;
        ev[at..at + 4].copy_from_slice(&u32::from(product).to_ne_bytes());
        at += 4 + 4 + 4; // version, country
        ev[at..at + descriptor.len()].copy_from_slice(descriptor);
        file.write_all(&ev)?;
        Ok(Uhid { file, owner: true })
    }

    /// Sends one input report, as the device would on its interrupt endpoint.
    pub fn input(&mut self, report: &[u8]) -> std::io::Result<()> {
        let mut ev = vec![0u8; EVENT_SIZE];
        ev[0..4].copy_from_slice(&UHID_INPUT2.to_ne_bytes());
        ev[4..6].copy_from_slice(&(report.len() as u16).to_ne_bytes());
        ev[6..6 + report.len()].copy_from_slice(report);
        self.file.write_all(&ev)
    }

    /// Blocks for the host's next event. GET/SET_REPORT requests are answered (with an
    /// error and an ack) so a driver probing the device never waits on us.
    pub fn next(&mut self) -> std::io::Result<FromHost> {
        let mut ev = vec![0u8; EVENT_SIZE];
        let n = self.file.read(&mut ev)?;
        let kind = u32::from_ne_bytes(ev[0..4].try_into().expect("4 bytes"));
        match kind {
            UHID_OUTPUT if n >= 4 + 4096 + 2 => {
                let size = u16::from_ne_bytes([ev[4 + 4096], ev[4 + 4097]]) as usize;
                Ok(FromHost::Output(ev[4..4 + size.min(4096)].to_vec()))
            }
            UHID_GET_REPORT | UHID_SET_REPORT => {
                let id = u32::from_ne_bytes(ev[4..8].try_into().expect("4 bytes"));
                let mut reply = vec![0u8; EVENT_SIZE];
                let kind =
                    if kind == UHID_GET_REPORT { UHID_GET_REPORT_REPLY } else { UHID_SET_REPORT_REPLY };
                reply[0..4].copy_from_slice(&kind.to_ne_bytes());
                reply[4..8].copy_from_slice(&id.to_ne_bytes());
                // err = EIO for GET (we keep no feature state), 0 for SET.
                let err: u16 = if kind == UHID_GET_REPORT_REPLY { 5 } else { 0 };
                reply[8..10].copy_from_slice(&err.to_ne_bytes());
                self.file.write_all(&reply)?;
                Ok(FromHost::Other)
            }
            _ => Ok(FromHost::Other),
        }
    }

    pub fn try_clone(&self) -> std::io::Result<Uhid> {
        Ok(Uhid { file: self.file.try_clone()?, owner: false })
    }
}

impl Drop for Uhid {
    fn drop(&mut self) {
        if !self.owner {
            return;
        }
        let mut ev = vec![0u8; EVENT_SIZE];
        ev[0..4].copy_from_slice(&UHID_DESTROY.to_ne_bytes());
        let _ = self.file.write_all(&ev);
    }
}
