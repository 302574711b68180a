//! The merged directory in the store: rebuilt from the records and marks after a
//! source changes (merging needs every record at once), searched through two FTS5
//! indexes over the same text (names, companies, departments, e-mails, number digits):
//! trigrams for a single word or number of three characters or more (any substring:
//! "kowal", "0142"), and word prefixes for shorter queries and several words ("sv",
//! "olga pet"), so no query scans the table. Numbers are looked up by their keys.

use super::{Store, StoreError};
use crate::merge::{self, number_key};
use rusqlite::{OptionalExtension, params};
use ucdesk_sdk::contract::contacts::{ContactAddress, Entry};

/// The FTS5 trigram tokenizer needs three characters; shorter queries scan names.
const TRIGRAM: usize = 3;
/// Answers a search gives when the caller does not say.
pub const DEFAULT_LIMIT: usize = 50;

/// A search of the directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    pub text: String,
    /// Only entries with a record from this source (`ldap`, `personal`, `chat`, ...).
    pub source: Option<String>,
    pub department: Option<String>,
    pub limit: Option<usize>,
    /// Hidden entries too (the Hidden users dialog lists only those).
    pub hidden: Option<bool>,
    pub favorites_only: bool,
}

impl Store {
    /// Merges every record again and rewrites the directory; returns its size.
    /// With `e164`, numbers that parse are shown in E.164 (the manual's option).
    pub fn rebuild(&mut self, country: &str, e164: bool) -> Result<usize, StoreError> {
        let mut entries = merge::merge(self.all_records()?, country);
        if e164 {
            for n in entries.iter_mut().flat_map(|e| e.numbers.iter_mut()) {
                if let Some(e) = &n.e164 {
                    n.number = e.clone();
                }
            }
        }
        let tx = self.db.transaction()?;
        tx.execute_batch(
            "DELETE FROM directory; DELETE FROM directory_members; DELETE FROM directory_numbers;
             INSERT INTO directory_fts(directory_fts) VALUES('delete-all');
             INSERT INTO directory_words(directory_words) VALUES('delete-all');",
        )?;
        {
            let mut row = tx.prepare(
                "INSERT INTO directory (n, id, sort, department, sources, favorite, hidden, body)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?;
            let mut text = tx.prepare("INSERT INTO directory_fts (rowid, text) VALUES (?1, ?2)")?;
            let mut words = tx.prepare("INSERT INTO directory_words (rowid, text) VALUES (?1, ?2)")?;
            let mut member =
                tx.prepare("INSERT OR REPLACE INTO directory_members (member, n) VALUES (?1, ?2)")?;
            let mut number = tx.prepare("INSERT INTO directory_numbers (key, n) VALUES (?1, ?2)")?;
            for (n, e) in entries.iter().enumerate() {
                let n = n as i64 + 1;
                row.execute(params![
                    n,
                    e.id,
                    merge::sort_key(&e.name),
                    e.department,
                    format!("|{}|", e.sources.join("|")),
                    e.favorite,
                    e.hidden,
                    serde_json::to_string(e)?
                ])?;
                let indexed = search_text(e);
                text.execute(params![n, indexed])?;
                words.execute(params![n, indexed])?;
                for m in &e.members {
                    member.execute(params![m, n])?;
                }
                for num in &e.numbers {
                    if let Some(k) = number_key(num, country) {
                        number.execute(params![k, n])?;
                    }
                }
            }
        }
        tx.commit()?;
        Ok(entries.len())
    }

    pub fn search(&self, q: &Query) -> Result<Vec<Entry>, StoreError> {
        let mut clauses = vec![
            match q.hidden {
                Some(true) => "hidden = 1",
                Some(false) | None => "hidden = 0",
            }
            .to_string(),
        ];
        let mut args: Vec<String> = Vec::new();
        // Binds `v` to the clause's one `?`.
        fn bind(args: &mut Vec<String>, clauses: &mut Vec<String>, sql: &str, v: String) {
            args.push(v);
            clauses.push(sql.replace('?', &format!("?{}", args.len())));
        }
        if q.favorites_only {
            clauses.push("favorite = 1".into());
        }
        if let Some(s) = q.source.as_deref().filter(|s| !s.is_empty()) {
            bind(&mut args, &mut clauses, "instr(sources, ?) > 0", format!("|{s}|"));
        }
        if let Some(d) = q.department.as_deref().filter(|d| !d.is_empty()) {
            bind(&mut args, &mut clauses, "department = ?", d.to_string());
        }
        let needle = needle(&q.text);
        // The query's words without the signs between them: what a name should start with.
        let words: Vec<&str> =
            needle.split_whitespace().filter(|w| w.chars().any(char::is_alphanumeric)).collect();
        let lead = if words.is_empty() { needle.clone() } else { words.join(" ") };
        let like = lead.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        let several = needle.split_whitespace().count() > 1;
        if needle.chars().count() >= TRIGRAM && !several {
            let phrase = format!("\"{}\"", needle.replace('"', "\"\""));
            let sql = "n IN (SELECT rowid FROM directory_fts WHERE directory_fts MATCH ?)";
            bind(&mut args, &mut clauses, sql, phrase);
        } else if !needle.is_empty() {
            // Every word of the query starts a word of the entry; signs between words
            // (`&`, `-`) are no words, and a query of nothing else matches nobody.
            let prefixes: Vec<String> = needle
                .split_whitespace()
                .filter(|w| w.chars().any(char::is_alphanumeric))
                .map(|w| format!("\"{}\"*", w.replace('"', "\"\"")))
                .collect();
            if prefixes.is_empty() {
                clauses.push("0".into());
            } else {
                let sql = "n IN (SELECT rowid FROM directory_words WHERE directory_words MATCH ?)";
                bind(&mut args, &mut clauses, sql, prefixes.join(" AND "));
            }
        }
        // Names starting with the query come first.
        args.push(format!("{like}%"));
        let prefix = args.len();
        let limit = q.limit.unwrap_or(DEFAULT_LIMIT).max(1);
        let sql = format!(
            "SELECT body FROM directory WHERE {} ORDER BY favorite DESC, sort LIKE ?{prefix} ESCAPE '\\' DESC, sort, id LIMIT {limit}",
            clauses.join(" AND ")
        );
        let mut stmt = self.db.prepare_cached(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(args.iter()), |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for body in rows {
            out.push(serde_json::from_str(&body?)?);
        }
        Ok(out)
    }

    /// The entry with this directory id, or the one holding this record (`source/id`):
    /// a caller keeping an id across a re-merge still finds the person.
    pub fn entry(&self, id: &str) -> Result<Entry, StoreError> {
        let body: Option<String> = self
            .db
            .query_row(
                "SELECT body FROM directory WHERE id = ?1
                 UNION ALL SELECT d.body FROM directory d JOIN directory_members m ON m.n = d.n WHERE m.member = ?1
                 LIMIT 1",
                [id],
                |r| r.get(0),
            )
            .optional()?;
        let body = body.ok_or_else(|| StoreError::NoEntry(id.to_string()))?;
        Ok(serde_json::from_str(&body)?)
    }

    /// The person a row of another plugin means: by XMPP address (as a record's JID
    /// or e-mail), else by any of its numbers.
    pub fn find(&self, c: &ContactAddress, country: &str) -> Result<Entry, StoreError> {
        if let Some(jid) = c.jid.as_deref().map(str::to_lowercase) {
            let text = Query { text: jid.clone(), limit: Some(20), hidden: None, ..Default::default() };
            let hidden = Query { hidden: Some(true), ..text.clone() };
            for q in [text, hidden] {
                let hit = self.search(&q)?.into_iter().find(|e| {
                    e.jid.as_deref().is_some_and(|j| j.eq_ignore_ascii_case(&jid))
                        || e.emails.iter().any(|m| m.eq_ignore_ascii_case(&jid))
                });
                if let Some(e) = hit {
                    return Ok(e);
                }
            }
        }
        for n in c.number.iter().chain(c.numbers.iter().map(|n| &n.number)) {
            if let Some(e) = self.lookup(n, country)? {
                return Ok(e);
            }
        }
        Err(StoreError::NoEntry(c.name.clone()))
    }

    /// Who has this number (an exact match of its E.164 form, or of its digits).
    pub fn lookup(&self, number: &str, country: &str) -> Result<Option<Entry>, StoreError> {
        let probe =
            ucdesk_sdk::contract::contacts::PhoneNumber { number: number.to_string(), ..Default::default() };
        let Some(key) = number_key(&probe, country) else { return Ok(None) };
        let body: Option<String> = self
            .db
            .query_row(
                "SELECT d.body FROM directory d JOIN directory_numbers k ON k.n = d.n WHERE k.key = ?1
                 ORDER BY d.hidden, d.sort LIMIT 1",
                [key],
                |r| r.get(0),
            )
            .optional()?;
        Ok(body.map(|b| serde_json::from_str(&b)).transpose()?)
    }

    /// Sets favourite or hidden on every record of `id`'s entry and updates the entry
    /// in place (marks change no merging and no search text).
    pub fn mark_entry(
        &mut self,
        id: &str,
        favorite: Option<bool>,
        hidden: Option<bool>,
    ) -> Result<Entry, StoreError> {
        let mut e = self.entry(id)?;
        self.mark(&e.members, favorite, hidden)?;
        e.favorite = favorite.unwrap_or(e.favorite);
        e.hidden = hidden.unwrap_or(e.hidden);
        self.db.execute(
            "UPDATE directory SET favorite = ?2, hidden = ?3, body = ?4 WHERE id = ?1",
            params![e.id, e.favorite, e.hidden, serde_json::to_string(&e)?],
        )?;
        Ok(e)
    }

    pub fn departments(&self) -> Result<Vec<String>, StoreError> {
        let mut q = self.db.prepare(
            "SELECT DISTINCT department FROM directory WHERE department IS NOT NULL AND department != '' ORDER BY department",
        )?;
        let rows = q.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn directory_len(&self) -> Result<usize, StoreError> {
        Ok(self.db.query_row("SELECT COUNT(*) FROM directory", [], |r| r.get::<_, i64>(0))? as usize)
    }
}

/// What the index holds for an entry: its words, and each number's digits (so "5550100"
/// finds "+1 (555) 010-0…").
fn search_text(e: &Entry) -> String {
    let mut parts: Vec<String> = vec![e.name.clone()];
    parts.extend([&e.company, &e.department, &e.title, &e.jid].into_iter().flatten().cloned());
    parts.extend(e.emails.iter().cloned());
    for n in &e.numbers {
        parts.push(digits(&n.number));
        if let Some(e164) = &n.e164 {
            parts.push(digits(e164));
        }
    }
    parts.join(" \u{1f} ")
}

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// What to look for: a number's digits when the query reads as a number (`+1 555-01`),
/// else the text in lower case.
fn needle(text: &str) -> String {
    let t = text.trim();
    let numberish = t.chars().any(|c| c.is_ascii_digit())
        && t.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c));
    if numberish { digits(t) } else { t.to_lowercase() }
}
