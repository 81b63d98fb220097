//! Running a command in an E2B sandbox: `process.Process/Start`, a Connect
//! server stream of JSON events (NOTES §3a).
//!
//! The stream opens with a `start` event carrying the pid, then `data`
//! events with base64 output, `keepalive`s while the command is quiet, an
//! `end` event with the exit code (omitted when 0) and the end-of-stream
//! frame, which carries an error if the RPC failed. envd kills the command
//! when `Connect-Timeout-Ms` elapses; we also keep our own deadline a
//! little later and kill it through `SendSignal` if envd has not answered
//! by then, and give up on a stream that sends nothing, not even a
//! keepalive, for the idle timeout. envd keeps a command running when its
//! stream is lost, so whenever we stop following one early we kill it.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use futures_util::StreamExt;
use reqwest::Method;
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::json;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::sandbox::{
    ExecExit, ExecRequest, OutputSink, OutputStream, SandboxError, SandboxErrorKind,
};

use super::envd::{E2bSandbox, HOME};
use super::envelope::{self, Decoder, Frame};
use super::transport::kind_of_connect_code;

/// How long past the command's timeout we wait for envd to report the kill
/// before killing it ourselves.
const DEADLINE_GRACE: Duration = Duration::from_secs(2);

#[derive(Deserialize)]
struct StartResponse {
    event: Option<ProcessEvent>,
}

#[derive(Deserialize)]
struct ProcessEvent {
    start: Option<StartEvent>,
    data: Option<DataEvent>,
    end: Option<EndEvent>,
    keepalive: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct StartEvent {
    #[serde(default)]
    pid: u32,
}

#[derive(Deserialize)]
struct DataEvent {
    stdout: Option<String>,
    stderr: Option<String>,
    pty: Option<String>,
}

#[derive(Debug, Deserialize)]
struct EndEvent {
    /// sint32, omitted when 0.
    #[serde(rename = "exitCode", default)]
    exit_code: i32,
    #[serde(default)]
    exited: bool,
}

#[derive(Deserialize)]
struct EndOfStream {
    error: Option<ConnectError>,
}

#[derive(Deserialize)]
struct ConnectError {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

/// What the stream has told us so far.
#[derive(Default)]
struct Progress {
    pid: Option<u32>,
    end: Option<EndEvent>,
}

/// A command's run, from the request to its exit.
struct Run<'a> {
    sandbox: &'a E2bSandbox,
    what: String,
    timeout: Duration,
    started: Instant,
    progress: Progress,
    cancel: CancellationToken,
}

#[tracing::instrument(level = "debug", skip_all, fields(sandbox = %sandbox.id))]
pub async fn run(
    sandbox: &E2bSandbox,
    request: ExecRequest,
    sink: OutputSink<'_>,
) -> Result<ExecExit, SandboxError> {
    let config = &sandbox.shared.config;
    let what = format!("run a command in sandbox {}", sandbox.id);
    let body = start_request(&request)
        .map_err(|e| SandboxError::refused(format!("{what}: encoding the request: {e}")))?;
    let keepalive = config.keepalive_interval_secs().to_string();
    let timeout_ms = request.timeout.as_millis().to_string();
    let has_timeout = !request.timeout.is_zero();

    // Only a proxy or envd's auth answers Start with an error status, and
    // both do so before the command starts, so the transport may retry it.
    let response = sandbox
        .send(&what, || {
            let mut builder = sandbox
                .envd_request(Method::POST, "/process.Process/Start")
                .header("Content-Type", "application/connect+json")
                .header("Connect-Protocol-Version", "1")
                .header("Connect-Accept-Encoding", "identity")
                .header("Connect-Content-Encoding", "identity")
                .header("Keepalive-Ping-Interval", &keepalive);
            if has_timeout {
                builder = builder.header("Connect-Timeout-Ms", &timeout_ms);
            }
            builder.body(body.clone())
        })
        .await?;
    check_content_type(&response, &what)?;

    let mut run = Run {
        sandbox,
        what,
        timeout: request.timeout,
        started: Instant::now(),
        progress: Progress::default(),
        cancel: request.cancel.clone(),
    };
    run.follow(response, sink).await
}

/// The enveloped `StartRequest`, the command wrapped in a login bash as the
/// SDK does. Secret values go into this body and nowhere else.
fn start_request(request: &ExecRequest) -> Result<bytes::Bytes, String> {
    let envs: BTreeMap<&str, &str> = request
        .env
        .iter()
        .map(|(key, value)| (key.as_str(), value.expose_secret()))
        .collect();
    let message = json!({
        "process": {
            "cmd": "/bin/bash",
            "args": ["-l", "-c", request.command],
            "envs": envs,
            "cwd": request.cwd.as_deref().unwrap_or(HOME),
        },
        "stdin": false,
    });
    let payload = serde_json::to_vec(&message).map_err(|e| e.to_string())?;
    envelope::encode(0, &payload).map_err(|e| e.to_string())
}

fn check_content_type(response: &reqwest::Response, what: &str) -> Result<(), SandboxError> {
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if content_type.starts_with("application/connect+json") {
        Ok(())
    } else {
        Err(SandboxError::transient(format!(
            "{what}: expected application/connect+json, got {content_type:?}"
        )))
    }
}

impl Run<'_> {
    async fn follow(
        &mut self,
        response: reqwest::Response,
        sink: OutputSink<'_>,
    ) -> Result<ExecExit, SandboxError> {
        let idle = self.sandbox.shared.config.stream_idle_timeout;
        let deadline =
            (!self.timeout.is_zero()).then(|| self.started + self.timeout + DEADLINE_GRACE);
        let mut stream = response.bytes_stream();
        let mut decoder = Decoder::new();

        loop {
            let next = tokio::select! {
                next = tokio::time::timeout(idle, stream.next()) => next,
                () = self.cancel.cancelled() => {
                    tracing::debug!(sandbox = %self.sandbox.id, pid = ?self.progress.pid, "command cancelled; killing it");
                    self.kill().await;
                    return Err(SandboxError::cancelled(format!("{}: cancelled", self.what)));
                }
                () = sleep_until_option(deadline) => {
                    tracing::debug!(sandbox = %self.sandbox.id, pid = ?self.progress.pid, "command outlived its deadline; killing it");
                    self.kill().await;
                    return Ok(timed_out());
                }
            };

            let chunk = match next {
                Err(_silence) => {
                    self.kill().await;
                    return Err(SandboxError::timed_out(format!(
                        "{}: nothing from the sandbox, not even a keepalive, for {idle:?}",
                        self.what
                    )));
                }
                Ok(None) => {
                    decoder
                        .finish()
                        .map_err(|e| SandboxError::transient(format!("{}: {e}", self.what)))?;
                    return self
                        .cut_short("the stream ended without an end event")
                        .await;
                }
                Ok(Some(Err(error))) => {
                    let why = super::transport::error_chain(&error);
                    return self.cut_short(&format!("the stream broke: {why}")).await;
                }
                Ok(Some(Ok(chunk))) => chunk,
            };

            decoder.push(&chunk);
            match self.take_frames(&mut decoder, sink) {
                Ok(None) => {}
                Ok(Some(exit)) => return Ok(exit),
                Err(error) => {
                    // A stream we cannot follow leaves the command unwatched;
                    // envd would let it run on, so stop it.
                    if self.progress.end.is_none() {
                        self.kill().await;
                    }
                    return Err(error);
                }
            }
        }
    }

    /// Handles every complete frame received so far; the exit once the
    /// end-of-stream frame has come.
    fn take_frames(
        &mut self,
        decoder: &mut Decoder,
        sink: OutputSink<'_>,
    ) -> Result<Option<ExecExit>, SandboxError> {
        while let Some(frame) = decoder
            .next_frame()
            .map_err(|e| SandboxError::transient(format!("{}: {e}", self.what)))?
        {
            match frame {
                Frame::Message(payload) => self.handle_event(&payload, sink)?,
                Frame::End(payload) => return self.finish(&payload).map(Some),
            }
        }
        Ok(None)
    }

    fn handle_event(&mut self, payload: &[u8], sink: OutputSink<'_>) -> Result<(), SandboxError> {
        let message: StartResponse = serde_json::from_slice(payload)
            .map_err(|e| self.protocol_error(&format!("unreadable event: {e}")))?;
        let Some(event) = message.event else {
            return Ok(());
        };

        if let Some(start) = event.start {
            self.progress.pid = Some(start.pid);
            tracing::debug!(sandbox = %self.sandbox.id, pid = start.pid, "command started");
            return Ok(());
        }
        // The SDK fails a stream that does not open with `start`; so do we,
        // since without a pid the command could not be killed.
        if self.progress.pid.is_none() {
            return Err(self.protocol_error("the first event was not start"));
        }
        if let Some(data) = event.data {
            let (stream, encoded) = match (data.stdout, data.stderr, data.pty) {
                (Some(out), _, _) => (OutputStream::Stdout, out),
                (None, Some(err), _) => (OutputStream::Stderr, err),
                (None, None, Some(pty)) => (OutputStream::Stdout, pty),
                (None, None, None) => return Ok(()),
            };
            let bytes = BASE64
                .decode(encoded.as_bytes())
                .map_err(|e| self.protocol_error(&format!("output is not base64: {e}")))?;
            sink(stream, &bytes);
        } else if let Some(end) = event.end {
            self.progress.end = Some(end);
        } else if event.keepalive.is_some() {
            // Its arrival has already reset the idle timer.
        }
        Ok(())
    }

    /// The end-of-stream frame: the RPC's outcome.
    fn finish(&mut self, payload: &[u8]) -> Result<ExecExit, SandboxError> {
        let end_of_stream: EndOfStream = if payload.is_empty() {
            EndOfStream { error: None }
        } else {
            serde_json::from_slice(payload)
                .map_err(|e| self.protocol_error(&format!("unreadable end of stream: {e}")))?
        };

        match (end_of_stream.error, self.progress.end.take()) {
            (_, Some(end)) if end.exited => Ok(ExecExit {
                exit_code: Some(end.exit_code),
                timed_out: false,
            }),
            // envd's deadline (Connect-Timeout-Ms) is the command's timeout:
            // when it passes, envd kills the command and ends the RPC so.
            (Some(error), _) if error.code == "deadline_exceeded" => Ok(timed_out()),
            (Some(error), _) => Err(SandboxError::new(
                kind_of_connect_code(&error.code),
                format!("{}: {}: {}", self.what, error.code, error.message),
            )),
            (None, Some(_killed)) => Ok(ExecExit {
                exit_code: None,
                timed_out: !self.timeout.is_zero() && self.started.elapsed() >= self.timeout,
            }),
            (None, None) => Err(self.protocol_error("the stream ended without an end event")),
        }
    }

    /// The stream stopped before its end-of-stream frame. An `end` already
    /// received is enough (the SDK accepts it too); otherwise the sandbox is
    /// probed, as the SDK does, to tell a dead sandbox from a lost
    /// connection.
    async fn cut_short(&mut self, why: &str) -> Result<ExecExit, SandboxError> {
        if let Some(end) = self.progress.end.take() {
            return Ok(ExecExit {
                exit_code: end.exited.then_some(end.exit_code),
                timed_out: false,
            });
        }
        if let Err(probe) = crate::sandbox::Sandbox::health(self.sandbox).await
            && probe.kind == SandboxErrorKind::Gone
        {
            return Err(probe);
        }
        // envd keeps a command running when its stream drops; a caller told
        // to retry must not find the first run still going.
        self.kill().await;
        Err(SandboxError::transient(format!("{}: {why}", self.what)))
    }

    /// Best effort: the command may already be gone, and the caller is told
    /// what happened whatever this returns.
    async fn kill(&self) {
        let Some(pid) = self.progress.pid else {
            return;
        };
        let body = json!({ "process": { "pid": pid }, "signal": "SIGNAL_SIGKILL" });
        let what = format!("kill process {pid} in sandbox {}", self.sandbox.id);
        if let Err(failure) = self
            .sandbox
            .unary::<serde_json::Value>(&what, "process.Process/SendSignal", &body)
            .await
        {
            tracing::debug!(sandbox = %self.sandbox.id, pid, error = %failure.error, "kill failed");
        }
    }

    fn protocol_error(&self, why: &str) -> SandboxError {
        SandboxError::transient(format!("{}: {why}", self.what))
    }
}

fn timed_out() -> ExecExit {
    ExecExit {
        exit_code: None,
        timed_out: true,
    }
}

async fn sleep_until_option(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use secrecy::SecretString;

    use super::*;

    #[test]
    fn the_start_request_wraps_the_command_as_the_sdk_does() {
        let mut request = ExecRequest::new("echo hello");
        request.cwd = Some("/tmp".to_owned());
        request.env = vec![("X".to_owned(), SecretString::from("y"))];

        let framed = start_request(&request).unwrap();
        let mut decoder = Decoder::new();
        decoder.push(&framed);
        let Some(Frame::Message(payload)) = decoder.next_frame().unwrap() else {
            panic!("expected one message");
        };
        let body: serde_json::Value = serde_json::from_slice(&payload).unwrap();

        assert_eq!(
            body,
            json!({
                "process": {
                    "cmd": "/bin/bash",
                    "args": ["-l", "-c", "echo hello"],
                    "envs": {"X": "y"},
                    "cwd": "/tmp",
                },
                "stdin": false,
            })
        );
    }

    #[test]
    fn an_end_event_without_exit_code_means_zero() {
        let end: StartResponse =
            serde_json::from_str(r#"{"event":{"end":{"exited":true,"status":"exit status 0"}}}"#)
                .unwrap();

        let end = end.event.unwrap().end.unwrap();

        assert_eq!(end.exit_code, 0);
        assert!(end.exited);
    }
}
