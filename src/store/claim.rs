//! Claims: one process computes a stage; others wait. A claim is a file created atomically
//! (`create_new`) holding the owner's pid; a claim whose owner has died is taken over.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Holding a claim; dropping it releases the claim.
#[derive(Debug)]
pub struct Claim {
    path: PathBuf,
}

impl Drop for Claim {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The outcome of trying to claim.
#[derive(Debug)]
pub enum ClaimResult {
    /// This process now owns the work.
    Claimed(Claim),
    /// A live process (this pid) owns it.
    Busy(u32),
}

fn alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    // kill(pid, 0) probes existence without sending a signal.
    let r = unsafe { libc::kill(pid as libc::pid_t, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// The pid holding the claim at `path`, if the file exists and its owner is alive.
pub fn live_owner(path: &Path) -> Option<u32> {
    let pid = std::fs::read_to_string(path).ok()?.trim().parse::<u32>().ok()?;
    alive(pid).then_some(pid)
}

/// Tries to claim `path`, taking over claims left by dead processes.
pub fn try_claim(path: &Path) -> std::io::Result<ClaimResult> {
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d)?;
    }
    for _ in 0..3 {
        match std::fs::OpenOptions::new().write(true).create_new(true).open(path) {
            Ok(mut f) => {
                writeln!(f, "{}", std::process::id())?;
                return Ok(ClaimResult::Claimed(Claim { path: path.to_path_buf() }));
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let owner = std::fs::read_to_string(path).ok().and_then(|s| s.trim().parse::<u32>().ok());
                match owner {
                    Some(pid) if alive(pid) => return Ok(ClaimResult::Busy(pid)),
                    // Dead owner, or a claim file still being written: a stale one is removed and retried.
                    Some(_) => {
                        let _ = std::fs::remove_file(path);
                    }
                    None => std::thread::sleep(std::time::Duration::from_millis(50)),
                }
            }
            Err(e) => return Err(e),
        }
    }
    let owner = std::fs::read_to_string(path).ok().and_then(|s| s.trim().parse::<u32>().ok()).unwrap_or(0);
    Ok(ClaimResult::Busy(owner))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_claim_is_busy_and_dead_owner_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.claim");
        let first = match try_claim(&p).unwrap() {
            ClaimResult::Claimed(c) => c,
            ClaimResult::Busy(_) => panic!("fresh claim must succeed"),
        };
        assert!(matches!(try_claim(&p).unwrap(), ClaimResult::Busy(pid) if pid == std::process::id()));
        drop(first);
        assert!(!p.exists());
        // A claim by a pid that cannot exist is stale.
        std::fs::write(&p, "999999999\n").unwrap();
        assert!(matches!(try_claim(&p).unwrap(), ClaimResult::Claimed(_)));
    }
}
