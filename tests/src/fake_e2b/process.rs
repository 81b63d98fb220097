//! envd's `process.Process` service: `Start` as a server stream of JSON
//! events, `SendSignal` and `List` (NOTES §3a, `process.proto`).
//!
//! A started command runs as its own task through the local sandbox, so
//! that, as in envd, it outlives a client that goes away; its lifetime is
//! `Connect-Timeout-Ms`. The stream sends the start event first, output as
//! it comes, keepalives at the requested interval while the command is
//! quiet, then the end event and the end-of-stream frame.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hero_worker::sandbox::{
    EntryKind, ExecExit, ExecRequest, OutputStream, SandboxError, SandboxErrorKind,
};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::connect::{self, ConnectError};
use super::envd::{HOME, resolve};
use super::faults::StreamFaults;
use super::state::{FakeSandbox, RunningProcess, State as FakeState};

/// envd's keepalive interval when the client asks for none (NOTES §3a).
const DEFAULT_KEEPALIVE: Duration = Duration::from_secs(90);
/// envd sends output in chunks of at most this many bytes.
const MAX_CHUNK: usize = 32 * 1024;
/// "No timeout": longer than any test or SDK session.
const FOREVER: Duration = Duration::from_secs(24 * 60 * 60);

#[derive(Deserialize)]
struct StartRequest {
    process: Option<ProcessConfig>,
    pty: Option<Value>,
    tag: Option<String>,
}

#[derive(Deserialize, Serialize)]
struct ProcessConfig {
    #[serde(default)]
    cmd: String,
    #[serde(default)]
    args: Vec<String>,
    #[serde(default)]
    envs: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cwd: Option<String>,
}

/// `'text'`, safe as one word for bash.
pub fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

pub async fn start(
    State(state): State<Arc<FakeState>>,
    Extension(sandbox): Extension<Arc<FakeSandbox>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request: StartRequest = match connect::stream_request(&headers, &body) {
        Ok(request) => request,
        Err(unreadable) => return unreadable.into_response(),
    };
    match prepare(&sandbox, request, &headers).await {
        Ok((exec, config, tag, keepalive)) => {
            let faults = state.faults.take_stream_faults();
            launch(state, sandbox, exec, config, tag, keepalive, faults)
        }
        Err(error) => connect::stream_error(&error),
    }
}

/// Checks the request as envd does before anything starts.
async fn prepare(
    sandbox: &FakeSandbox,
    request: StartRequest,
    headers: &HeaderMap,
) -> Result<(ExecRequest, ProcessConfig, Option<String>, Duration), ConnectError> {
    let config = request
        .process
        .ok_or_else(|| ConnectError::invalid_argument("process is required"))?;
    if config.cmd.is_empty() {
        return Err(ConnectError::invalid_argument("process.cmd is required"));
    }
    if request.pty.is_some() {
        // TODO: terminals are not faked; Hero runs commands without one.
        return Err(ConnectError::new(
            "unimplemented",
            "pty is not supported by the fake",
        ));
    }

    let lifetime = match header_text(headers, "connect-timeout-ms") {
        None => None,
        Some(text) => Some(Duration::from_millis(text.trim().parse().map_err(
            |_| ConnectError::invalid_argument(format!("invalid Connect-Timeout-Ms {text:?}")),
        )?)),
    };
    let keepalive = header_text(headers, "keepalive-ping-interval")
        .and_then(|text| text.trim().parse::<u64>().ok())
        .filter(|seconds| *seconds > 0)
        .map_or(DEFAULT_KEEPALIVE, Duration::from_secs);

    let cwd = resolve(config.cwd.as_deref().unwrap_or(HOME));
    match sandbox.local.stat(&cwd).await {
        Ok(entry) if entry.kind == EntryKind::Directory => {}
        _ => {
            return Err(ConnectError::invalid_argument(format!(
                "cwd '{cwd}' does not exist"
            )));
        }
    }

    let command = std::iter::once(&config.cmd)
        .chain(&config.args)
        .map(|word| shell_quote(word))
        .collect::<Vec<_>>()
        .join(" ");
    let mut exec = ExecRequest::new(command);
    exec.cwd = Some(cwd);
    exec.env = config
        .envs
        .iter()
        .map(|(key, value)| (key.clone(), SecretString::from(value.clone())))
        .collect();
    exec.timeout = lifetime.filter(|l| !l.is_zero()).unwrap_or(FOREVER);
    Ok((exec, config, request.tag, keepalive))
}

/// Starts the command's task and the stream that reports on it.
fn launch(
    state: Arc<FakeState>,
    sandbox: Arc<FakeSandbox>,
    mut exec: ExecRequest,
    config: ProcessConfig,
    tag: Option<String>,
    keepalive: Duration,
    faults: StreamFaults,
) -> Response {
    if faults.ignore_timeout {
        exec.timeout = FOREVER;
    }
    let pid = state.next_pid();
    let (output_tx, output_rx) = mpsc::unbounded_channel::<(OutputStream, Vec<u8>)>();
    let (done_tx, done_rx) = oneshot::channel::<Result<ExecExit, SandboxError>>();

    let local = sandbox.local.clone();
    let task = tokio::spawn(async move {
        let mut sink = |stream: OutputStream, bytes: &[u8]| {
            output_tx.send((stream, bytes.to_vec())).ok();
        };
        let result = local.exec(exec, &mut sink).await;
        done_tx.send(result).ok();
    });
    sandbox.add_process(
        pid,
        RunningProcess {
            config: serde_json::to_value(&config).unwrap_or(Value::Null),
            tag,
            abort: task.abort_handle(),
        },
    );
    let owner = sandbox.clone();
    tokio::spawn(async move {
        task.await.ok();
        owner.forget_process(pid);
    });

    let (frames_tx, frames_rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(16);
    let feed = Feed {
        frames: frames_tx,
        sent: 0,
        cut_after: faults.cut_after_events,
    };
    tokio::spawn(feed.run(
        state,
        sandbox.id.clone(),
        pid,
        output_rx,
        done_rx,
        keepalive,
        faults.stall,
    ));

    let stream = futures_util::stream::unfold(frames_rx, |mut frames| async move {
        frames.recv().await.map(|frame| (frame, frames))
    });
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/connect+json")],
        Body::from_stream(stream),
    )
        .into_response()
}

/// Why a stream stopped early.
enum Stop {
    /// The client went away.
    Gone,
    /// A fault cut the connection.
    Cut,
}

/// Writes the frames of one command's stream.
struct Feed {
    frames: mpsc::Sender<Result<Bytes, std::io::Error>>,
    sent: usize,
    cut_after: Option<usize>,
}

fn event(event: Value) -> Bytes {
    connect::envelope(0, &json!({ "event": event }))
}

impl Feed {
    async fn send(&mut self, frame: Bytes) -> Result<(), Stop> {
        if self.cut_after == Some(self.sent) {
            self.cut().await;
            return Err(Stop::Cut);
        }
        self.frames.send(Ok(frame)).await.map_err(|_| Stop::Gone)?;
        self.sent += 1;
        Ok(())
    }

    /// Drops the connection mid-body, as a dying sandbox or network does.
    async fn cut(&self) {
        let error = std::io::Error::new(std::io::ErrorKind::ConnectionAborted, "cut");
        self.frames.send(Err(error)).await.ok();
    }

    async fn send_output(&mut self, stream: OutputStream, bytes: &[u8]) -> Result<(), Stop> {
        let key = match stream {
            OutputStream::Stdout => "stdout",
            OutputStream::Stderr => "stderr",
        };
        for chunk in bytes.chunks(MAX_CHUNK) {
            self.send(event(json!({ "data": { key: BASE64.encode(chunk) } })))
                .await?;
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn run(
        mut self,
        state: Arc<FakeState>,
        sandbox_id: String,
        pid: u32,
        mut output: mpsc::UnboundedReceiver<(OutputStream, Vec<u8>)>,
        mut done: oneshot::Receiver<Result<ExecExit, SandboxError>>,
        keepalive: Duration,
        stall: bool,
    ) {
        if self
            .send(event(json!({ "start": { "pid": pid } })))
            .await
            .is_err()
        {
            return;
        }
        if stall {
            // Silent until the client gives up; the command runs on.
            self.frames.closed().await;
            return;
        }

        let quiet = tokio::time::sleep(keepalive);
        tokio::pin!(quiet);
        let mut output_open = true;
        let outcome = loop {
            tokio::select! {
                chunk = output.recv(), if output_open => match chunk {
                    Some((stream, bytes)) => {
                        if self.send_output(stream, &bytes).await.is_err() {
                            return;
                        }
                        quiet.as_mut().reset(Instant::now() + keepalive);
                    }
                    None => output_open = false,
                },
                () = &mut quiet => {
                    if self.send(event(json!({ "keepalive": {} }))).await.is_err() {
                        return;
                    }
                    quiet.as_mut().reset(Instant::now() + keepalive);
                }
                outcome = &mut done => break outcome,
                () = self.frames.closed() => return,
            }
        };
        while let Ok((stream, bytes)) = output.try_recv() {
            if self.send_output(stream, &bytes).await.is_err() {
                return;
            }
        }

        let finished = match outcome {
            // envd kills the command when Connect-Timeout-Ms passes, and
            // connect-go ends the RPC with deadline_exceeded.
            Ok(Ok(exit)) if exit.timed_out => {
                let error = ConnectError::new("deadline_exceeded", "context deadline exceeded");
                self.send(connect::end_of_stream(Some(&error))).await
            }
            Ok(Ok(exit)) => self.finish(exit.exit_code).await,
            Ok(Err(error)) if error.kind == SandboxErrorKind::Gone => {
                self.cut().await;
                Err(Stop::Cut)
            }
            Ok(Err(error)) => {
                let error = ConnectError::from(error);
                self.send(connect::end_of_stream(Some(&error))).await
            }
            // The task was aborted: by SendSignal, or because the sandbox
            // was killed, in which case the connection dies with it.
            Err(_aborted) if state.live(&sandbox_id).is_none() => {
                self.cut().await;
                Err(Stop::Cut)
            }
            Err(_aborted) => self.finish(None).await,
        };
        if let Err(Stop::Gone | Stop::Cut) = finished {
            tracing::debug!(sandbox = %sandbox_id, pid, "fake e2b: stream ended early");
        }
    }

    /// The end event, as envd reports `cmd.Wait`: `exitCode` omitted when
    /// 0, -1 and `exited: false` for a command killed by a signal.
    async fn finish(&mut self, exit_code: Option<i32>) -> Result<(), Stop> {
        let mut end = match exit_code {
            Some(code) => json!({ "exited": true, "status": format!("exit status {code}") }),
            None => json!({ "exitCode": -1, "exited": false, "status": "signal: killed" }),
        };
        if let Some(code) = exit_code.filter(|code| *code != 0) {
            end["exitCode"] = json!(code);
        }
        self.send(event(json!({ "end": end }))).await?;
        self.send(connect::end_of_stream(None)).await
    }
}

#[derive(Deserialize)]
struct Selector {
    pid: Option<u32>,
    tag: Option<String>,
}

#[derive(Deserialize)]
struct SignalRequest {
    process: Option<Selector>,
    signal: Option<Value>,
}

/// Kills the command. Both SIGKILL and SIGTERM kill: the local sandbox can
/// only stop a command's whole process group.
pub async fn send_signal(
    Extension(sandbox): Extension<Arc<FakeSandbox>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request: SignalRequest = match connect::unary_request(&headers, &body) {
        Ok(request) => request,
        Err(unreadable) => return unreadable.into_response(),
    };
    let known_signal = matches!(
        &request.signal,
        Some(Value::String(name)) if name == "SIGNAL_SIGKILL" || name == "SIGNAL_SIGTERM"
    ) || matches!(&request.signal, Some(Value::Number(n)) if n.as_u64() == Some(9) || n.as_u64() == Some(15));
    if !known_signal {
        return ConnectError::invalid_argument("invalid signal").into_response();
    }

    let pid = match request.process {
        Some(Selector { pid: Some(pid), .. }) => Some(pid),
        Some(Selector { tag: Some(tag), .. }) => sandbox
            .process_infos()
            .iter()
            .find(|info| info["tag"] == Value::String(tag.clone()))
            .and_then(|info| info["pid"].as_u64())
            .and_then(|pid| u32::try_from(pid).ok()),
        _ => None,
    };
    match pid {
        Some(pid) if sandbox.kill_process(pid) => connect::unary_ok(json!({})),
        Some(pid) => {
            ConnectError::not_found(format!("process with pid {pid} not found")).into_response()
        }
        None => ConnectError::not_found("process not found").into_response(),
    }
}

pub async fn list(
    Extension(sandbox): Extension<Arc<FakeSandbox>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(unreadable) = connect::unary_request::<Value>(&headers, &body) {
        return unreadable.into_response();
    }
    connect::unary_ok(json!({ "processes": sandbox.process_infos() }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_keeps_a_word_whole_for_bash() {
        assert_eq!(shell_quote("echo hi"), "'echo hi'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
    }
}
