//! What each subcommand does. Commands that need a running instance talk to it over
//! the control socket; `plugins`, `settings` and `secret` fall back to working on the
//! profile directly when nothing is running.

use crate::cli::{Cli, Command, LicenseAction, SecretAction, SettingsAction, UpdateAction};
use serde_json::Value;
use std::{
    error::Error,
    io::{Read, Write},
    path::PathBuf,
    process::ExitCode,
};
use ucdesk_kernel::{
    Home, Kernel, KernelConfig, PluginInfo, SettingRow,
    control::{Client, ControlError, ControlServer, Request},
    discovery,
    policy::{DEFAULT_POLICY_PATH, Policy},
};
use ucdesk_plugin_api::SettingKind;

type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// The profile, plugin directories and policy every command works with.
pub struct Profile {
    pub home: Home,
    pub plugin_dirs: Vec<PathBuf>,
    pub policy_path: PathBuf,
}

impl Profile {
    fn from_cli(cli: &Cli) -> Profile {
        let home = cli.home.as_ref().map_or_else(Home::xdg, Home::under);
        let env = std::env::var("UCDESK_PLUGIN_PATH").ok();
        // UCDESK_BUNDLED_PLUGINS=0 skips the plugins installed beside the executable
        // (tests and admins who want exactly the listed directories).
        let bundled = std::env::var("UCDESK_BUNDLED_PLUGINS").map_or(true, |v| v != "0");
        let exe = std::env::current_exe().ok().filter(|_| bundled);
        let exe_dir = exe.as_deref().and_then(|p| p.parent());
        let plugin_dirs = discovery::search_path(&cli.plugins, env.as_deref(), &home.user_plugins(), exe_dir);
        let policy_path = cli
            .policy
            .clone()
            .or_else(|| std::env::var_os("UCDESK_POLICY").filter(|v| !v.is_empty()).map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from(DEFAULT_POLICY_PATH));
        Profile { home, plugin_dirs, policy_path }
    }

    /// The deployment policy; an unreadable one is an error (never ignored).
    pub fn policy(&self) -> Result<Option<Policy>> {
        Ok(Policy::load(&self.policy_path)?)
    }

    pub fn kernel(&self) -> Result<Kernel> {
        let config = KernelConfig::with_policy(self.home.clone(), self.plugin_dirs.clone(), self.policy()?);
        Ok(Kernel::new(config)?)
    }

    /// A connection to the running instance, or None when there is none.
    fn client(&self) -> Result<Option<Client>> {
        match Client::connect(&self.home.socket()) {
            Ok(c) => Ok(Some(c)),
            Err(ControlError::NotRunning(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn running(&self) -> Result<Client> {
        self.client()?.ok_or_else(|| ControlError::NotRunning(self.home.socket()).into())
    }

    /// The profile's instance lock, when no other instance holds it. Held for the
    /// process's life: the window takes it before its login, long before its socket
    /// answers, so a second launch meanwhile knows an instance is on its way.
    pub fn lock(&self) -> Result<Option<std::fs::File>> {
        let path = self.home.lock_file();
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
            std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o700))?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        match file.try_lock() {
            Ok(()) => Ok(Some(file)),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(format!("{}: {e}", path.display()).into()),
        }
    }

    /// A second launch: hands `uri` (or "come to the front") to the instance running on
    /// this profile and returns its answer; None when none runs. One that is starting
    /// (it holds the lock, its socket does not answer yet) is waited for.
    fn hand_off(&self, uri: Option<&str>) -> Result<Option<Value>> {
        let deadline = std::time::Instant::now() + STARTING_WAIT;
        loop {
            if let Some(mut c) = self.client()? {
                return Ok(Some(c.request(&Request::Handoff { uri: uri.map(String::from) })?));
            }
            match self.lock()? {
                Some(_free) => return Ok(None),
                None if std::time::Instant::now() > deadline => {
                    return Err("ucdesk is starting for this profile but does not answer yet \
                                (is its login window open?); try again once it is up"
                        .into());
                }
                None => std::thread::sleep(std::time::Duration::from_millis(100)),
            }
        }
    }
}

/// How long a second launch waits for an instance that is starting.
const STARTING_WAIT: std::time::Duration = std::time::Duration::from_secs(20);

pub fn run(cli: Cli) -> Result<ExitCode> {
    let profile = Profile::from_cli(&cli);
    match cli.command {
        None => window(&profile, None),
        Some(Command::Plugins { json }) => plugins(&profile, json),
        Some(Command::Daemon) => daemon(&profile),
        Some(Command::Ctl { service, json, timeout }) => ctl(&profile, service, json, timeout),
        Some(Command::Events { topic }) => events(&profile, &topic),
        Some(Command::Settings { action }) => settings(&profile, action),
        Some(Command::Secret { action: SecretAction::Set { key } }) => secret_set(&profile, &key),
        Some(Command::License { action: LicenseAction::Install { file } }) => {
            license_install(&profile, &file)
        }
        Some(Command::License { action: LicenseAction::Show { json } }) => license_show(&profile, json),
        Some(Command::Call { number }) => call(&profile, number),
        Some(Command::Update { action: UpdateAction::Check { json } }) => update_check(&profile, json),
        Some(Command::Uri(args)) => match args.as_slice() {
            [uri] if crate::cli::DIAL_SCHEMES.iter().any(|s| uri.to_ascii_lowercase().starts_with(s)) => {
                window(&profile, Some(uri))
            }
            _ => Err(format!(
                "unknown command {:?}: see `ucdesk --help` (addresses start with {})",
                args.join(" "),
                crate::cli::DIAL_SCHEMES.join(", ")
            )
            .into()),
        },
        Some(Command::View { plugin, panel }) => {
            let view = profile.running()?.request(&Request::View { plugin, panel })?;
            println!("{view}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `ucdesk` and `ucdesk URI`: one instance per profile. A running one is handed the
/// URI (or comes to the front) and this process exits; otherwise this one opens the
/// window (and dials the URI once logged in).
fn window(profile: &Profile, uri: Option<&str>) -> Result<ExitCode> {
    loop {
        if let Some(answer) = profile.hand_off(uri)? {
            match uri {
                Some(_) => println!("{answer}"),
                None => eprintln!("ucdesk is already running for this profile: its window is in front"),
            }
            return Ok(ExitCode::SUCCESS);
        }
        // Another launch may have taken the lock since: then hand off to it.
        if let Some(lock) = profile.lock()? {
            return crate::gui::run(profile, lock, uri);
        }
    }
}

fn plugins(profile: &Profile, json: bool) -> Result<ExitCode> {
    let running = match profile.client()? {
        Some(mut c) => match c.request(&Request::Plugins) {
            Ok(list) => Some(serde_json::from_value(list)?),
            // A window at its login has no plugins running yet.
            Err(ControlError::Remote { kind, .. }) if kind == "not_ready" => None,
            Err(e) => return Err(e.into()),
        },
        None => None,
    };
    // Not running: say what would start, without starting it (a softphone would
    // register, a chat plugin log in).
    let list: Vec<PluginInfo> = match running {
        Some(list) => list,
        None => profile.kernel()?.survey(),
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&list)?);
    } else {
        print_table(&list);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_table(list: &[PluginInfo]) {
    if list.is_empty() {
        println!("no plugins found");
        return;
    }
    let width = list.iter().map(|p| p.id.len()).max().unwrap_or(2).max(2);
    println!("{:width$}  {:10}  {:12}  REASON", "ID", "VERSION", "STATE");
    for p in list {
        let version = p.version.as_deref().unwrap_or("-");
        let reason = p.reason.as_deref().unwrap_or("").replace('\n', " ");
        println!("{:width$}  {:10}  {:12}  {reason}", p.id, version, p.state.as_str());
    }
}

fn daemon(profile: &Profile) -> Result<ExitCode> {
    if profile.client()?.is_some() {
        return Err(ControlError::AlreadyRunning(profile.home.socket()).into());
    }
    let Some(_lock) = profile.lock()? else {
        return Err(ControlError::AlreadyRunning(profile.home.socket()).into());
    };
    let prefs = ucdesk_shell::prefs::ShellPrefs::load(&profile.home.config);
    ucdesk_shell::diagnostics::set(&ucdesk_shell::diagnostics::dir(&profile.home), prefs.diagnostic_logs);
    // Watch for signals before activating, so that one arriving meanwhile still leads
    // to a clean stop of whatever has started.
    let mut signals = termination_signals()?;
    let kernel = profile.kernel()?;
    let list = kernel.activate();
    for p in list.iter().filter(|p| p.state != ucdesk_kernel::PluginState::Active) {
        tracing::warn!(plugin = p.id, "{}: {}", p.state, p.reason.as_deref().unwrap_or(""));
    }
    let server = match ControlServer::start(kernel.clone()) {
        Ok(s) => s,
        Err(e) => {
            kernel.shutdown();
            return Err(e.into());
        }
    };
    tracing::info!("ready: {} plugins active, control socket {}", active(&list), server.path().display());
    signals.forever().next();
    tracing::info!("stopping");
    drop(server);
    kernel.shutdown();
    Ok(ExitCode::SUCCESS)
}

fn active(list: &[PluginInfo]) -> usize {
    list.iter().filter(|p| p.state == ucdesk_kernel::PluginState::Active).count()
}

fn termination_signals() -> Result<signal_hook::iterator::Signals> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    Ok(signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?)
}

fn ctl(profile: &Profile, service: String, json: Option<String>, timeout: u64) -> Result<ExitCode> {
    let args: Value = match json {
        Some(text) => serde_json::from_str(&text).map_err(|e| format!("request is not valid JSON: {e}"))?,
        None => Value::Null,
    };
    let answer = profile.running()?.request(&Request::Call { service, args, timeout_ms: Some(timeout) })?;
    println!("{answer}");
    Ok(ExitCode::SUCCESS)
}

/// Asks the running instance's phone (whoever provides `phone`) to dial.
fn call(profile: &Profile, number: String) -> Result<ExitCode> {
    let args = serde_json::json!({ "number": ucdesk_plugin_api::contract::phone::link_number(&number) });
    let answer = profile.running()?.request(&Request::Call {
        service: ucdesk_plugin_api::contract::phone::DIAL.into(),
        args,
        timeout_ms: Some(10_000),
    })?;
    println!("{answer}");
    Ok(ExitCode::SUCCESS)
}

fn events(profile: &Profile, topic: &str) -> Result<ExitCode> {
    let lines = profile.running()?.events(topic)?;
    let stdout = std::io::stdout();
    for line in lines {
        let mut out = stdout.lock();
        // A closed pipe (`ucdesk events | head`) ends the stream quietly.
        if writeln!(out, "{}", line?).and_then(|()| out.flush()).is_err() {
            break;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn settings(profile: &Profile, action: SettingsAction) -> Result<ExitCode> {
    match (profile.client()?, action) {
        (Some(mut c), SettingsAction::List { plugin, json }) => {
            let rows = c.request(&Request::SettingsList { plugin })?;
            print_settings(serde_json::from_value(rows)?, json)?;
        }
        (Some(mut c), SettingsAction::Get { key }) => {
            println!("{}", c.request(&Request::SettingGet { key })?)
        }
        (Some(mut c), SettingsAction::Set { key, value }) => {
            c.request(&Request::SettingSet { key, value: None, text: Some(value) })?;
        }
        (None, action) => {
            let kernel = profile.kernel()?;
            kernel.scan();
            match action {
                SettingsAction::List { plugin, json } => {
                    print_settings(kernel.settings_list(plugin.as_deref()), json)?
                }
                SettingsAction::Get { key } => {
                    println!("{}", kernel.setting(&key)?.unwrap_or(Value::Null));
                }
                SettingsAction::Set { key, value } => {
                    let value = kernel.parse_setting(&key, &value)?;
                    kernel.set_setting(&key, value)?;
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `settings list`: JSON, or one line a setting (key, kind, value, default, lock).
fn print_settings(rows: Vec<SettingRow>, json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    for r in rows {
        let kind = serde_json::to_value(&r.kind)?;
        let kind = kind["type"].as_str().unwrap_or("?").to_string();
        let value = match (&r.kind, &r.value) {
            (SettingKind::Secret, _) => "(secret)".to_string(),
            (_, Some(v)) => v.to_string(),
            (_, None) => "unset".to_string(),
        };
        let default = r.default.map(|d| format!("  default {d}")).unwrap_or_default();
        let locked = if r.locked { "  locked by policy" } else { "" };
        println!("{}  {kind}  {value}{default}{locked}", r.key);
    }
    Ok(())
}

fn secret_set(profile: &Profile, key: &str) -> Result<ExitCode> {
    let mut value = String::new();
    std::io::stdin().read_to_string(&mut value)?;
    let value = value.strip_suffix('\n').map(|v| v.strip_suffix('\r').unwrap_or(v)).unwrap_or(&value);
    if value.is_empty() {
        return Err("no secret on standard input".into());
    }
    let stored_in = match profile.client()? {
        Some(mut c) => {
            let answer = c.request(&Request::SecretSet { key: key.to_string(), value: value.to_string() })?;
            answer["stored_in"].as_str().unwrap_or("the running instance's secret store").to_string()
        }
        None => {
            let kernel = profile.kernel()?;
            kernel.scan();
            kernel.set_secret(key, value)?;
            kernel.secret_backend().to_string()
        }
    };
    eprintln!("secret {key} stored in {stored_in}");
    Ok(ExitCode::SUCCESS)
}

fn license_install(profile: &Profile, file: &std::path::Path) -> Result<ExitCode> {
    use ucdesk_kernel::licensing::{DEFAULT_WARN_DAYS, LicenseStatus, trust};
    let policy = profile.policy()?;
    let bytes = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let warn_days = policy.as_ref().and_then(|p| p.license_warn_days).unwrap_or(DEFAULT_WARN_DAYS);
    let server_domain = policy.as_ref().and_then(|p| p.server_domain.as_deref());
    let status = LicenseStatus::check(
        &bytes,
        &trust(policy.as_ref()),
        ucdesk_license::Date::today(),
        server_domain,
        warn_days,
    );
    match &status {
        LicenseStatus::Valid { document, warning } => {
            let target = profile.home.license_file();
            if let Some(dir) = target.parent() {
                std::fs::create_dir_all(dir)?;
            }
            // Atomic: a crash never leaves half a license behind.
            let tmp = target.with_extension("json.tmp");
            std::fs::write(&tmp, &bytes)?;
            std::fs::rename(&tmp, &target)?;
            println!(
                "installed license {} for {} ({} edition, expires {})",
                document.license_id, document.licensee, document.edition, document.expires
            );
            if let Some(w) = warning {
                println!("warning: {w}");
            }
            if profile.client()?.is_some() {
                println!("restart ucdesk to apply it to the running instance");
            }
            Ok(ExitCode::SUCCESS)
        }
        LicenseStatus::Invalid { reason, .. } => Err(format!("not installed: {reason}").into()),
        LicenseStatus::Refused(reason) => Err(format!("not installed: {reason}").into()),
        LicenseStatus::Missing => Err("not installed: empty license".into()),
    }
}

/// `update check`: the same check as the window's, printed.
fn update_check(profile: &Profile, json: bool) -> Result<ExitCode> {
    use ucdesk_shell::updates::{self, Outcome};
    let policy = profile.policy()?;
    let prefs = ucdesk_shell::prefs::ShellPrefs::load(&profile.home.config);
    let outcome = match updates::feed_url(policy.as_ref(), &prefs.update_feed) {
        None => Outcome::NoFeed,
        Some(url) => {
            updates::check(&url, &ucdesk_kernel::licensing::trust(policy.as_ref()), &updates::current())
        }
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&outcome)?);
    }
    match outcome {
        Outcome::Failed { reason } => Err(reason.into()),
        _ if json => Ok(ExitCode::SUCCESS),
        Outcome::NoFeed => {
            println!("no update feed is set up (the policy's update_feed, or Preferences -> General)");
            Ok(ExitCode::SUCCESS)
        }
        Outcome::UpToDate { current, feed } => {
            println!("There are no updates available (this is {current}; the feed offers {feed})");
            Ok(ExitCode::SUCCESS)
        }
        Outcome::Available { current, release } => {
            println!(
                "ucdesk {} ({}) is available (this is {current}): {}",
                release.version, release.date, release.package_url
            );
            if !release.notes.is_empty() {
                println!("{}", release.notes);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn license_show(profile: &Profile, json: bool) -> Result<ExitCode> {
    let kernel = profile.kernel()?;
    let report = kernel.license().report();
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("state:     {}{}", report.state, report.reason.map(|r| format!(" ({r})")).unwrap_or_default());
    if let Some(w) = report.warning {
        println!("warning:   {w}");
    }
    if report.development_key {
        println!(
            "key:       development (this build trusts the repository's development vendor key: \
             not for production)"
        );
    }
    let field = |name: &str, v: Option<String>| {
        if let Some(v) = v {
            println!("{name:<10} {v}");
        }
    };
    field("license:", report.license_id);
    field("licensee:", report.licensee);
    field("edition:", report.edition);
    field("issued:", report.issued);
    field("expires:", report.expires);
    field("server:", report.server_domain);
    if !report.features.is_empty() {
        println!("features:  {}", report.features.join(", "));
    }
    for (k, v) in report.limits {
        println!("limit:     {k} = {v}");
    }
    Ok(ExitCode::SUCCESS)
}
