//! A small JSON writer for the statistics snapshot: objects of integers,
//! booleans, strings and objects, written in order, with every string escaped.

/// Writes one JSON object. Keys and values are added in order; `open`
/// starts a nested object under a key and `close` ends it.
pub struct Json {
    out: String,
    /// Nothing written yet in the innermost object: no comma before the next key.
    fresh: bool,
    depth: usize,
}

impl Default for Json {
    fn default() -> Self {
        Json::new()
    }
}

impl Json {
    pub fn new() -> Json {
        Json { out: String::from("{"), fresh: true, depth: 0 }
    }

    fn key(&mut self, name: &str) {
        if !self.fresh {
            self.out.push(',');
        }
        self.fresh = false;
        escape_into(&mut self.out, name);
        self.out.push(':');
    }

    pub fn int(&mut self, name: &str, value: i64) {
        self.key(name);
        self.out.push_str(&value.to_string());
    }

    /// An unsigned counter, as a JSON integer (past i64::MAX it stays there).
    pub fn count(&mut self, name: &str, value: u64) {
        self.int(name, i64::try_from(value).unwrap_or(i64::MAX));
    }

    pub fn bool(&mut self, name: &str, value: bool) {
        self.key(name);
        self.out.push_str(if value { "true" } else { "false" });
    }

    pub fn str(&mut self, name: &str, value: &str) {
        self.key(name);
        escape_into(&mut self.out, value);
    }

    /// Starts an object under `name`; `close` ends it.
    pub fn open(&mut self, name: &str) {
        self.key(name);
        self.out.push('{');
        self.fresh = true;
        self.depth += 1;
    }

    pub fn close(&mut self) {
        debug_assert!(self.depth > 0, "close without open");
        self.depth = self.depth.saturating_sub(1);
        self.out.push('}');
        self.fresh = false;
    }

    /// The text, with the outer object closed (and any left open).
    pub fn finish(mut self) -> String {
        debug_assert_eq!(self.depth, 0, "an object left open");
        for _ in 0..=self.depth {
            self.out.push('}');
        }
        self.out
    }
}

/// Appends `text` as a JSON string: quoted, with `"`, `\` and control
/// characters escaped (other characters are UTF-8, which JSON allows).
pub fn escape_into(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_nest_with_commas_only_between_members() {
        let mut json = Json::new();
        json.str("name", "a#producer-1");
        json.int("ts", -5);
        json.open("brokers");
        json.open("b:9092/1");
        json.count("tx", u64::MAX);
        json.close();
        json.open("empty");
        json.close();
        json.close();
        json.int("last", 0);
        json.bool("desired", false);
        json.bool("unknown", true);
        assert_eq!(
            json.finish(),
            r#"{"name":"a#producer-1","ts":-5,"brokers":{"b:9092/1":{"tx":9223372036854775807},"empty":{}},"last":0,"desired":false,"unknown":true}"#
        );
        assert_eq!(Json::new().finish(), "{}");
    }

    #[test]
    fn strings_are_escaped() {
        let mut out = String::new();
        escape_into(&mut out, "q\"b\\n\nt\tc\u{1}d\u{7f}é");
        assert_eq!(out, r#""q\"b\\n\nt\tc\u0001d\u007fé""#);
        let mut json = Json::new();
        json.str("k\"ey", "\r\u{8}\u{c}");
        assert_eq!(json.finish(), r#"{"k\"ey":"\r\b\f"}"#);
    }
}
