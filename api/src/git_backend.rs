//! Git's smart HTTP protocol, served by `git http-backend` (CGI) behind an
//! axum handler: the local forge's repositories, and the test kit's git
//! server, use it. The request body is streamed to the backend's stdin
//! while its answer streams back, and push is on (`http.receivepack`).

use std::path::Path;
use std::process::Stdio;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use futures_util::StreamExt;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;
use tokio_util::io::ReaderStream;

/// The user name git sends with a token, as GitHub expects.
pub const TOKEN_USER: &str = "x-access-token";

/// `owner/name` from `/owner/name.git/...`, refusing anything that could
/// step outside the root.
pub fn repository_of(path: &str) -> Option<String> {
    let mut segments = path.trim_start_matches('/').split('/');
    let owner = segments.next()?;
    let name = segments.next()?.strip_suffix(".git")?;
    let plain = |s: &str| {
        !s.is_empty()
            && !s.starts_with('.')
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    };
    (plain(owner) && plain(name)).then(|| format!("{owner}/{name}"))
}

/// The token of `Authorization: Basic base64(x-access-token:TOKEN)`.
pub fn basic_token(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (user, token) = decoded.split_once(':')?;
    (user == TOKEN_USER && !token.is_empty()).then(|| token.to_owned())
}

/// Runs `git http-backend` for one request: CGI variables in, the body on
/// stdin, CGI headers and the body out.
pub async fn run_backend(root: &Path, request: Request) -> std::io::Result<Response> {
    let (parts, body) = request.into_parts();
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());

    let mut command = Command::new("git");
    command
        .arg("http-backend")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_PROJECT_ROOT", root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("GIT_CONFIG_COUNT", "1")
        .env("GIT_CONFIG_KEY_0", "http.receivepack")
        .env("GIT_CONFIG_VALUE_0", "true")
        .env("REQUEST_METHOD", parts.method.as_str())
        .env("PATH_INFO", parts.uri.path())
        .env("QUERY_STRING", parts.uri.query().unwrap_or_default())
        .env("REMOTE_USER", TOKEN_USER)
        .env("REMOTE_ADDR", "127.0.0.1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (variable, name) in [
        ("CONTENT_TYPE", "content-type"),
        ("CONTENT_LENGTH", "content-length"),
        ("GIT_PROTOCOL", "git-protocol"),
        ("HTTP_CONTENT_ENCODING", "content-encoding"),
    ] {
        if let Some(value) = header(name) {
            command.env(variable, value);
        }
    }
    let mut child = command.spawn()?;

    // The body goes in while the answer comes out: a large push would
    // otherwise fill one pipe while the backend waits on the other. A body
    // without a length (chunked) ends with EOF on stdin.
    let mut stdin = child
        .stdin
        .take()
        .ok_or_else(|| std::io::Error::other("git http-backend has no stdin"))?;
    tokio::spawn(async move {
        let mut stream = body.into_data_stream();
        while let Some(chunk) = stream.next().await {
            let Ok(chunk) = chunk else { break };
            if stdin.write_all(&chunk).await.is_err() {
                break;
            }
        }
    });

    let mut stdout = BufReader::new(
        child
            .stdout
            .take()
            .ok_or_else(|| std::io::Error::other("git http-backend has no stdout"))?,
    );
    let mut response = Response::builder().status(StatusCode::OK);
    loop {
        let mut line = String::new();
        if stdout.read_line(&mut line).await? == 0 {
            break;
        }
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            break;
        }
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("status") {
            let code = value.split_whitespace().next().unwrap_or("500");
            response = response.status(code.parse::<u16>().unwrap_or(500));
        } else if let Ok(value) = HeaderValue::from_str(value) {
            response = response.header(name, value);
        }
    }

    let Some(mut stderr) = child.stderr.take() else {
        return Err(std::io::Error::other("git http-backend has no stderr"));
    };
    tokio::spawn(async move {
        let mut errors = String::new();
        stderr.read_to_string(&mut errors).await.ok();
        let status = child.wait().await;
        if !errors.trim().is_empty() {
            tracing::debug!(?status, errors = %errors.trim(), "git http-backend stderr");
        }
    });

    response
        .body(Body::from_stream(ReaderStream::new(stdout)))
        .map_err(std::io::Error::other)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(credentials: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let value = format!("Basic {}", STANDARD.encode(credentials));
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&value).unwrap(),
        );
        headers
    }

    #[test]
    fn repository_paths_are_owner_and_name_only() {
        assert_eq!(
            repository_of("/acme/widgets.git/info/refs").as_deref(),
            Some("acme/widgets")
        );
        assert_eq!(repository_of("/acme/widgets/info/refs"), None);
        assert_eq!(repository_of("/../etc.git/info/refs"), None);
        assert_eq!(repository_of("/acme/.hidden.git/HEAD"), None);
    }

    #[test]
    fn only_the_access_token_user_is_accepted() {
        assert_eq!(
            basic_token(&basic("x-access-token:ghs_abc")).as_deref(),
            Some("ghs_abc")
        );
        assert_eq!(basic_token(&basic("someone:ghs_abc")), None);
        assert_eq!(basic_token(&basic("x-access-token:")), None);
    }
}
