//! Support for ucdesk's cross-crate tests: where the built binary and plugin
//! libraries are, throwaway profiles with their own plugin directory, and a daemon
//! that is stopped when dropped.
//!
//! Everything here drives the real `ucdesk` binary and real cdylibs; run
//! `cargo build --workspace` first (the README's test command does).

pub mod crm;
pub mod demo;
pub mod directory;
pub mod ejabberd;
pub mod http;
pub mod lab;
pub mod linphone;
pub mod raw_xmpp;
pub mod sms;

use serde_json::Value;
use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};
use ucdesk_kernel::control::{Client, ControlError, Request};

/// `target/<profile>` of the running test binary.
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let mut dir = exe.parent().expect("deps dir").to_path_buf();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir
}

fn built(file: &str) -> PathBuf {
    let path = target_dir().join(file);
    assert!(path.exists(), "{} is missing: run `cargo build --workspace` before the tests", path.display());
    path
}

pub fn ucdesk_bin() -> PathBuf {
    built("ucdesk")
}

/// The screen pop window program (plugins/webview).
pub fn webview_bin() -> PathBuf {
    built("ucdesk-webview")
}

/// The `ucdesk-sdk` tool (scaffolding, keys, licenses, plugin signatures).
pub fn sdk_bin() -> PathBuf {
    built("ucdesk-sdk")
}

pub fn lib_name(stem: &str) -> String {
    format!("{}{stem}{}", std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX)
}

/// The built library of fixture `id` (tests/plugins/<id>).
pub fn fixture_lib(id: &str) -> PathBuf {
    built(&lib_name(&format!("ucdesk_fixture_{id}")))
}

/// The built library of a real plugin (e.g. the hello example).
pub fn plugin_lib(id: &str) -> PathBuf {
    built(&lib_name(&format!("ucdesk_plugin_{id}")))
}

/// Builds a crate under tests/fixtures/<name> against its own (foreign) plugin-api
/// and returns its library.
pub fn foreign_fixture(name: &str) -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name).join("Cargo.toml");
    let target = target_dir().join("fixtures").join(name);
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["build", "--quiet", "--manifest-path"])
        .arg(&manifest)
        .arg("--target-dir")
        .arg(&target)
        .output()
        .expect("cargo runs");
    assert!(out.status.success(), "building {name} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    target.join("debug").join(lib_name("ucdesk_plugin_api"))
}

/// A throwaway profile (`--home`) with its own plugin directory.
pub struct Profile {
    pub home: tempfile::TempDir,
    pub plugins: PathBuf,
}

impl Default for Profile {
    fn default() -> Self {
        Profile::new()
    }
}

impl Profile {
    pub fn new() -> Profile {
        let home = tempfile::tempdir().expect("temp dir");
        let plugins = home.path().join("plugin-dir");
        std::fs::create_dir_all(&plugins).expect("plugin dir");
        Profile { home, plugins }
    }

    /// Installs fixture `id` under its own id.
    pub fn with_fixture(self, id: &str) -> Profile {
        self.with_library(&fixture_lib(id), id)
    }

    /// Installs a library file as plugin `id` (`libucdesk_plugin_<id>.so`).
    pub fn with_library(self, lib: &Path, id: &str) -> Profile {
        std::fs::copy(lib, self.plugins.join(lib_name(&format!("ucdesk_plugin_{id}")))).expect("copy plugin");
        self
    }

    pub fn with_hello(self) -> Profile {
        self.with_library(&plugin_lib("hello"), "hello")
    }

    /// `ucdesk --home H --plugins P ARGS`, seeing only this profile's plugins.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(ucdesk_bin());
        cmd.arg("--home").arg(self.home.path()).arg("--plugins").arg(&self.plugins).args(args);
        cmd.env("UCDESK_BUNDLED_PLUGINS", "0").env_remove("UCDESK_PLUGIN_PATH").env("UCDESK_LOG", "info");
        // Never touch the keyring of whoever runs the tests; the keyring test opts in
        // with its own private session bus.
        cmd.env("UCDESK_SECRET_STORE", "file").env_remove("DBUS_SESSION_BUS_ADDRESS");
        // The machine's /etc policy is not this test's: each profile has its own file
        // (absent unless the test writes it with `Profile::set_policy`).
        cmd.env("UCDESK_POLICY", self.policy_file());
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).stdin(Stdio::null()).output().expect("ucdesk runs")
    }

    /// Runs and expects success; returns stdout.
    pub fn run_ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(out.status.success(), "ucdesk {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).expect("utf-8")
    }

    /// `ucdesk plugins --json` without the app running, parsed: nothing is started, so
    /// plugins that would run say `installed`.
    pub fn plugins(&self) -> Vec<Value> {
        serde_json::from_str(&self.run_ok(&["plugins", "--json"])).expect("plugins --json is JSON")
    }

    /// The plugin table after a real start (a daemon started, listed and stopped):
    /// what only running the plugins can tell, a panic in `new` or `start` above all.
    pub fn started_plugins(&self) -> Vec<Value> {
        let daemon = self.daemon();
        let list = daemon.plugins();
        daemon.stop();
        list
    }

    pub fn daemon(&self) -> Daemon {
        Daemon::start(self, self.command(&["daemon"]))
    }

    /// The daemon with extra environment (e.g. PULSE_SERVER for the lab's sound server).
    pub fn daemon_with_env(&self, env: &[(&str, String)]) -> Daemon {
        let mut cmd = self.command(&["daemon"]);
        cmd.envs(env.iter().map(|(k, v)| (*k, v.as_str())));
        Daemon::start(self, cmd)
    }

    /// The window (`ucdesk` without a subcommand) on X display `display`; it serves the
    /// same control socket as the daemon.
    pub fn gui(&self, display: &str) -> Daemon {
        Daemon::start(self, self.window_command(display, &[]))
    }

    /// The window started with `args` (a `tel:` URI, as the desktop's link handler runs it).
    pub fn gui_with(&self, display: &str, args: &[&str]) -> Daemon {
        Daemon::start(self, self.window_command(display, args))
    }

    /// `ucdesk ARGS` on X display `display`, as a desktop launches it.
    pub fn window_command(&self, display: &str, args: &[&str]) -> Command {
        let mut cmd = self.command(args);
        cmd.env("DISPLAY", display).env_remove("WAYLAND_DISPLAY").env("LIBGL_ALWAYS_SOFTWARE", "1");
        cmd
    }

    pub fn policy_file(&self) -> PathBuf {
        self.home.path().join("policy.toml")
    }

    /// Writes this profile's deployment policy.
    pub fn set_policy(&self, toml: &str) {
        std::fs::write(self.policy_file(), toml).expect("policy file");
    }

    pub fn socket(&self) -> PathBuf {
        self.home.path().join("run").join("ucdesk.sock")
    }
}

/// The entry of plugin `id` in a `plugins --json` list.
pub fn entry<'a>(list: &'a [Value], id: &str) -> &'a Value {
    list.iter().find(|p| p["id"] == id).unwrap_or_else(|| panic!("no plugin {id} in {list:#?}"))
}

/// Every secret a test of this process stored through the command line
/// ([`remember_secret`]): no log an instance writes may hold one.
static SECRETS: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// Notes a secret the test stores, so that every instance's logs are checked for it.
pub fn remember_secret(value: &str) {
    SECRETS.lock().unwrap_or_else(|p| p.into_inner()).push(value.to_string());
}

/// Fails when a secret stored in this test (plain, or as SASL PLAIN's base64 for any
/// user) is in `text`, the log `what`. Secrets shorter than 6 characters are words
/// ("wrong") a log may say for other reasons, and are not looked for.
pub fn assert_no_secret(text: &str, what: &str) {
    use base64::Engine;
    for secret in SECRETS.lock().unwrap_or_else(|p| p.into_inner()).iter().filter(|s| s.len() >= 6) {
        assert!(!text.contains(secret.as_str()), "a secret stored by this test is in {what}");
        // PLAIN is base64("\0user\0password"): the password's part of it, at any offset.
        for pad in 0..3 {
            let tail = format!("{}{secret}", "\0".repeat(pad + 1));
            let encoded = base64::engine::general_purpose::STANDARD.encode(tail.as_bytes());
            let middle = &encoded[4.min(encoded.len())..encoded.len().saturating_sub(4)];
            assert!(
                middle.len() < 8 || !text.contains(middle),
                "a secret stored by this test is in {what} (base64)"
            );
        }
    }
}

/// A running instance (`ucdesk daemon` or the window); SIGTERM and wait on drop.
pub struct Daemon {
    child: Option<Child>,
    log: PathBuf,
    socket: PathBuf,
}

impl Daemon {
    fn start(profile: &Profile, mut cmd: Command) -> Daemon {
        let log = profile.home.path().join("daemon.log");
        let file = std::fs::File::create(&log).expect("log file");
        let child =
            cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(file).spawn().expect("daemon starts");
        let mut daemon = Daemon { child: Some(child), log, socket: profile.socket() };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(mut c) = Client::connect(&daemon.socket)
                && c.request(&Request::Ping).is_ok()
            {
                return daemon;
            }
            if let Some(status) = daemon.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                panic!("ucdesk exited with {status} before it was ready:\n{}", daemon.log());
            }
            assert!(Instant::now() < deadline, "instance not ready in 60 s:\n{}", daemon.log());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn client(&self) -> Client {
        Client::connect(&self.socket).expect("daemon socket")
    }

    /// A service call through the socket (the same path `ucdesk ctl` takes).
    pub fn call(&self, service: &str, args: Value) -> Result<Value, String> {
        self.client()
            .request(&Request::Call { service: service.into(), args, timeout_ms: Some(10_000) })
            .map_err(|e| e.to_string())
    }

    /// A service call's refusal reason (`bad_request`, `not_ready`, ...) and message;
    /// panics when the call succeeds.
    pub fn refusal(&self, service: &str, args: Value) -> (Option<String>, String) {
        let request = Request::Call { service: service.into(), args, timeout_ms: Some(10_000) };
        match self.client().request(&request) {
            Err(ControlError::Remote { reason, message, .. }) => (reason, message),
            other => panic!("{service} was not refused: {other:?}"),
        }
    }

    pub fn plugins(&self) -> Vec<Value> {
        match self.client().request(&Request::Plugins).expect("plugins") {
            Value::Array(list) => list,
            other => panic!("plugins answered {other}"),
        }
    }

    pub fn state(&self, id: &str) -> (String, Option<String>) {
        let list = self.plugins();
        let p = entry(&list, id);
        (p["state"].as_str().unwrap_or_default().to_string(), p["reason"].as_str().map(String::from))
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or_default()
    }

    /// SIGKILL: the process ends where it stands (no shutdown, no flush); returns its log.
    pub fn kill(mut self) -> String {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.log()
    }

    /// SIGTERM, then wait (at most 20 s). Returns whether it exited cleanly, and its log.
    pub fn stop(mut self) -> (bool, String) {
        let clean = self.terminate();
        (clean, self.log())
    }

    fn terminate(&mut self) -> bool {
        let Some(mut child) = self.child.take() else {
            return true;
        };
        let clean = self.wait_for_exit(&mut child);
        self.check_logs();
        clean
    }

    /// Every log this instance wrote (its terminal output, its diagnostic log files)
    /// is free of the test's secrets. Skipped while a test already fails.
    fn check_logs(&self) {
        if std::thread::panicking() {
            return;
        }
        assert_no_secret(&self.log(), "the instance's terminal log");
        let logs = self.log.parent().map(|home| home.join("data/logs"));
        for f in logs.and_then(|d| std::fs::read_dir(d).ok()).into_iter().flatten().flatten() {
            assert_no_secret(
                &std::fs::read_to_string(f.path()).unwrap_or_default(),
                &f.path().display().to_string(),
            );
        }
    }

    fn wait_for_exit(&mut self, child: &mut Child) -> bool {
        // SAFETY: sending a signal to our own child process.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return status.success();
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.terminate();
    }
}

/// Lines of a long-running command's stdout, read on a thread.
pub struct Lines {
    child: Child,
    rx: mpsc::Receiver<String>,
}

impl Lines {
    pub fn spawn(mut cmd: Command) -> Lines {
        let mut child =
            cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("spawns");
        let stdout = child.stdout.take().expect("piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Lines { child, rx }
    }

    /// The next line, or None after `timeout`.
    pub fn next(&self, timeout: Duration) -> Option<String> {
        self.rx.recv_timeout(timeout).ok()
    }

    /// Of an `ucdesk events` stream: the payload of every event on `topic` received so
    /// far, without waiting (the others are consumed too).
    pub fn drain_topic(&self, topic: &str) -> Vec<Value> {
        let mut out = Vec::new();
        while let Ok(line) = self.rx.try_recv() {
            if let Ok(v) = serde_json::from_str::<Value>(&line)
                && v["topic"] == topic
            {
                out.push(v["payload"].clone());
            }
        }
        out
    }
}

impl Drop for Lines {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A stand-in browser: a script that appends each URL it is given to `dir/opened`
/// (`UCDESK_URL_OPENER`, or the Exec of an XDG desktop entry).
pub fn url_recorder(dir: &Path) -> PathBuf {
    let script = dir.join("browser.sh");
    std::fs::write(&script, format!("#!/bin/sh\nprintf '%s\\n' \"$1\" >>{}/opened\n", dir.display()))
        .expect("write the browser script");
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
    script
}

/// A browser for sign-in tests: records each URL like [`url_recorder`], then follows it
/// (redirects too, never through a proxy) in the background the way a user who signs in
/// and consents would.
pub fn signing_browser(dir: &Path) -> PathBuf {
    let script = dir.join("browser.sh");
    let follow = "import sys, urllib.request as u; \
                  u.build_opener(u.ProxyHandler({})).open(sys.argv[1], timeout=10).read()";
    let d = dir.display();
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$1\" >>{d}/opened\npython3 -c '{follow}' \"$1\" >>{d}/browsed 2>&1 &\n"
        ),
    )
    .expect("write the browser script");
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
    script
}

/// The URLs the [`url_recorder`] in `dir` was given, once there are `n`; the test fails
/// when there are fewer within `within`.
pub fn opened_urls(dir: &Path, n: usize, within: Duration) -> Vec<String> {
    wait_for(within, || {
        let text = std::fs::read_to_string(dir.join("opened")).ok()?;
        let lines: Vec<String> = text.lines().map(str::to_string).collect();
        (lines.len() >= n).then_some(lines)
    })
    .unwrap_or_else(|| panic!("the browser was not asked to open {n} URL(s)"))
}

/// Polls `f` every 20 ms until it returns Some, for at most `timeout`.
pub fn wait_for<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// An Xvfb server on a free display number, killed on drop.
pub struct Xvfb {
    child: Child,
    pub display: String,
}

impl Xvfb {
    pub fn start() -> Xvfb {
        // Tests of one binary run on threads of one process: without this, two could pick
        // the same free number before either server has made its socket, and the second
        // test's window would live on the first test's server (and die with it).
        static PICKING: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _picking = PICKING.lock().unwrap_or_else(|e| e.into_inner());
        let n = (100 + std::process::id() % 800..1000)
            .find(|n| {
                !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
                    && !Path::new(&format!("/tmp/.X{n}-lock")).exists()
            })
            .expect("a free display number");
        let display = format!(":{n}");
        let child = Command::new("Xvfb")
            .args([display.as_str(), "-screen", "0", "1280x800x24", "-nolisten", "tcp"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb is installed (tests/lab/debian-packages.sh test)");
        let socket = format!("/tmp/.X11-unix/X{n}");
        wait_for(Duration::from_secs(10), || Path::new(&socket).exists().then_some(())).expect("Xvfb ready");
        Xvfb { child, display }
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
