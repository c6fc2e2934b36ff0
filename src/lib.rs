//! Shared bits of the `broker`, `worker` and `client` binaries: logging set-up and the
//! one-line error exit.

use std::fmt::Display;

/// Logs to stderr through `tracing`, filtered by `RUST_LOG` (default `info`).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}

/// Parses the command line; on a bad argument prints one line (clap's first) and exits 2.
/// `--help` and `--version` print in full and exit 0.
pub fn parse_args<T: clap::Parser>() -> T {
    match T::try_parse() {
        Ok(a) => a,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                let _ = e.print();
                std::process::exit(0);
            }
            let text = e.render().to_string();
            let line = text.lines().next().unwrap_or("invalid arguments");
            let bin = std::env::args()
                .next()
                .and_then(|p| {
                    std::path::Path::new(&p)
                        .file_name()
                        .map(|f| f.to_string_lossy().into_owned())
                })
                .unwrap_or_default();
            eprintln!("{bin}: {line} (try --help)");
            std::process::exit(2);
        }
    }
}

/// Prints `bin: what` on stderr and exits 1.
pub fn die(bin: &str, what: impl Display) -> ! {
    eprintln!("{bin}: {what}");
    std::process::exit(1)
}

/// Validates an endpoint argument (clap value parser), so a malformed one is refused before
/// anything starts.
pub fn endpoint_arg(s: &str) -> Result<String, String> {
    s.parse::<zmtp::Endpoint>()
        .map(|e| e.to_string())
        .map_err(|e| e.to_string())
}

/// Renders a payload for a log line: the text with trailing padding cut, or its size.
pub fn payload_text(b: &[u8]) -> String {
    let trimmed = b
        .iter()
        .rposition(|&c| c != b' ' && c != 0)
        .map_or(&b[..0], |i| &b[..=i]);
    match std::str::from_utf8(trimmed) {
        Ok(s) if s.len() <= 80 && s.chars().all(|c| !c.is_control()) => s.to_string(),
        _ => format!("<{} bytes>", b.len()),
    }
}
