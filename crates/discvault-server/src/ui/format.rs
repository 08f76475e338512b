//! Numbers, sizes and query strings as the pages show them.

/// `s` for a query string: everything but unreserved characters as %XX.
pub fn query_escape(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A count with thousands separated: 1,234,567.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A size as the CLI prints it (binary units).
pub fn size(bytes: u64) -> String {
    discvault::human_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_sizes_and_queries() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(1234567), "1,234,567");
        assert_eq!(size(999), "999 B");
        assert_eq!(size(4_700_000_000), "4.4 GiB");
        assert_eq!(
            query_escape("/search?q=通知"),
            "/search%3Fq%3D%E9%80%9A%E7%9F%A5"
        );
    }
}
