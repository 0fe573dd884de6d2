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
    let cli = Cli::parse();
    match commands::dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if let Some(spec) = e.downcast_ref::<SpecError>() {
                eprintln!("error: {spec}");
                return ExitCode::from(EXIT_BAD_SPEC);
            }
            if let Some(b) = e.downcast_ref::<eyrie::backend::BackendError>() {
                eprintln!("error: {b}");
                return ExitCode::from(EXIT_NO_BACKEND);
            }
            if e.downcast_ref::<BadArgument>().is_some() {
                eprintln!("error: {e}");
                return ExitCode::from(EXIT_BAD_SPEC);
            }
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
