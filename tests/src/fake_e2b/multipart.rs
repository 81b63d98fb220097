//! Just enough of `multipart/form-data` (RFC 7578) to read envd uploads:
//! each part's name, filename and bytes.

pub struct Part {
    pub name: String,
    pub file_name: Option<String>,
    pub contents: Vec<u8>,
}

/// Splits `body` into its parts, with the boundary from `content_type`.
pub fn parse(content_type: &str, body: &[u8]) -> Result<Vec<Part>, String> {
    let boundary = content_type
        .split(';')
        .filter_map(|param| param.trim().strip_prefix("boundary="))
        .next()
        .map(|b| b.trim_matches('"'))
        .filter(|b| !b.is_empty())
        .ok_or("multipart body without a boundary")?;
    let delimiter = format!("--{boundary}").into_bytes();
    let separator = format!("\r\n--{boundary}").into_bytes();

    let mut rest = body
        .strip_prefix(delimiter.as_slice())
        .ok_or("multipart body does not start with its boundary")?;
    let mut parts = Vec::new();
    loop {
        if rest.starts_with(b"--") {
            return Ok(parts);
        }
        rest = rest
            .strip_prefix(b"\r\n")
            .ok_or("malformed multipart boundary line")?;
        let header_end = find(rest, b"\r\n\r\n").ok_or("multipart part without headers' end")?;
        let headers = std::str::from_utf8(&rest[..header_end])
            .map_err(|_| "multipart headers are not UTF-8")?;
        let after_headers = &rest[header_end + 4..];
        let content_end =
            find(after_headers, &separator).ok_or("multipart part without a closing boundary")?;

        let (name, file_name) = disposition(headers)?;
        parts.push(Part {
            name,
            file_name,
            contents: after_headers[..content_end].to_vec(),
        });
        rest = &after_headers[content_end + separator.len()..];
    }
}

/// `name` and `filename` of the part's `Content-Disposition`.
fn disposition(headers: &str) -> Result<(String, Option<String>), String> {
    let line = headers
        .split("\r\n")
        .find(|line| {
            line.to_ascii_lowercase()
                .starts_with("content-disposition:")
        })
        .ok_or("multipart part without Content-Disposition")?;
    let mut name = None;
    let mut file_name = None;
    for param in line.split(';').skip(1) {
        let Some((key, value)) = param.trim().split_once('=') else {
            continue;
        };
        let value = value.trim().trim_matches('"').to_owned();
        match key.trim().to_ascii_lowercase().as_str() {
            "name" => name = Some(value),
            "filename" => file_name = Some(value),
            _ => {}
        }
    }
    Ok((name.ok_or("multipart part without a name")?, file_name))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn parts_are_read_with_their_names_and_bytes() {
        let body = b"--XyZ\r\n\
            Content-Disposition: form-data; name=\"file\"; filename=\"/home/user/a.txt\"\r\n\
            Content-Type: text/plain\r\n\r\n\
            hello\r\n\
            --XyZ\r\n\
            Content-Disposition: form-data; name=\"other\"\r\n\r\n\
            x\r\n--XyZ--\r\n";

        let parts = parse("multipart/form-data; boundary=XyZ", body).unwrap();

        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].name, "file");
        assert_eq!(parts[0].file_name.as_deref(), Some("/home/user/a.txt"));
        assert_eq!(parts[0].contents, b"hello");
        assert_eq!(parts[1].name, "other");
        assert_eq!(parts[1].file_name, None);
    }

    #[test]
    fn a_body_without_its_boundary_is_refused() {
        assert!(parse("multipart/form-data; boundary=a", b"junk").is_err());
        assert!(parse("multipart/form-data", b"--a\r\n").is_err());
    }
}
