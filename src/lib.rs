//! Shared bits of the `broker`, `worker`, `client` and `zmtp-cat` binaries: logging set-up, the one-line
//! error exit, and stdout lines that survive a reader going away.

pub mod cat;
pub mod dispatch;
pub mod metrics;
mod ranks;
pub mod relay;
pub mod security;

use std::fmt::Display;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once a write to stdout failed (the reader is gone: `client ... | head -2`).
static STDOUT_GONE: AtomicBool = AtomicBool::new(false);

/// Prints one line on stdout and flushes it. Once stdout is closed (a reader such as `head`
/// went away) lines are dropped quietly and the program goes on with its job: a worker keeps
/// serving, a client keeps checking its replies and exits with the status its job earned.
/// (`println!` panics there: "failed printing to stdout: Broken pipe".)
pub fn out(line: std::fmt::Arguments<'_>) {
    if STDOUT_GONE.load(Ordering::Relaxed) {
        return;
    }
    let mut stdout = std::io::stdout().lock();
    if writeln!(stdout, "{line}")
        .and_then(|()| stdout.flush())
        .is_err()
    {
        STDOUT_GONE.store(true, Ordering::Relaxed);
    }
}

/// True once a write to stdout failed: its reader is gone.
pub fn stdout_gone() -> bool {
    STDOUT_GONE.load(Ordering::Relaxed)
}

/// `println!` for the binaries, through [`out`].
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::out(format_args!($($arg)*))
    };
}

/// Logs to stderr through `tracing`, filtered by `RUST_LOG` (default `info`).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        // Colours for a terminal only: no escape codes in a pipe or a log file.
        .with_ansi(std::io::stderr().is_terminal())
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

/// Prints `bin: what (try --help)` on stderr and exits 2: an argument error found after
/// parsing (flags that do not go together, a malformed key).
pub fn usage(bin: &str, what: impl Display) -> ! {
    eprintln!("{bin}: {what} (try --help)");
    std::process::exit(2)
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
