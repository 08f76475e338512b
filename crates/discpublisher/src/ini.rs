//! INI-style text as the publishers write it: `[SECTION]` lines, `KEY=VALUE` or `Key = Value`
//! lines, `#` or `;` comments, CRLF or LF.

/// Sections in file order; keys before the first section are in the section named "".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ini {
    pub sections: Vec<(String, Vec<(String, String)>)>,
}

impl Ini {
    pub fn parse(text: &str) -> Ini {
        let mut ini = Ini::default();
        let mut current = String::new();
        for line in text.lines() {
            let l = line.trim_end_matches('\r');
            let t = l.trim();
            if t.is_empty() || t.starts_with('#') || t.starts_with(';') {
                continue;
            }
            if let Some(name) = t.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
                current = name.to_string();
                ini.section_mut(&current);
                continue;
            }
            if let Some((k, v)) = l.split_once('=') {
                let k = k.trim().to_string();
                let v = v.trim().to_string();
                ini.section_mut(&current).push((k, v));
            }
        }
        ini
    }

    fn section_mut(&mut self, name: &str) -> &mut Vec<(String, String)> {
        if let Some(i) = self.sections.iter().position(|(n, _)| n == name) {
            return &mut self.sections[i].1;
        }
        self.sections.push((name.to_string(), Vec::new()));
        &mut self.sections.last_mut().expect("just pushed").1
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
        match self.get(section, key) {
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
