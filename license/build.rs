//! Refuses a release build that would trust the repository's development vendor key
//! (its secret half is in the repository: anyone could sign licenses and plugins for
//! it). A release build names the vendor's key in `UCDESK_VENDOR_PUBKEY`, or says it is
//! a development build with `UCDESK_DEV_BUILD=1` (`./run.sh` and the benchmarks do).

fn main() {
    println!("cargo::rerun-if-env-changed=UCDESK_VENDOR_PUBKEY");
    println!("cargo::rerun-if-env-changed=UCDESK_DEV_BUILD");
    // Naming env vars turns off cargo's default of rerunning on any change: the key too.
    println!("cargo::rerun-if-changed=keys/dev-vendor.pub");
    println!("cargo::rerun-if-changed=build.rs");
    let release = std::env::var("PROFILE").is_ok_and(|p| p == "release");
    let vendor = std::env::var("UCDESK_VENDOR_PUBKEY").ok().filter(|k| !k.trim().is_empty());
    let development = std::env::var("UCDESK_DEV_BUILD").is_ok_and(|v| v == "1");
    let dev_key = include_str!("keys/dev-vendor.pub").trim();
    if let Some(key) = &vendor
        && (key.trim().len() != 64 || !key.trim().chars().all(|c| c.is_ascii_hexdigit()))
    {
        panic!("UCDESK_VENDOR_PUBKEY must be 64 hex characters (an Ed25519 public key), got {key:?}");
    }
    let trusts_dev_key = vendor.as_deref().is_none_or(|k| k.trim().eq_ignore_ascii_case(dev_key));
    if release && trusts_dev_key && !development {
        panic!(
            "this release build would trust the repository's development vendor key. Set \
             UCDESK_VENDOR_PUBKEY to the vendor's public key (64 hex characters), or \
             UCDESK_DEV_BUILD=1 for a development build (./run.sh and the benchmarks set it)."
        );
    }
}
