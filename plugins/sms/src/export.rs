//! "Export old SMS history": a new folder with one text file per conversation, named
//! for how the number is shown, each message a line with its time and who wrote it;
//! the MMS files this desktop has are copied beside them (and named in the line).

use crate::engine::error::SmsError;
use crate::store::Store;
use std::io::Write;
use std::path::Path;
use ucdesk_sdk::contract::sms::{Direction, Exported};

pub fn write(store: &Store, dir: &Path) -> Result<Exported, SmsError> {
    if !dir.is_dir() {
        return Err(SmsError::BadArgument(format!(
            "{:?} is not a folder to export into",
            dir.display().to_string()
        )));
    }
    let stamp = chrono::Local::now().format("%Y-%m-%d %H%M%S");
    let mut folder = dir.join(format!("SMS history {stamp}"));
    let mut n = 1;
    while folder.exists() {
        n += 1;
        folder = dir.join(format!("SMS history {stamp} ({n})"));
    }
    let failed = |what: &str, e: std::io::Error| SmsError::Failed(format!("cannot write {what}: {e}"));
    std::fs::create_dir_all(&folder).map_err(|e| failed(&folder.display().to_string(), e))?;
    let mut files = Vec::new();
    for c in store.conversations()? {
        let name = format!("{} ({}).txt", sanitize(&c.display), c.number);
        let path = folder.join(&name);
        let mut out = std::io::BufWriter::new(std::fs::File::create(&path).map_err(|e| failed(&name, e))?);
        let mut lines = format!("SMS with {} ({})\n\n", c.display, c.number);
        for m in store.history(&c.number, None, u32::MAX)? {
            let at = chrono::DateTime::from_timestamp_millis(m.at_ms)
                .map(|t| t.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M:%S").to_string())
                .unwrap_or_default();
            let who = match (&m.direction, &m.by) {
                (Direction::In, _) => c.display.clone(),
                (Direction::Out, Some(by)) => by.name.clone(),
                (Direction::Out, None) => "Me".to_string(),
            };
            let what = match &m.file {
                Some(f) => match f.path.as_deref().filter(|p| std::path::Path::new(p).is_file()) {
                    Some(path) => {
                        // The whole id, made safe: ids are the gateway's, and two may
                        // share a prefix.
                        let id = ucdesk_xmpp::transfer::safe_name(&m.id);
                        let copy = format!("{} {id} {}", c.number, sanitize(&f.name));
                        std::fs::copy(path, folder.join(&copy)).map_err(|e| failed(&copy, e))?;
                        files.push(copy.clone());
                        format!("[file: {copy}]")
                    }
                    None => format!("[file not on this desktop: {}]", m.url.as_deref().unwrap_or(&f.name)),
                },
                None => m.body.clone(),
            };
            lines.push_str(&format!("[{at}] {who}: {what}\n"));
        }
        out.write_all(lines.as_bytes()).and_then(|()| out.flush()).map_err(|e| failed(&name, e))?;
        files.push(name);
    }
    Ok(Exported { folder: folder.display().to_string(), files })
}

/// A display name fit for a file name on every desktop system.
fn sanitize(s: &str) -> String {
    let clean: String =
        s.chars().map(|c| if c.is_control() || "/\\:*?\"<>|".contains(c) { '_' } else { c }).collect();
    clean.trim().chars().take(60).collect()
}
