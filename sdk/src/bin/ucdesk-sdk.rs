//! `ucdesk-sdk`: tools for plugin authors.
//!
//! `ucdesk-sdk new NAME [--dir D] [--sdk-path P]` scaffolds a plugin crate that builds
//! on its own, loads into ucdesk, and comes with a TestHost test.
//!
//! Arguments are parsed by hand: every dependency of this package is compiled into
//! every plugin that depends on the sdk, so the CLI must not bring any.

use std::{
    path::{Path, PathBuf},
    process::ExitCode,
};
use ucdesk_plugin_api::valid_plugin_id;

const USAGE: &str = "usage: ucdesk-sdk new NAME [--dir DIR] [--sdk-path PATH]

  new NAME      create DIR/NAME (default DIR: .), a plugin crate with id NAME
                (lowercase letters, digits and '_', starting with a letter)
  --sdk-path    depend on the sdk at PATH instead of this sdk's own source";

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
    // A development sdk points at its own source; an installed one at its version.
    let own_source = Path::new(env!("CARGO_MANIFEST_DIR"));
    let sdk_dependency = match sdk_path
        .map(Path::to_path_buf)
        .or_else(|| own_source.exists().then(|| own_source.to_path_buf()))
    {
        Some(p) => {
            let p = p.canonicalize().map_err(|e| format!("sdk path {}: {e}", p.display()))?;
            format!("ucdesk-sdk = {{ path = {:?} }}", p.to_string_lossy())
        }
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
