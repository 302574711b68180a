//! USB HID: report descriptors ([`descriptor`]), reports on the wire ([`report`]) and
//! the devices themselves ([`device`]).

pub mod descriptor;
pub mod device;
pub mod report;
