use std::borrow::Cow;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use secrecy::SecretString;

use super::*;

fn redactor(secrets: &[(&str, &str)]) -> Redactor {
    Redactor::new(
        secrets
            .iter()
            .map(|(name, value)| (name.to_string(), SecretString::from(value.to_string()))),
    )
    .unwrap()
}

fn ghp() -> String {
    format!("ghp_{}", "aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6")
}

/// Feeds `input` in the given chunks and joins everything the stream
/// returned.
#[track_caller]
fn streamed(redactor: &Redactor, chunks: &[&[u8]]) -> Vec<u8> {
    let mut stream = redactor.stream();
    let mut out = Vec::new();
    for chunk in chunks {
        out.extend(stream.push(chunk));
    }
    out.extend(stream.finish());
    out
}

/// A redactor and an input that exercise every kind of needle, overlaps,
/// prefixes that never complete and bytes that are not UTF-8.
fn hostile_case() -> (Redactor, Vec<u8>) {
    let redactor = redactor(&[
        ("API_KEY", "sk-live-0123456789"),
        ("SHORT", "abc123"),
        ("LONG", "abc123456"),
        ("PASS", "p@ss w/rd"),
        ("HEAD", "xyz12345"),
        ("TAIL", "12345uvw"),
    ]);
    let mut input = Vec::new();
    input.extend(b"key=sk-live-0123456789\n");
    input.extend(b"abc123456 abc123 abc12 ");
    input.extend(b"p%40ss%20w%2Frd ");
    input.extend(STANDARD.encode("p@ss w/rd").as_bytes());
    input.extend(b" xyz12345uvw \xff\xfe");
    input.extend(format!(" token {} ", ghp()).as_bytes());
    input.extend(b"https://bot:hunter2@example.com/x https://example.com:8080/ ");
    input.extend(crate::api_token::PREFIX.as_bytes());
    input.extend(b"short sk-live-012");
    (redactor, input)
}

#[test]
fn a_named_value_is_replaced_by_a_marker_naming_its_key() {
    let redactor = redactor(&[("API_KEY", "sk-live-0123456789")]);

    let out = redactor.redact_str("using sk-live-0123456789 twice: sk-live-0123456789.");

    assert_eq!(out, "using [redacted:API_KEY] twice: [redacted:API_KEY].");
}

#[test]
fn hero_tokens_are_redacted_without_being_configured() {
    let redactor = Redactor::builtin().unwrap();
    let (token, _) = crate::api_token::generate();

    let out = redactor.redact_str(&format!(
        "Authorization: Bearer {}\n",
        token.expose_secret()
    ));

    assert_eq!(out, "Authorization: Bearer [redacted:hero_token]\n");
}

#[test]
fn github_tokens_of_every_kind_are_redacted() {
    let redactor = Redactor::builtin().unwrap();
    let body = "aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6";
    let fine_grained = format!("github_pat_11ABCDEFG0{}_{}", body, body);

    for prefix in ["ghp_", "gho_", "ghu_", "ghs_", "ghr_"] {
        let out = redactor.redact_str(&format!("token={prefix}{body};"));
        assert_eq!(out, "token=[redacted:github_token];", "{prefix}");
    }
    let out = redactor.redact_str(&format!("GH_TOKEN={fine_grained}\n"));
    assert_eq!(out, "GH_TOKEN=[redacted:github_token]\n");
}

#[test]
fn token_lookalikes_that_are_too_short_are_left_alone() {
    let redactor = Redactor::builtin().unwrap();
    let text = "hero_short ghp_123 github_pat_abc superhero_ and a ://";

    let out = redactor.redact(text.as_bytes());

    assert!(matches!(out, Cow::Borrowed(_)));
}

#[test]
fn a_url_password_is_redacted_keeping_scheme_user_and_host() {
    let redactor = Redactor::builtin().unwrap();

    let out = redactor.redact_str(
        "remote: https://x-access-token:s3cr3t-v4lue@github.com/o/r.git (fetch)\n\
         db postgres://app:pa:ss@db.internal:5432/app",
    );

    assert_eq!(
        out,
        "remote: https://x-access-token:[redacted:url_credential]@github.com/o/r.git (fetch)\n\
         db postgres://app:[redacted:url_credential]@db.internal:5432/app"
    );
}

#[test]
fn a_token_used_as_the_user_of_a_url_is_redacted_too() {
    let redactor = Redactor::builtin().unwrap();

    let out = redactor.redact_str(&format!("https://{}:x-oauth-basic@github.com/", ghp()));

    assert_eq!(
        out,
        "https://[redacted:github_token]:[redacted:url_credential]@github.com/"
    );
}

#[test]
fn urls_without_a_password_are_left_alone() {
    let redactor = Redactor::builtin().unwrap();
    let text = "see https://example.com:8080/a@b and git@github.com:o/r and ssh://git@host/";

    assert!(matches!(redactor.redact(text.as_bytes()), Cow::Borrowed(_)));
}

#[test]
fn percent_encoded_and_base64_forms_of_a_value_are_redacted() {
    let redactor = redactor(&[("PASS", "p@ss w/rd!")]);
    let text = format!(
        "raw p@ss w/rd! upper p%40ss%20w%2Frd%21 lower p%40ss%20w%2frd%21 b64 {} nopad {}",
        STANDARD.encode("p@ss w/rd!"),
        STANDARD.encode("p@ss w/rd!").trim_end_matches('='),
    );

    let out = redactor.redact_str(&text);

    assert_eq!(
        out,
        "raw [redacted:PASS] upper [redacted:PASS] lower [redacted:PASS] \
         b64 [redacted:PASS] nopad [redacted:PASS]"
    );
}

#[test]
fn values_shorter_than_the_threshold_are_skipped_and_reported() {
    let redactor = redactor(&[("PIN", "123"), ("TOKEN", "abcd")]);

    let out = redactor.redact_str("pin 123 token abcd");

    assert_eq!(out, "pin 123 token [redacted:TOKEN]");
    assert_eq!(redactor.skipped(), ["PIN".to_string()]);
    assert_eq!(MIN_SECRET_LEN, 4);
}

#[test]
fn of_two_secrets_sharing_a_prefix_the_longer_match_wins() {
    let redactor = redactor(&[("SHORT", "abc123"), ("LONG", "abc123456")]);

    let out = redactor.redact_str("abc123456 abc123 abc12345");

    assert_eq!(out, "[redacted:LONG] [redacted:SHORT] [redacted:SHORT]45");
}

#[test]
fn a_secret_that_overlaps_the_end_of_another_is_hidden_with_it() {
    let redactor = redactor(&[("HEAD", "xyz12345"), ("TAIL", "12345uvw")]);

    let out = redactor.redact_str("a xyz12345uvw b 12345uvw c");

    assert_eq!(out, "a [redacted:HEAD] b [redacted:TAIL] c");
}

#[test]
fn a_secret_inside_a_longer_one_does_not_split_it() {
    let redactor = redactor(&[("INNER", "cret"), ("OUTER", "secretive")]);

    assert_eq!(
        redactor.redact_str("secretive cret"),
        "[redacted:OUTER] [redacted:INNER]"
    );
}

#[test]
fn a_value_that_looks_like_a_token_is_named_by_its_key() {
    let token = ghp();
    let redactor = redactor(&[("GITHUB_TOKEN", &token)]);

    assert_eq!(redactor.redact_str(&token), "[redacted:GITHUB_TOKEN]");
}

#[test]
fn empty_input_stays_empty() {
    let redactor = redactor(&[("API_KEY", "sk-live-0123456789")]);

    assert!(redactor.redact(b"").is_empty());
    assert_eq!(redactor.redact_str(""), "");
    assert!(streamed(&redactor, &[b"", b""]).is_empty());
}

#[test]
fn output_without_secrets_is_borrowed_not_copied() {
    let redactor = redactor(&[("API_KEY", "sk-live-0123456789")]);

    let out = redactor.redact(b"compiling hero v0.1.0\n");

    assert!(matches!(out, Cow::Borrowed(b"compiling hero v0.1.0\n")));
}

#[test]
fn bytes_that_are_not_utf8_pass_through_around_a_secret() {
    let redactor = redactor(&[("API_KEY", "sk-live-0123456789")]);

    let out = redactor.redact(b"\xff\x00sk-live-0123456789\xc3\x28");

    assert_eq!(out.as_ref(), b"\xff\x00[redacted:API_KEY]\xc3\x28");
}

#[test]
fn an_error_message_carrying_a_secret_is_redacted() {
    let redactor = redactor(&[("DATABASE_PASSWORD", "correct-horse")]);
    let error = std::io::Error::other("connect failed: password correct-horse rejected");

    let out = redactor.redact_str(&format!("job failed: {error}"));

    assert_eq!(
        out,
        "job failed: connect failed: password [redacted:DATABASE_PASSWORD] rejected"
    );
}

#[test]
fn file_contents_read_by_a_tool_are_redacted() {
    let redactor = redactor(&[("STRIPE_KEY", "sk_test_51Habc")]);
    let file = b"# config\nSTRIPE_KEY=sk_test_51Habc\nDEBUG=1\n";

    let out = redactor.redact(file);

    assert_eq!(
        out.as_ref(),
        b"# config\nSTRIPE_KEY=[redacted:STRIPE_KEY]\nDEBUG=1\n"
    );
}

#[test]
fn debug_output_names_keys_but_shows_no_value() {
    let (redactor, _) = hostile_case();
    let mut stream = redactor.stream();
    stream.push(b"held: sk-live-01");

    let shown = format!("{redactor:?} {stream:?} {:#?}", redactor);

    assert!(shown.contains("API_KEY"));
    for value in [
        "sk-live",
        "abc123",
        "p@ss",
        "p%40ss",
        "xyz12345",
        &STANDARD.encode("p@ss w/rd"),
    ] {
        assert!(!shown.contains(value), "{value} in {shown}");
    }
}

#[test]
fn clones_share_one_automaton() {
    let redactor = redactor(&[("API_KEY", "sk-live-0123456789")]);

    let clone = redactor.clone();

    assert!(Arc::ptr_eq(&redactor.inner, &clone.inner));
}

#[test]
fn a_secret_split_across_two_chunks_is_hidden() {
    let redactor = redactor(&[("API_KEY", "sk-live-0123456789")]);

    let out = streamed(&redactor, &[b"key: sk-live-01", b"23456789\n"]);

    assert_eq!(out, b"key: [redacted:API_KEY]\n");
}

#[test]
fn a_stream_passes_ordinary_output_at_once() {
    let redactor = redactor(&[("API_KEY", "sk-live-0123456789")]);
    let mut stream = redactor.stream();

    let out = stream.push(b"running 12 tests\n");

    assert_eq!(out, b"running 12 tests\n");
}

#[test]
fn a_stream_holds_back_only_a_tail_that_could_start_a_secret() {
    let redactor = redactor(&[("API_KEY", "sk-live-0123456789")]);
    let mut stream = redactor.stream();

    let first = stream.push(b"value is sk-li");
    let second = stream.push(b"ve-0123456789 ok");
    let rest = stream.finish();

    assert_eq!(first, b"value is ");
    assert_eq!(second, b"[redacted:API_KEY] ok");
    assert!(rest.is_empty());
}

#[test]
fn finish_flushes_a_held_prefix_that_never_completed() {
    let redactor = redactor(&[("API_KEY", "sk-live-0123456789")]);
    let mut stream = redactor.stream();

    let first = stream.push(b"truncated sk-live-0");
    let rest = stream.finish();

    assert_eq!(first, b"truncated ");
    assert_eq!(rest, b"sk-live-0");
}

#[test]
fn a_token_split_across_chunks_is_hidden() {
    let redactor = Redactor::builtin().unwrap();
    let token = ghp();
    let (head, tail) = token.split_at(20);

    let out = streamed(
        &redactor,
        &[b"GH=", head.as_bytes(), tail.as_bytes(), b"\n"],
    );

    assert_eq!(out, b"GH=[redacted:github_token]\n");
}

#[test]
fn stdout_and_stderr_streams_do_not_share_held_bytes() {
    let redactor = redactor(&[("API_KEY", "sk-live-0123456789")]);
    let mut stdout = redactor.stream();
    let mut stderr = redactor.stream();

    let mut out = stdout.push(b"out sk-live-");
    let mut err = stderr.push(b"err 0123456789 ");
    out.extend(stdout.push(b"0123456789\n"));
    err.extend(stderr.push(b"\n"));
    out.extend(stdout.finish());
    err.extend(stderr.finish());

    assert_eq!(out, b"out [redacted:API_KEY]\n");
    assert_eq!(err, b"err 0123456789 \n");
}

#[test]
fn streaming_split_at_every_position_equals_redacting_the_whole() {
    let (redactor, input) = hostile_case();
    let whole = redactor.redact(&input).into_owned();

    for at in 0..=input.len() {
        let (a, b) = input.split_at(at);
        assert_eq!(streamed(&redactor, &[a, b]), whole, "split at {at}");
    }
}

#[test]
fn streaming_split_at_every_pair_of_positions_equals_redacting_the_whole() {
    let redactor = redactor(&[
        ("SHORT", "abc123"),
        ("LONG", "abc123456"),
        ("HEAD", "xyz12345"),
        ("TAIL", "12345uvw"),
    ]);
    let input = format!(
        "abc123456 xyz12345uvw abc1234 https://u:pw@h {} abc12",
        ghp()
    )
    .into_bytes();
    let whole = redactor.redact(&input).into_owned();

    for i in 0..=input.len() {
        for j in i..=input.len() {
            let chunks = [&input[..i], &input[i..j], &input[j..]];
            assert_eq!(streamed(&redactor, &chunks), whole, "splits at {i} and {j}");
        }
    }
}

#[test]
fn streaming_in_random_chunks_equals_redacting_the_whole() {
    let (redactor, input) = hostile_case();
    let whole = redactor.redact(&input).into_owned();
    let mut rng = StdRng::seed_from_u64(0x5eed);

    for _ in 0..500 {
        let mut chunks = Vec::new();
        let mut at = 0;
        while at < input.len() {
            let len = rng.gen_range(0..=12).min(input.len() - at);
            chunks.push(&input[at..at + len]);
            at += len;
        }
        let lengths: Vec<usize> = chunks.iter().map(|chunk| chunk.len()).collect();
        assert_eq!(
            streamed(&redactor, &chunks),
            whole,
            "chunk lengths {lengths:?}"
        );
    }
}

#[test]
fn the_hostile_case_shows_no_secret_once_redacted() {
    let (redactor, input) = hostile_case();

    let out = redactor.redact(&input);
    let text = String::from_utf8_lossy(&out);

    for value in [
        "sk-live-0123456789",
        "abc123456",
        "p%40ss",
        "xyz12345",
        "uvw",
        "hunter2",
        "aB3dE6gH9j",
    ] {
        assert!(!text.contains(value), "{value} in {text}");
    }
    assert!(
        text.contains("abc12 "),
        "an incomplete value is not a secret: {text}"
    );
}

#[test]
fn ten_megabytes_with_fifty_secrets_are_redacted() {
    let secrets: Vec<(String, String)> = (0..50)
        .map(|i| {
            (
                format!("SECRET_{i}"),
                format!("value-{i:03}-{}", "q".repeat(20)),
            )
        })
        .collect();
    let redactor = Redactor::new(
        secrets
            .iter()
            .map(|(name, value)| (name.clone(), SecretString::from(value.clone()))),
    )
    .unwrap();
    let line = format!(
        "ordinary build output line with value-007-{} in it\n",
        "q".repeat(20)
    );
    let input = line.repeat(10 * 1024 * 1024 / line.len());

    let whole = redactor.redact(input.as_bytes());
    let mut stream = redactor.stream();
    let mut streamed_len = 0;
    for chunk in input.as_bytes().chunks(64 * 1024) {
        streamed_len += stream.push(chunk).len();
    }
    streamed_len += stream.finish().len();

    assert!(!String::from_utf8_lossy(&whole).contains("value-007"));
    assert_eq!(streamed_len, whole.len());
}
