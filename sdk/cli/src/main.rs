//! `ucdesk-sdk`: tools for plugin authors, vendors and admins.
//!
//! - `new NAME [--dir D] [--sdk-path P]` scaffolds a plugin crate that builds on its
//!   own, loads into ucdesk, and comes with a TestHost test.
//! - `keygen --out DIR [--name N]` makes an Ed25519 key pair (`N.key`, mode 0600, and
//!   `N.pub`).
//! - `license issue --key K --licensee L --edition E [--features a,b] [--limit k=v]...
//!   --expires YYYY-MM-DD [--issued D] [--id ID] [--domain D] --out FILE` signs a license.
//! - `plugin sign --key K FILE` writes `FILE.sig`.
//! - `release sign --key K --version V --notes N --package FILE --url URL [--date D]
//!   --out FEED` writes the signed release feed "Check for updates" reads.
//!
//! Arguments are parsed by hand: the few flags do not justify a parser dependency.

use std::{
    path::{Path, PathBuf},
    process::ExitCode,
};
use ucdesk_plugin_api::valid_plugin_id;

const USAGE: &str = "usage:
  ucdesk-sdk new NAME [--dir DIR] [--sdk-path PATH]
      create DIR/NAME (default DIR: .), a plugin crate with id NAME (lowercase
      letters, digits and '_', starting with a letter); --sdk-path: depend on the sdk
      at PATH instead of this sdk's own source
  ucdesk-sdk keygen --out DIR [--name NAME]
      write DIR/NAME.key (secret, mode 0600) and DIR/NAME.pub (default NAME:
      ucdesk-signing)
  ucdesk-sdk license issue --key KEY --licensee WHO --edition office|business|agent|supervisor
                           [--features a,b] [--limit k=v]... --expires YYYY-MM-DD
                           [--issued YYYY-MM-DD] [--id ID] [--domain DOMAIN] --out FILE
      sign a license with the secret key KEY
  ucdesk-sdk plugin sign --key KEY FILE
      write FILE.sig, a detached signature of the plugin library FILE
  ucdesk-sdk release sign --key KEY --version VERSION --notes TEXT --package FILE --url URL
                          [--date YYYY-MM-DD] --out FEED
      write FEED, the signed release feed that announces VERSION (its package FILE,
      downloaded from URL, is checked against the SHA-256 signed here)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ucdesk-sdk: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &[String]) -> Result<(), String> {
    match args.first().map(String::as_str) {
        Some("new") => {
            let mut name = None;
            let mut dir = PathBuf::from(".");
            let mut sdk_path = None;
            let mut rest = args[1..].iter();
            while let Some(a) = rest.next() {
                match a.as_str() {
                    "--dir" => dir = rest.next().ok_or("--dir needs a value")?.into(),
                    "--sdk-path" => {
                        sdk_path = Some(PathBuf::from(rest.next().ok_or("--sdk-path needs a value")?))
                    }
                    flag if flag.starts_with('-') => {
                        return Err(format!("unknown option {flag}\n{USAGE}"));
                    }
                    n if name.is_none() => name = Some(n.to_string()),
                    extra => return Err(format!("unexpected argument {extra}\n{USAGE}")),
                }
            }
            let name = name.ok_or(USAGE)?;
            let created = scaffold(&name, &dir, sdk_path.as_deref())?;
            println!("created {}", created.display());
            println!("build it with `cargo build`, test it with `cargo test`, and install");
            println!(
                "target/debug/{}ucdesk_plugin_{name}{} into a ucdesk plugin directory",
                std::env::consts::DLL_PREFIX,
                std::env::consts::DLL_SUFFIX
            );
            Ok(())
        }
        Some("keygen") => keygen(&Flags::parse(&args[1..], &[])?),
        Some("license") if args.get(1).map(String::as_str) == Some("issue") => {
            license_issue(&Flags::parse(&args[2..], &["limit"])?)
        }
        Some("plugin") if args.get(1).map(String::as_str) == Some("sign") => {
            plugin_sign(&Flags::parse(&args[2..], &[])?)
        }
        Some("release") if args.get(1).map(String::as_str) == Some("sign") => {
            release_sign(&Flags::parse(&args[2..], &[])?)
        }
        Some("-h" | "--help" | "help") | None => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(format!("unknown command {other}\n{USAGE}")),
    }
}

/// Writes the crate; returns its directory.
fn scaffold(name: &str, dir: &Path, sdk_path: Option<&Path>) -> Result<PathBuf, String> {
    if !valid_plugin_id(name) {
        return Err(format!(
            "{name:?} is not a valid plugin id (lowercase letters, digits and '_', starting with a letter)"
        ));
    }
    let root = dir.join(name);
    if root.exists() {
        return Err(format!("{} already exists; not overwriting it", root.display()));
    }
    // A development tool points at the sdk source beside it (this package lives in
    // sdk/cli); an installed one at the sdk's version.
    let own_source = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap_or(Path::new("."));
    let sdk_dependency = match sdk_path
        .map(Path::to_path_buf)
        .or_else(|| own_source.join("Cargo.toml").exists().then(|| own_source.to_path_buf()))
    {
        Some(p) => {
            let p = p.canonicalize().map_err(|e| format!("sdk path {}: {e}", p.display()))?;
            format!("ucdesk-sdk = {{ path = {:?} }}", p.to_string_lossy())
        }
        // The tool is released with the sdk, at the same version.
        None => format!("ucdesk-sdk = \"{}\"", env!("CARGO_PKG_VERSION")),
    };
    let type_name: String = name
        .split('_')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
        })
        .collect();
    let fill = |template: &str| {
        template
            .replace("{{name}}", name)
            .replace("{{Type}}", &type_name)
            .replace("{{sdk_dependency}}", &sdk_dependency)
    };
    let files = [
        ("Cargo.toml", fill(include_str!("../../templates/Cargo.toml.in"))),
        ("src/lib.rs", fill(include_str!("../../templates/lib.rs.in"))),
        ("tests/plugin.rs", fill(include_str!("../../templates/test.rs.in"))),
        (".gitignore", "/target\n".to_string()),
    ];
    for (path, text) in files {
        let path = root.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(root)
}

/// `--name value` flags (repeatable ones collect), plus positional arguments.
struct Flags {
    values: Vec<(String, String)>,
    positional: Vec<String>,
}

impl Flags {
    fn parse(args: &[String], repeatable: &[&str]) -> Result<Flags, String> {
        let mut flags = Flags { values: Vec::new(), positional: Vec::new() };
        let mut rest = args.iter();
        while let Some(a) = rest.next() {
            match a.strip_prefix("--") {
                Some(name) => {
                    let value = rest.next().ok_or_else(|| format!("--{name} needs a value\n{USAGE}"))?;
                    if !repeatable.contains(&name) && flags.values.iter().any(|(n, _)| n == name) {
                        return Err(format!("--{name} given twice"));
                    }
                    flags.values.push((name.to_string(), value.clone()));
                }
                None => flags.positional.push(a.clone()),
            }
        }
        Ok(flags)
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.values.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    fn need(&self, name: &str) -> Result<&str, String> {
        self.get(name).ok_or_else(|| format!("--{name} is required\n{USAGE}"))
    }

    fn all(&self, name: &str) -> impl Iterator<Item = &str> {
        self.values.iter().filter(move |(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

fn keygen(flags: &Flags) -> Result<(), String> {
    use std::{io::Write, os::unix::fs::OpenOptionsExt};
    let dir = PathBuf::from(flags.need("out")?);
    let name = flags.get("name").unwrap_or("ucdesk-signing");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let pair = ucdesk_license::KeyPair::generate().map_err(|e| e.to_string())?;
    let secret = dir.join(format!("{name}.key"));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&secret)
        .map_err(|e| format!("{}: {e} (not overwriting an existing key)", secret.display()))?;
    writeln!(file, "{}", pair.secret_hex()).map_err(|e| format!("{}: {e}", secret.display()))?;
    let public = dir.join(format!("{name}.pub"));
    std::fs::write(&public, format!("{}\n", pair.public().to_hex()))
        .map_err(|e| format!("{}: {e}", public.display()))?;
    println!("wrote {} (keep it secret) and {}", secret.display(), public.display());
    println!("key id {}", pair.public().id());
    Ok(())
}

fn license_issue(flags: &Flags) -> Result<(), String> {
    use ucdesk_license::{Date, Edition, KeyPair, LicenseDocument};
    let key = KeyPair::read(Path::new(flags.need("key")?)).map_err(|e| e.to_string())?;
    let edition: Edition =
        serde_json::from_value(serde_json::Value::String(flags.need("edition")?.to_string()))
            .map_err(|_| "--edition must be office, business, agent or supervisor".to_string())?;
    let date = |flag: &str, text: &str| text.parse::<Date>().map_err(|e| format!("--{flag}: {e}"));
    let expires = date("expires", flags.need("expires")?)?;
    let issued = match flags.get("issued") {
        Some(d) => date("issued", d)?,
        None => Date::today(),
    };
    let features = flags
        .get("features")
        .map(|f| f.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect())
        .unwrap_or_default();
    let mut limits = std::collections::BTreeMap::new();
    for kv in flags.all("limit") {
        let (k, v) = kv.split_once('=').ok_or_else(|| format!("--limit {kv}: expected key=value"))?;
        let value = serde_json::from_str(v).unwrap_or_else(|_| serde_json::Value::String(v.to_string()));
        if limits.insert(k.to_string(), value).is_some() {
            return Err(format!("--limit {k} given twice"));
        }
    }
    let license_id = match flags.get("id") {
        Some(id) => id.to_string(),
        None => format!("LIC-{}-{}", issued, std::process::id()),
    };
    let document = LicenseDocument {
        license_id,
        licensee: flags.need("licensee")?.to_string(),
        issued,
        expires,
        edition,
        features,
        limits,
        server_domain: flags.get("domain").map(String::from),
    };
    let out = PathBuf::from(flags.need("out")?);
    let signed = ucdesk_license::issue(document, &key);
    let text = serde_json::to_string_pretty(&signed).expect("a license serializes");
    std::fs::write(&out, text + "\n").map_err(|e| format!("{}: {e}", out.display()))?;
    println!(
        "wrote {} ({} edition, expires {}, signed by key {})",
        out.display(),
        edition,
        expires,
        signed.key_id
    );
    Ok(())
}

fn plugin_sign(flags: &Flags) -> Result<(), String> {
    let key = ucdesk_license::KeyPair::read(Path::new(flags.need("key")?)).map_err(|e| e.to_string())?;
    let [file] = flags.positional.as_slice() else {
        return Err(format!("plugin sign takes one FILE\n{USAGE}"));
    };
    let bytes = std::fs::read(file).map_err(|e| format!("{file}: {e}"))?;
    let signature = ucdesk_license::sign_plugin(&bytes, &key);
    let out = format!("{file}.sig");
    let text = serde_json::to_string_pretty(&signature).expect("a signature serializes");
    std::fs::write(&out, text + "\n").map_err(|e| format!("{out}: {e}"))?;
    println!("wrote {out} (key {}, sha256 {})", signature.key_id, signature.sha256);
    Ok(())
}

fn release_sign(flags: &Flags) -> Result<(), String> {
    use sha2::Digest;
    let key = ucdesk_license::KeyPair::read(Path::new(flags.need("key")?)).map_err(|e| e.to_string())?;
    let version = flags.need("version")?;
    semver::Version::parse(version).map_err(|e| format!("--version {version}: {e}"))?;
    let package = flags.need("package")?;
    let bytes = std::fs::read(package).map_err(|e| format!("{package}: {e}"))?;
    let release = ucdesk_license::Release {
        version: version.to_string(),
        date: match flags.get("date") {
            Some(d) => d.parse::<ucdesk_license::Date>().map_err(|e| format!("--date: {e}"))?,
            None => ucdesk_license::Date::today(),
        },
        notes: flags.need("notes")?.to_string(),
        package_url: flags.need("url")?.to_string(),
        sha256: hex::encode(sha2::Sha256::digest(&bytes)),
    };
    let out = PathBuf::from(flags.need("out")?);
    let signed = ucdesk_license::sign_release(release, &key);
    let text = serde_json::to_string_pretty(&signed).expect("a feed serializes");
    std::fs::write(&out, text + "\n").map_err(|e| format!("{}: {e}", out.display()))?;
    println!("wrote {} (version {version}, signed by key {})", out.display(), signed.key_id);
    Ok(())
}
