//! The handle on the window program: started on the first pop and waited for until it
//! says it is ready, handed later pages over its stdin, its events read on a thread of
//! their own; started again when the user has closed it.

use crate::{Command, Event};
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The program's name; `UCDESK_WEBVIEW` names another (tests, unusual installs).
const PROGRAM: &str = "ucdesk-webview";
/// WebKitGTK's first start (its web and network processes, the fonts) takes a few
/// seconds on a slow machine; a window that is not up by then is not coming.
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// Lines of the program's stderr kept to explain a failed start.
const STDERR_KEPT: usize = 20;

/// Why the page cannot be shown in the app: the caller falls back to the browser.
#[derive(Debug, thiserror::Error)]
pub enum Unavailable {
    #[error("there is no display to show a window on (DISPLAY and WAYLAND_DISPLAY are unset)")]
    NoDisplay,
    #[error("cannot start {program}: {source}")]
    NotStarted { program: String, source: std::io::Error },
    #[error("the web view could not start: {0}")]
    Failed(String),
    #[error("the web view did not start within {} s", .0.as_secs())]
    Timeout(Duration),
}

struct Running {
    child: Child,
    stdin: ChildStdin,
    events: Receiver<Event>,
}

/// One screen pop window, reused for every page.
pub struct ScreenPop {
    program: PathBuf,
    running: Option<Running>,
    stderr: Arc<Mutex<VecDeque<String>>>,
    /// Off in unit tests, which run without a display.
    needs_display: bool,
    /// Set for the program on top of ours (a test's display, say).
    env: Vec<(String, String)>,
}

impl Default for ScreenPop {
    fn default() -> Self {
        ScreenPop::new(program())
    }
}

/// `UCDESK_WEBVIEW`, else the program beside the running one (where the workspace puts
/// it) or in the package's `../lib/ucdesk/` from there, else the PATH's.
pub fn program() -> PathBuf {
    if let Some(p) = std::env::var_os("UCDESK_WEBVIEW") {
        return p.into();
    }
    let exe = std::env::current_exe().ok();
    let dir = exe.as_deref().and_then(|e| e.parent());
    let beside = dir.map(|d| d.join(PROGRAM));
    let packaged = dir.and_then(|d| d.parent()).map(|p| p.join("lib/ucdesk").join(PROGRAM));
    beside.into_iter().chain(packaged).find(|p| p.is_file()).unwrap_or_else(|| PROGRAM.into())
}

impl ScreenPop {
    pub fn new(program: PathBuf) -> ScreenPop {
        ScreenPop { program, running: None, stderr: Arc::default(), needs_display: true, env: Vec::new() }
    }

    /// Runs the program with these variables set as well.
    pub fn with_env(mut self, env: &[(&str, &str)]) -> ScreenPop {
        self.env.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        self
    }

    /// Shows `url` in the window, starting it when it is not up. Blocks until the
    /// window is ready (seconds, the first time): call it off the engine's loop.
    pub fn show(&mut self, url: &str) -> Result<(), Unavailable> {
        let open = Command::Open { url: url.to_string() };
        if let Some(r) = self.running.as_mut() {
            if r.child.try_wait().ok().flatten().is_none()
                && r.stdin.write_all(open.line().as_bytes()).is_ok()
            {
                return Ok(());
            }
            self.stop();
        }
        let mut running = self.start()?;
        running
            .stdin
            .write_all(open.line().as_bytes())
            .map_err(|e| Unavailable::Failed(format!("the window took no command: {e}")))?;
        self.running = Some(running);
        Ok(())
    }

    /// Sends a toolbar command to a running window; false when none is up.
    pub fn command(&mut self, command: &Command) -> bool {
        self.running.as_mut().is_some_and(|r| r.stdin.write_all(command.line().as_bytes()).is_ok())
    }

    /// The events since the last call. A closed window is forgotten, so the next
    /// [`show`](Self::show) starts a new one.
    pub fn events(&mut self) -> Vec<Event> {
        let Some(r) = self.running.as_mut() else { return Vec::new() };
        let mut out: Vec<Event> = r.events.try_iter().collect();
        let ended = r.child.try_wait().ok().flatten().is_some();
        if ended || out.contains(&Event::Closed) {
            // The program is gone or going: take what it wrote before it went. Its
            // reader thread may still hold the last lines; the channel closes when that
            // thread reaches the end of the program's stdout.
            let deadline = Instant::now() + Duration::from_millis(200);
            while let Ok(e) = r.events.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                out.push(e);
            }
            self.stop();
        }
        out
    }

    pub fn is_open(&mut self) -> bool {
        self.running.as_mut().is_some_and(|r| r.child.try_wait().ok().flatten().is_none())
    }

    fn start(&mut self) -> Result<Running, Unavailable> {
        let set = |name: &str| std::env::var_os(name).is_some() || self.env.iter().any(|(k, _)| k == name);
        if self.needs_display && !set("DISPLAY") && !set("WAYLAND_DISPLAY") {
            return Err(Unavailable::NoDisplay);
        }
        let mut child = std::process::Command::new(&self.program)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| Unavailable::NotStarted {
                program: self.program.display().to_string(),
                source,
            })?;
        let (tx, events) = mpsc::channel();
        let stdout = child.stdout.take().expect("piped");
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                // A line that is not an event (a library writing to stdout) is skipped.
                if let Ok(event) = serde_json::from_str::<Event>(&line)
                    && tx.send(event).is_err()
                {
                    break;
                }
            }
        });
        let stderr = child.stderr.take().expect("piped");
        let kept = self.stderr.clone();
        kept.lock().unwrap_or_else(|e| e.into_inner()).clear();
        std::thread::spawn(move || {
            // WebKit and GTK talk a lot on stderr; only the last lines are kept, to say
            // why a start failed. Nothing is logged from here: pages' URLs may appear.
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut kept = kept.lock().unwrap_or_else(|e| e.into_inner());
                kept.push_back(line);
                if kept.len() > STDERR_KEPT {
                    kept.pop_front();
                }
            }
        });
        let stdin = child.stdin.take().expect("piped");
        let mut running = Running { child, stdin, events };
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            match running.events.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(Event::Ready) => return Ok(running),
                Ok(Event::Unavailable { reason }) => {
                    let _ = running.child.wait();
                    return Err(Unavailable::Failed(reason));
                }
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => {
                    let _ = running.child.kill();
                    let _ = running.child.wait();
                    return Err(Unavailable::Timeout(START_TIMEOUT));
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let status = running.child.wait().map(|s| s.to_string()).unwrap_or_default();
                    // Give the stderr thread a moment to read the last words.
                    std::thread::sleep(Duration::from_millis(100));
                    let last = self.last_stderr(3);
                    return Err(Unavailable::Failed(if last.is_empty() {
                        format!("it ended ({status})")
                    } else {
                        format!("it ended ({status}): {last}")
                    }));
                }
            }
        }
    }

    fn last_stderr(&self, n: usize) -> String {
        let kept = self.stderr.lock().unwrap_or_else(|e| e.into_inner());
        let skip = kept.len().saturating_sub(n);
        kept.iter().skip(skip).cloned().collect::<Vec<_>>().join(" / ")
    }

    /// Closes the window: asked first, then killed.
    fn stop(&mut self) {
        let Some(mut r) = self.running.take() else { return };
        let _ = r.stdin.write_all(Command::Close.line().as_bytes());
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            if r.child.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = r.child.kill();
        let _ = r.child.wait();
    }
}

impl Drop for ScreenPop {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headless(program: impl Into<PathBuf>) -> ScreenPop {
        let mut pop = ScreenPop::new(program.into());
        pop.needs_display = false;
        pop
    }

    fn script(name: &str, body: &str) -> (PathBuf, PathBuf) {
        let dir = std::env::temp_dir().join(format!("screenpop-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("webview.sh");
        std::fs::write(&path, format!("#!/bin/sh\n{body}")).unwrap();
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        (dir, path)
    }

    #[test]
    fn a_program_that_is_not_there_is_unavailable_with_its_path() {
        let err = headless("/nonexistent/ucdesk-webview").show("http://127.0.0.1/").unwrap_err();
        assert!(matches!(err, Unavailable::NotStarted { .. }), "{err}");
        assert!(err.to_string().contains("/nonexistent/ucdesk-webview"), "{err}");
    }

    #[test]
    fn a_program_that_ends_at_once_is_unavailable_with_its_last_words() {
        let (dir, path) = script("ends", "echo 'Gtk-WARNING: cannot open display: :99' >&2\nexit 1\n");
        let err = headless(path).show("http://127.0.0.1/").unwrap_err();
        assert!(err.to_string().contains("cannot open display: :99"), "{err}");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_window_that_says_it_cannot_start_gives_its_reason() {
        let (dir, path) =
            script("unavailable", "echo '{\"event\":\"unavailable\",\"reason\":\"no WebKit\"}'\n");
        let err = headless(path).show("http://127.0.0.1/").unwrap_err();
        assert_eq!(err.to_string(), "the web view could not start: no WebKit");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn one_window_takes_every_page_and_a_closed_one_is_started_again() {
        // A window that says ready, then writes each command it gets into a file of
        // its own start, and closes when told.
        let (dir, path) = script(
            "reuse",
            "f=$(mktemp \"$(dirname \"$0\")/run.XXXXXX\")\necho '{\"event\":\"ready\"}'\n\
             while read -r line; do echo \"$line\" >>\"$f\"; case \"$line\" in *close*) echo '{\"event\":\"closed\"}'; exit 0;; esac; done\n",
        );
        let mut pop = headless(path);
        pop.show("http://127.0.0.1/a").unwrap();
        pop.show("http://127.0.0.1/b").unwrap();
        assert!(pop.command(&Command::Close));
        let deadline = Instant::now() + Duration::from_secs(5);
        while pop.is_open() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(pop.events().contains(&Event::Closed));
        assert!(!pop.command(&Command::Reload), "a closed window takes no command");
        pop.show("http://127.0.0.1/c").unwrap();
        drop(pop);
        let mut runs: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with("run."))
            .map(|e| std::fs::read_to_string(e.path()).unwrap())
            .collect();
        runs.sort();
        let want_first = format!(
            "{}{}{}",
            Command::Open { url: "http://127.0.0.1/a".into() }.line(),
            Command::Open { url: "http://127.0.0.1/b".into() }.line(),
            Command::Close.line()
        );
        let want_second =
            format!("{}{}", Command::Open { url: "http://127.0.0.1/c".into() }.line(), Command::Close.line());
        let mut want = vec![want_first, want_second];
        want.sort();
        assert_eq!(runs, want);
        let _ = std::fs::remove_dir_all(dir);
    }
}
