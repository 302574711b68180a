//! The shell's own strings, one Fluent file per language: English and German are
//! built in; users add more with "Add language file" (the manual's Preferences →
//! General), which copies a `.ftl` into `<config>/languages/`. A key missing from a
//! language falls back to English, so a partial translation still works.

use fluent_bundle::{FluentArgs, FluentBundle, FluentResource};
use std::path::{Path, PathBuf};

const BUILT_IN: [(&str, &str); 2] =
    [("en", include_str!("../i18n/en.ftl")), ("de", include_str!("../i18n/de.ftl"))];

/// Why a language file was not added.
#[derive(Debug, thiserror::Error)]
pub enum LanguageError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path} is not a Fluent file: {problem}")]
    Parse { path: PathBuf, problem: String },
    #[error("name the file after its language, e.g. fr.ftl or pt-BR.ftl: {0}")]
    Name(PathBuf),
    #[error("cannot store the language: {0}")]
    Store(std::io::Error),
}

pub struct Strings {
    lang: String,
    chosen: Option<FluentBundle<FluentResource>>,
    english: FluentBundle<FluentResource>,
}

fn bundle(lang: &str, source: String) -> Result<FluentBundle<FluentResource>, String> {
    let id = lang.parse().map_err(|e| format!("{e:?}"))?;
    let resource = FluentResource::try_new(source.clone()).map_err(|(_, errs)| {
        // Each problem with its line, as an editor shows it.
        let lines: Vec<String> = errs
            .iter()
            .map(|e| {
                // The entry the problem is in (the parser's own position can be past
                // its end, on the next line).
                let at = e.slice.as_ref().map_or(e.pos.start, |s| s.start);
                let line = source.get(..at).map_or(0, |s| s.matches('\n').count()) + 1;
                format!("line {line}: {}", e.kind)
            })
            .collect();
        lines.join("; ")
    })?;
    let mut b = FluentBundle::new(vec![id]);
    // Isolation marks around arguments confuse plain-text widgets.
    b.set_use_isolating(false);
    b.add_resource(resource).map_err(|e| format!("{e:?}"))?;
    Ok(b)
}

impl Strings {
    /// The strings of `lang` (built in, or a file in `dir`); English when unknown.
    pub fn load(lang: &str, dir: &Path) -> Strings {
        let english = bundle("en", BUILT_IN[0].1.to_string()).expect("the built-in English strings parse");
        let source = BUILT_IN
            .iter()
            .find(|(l, _)| *l == lang)
            .map(|(_, s)| s.to_string())
            .or_else(|| std::fs::read_to_string(dir.join(format!("{lang}.ftl"))).ok());
        let chosen = source.and_then(|s| match bundle(lang, s) {
            Ok(b) => Some(b),
            Err(e) => {
                tracing::warn!("language {lang} does not load: {e}");
                None
            }
        });
        Strings { lang: lang.to_string(), chosen, english }
    }

    pub fn lang(&self) -> &str {
        &self.lang
    }

    pub fn t(&self, key: &str) -> String {
        self.t_args(key, &[])
    }

    pub fn t_args(&self, key: &str, args: &[(&str, &str)]) -> String {
        let mut fargs = FluentArgs::new();
        for (k, v) in args {
            fargs.set(*k, *v);
        }
        for b in self.chosen.iter().chain([&self.english]) {
            if let Some(pattern) = b.get_message(key).and_then(|m| m.value()) {
                let mut errors = Vec::new();
                return b.format_pattern(pattern, Some(&fargs), &mut errors).into_owned();
            }
        }
        key.to_string()
    }

    /// The languages to offer: built in plus added files.
    pub fn available(dir: &Path) -> Vec<String> {
        let mut langs: Vec<String> = BUILT_IN.iter().map(|(l, _)| l.to_string()).collect();
        if let Ok(entries) = std::fs::read_dir(dir) {
            for e in entries.flatten() {
                let p = e.path();
                if p.extension().is_some_and(|x| x == "ftl")
                    && let Some(stem) = p.file_stem().and_then(|s| s.to_str())
                    && !langs.iter().any(|l| l == stem)
                {
                    langs.push(stem.to_string());
                }
            }
        }
        langs
    }

    /// Checks a `.ftl` file and copies it into `dir`; returns its language tag.
    pub fn add_language(file: &Path, dir: &Path) -> Result<String, LanguageError> {
        let lang = file
            .file_stem()
            .and_then(|s| s.to_str())
            .filter(|s| s.parse::<unic_langid::LanguageIdentifier>().is_ok() && !s.is_empty())
            .ok_or_else(|| LanguageError::Name(file.to_path_buf()))?
            .to_string();
        let text = std::fs::read_to_string(file)
            .map_err(|source| LanguageError::Read { path: file.to_path_buf(), source })?;
        bundle(&lang, text.clone())
            .map_err(|problem| LanguageError::Parse { path: file.to_path_buf(), problem })?;
        std::fs::create_dir_all(dir).map_err(LanguageError::Store)?;
        std::fs::write(dir.join(format!("{lang}.ftl")), text).map_err(LanguageError::Store)?;
        Ok(lang)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_fall_back_to_english_and_files_can_be_added() {
        let dir = tempfile::tempdir().unwrap();
        let de = Strings::load("de", dir.path());
        assert_eq!(de.t("preferences"), "Einstellungen");
        assert_eq!(
            de.t_args("not-available", &[("plugin", "SMS"), ("reason", "x")]),
            "SMS ist nicht verfügbar: x"
        );
        let file = dir.path().join("fr.ftl");
        std::fs::write(&file, "preferences = Préférences\n").unwrap();
        let store = dir.path().join("languages");
        assert_eq!(Strings::add_language(&file, &store).unwrap(), "fr");
        let fr = Strings::load("fr", &store);
        assert_eq!(fr.t("preferences"), "Préférences");
        assert_eq!(fr.t("quit"), "Quit", "missing keys come from English");
        assert!(Strings::available(&store).contains(&"fr".to_string()));
        std::fs::write(&file, "preferences = Préférences\nthis is { not fluent\n").unwrap();
        let err = Strings::add_language(&file, &store).unwrap_err();
        assert!(matches!(err, LanguageError::Parse { .. }), "{err}");
        assert!(err.to_string().contains("line 2:"), "{err}");
        assert_eq!(Strings::load("fr", &store).t("preferences"), "Préférences", "the good file stays");
    }
}
