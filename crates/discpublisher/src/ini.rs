//! INI-style text as the publishers write it: `[SECTION]` lines, `KEY=VALUE` or `Key = Value`
//! lines, `#` or `;` comments, CRLF or LF.

use std::collections::HashMap;

/// Sections in file order; keys before the first section are in the section named "".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ini {
    pub sections: Vec<(String, Vec<(String, String)>)>,
}

impl Ini {
    /// Reads INI text in one pass: the time grows with the text, however many sections and
    /// keys it holds (a status file is hostile input).
    pub fn parse(text: &str) -> Ini {
        let mut ini = Ini::default();
        let mut index: HashMap<String, usize> = HashMap::new();
        // The section keys go to; the section named "" only once a key comes before the first.
        let mut current: Option<usize> = None;
        for line in text.lines() {
            let l = line.trim_end_matches('\r');
            let t = l.trim();
            if t.is_empty() || t.starts_with('#') || t.starts_with(';') {
                continue;
            }
            if let Some(name) = t.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
                current = Some(ini.section_at(&mut index, name));
                continue;
            }
            if let Some((k, v)) = l.split_once('=') {
                let k = k.trim().to_string();
                let v = v.trim().to_string();
                let i = *current.get_or_insert_with(|| ini.section_at(&mut index, ""));
                ini.sections[i].1.push((k, v));
            }
        }
        ini
    }

    /// The position of a section in `sections`, found in `index` or added.
    fn section_at(&mut self, index: &mut HashMap<String, usize>, name: &str) -> usize {
        if let Some(&i) = index.get(name) {
            return i;
        }
        self.sections.push((name.to_string(), Vec::new()));
        index.insert(name.to_string(), self.sections.len() - 1);
        self.sections.len() - 1
    }

    fn section_mut(&mut self, name: &str) -> &mut Vec<(String, String)> {
        if let Some(i) = self.sections.iter().position(|(n, _)| n == name) {
            return &mut self.sections[i].1;
        }
        self.sections.push((name.to_string(), Vec::new()));
        &mut self.sections.last_mut().expect("just pushed").1
    }

    /// The last value of each key of a section's keys and values, for readers that look up
    /// many keys of one section ([`Ini::get`] looks through the section each time).
    pub fn last_values(kv: &[(String, String)]) -> HashMap<&str, &str> {
        kv.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
    }

    pub fn section(&self, name: &str) -> Option<&[(String, String)]> {
        self.sections
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, kv)| kv.as_slice())
    }

    /// The last value of a key in a section.
    pub fn get(&self, section: &str, key: &str) -> Option<&str> {
        self.section(section)?
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn get_i64(&self, section: &str, key: &str) -> Option<i64> {
        self.get(section, key)?.parse().ok()
    }

    /// The last value of a key as a number: `None` when the key is absent, an error naming the
    /// file, section and key when it is there but not a number (the files are written by
    /// devices and people, and a garbled count must not read as a default).
    pub fn number(&self, file: &str, section: &str, key: &str) -> crate::Result<Option<i64>> {
        Self::number_of(file, section, key, self.get(section, key))
    }

    /// A key's value as a number, as [`Ini::number`] reads it: `None` when `value` is `None`,
    /// an error naming the file, section and key when it is not a number.
    pub fn number_of(
        file: &str,
        section: &str,
        key: &str,
        value: Option<&str>,
    ) -> crate::Result<Option<i64>> {
        match value {
            None => Ok(None),
            Some(v) => v
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| crate::Error::Syntax {
                    file: file.to_string(),
                    detail: format!(
                        "{}{key} = {v:?} is not a number",
                        if section.is_empty() {
                            String::new()
                        } else {
                            format!("[{section}] ")
                        }
                    ),
                }),
        }
    }

    /// Sets a key (replacing its value) in a section, creating both as needed.
    pub fn set(&mut self, section: &str, key: &str, value: impl ToString) {
        let s = self.section_mut(section);
        match s.iter_mut().find(|(k, _)| k == key) {
            Some(kv) => kv.1 = value.to_string(),
            None => s.push((key.to_string(), value.to_string())),
        }
    }

    pub fn remove_section(&mut self, name: &str) {
        self.sections.retain(|(n, _)| n != name);
    }

    /// The text, CRLF line ends, `sep` between key and value (`=` or ` = `).
    pub fn to_text(&self, sep: &str) -> String {
        let mut lines = Vec::new();
        for (name, kv) in &self.sections {
            if !name.is_empty() {
                lines.push(format!("[{name}]"));
            }
            for (k, v) in kv {
                lines.push(format!("{k}{sep}{v}"));
            }
        }
        crate::crlf(&lines)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_keys_comments_and_both_separators() {
        let ini = Ini::parse(
            "# status\r\n[ACTIVE_JOB]\r\nJOB1=A\r\n[A]\r\nSTATUS=2\r\n; x\r\n[Job 7]\nJobState = 1\nGoodDiscs= 3\n",
        );
        assert_eq!(ini.get("ACTIVE_JOB", "JOB1"), Some("A"));
        assert_eq!(ini.get_i64("A", "STATUS"), Some(2));
        assert_eq!(ini.get("Job 7", "JobState"), Some("1"));
        assert_eq!(ini.get_i64("Job 7", "GoodDiscs"), Some(3));
        assert_eq!(ini.get("A", "missing"), None);
        let mut w = Ini::default();
        w.set("S", "K", 1);
        w.set("S", "K", 2);
        assert_eq!(w.to_text(" = "), "[S]\r\nK = 2\r\n");
    }
}
