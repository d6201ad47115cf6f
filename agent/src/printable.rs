//! The one filter for text that came from outside on its way to a terminal: a domain from
//! user-data, a key comment in `[access]`, a certificate's name, jicofo's or AWS's answer,
//! a configuration error quoting any of them. A control character in it (ESC starting an
//! escape sequence, BEL, a C1 CSI, a bidirectional override) would otherwise reach
//! `meet-agent status`, the SSH login banner or `config check` and act on the reader's
//! terminal. Every such character is shown as `?`; everything printable stays as it is.

/// Whether `c` is shown as it is: not a control character (C0, DEL, C1) and not one of
/// Unicode's invisible direction overrides and isolates, which reorder what is displayed.
pub fn is_shown(c: char) -> bool {
    !c.is_control() && !matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` as one line for a terminal: at most `max` characters, every character that is
/// not [`is_shown`] (line breaks and tabs included) replaced by `?`.
pub fn printable(text: &str, max: usize) -> String {
    text.chars()
        .take(max)
        .map(|c| if is_shown(c) { c } else { '?' })
        .collect()
}

/// `text` (many lines) for a terminal: line breaks stay, every other character that is
/// not [`is_shown`] is replaced by `?`.
pub fn terminal(text: &str) -> String {
    text.chars()
        .map(|c| if c == '\n' || is_shown(c) { c } else { '?' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_never_pass_and_printable_text_does() {
        let hostile = "a\u{1b}[2Jb\u{7}c\u{9b}31md\u{7f}e\u{202e}f\u{2066}g\r\th\u{0}";
        assert_eq!(printable(hostile, 100), "a?[2Jb?c?31md?e?f?g??h?");
        assert_eq!(
            terminal(&format!("{hostile}\nx")),
            "a?[2Jb?c?31md?e?f?g??h?\nx"
        );
        assert_eq!(printable("line\nbreak", 100), "line?break");
        // Printable text, non-ASCII included, is unchanged.
        let fine = "meet.example.org: café ꭰꭱ 会议 — ok";
        assert_eq!(printable(fine, 100), fine);
        assert_eq!(terminal(fine), fine);
        assert_eq!(printable(&"x".repeat(300), 253).len(), 253);
    }
}

/// A size for people: `3.2 GiB`, `340 MiB`, `12 KiB` or `512 bytes` (binary units; MiB
/// and KiB rounded down, GiB to one decimal).
pub fn human_bytes(bytes: u64) -> String {
    const KIB: u64 = 1 << 10;
    const MIB: u64 = 1 << 20;
    const GIB: u64 = 1 << 30;
    if bytes >= GIB {
        format!("{:.1} GiB", bytes as f64 / GIB as f64)
    } else if bytes >= MIB {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= KIB {
        format!("{} KiB", bytes / KIB)
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
mod human_bytes_tests {
    #[test]
    fn sizes_read_as_people_say_them() {
        let rows = [
            (512, "512 bytes"),
            (12 << 10, "12 KiB"),
            ((340 << 20) + 12345, "340 MiB"),
            ((3 << 30) + (1 << 29), "3.5 GiB"),
        ];
        for (bytes, want) in rows {
            assert_eq!(super::human_bytes(bytes), want);
        }
    }
}
