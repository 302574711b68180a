//! Local search: what the user typed becomes an FTS5 query that reads no input as
//! syntax; a full-scan twin serves as the benchmark's baseline.

use super::schema::{MESSAGE_COLUMNS, message_row};
use super::{Store, StoreError};
use rusqlite::params;
use ucdesk_sdk::contract::chat::{Conversation, Message};

impl Store {
    /// Local search: conversations whose name or address contains every word, then
    /// messages matching the FTS query, newest first.
    pub fn search(&self, query: &str, limit: u32) -> Result<(Vec<Conversation>, Vec<Message>), StoreError> {
        let terms = parse_query(query);
        let fts = fts_query(&terms);
        if fts.is_empty() {
            return Ok((Vec::new(), Vec::new()));
        }
        let words: Vec<String> = terms.iter().map(|t| t.text.trim_end_matches('*').to_lowercase()).collect();
        // Contacts and chats: names are few; the full rows (unread counts) only for hits.
        let hits: Vec<String> = {
            let mut q = self.db.prepare("SELECT id, name FROM conversations")?;
            let rows = q.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
            let mut hits = Vec::new();
            for row in rows {
                let (id, name) = row?;
                let hay = format!("{name} {id}").to_lowercase();
                if words.iter().all(|w| hay.contains(w.as_str())) {
                    hits.push(id);
                }
            }
            hits
        };
        let conversations = if hits.is_empty() {
            Vec::new()
        } else {
            self.conversations()?.into_iter().filter(|c| hits.contains(&c.id)).collect()
        };
        // Newest first by arrival (rowid): FTS5 walks its index backwards and stops at
        // the limit, where ordering by time would collect every match first (a common
        // word matches most of a million messages).
        let mut q = self.db.prepare(&format!(
            "SELECT {} FROM (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?1 ORDER BY rowid DESC LIMIT ?2) f
             JOIN messages m ON m.rowid = f.rowid ORDER BY m.rowid DESC",
            MESSAGE_COLUMNS.split(", ").map(|c| format!("m.{c}")).collect::<Vec<_>>().join(", ")
        ))?;
        let messages = q.query_map(params![fts, limit], message_row)?.collect::<Result<_, _>>()?;
        Ok((conversations, self.filled(messages)?))
    }

    /// The same message search without the index: every word as a case-insensitive
    /// substring, a full scan. Only the search benchmark uses it, as the baseline.
    #[doc(hidden)]
    pub fn search_by_scan(&self, query: &str, limit: u32) -> Result<Vec<Message>, StoreError> {
        let terms = parse_query(query);
        let mut sql = format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE 1");
        let mut args: Vec<String> = Vec::new();
        for t in &terms {
            args.push(format!("%{}%", t.text.replace(['%', '_'], "")));
            sql.push_str(&format!(" AND body LIKE ?{}", args.len()));
        }
        sql.push_str(&format!(" ORDER BY rowid DESC LIMIT {limit}"));
        let mut q = self.db.prepare(&sql)?;
        let rows =
            q.query_map(rusqlite::params_from_iter(args.iter()), message_row)?.collect::<Result<_, _>>()?;
        Ok(rows)
    }
}

/// One search term: a word (prefix match) or a quoted phrase (exact, in order).
#[derive(Debug, PartialEq)]
pub struct Term {
    pub text: String,
    pub phrase: bool,
}

/// Splits what the user typed into words and "quoted phrases".
pub fn parse_query(q: &str) -> Vec<Term> {
    let mut terms = Vec::new();
    let mut rest = q;
    while let Some(start) = rest.find('"') {
        terms.extend(words(&rest[..start]));
        let after = &rest[start + 1..];
        let (phrase, tail) = match after.find('"') {
            Some(end) => (&after[..end], &after[end + 1..]),
            None => (after, ""),
        };
        if !phrase.trim().is_empty() {
            terms.push(Term { text: phrase.trim().to_string(), phrase: true });
        }
        rest = tail;
    }
    terms.extend(words(rest));
    terms
}

fn words(s: &str) -> impl Iterator<Item = Term> + '_ {
    s.split_whitespace().map(|w| Term { text: w.to_string(), phrase: false })
}

/// The FTS5 expression: every term must match (implicit AND). Terms are quoted so no
/// user input is read as FTS syntax. Words match whole words; a trailing `*` asks for a
/// prefix (`rep*`). Whole words are what makes a search of a million messages take
/// a fraction of a millisecond: a prefix of a common word merges huge lists (see the
/// search benchmark).
fn fts_query(terms: &[Term]) -> String {
    terms
        .iter()
        .filter_map(|t| {
            let (text, prefix) = match t.text.strip_suffix('*') {
                Some(stem) if !t.phrase => (stem, true),
                _ => (t.text.as_str(), false),
            };
            let text = text.trim_matches('*');
            if text.is_empty() {
                return None;
            }
            let quoted = format!("\"{}\"", text.replace('"', "\"\""));
            Some(if prefix { format!("{quoted}*") } else { quoted })
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::super::testing::{add, store};

    #[test]
    fn search_is_and_of_words_phrase_in_order_case_blind() {
        let (_d, mut s) = store();
        add(&mut s, "1", "The quick brown fox", 1);
        add(&mut s, "2", "brown bread, quick lunch", 2);
        add(&mut s, "3", "fox quick", 3);
        let ids = |q: &str| s.search(q, 10).unwrap().1.into_iter().map(|m| m.id).collect::<Vec<_>>();
        assert_eq!(ids("QUICK fox"), ["3", "1"]);
        assert_eq!(ids("\"quick brown\""), ["1"]);
        assert_eq!(ids("\"brown quick\""), Vec::<String>::new());
        assert_eq!(ids("bro"), Vec::<String>::new());
        assert_eq!(ids("bro*"), ["2", "1"]);
        // FTS syntax in the input is text, not an operator.
        assert_eq!(ids("fox OR bread"), Vec::<String>::new());
        assert_eq!(ids("\"unterminated"), Vec::<String>::new());
    }
}
