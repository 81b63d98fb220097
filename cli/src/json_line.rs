//! `--json` output: one JSON object per line, each with an `event` field
//! that says what the line is (`row`, `progress`, `summary`, ...), so a
//! script can read the stream line by line.

use serde::Serialize;

/// The value's fields, and `event`.
pub fn json_line(event: &str, value: &impl Serialize) -> String {
    let mut line = serde_json::Map::new();
    if let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(value) {
        line.extend(fields);
    }
    line.insert("event".to_owned(), event.into());
    serde_json::Value::Object(line).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_one_object_with_its_event() {
        let line = json_line("summary", &serde_json::json!({"failed": 2}));

        let parsed: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(parsed, serde_json::json!({"event": "summary", "failed": 2}));
        assert!(!line.contains('\n'));
    }
}
