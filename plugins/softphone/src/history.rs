//! Call history in SQLite (`<data dir>/history.sqlite3`): one row per call, written
//! when the call ends, and the count of missed calls the user has not looked at. Beside
//! it, the call quality log (Preferences → Phone → Advanced → "Enable call quality
//! metrics logging"): every quality report of the last 50 calls, for the diagnostic
//! logs' export.
//!
//! The database is opened once and used from the engine only; a write that fails (a
//! full disk) is logged and the call goes on: history never takes a call down.

use rusqlite::{Connection, params};
use std::path::Path;
use ucdesk_sdk::contract::phone::{CallQuality, CallResult, Direction, HistoryEntry};

#[derive(Debug, thiserror::Error)]
#[error("call history {path}: {source}")]
pub struct HistoryError {
    path: String,
    #[source]
    source: rusqlite::Error,
}

pub struct History {
    db: Connection,
    path: String,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS calls (
    callid    TEXT PRIMARY KEY,
    direction TEXT NOT NULL,
    number    TEXT NOT NULL,
    name      TEXT,
    start     INTEGER NOT NULL,
    duration  INTEGER NOT NULL,
    result    TEXT NOT NULL,
    seen      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS calls_start ON calls(start DESC);
CREATE TABLE IF NOT EXISTS quality_log (
    callid  TEXT PRIMARY KEY,
    number  TEXT NOT NULL,
    start   INTEGER NOT NULL,
    reports TEXT NOT NULL
);
";

/// Calls kept in the quality log (the manual: "the last 50 calls").
pub const QUALITY_LOG_CALLS: u32 = 50;

/// One call of the quality log: (callid, number, start, reports).
pub type QualityLogEntry = (String, String, i64, Vec<CallQuality>);

impl History {
    pub fn open(path: &Path) -> Result<History, HistoryError> {
        let err = |source| HistoryError { path: path.display().to_string(), source };
        let db = Connection::open(path).map_err(err)?;
        // WAL: readers (the view) never wait for the writer; a crash loses no row.
        db.pragma_update(None, "journal_mode", "WAL").map_err(err)?;
        db.execute_batch(SCHEMA).map_err(err)?;
        Ok(History { db, path: path.display().to_string() })
    }

    pub fn record(&self, e: &HistoryEntry) -> Result<(), HistoryError> {
        self.db
            .execute(
                "INSERT OR REPLACE INTO calls (callid, direction, number, name, start, duration, result, seen)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    e.callid,
                    Direction::as_str(e.direction),
                    e.number,
                    e.name,
                    e.start,
                    e.duration as i64,
                    e.result.as_str(),
                    (e.result != CallResult::Missed) as i64,
                ],
            )
            .map(drop)
            .map_err(|source| HistoryError { path: self.path.clone(), source })
    }

    /// Newest first.
    pub fn recent(&self, limit: u32) -> Result<Vec<HistoryEntry>, HistoryError> {
        let err = |source| HistoryError { path: self.path.clone(), source };
        let mut stmt = self
            .db
            .prepare_cached(
                "SELECT callid, direction, number, name, start, duration, result FROM calls
                 ORDER BY start DESC, rowid DESC LIMIT ?1",
            )
            .map_err(err)?;
        let rows = stmt
            .query_map([limit], |r| {
                Ok(HistoryEntry {
                    callid: r.get(0)?,
                    direction: if r.get::<_, String>(1)? == "inbound" {
                        Direction::Inbound
                    } else {
                        Direction::Outbound
                    },
                    number: r.get(2)?,
                    name: r.get(3)?,
                    start: r.get(4)?,
                    duration: r.get::<_, i64>(5)?.max(0) as u64,
                    result: parse_result(&r.get::<_, String>(6)?),
                })
            })
            .map_err(err)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(err)
    }

    pub fn missed(&self) -> Result<u32, HistoryError> {
        self.db
            .query_row("SELECT count(*) FROM calls WHERE result = 'missed' AND seen = 0", [], |r| r.get(0))
            .map_err(|source| HistoryError { path: self.path.clone(), source })
    }

    /// The user opened recent calls: missed calls are no longer news.
    pub fn mark_seen(&self) -> Result<(), HistoryError> {
        self.db
            .execute("UPDATE calls SET seen = 1 WHERE seen = 0", [])
            .map(drop)
            .map_err(|source| HistoryError { path: self.path.clone(), source })
    }

    /// Logs a finished call's quality reports and forgets all but the newest 50 calls.
    pub fn log_quality(
        &self,
        callid: &str,
        number: &str,
        start: i64,
        reports: &[CallQuality],
    ) -> Result<(), HistoryError> {
        let err = |source| HistoryError { path: self.path.clone(), source };
        let json = serde_json::to_string(reports).unwrap_or_else(|_| "[]".into());
        self.db
            .execute(
                "INSERT OR REPLACE INTO quality_log (callid, number, start, reports) VALUES (?1, ?2, ?3, ?4)",
                params![callid, number, start, json],
            )
            .map_err(err)?;
        self.db
            .execute(
                "DELETE FROM quality_log WHERE callid NOT IN
                 (SELECT callid FROM quality_log ORDER BY start DESC, rowid DESC LIMIT ?1)",
                [QUALITY_LOG_CALLS],
            )
            .map(drop)
            .map_err(err)
    }

    /// The logged calls, newest first.
    pub fn quality_log(&self) -> Result<Vec<QualityLogEntry>, HistoryError> {
        let err = |source| HistoryError { path: self.path.clone(), source };
        let mut stmt = self
            .db
            .prepare_cached(
                "SELECT callid, number, start, reports FROM quality_log ORDER BY start DESC, rowid DESC",
            )
            .map_err(err)?;
        let rows = stmt
            .query_map([], |r| {
                let reports: String = r.get(3)?;
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, serde_json::from_str(&reports).unwrap_or_default()))
            })
            .map_err(err)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(err)
    }

    #[cfg(test)]
    pub fn get(&self, callid: &str) -> Result<Option<String>, HistoryError> {
        use rusqlite::OptionalExtension;
        self.db
            .query_row("SELECT result FROM calls WHERE callid = ?1", [callid], |r| r.get(0))
            .optional()
            .map_err(|source| HistoryError { path: self.path.clone(), source })
    }
}

fn parse_result(s: &str) -> CallResult {
    match s {
        "answered" => CallResult::Answered,
        "missed" => CallResult::Missed,
        "rejected" => CallResult::Rejected,
        "busy" => CallResult::Busy,
        "cancelled" => CallResult::Cancelled,
        _ => CallResult::Failed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, start: i64, result: CallResult) -> HistoryEntry {
        HistoryEntry {
            callid: id.into(),
            direction: Direction::Inbound,
            number: "100".into(),
            name: Some("Bob".into()),
            start,
            duration: 7,
            result,
        }
    }

    #[test]
    fn records_newest_first_and_counts_missed() {
        let dir = tempfile::tempdir().unwrap();
        let h = History::open(&dir.path().join("h.sqlite3")).unwrap();
        h.record(&entry("a", 10, CallResult::Answered)).unwrap();
        h.record(&entry("b", 20, CallResult::Missed)).unwrap();
        h.record(&entry("c", 30, CallResult::Missed)).unwrap();
        let all = h.recent(10).unwrap();
        assert_eq!(all.iter().map(|e| e.callid.as_str()).collect::<Vec<_>>(), ["c", "b", "a"]);
        assert_eq!(all[0].result, CallResult::Missed);
        assert_eq!(h.recent(1).unwrap().len(), 1);
        assert_eq!(h.missed().unwrap(), 2);
        h.mark_seen().unwrap();
        assert_eq!(h.missed().unwrap(), 0);
        drop(h);
        // Persisted across reopen.
        let h = History::open(&dir.path().join("h.sqlite3")).unwrap();
        assert_eq!(h.get("a").unwrap().as_deref(), Some("answered"));
    }

    #[test]
    fn the_quality_log_keeps_the_last_50_calls() {
        let dir = tempfile::tempdir().unwrap();
        let h = History::open(&dir.path().join("h.sqlite3")).unwrap();
        let q = |id: &str| CallQuality {
            callid: id.into(),
            codec: "pcmu".into(),
            mos: 4.4,
            rtt_ms: Some(1.0),
            jitter_ms: 0.5,
            loss_pct: 0.0,
            remote_loss_pct: None,
            packets_received: 250,
            packets_lost: 0,
            concealed: 0,
            jitter_buffer_ms: 20,
        };
        for i in 0..60 {
            let id = format!("c{i}");
            h.log_quality(&id, "100", i, &[q(&id), q(&id)]).unwrap();
        }
        let log = h.quality_log().unwrap();
        assert_eq!(log.len(), 50);
        assert_eq!((log[0].0.as_str(), log[49].0.as_str()), ("c59", "c10"));
        assert_eq!(log[0].3.len(), 2);
    }

    #[test]
    fn an_unwritable_place_is_a_clear_error() {
        let err = History::open(Path::new("/proc/no/such/dir/h.sqlite3")).err().unwrap();
        assert!(err.to_string().starts_with("call history /proc/no/such/dir/h.sqlite3"), "{err}");
    }
}
