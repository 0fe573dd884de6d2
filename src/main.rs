//! The `eyrie` binary: parse arguments, run, map errors to exit codes (2: bad spec or arguments).

mod cli;
mod commands;

use clap::Parser;
use cli::Cli;
use commands::BadArgument;
use eyrie::spec::SpecError;
use std::process::ExitCode;

/// Exit code for a bad experiment file or bad arguments (clap exits with it too).
const EXIT_BAD_SPEC: u8 = 2;
/// Exit code for a backend that cannot run here.
const EXIT_NO_BACKEND: u8 = 3;

fn main() -> ExitCode {
    // `eyrie plan FILE | head`: a reader that closes the pipe ends the process quietly, as it does
    // any other command-line tool, instead of a panic in `println!`.
    // SAFETY: called first, before any thread exists; restores the default disposition of SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    match commands::dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", error_text(&e));
            if let Some(hint) = commands::hint(&e) {
                eprintln!("hint: {hint}");
            }
            if e.downcast_ref::<SpecError>().is_some() || e.downcast_ref::<BadArgument>().is_some() {
                return ExitCode::from(EXIT_BAD_SPEC);
            }
            if e.downcast_ref::<eyrie::backend::BackendError>().is_some() {
                return ExitCode::from(EXIT_NO_BACKEND);
            }
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes joined by `: `, each said once: a cause is left out when the text so far
/// already says it (a message that embeds its source, as `#[error("...: {0}")]` with `#[from]` does).
fn error_text(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if text.is_empty() || out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// The old shape of `RunError::Io` and `ReportError::Io`: the source embedded in the message.
    #[derive(Debug, thiserror::Error)]
    #[error("results folder: {0}")]
    struct Embeds(#[from] std::io::Error);

    fn denied() -> std::io::Error {
        std::io::Error::from_raw_os_error(libc::EACCES)
    }

    #[test]
    fn a_cause_embedded_in_its_message_is_said_once() {
        let e = anyhow::Error::from(Embeds(denied()));
        assert_eq!(format!("{e:#}").matches("os error 13").count(), 2, "anyhow alone says it twice");
        let text = error_text(&e);
        assert_eq!(text.matches("os error 13").count(), 1, "{text}");
        assert!(text.starts_with("results folder: Permission denied"), "{text}");
    }

    #[test]
    fn a_failed_write_says_which_path_and_why_once() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("plain"), "x").unwrap();
        let target = dir.path().join("plain").join("exp").join("run.json");
        let e = anyhow::Error::from(Embeds(eyrie::store::write_atomic(&target, b"{}").unwrap_err()));
        let text = error_text(&e);
        let folder = target.parent().unwrap().display().to_string();
        assert_eq!(text.matches(&folder).count(), 1, "{text}");
        assert_eq!(text.matches("os error 20").count(), 1, "{text}");
        assert!(text.starts_with(&format!("results folder: creating folder {folder}: Not a directory")), "{text}");
    }

    #[test]
    fn a_chain_with_context_reads_in_order() {
        let e = anyhow::Error::from(denied()).context(format!("writing {}", Path::new("/r/x").display()));
        assert_eq!(error_text(&e), "writing /r/x: Permission denied (os error 13)");
    }
}
