//! The personal phone book as CSV: the template's columns, import (comma or semicolon,
//! UTF-8 with or without a BOM; a bad row is reported with its line and the rest are
//! imported) and export in the same columns, so an export imports back unchanged.
//!
//! Columns (the header row names them; order is free, case does not matter):
//! `Name` (required), `Company`, `Department`, `Title`, `Work phone`, `Mobile phone`,
//! `Home phone`, `Fax`, `Other phones` (several, separated by commas), `Email`,
//! `Other emails` (several, separated by commas).

use std::path::Path;
use ucdesk_sdk::contract::contacts::{PersonalContact, PhoneNumber, RejectedRow};

pub const COLUMNS: [&str; 11] = [
    "Name",
    "Company",
    "Department",
    "Title",
    "Work phone",
    "Mobile phone",
    "Home phone",
    "Fax",
    "Other phones",
    "Email",
    "Other emails",
];
/// The longest name the personal book takes.
pub const MAX_NAME: usize = 255;
/// The labelled number columns.
const PHONES: [(usize, &str); 4] = [(4, "work"), (5, "mobile"), (6, "home"), (7, "fax")];

#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("cannot write {path}: {source}")]
    Write { path: String, source: std::io::Error },
    #[error("{path} has no header row naming the columns (the template's first line)")]
    NoHeader { path: String },
    #[error("{path} has no Name column (columns: {columns})")]
    NoName { path: String, columns: String },
}

/// The rows of `path` as contacts, and the rows refused with their lines.
pub fn import(path: &Path) -> Result<(Vec<PersonalContact>, Vec<RejectedRow>), CsvError> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| CsvError::Read { path: shown.clone(), source })?;
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let first_line = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    let count = |c: u8| first_line.iter().filter(|&&b| b == c).count();
    let delimiter = if count(b';') > count(b',') { b';' } else { b',' };
    let mut reader = csv::ReaderBuilder::new().delimiter(delimiter).flexible(true).from_reader(bytes);
    let header = reader.byte_headers().map_err(|_| CsvError::NoHeader { path: shown.clone() })?.clone();
    let names: Vec<String> =
        header.iter().map(|h| String::from_utf8_lossy(h).trim().to_lowercase()).collect();
    if names.iter().all(String::is_empty) {
        return Err(CsvError::NoHeader { path: shown });
    }
    let column: Vec<Option<usize>> =
        COLUMNS.iter().map(|c| names.iter().position(|n| *n == c.to_lowercase())).collect();
    if column[0].is_none() {
        return Err(CsvError::NoName { path: shown, columns: COLUMNS.join(", ") });
    }
    let mut contacts = Vec::new();
    let mut rejected = Vec::new();
    for row in reader.byte_records() {
        let (line, result) = match row {
            Ok(r) => (r.position().map_or(0, |p| p.line()), contact(&r, &column)),
            Err(e) => (e.position().map_or(0, |p| p.line()), Err(e.to_string())),
        };
        match result {
            Ok(Some(c)) => contacts.push(c),
            Ok(None) => {}
            Err(reason) => rejected.push(RejectedRow { line, reason }),
        }
    }
    Ok((contacts, rejected))
}

/// One row; Ok(None) for an empty row.
fn contact(r: &csv::ByteRecord, column: &[Option<usize>]) -> Result<Option<PersonalContact>, String> {
    let mut cell = Vec::with_capacity(COLUMNS.len());
    for (i, c) in column.iter().enumerate() {
        let raw = c.and_then(|c| r.get(c)).unwrap_or_default();
        let text =
            std::str::from_utf8(raw).map_err(|_| format!("the {} column is not UTF-8 text", COLUMNS[i]))?;
        cell.push(text.trim().to_string());
    }
    if cell.iter().all(String::is_empty) {
        return Ok(None);
    }
    let opt = |i: usize| (!cell[i].is_empty()).then(|| cell[i].clone());
    let name = opt(0).ok_or("no name")?;
    if name.chars().count() > MAX_NAME {
        return Err(format!("a name has at most {MAX_NAME} characters"));
    }
    let mut numbers = Vec::new();
    let mut add = |label: &str, number: &str| -> Result<(), String> {
        let number = number.trim();
        if number.is_empty() {
            return Ok(());
        }
        let digits = number.chars().filter(char::is_ascii_digit).count();
        if digits == 0 || number.chars().any(|c| c.is_alphabetic()) {
            return Err(format!("\"{number}\" is not a phone number"));
        }
        numbers.push(PhoneNumber { label: label.into(), number: number.into(), e164: None });
        Ok(())
    };
    for (i, label) in PHONES {
        add(label, &cell[i])?;
    }
    for n in cell[8].split(',') {
        add("other", n)?;
    }
    let mut emails: Vec<String> = opt(9).into_iter().collect();
    emails.extend(cell[10].split(',').map(|e| e.trim().to_string()).filter(|e| !e.is_empty()));
    if let Some(bad) = emails.iter().find(|e| !e.contains('@')) {
        return Err(format!("\"{bad}\" is not an e-mail address"));
    }
    Ok(Some(PersonalContact {
        id: None,
        name,
        company: opt(1),
        department: opt(2),
        title: opt(3),
        numbers,
        emails,
    }))
}

/// Writes `contacts` to `path` in the template's columns (an empty list: the template).
pub fn export(path: &Path, contacts: &[PersonalContact]) -> Result<(), CsvError> {
    let write = |source| CsvError::Write { path: path.display().to_string(), source };
    let mut w = csv::Writer::from_path(path).map_err(|e| write(e.into()))?;
    w.write_record(COLUMNS).map_err(|e| write(e.into()))?;
    for c in contacts {
        let mut row = vec![String::new(); COLUMNS.len()];
        row[0] = c.name.clone();
        row[1] = c.company.clone().unwrap_or_default();
        row[2] = c.department.clone().unwrap_or_default();
        row[3] = c.title.clone().unwrap_or_default();
        let mut others = Vec::new();
        for n in &c.numbers {
            match PHONES.iter().find(|(_, l)| *l == n.label) {
                Some((i, _)) if row[*i].is_empty() => row[*i] = n.number.clone(),
                _ => others.push(n.number.clone()),
            }
        }
        row[8] = others.join(", ");
        row[9] = c.emails.first().cloned().unwrap_or_default();
        row[10] = c.emails.iter().skip(1).cloned().collect::<Vec<_>>().join(", ");
        w.write_record(&row).map_err(|e| write(e.into()))?;
    }
    w.flush().map_err(write)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_export_imports_back_and_bad_rows_are_reported_by_line() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("book.csv");
        let pat = PersonalContact {
            name: "Pat, \"the plumber\"".into(),
            company: Some("Pipes; Ltd".into()),
            numbers: vec![
                PhoneNumber { label: "work".into(), number: "+1 555 0100".into(), e164: None },
                PhoneNumber { label: "mobile".into(), number: "+1 555 0101".into(), e164: None },
                PhoneNumber { label: "work".into(), number: "+1 555 0102".into(), e164: None },
            ],
            emails: vec!["pat@example.com".into(), "p@example.org".into()],
            ..Default::default()
        };
        export(&file, std::slice::from_ref(&pat)).unwrap();
        let (back, bad) = import(&file).unwrap();
        assert!(bad.is_empty(), "{bad:?}");
        assert_eq!(back[0].name, pat.name);
        assert_eq!(back[0].company, pat.company);
        assert_eq!(back[0].emails, pat.emails);
        let mut numbers: Vec<_> = back[0].numbers.iter().map(|n| n.number.as_str()).collect();
        numbers.sort();
        assert_eq!(numbers, ["+1 555 0100", "+1 555 0101", "+1 555 0102"]);

        std::fs::write(
            &file,
            "\u{feff}email;NAME;Mobile phone\nann@example.com;Ann;+44 20 7946 0018\n;;\nbob@example.com;;123\n;Cy;call me\n;Di;+1 555 0199\n",
        )
        .unwrap();
        let (rows, bad) = import(&file).unwrap();
        assert_eq!(rows.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["Ann", "Di"]);
        assert_eq!(bad.iter().map(|r| r.line).collect::<Vec<_>>(), [4, 5]);
        assert_eq!(bad[0].reason, "no name");
        assert!(bad[1].reason.contains("call me"), "{:?}", bad[1]);
        std::fs::write(&file, "Phone,Who\n1,2\n").unwrap();
        assert!(matches!(import(&file), Err(CsvError::NoName { .. })));
    }
}
