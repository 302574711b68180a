//! Any bytes as a SIP datagram: parsing and everything the phone reads from the
//! message (see `read_sip_message`) must return, never panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = ucdesk_plugin_softphone::read_sip_message(data);
});
