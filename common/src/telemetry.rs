//! Logging setup shared by every binary.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// The filter used when `RUST_LOG` is not set: what an operator wants to
/// see from Hero, warnings from everything else.
pub const DEFAULT_FILTER: &str = "warn,hero=info,hero_common=info,hero_api=info,hero_worker=info";

/// Installs the global subscriber: human-readable lines, or JSON when
/// `HERO_LOG_FORMAT=json`. Writes to stderr so that stdout stays for
/// command output.
pub fn init() {
    init_with_writer(std::io::stderr);
}

pub fn init_with_writer<W>(writer: W)
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    let result = if std::env::var("HERO_LOG_FORMAT").as_deref() == Ok("json") {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    // A subscriber already installed (tests, `hero dev`) is fine.
    drop(result);
}
