//! Claims: one process computes a stage; others wait. A claim is a file created atomically
//! (`create_new`) holding its owner's host, pid, process start time and a random nonce; while the
//! owner works, a thread refreshes the file's modification time (the heartbeat). A claim nobody can
//! be holding is taken over, with the reason: an empty or unreadable claim older than
//! [`EMPTY_GRACE`] (a kill or a full disk between creating and writing it), an owner on this host
//! whose process is gone or whose pid now belongs to another process (a different start time), or a
//! heartbeat older than the timeout (an owner on another host that stopped; the heartbeat is a
//! thread of its own, so a process alive but stuck keeps its claim).

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// How long an empty or unreadable claim may be (its writer between `create_new` and the write).
pub const EMPTY_GRACE: Duration = Duration::from_secs(5);

/// Default seconds without a heartbeat after which a claim is stale (`EYRIE_CLAIM_TIMEOUT` overrides).
pub const DEFAULT_TIMEOUT_SECONDS: u64 = 120;

/// Who holds a claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    /// Host name.
    pub host: String,
    /// Process id on that host.
    pub pid: u32,
    /// The process's start time (clock ticks since boot, Linux `/proc/<pid>/stat`), if known.
    pub start: Option<u64>,
    /// Random per claim: tells this claim from a later one by the same process.
    pub nonce: u64,
}

impl std::fmt::Display for Owner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "pid {} on {}", self.pid, self.host)
    }
}

impl Owner {
    /// This process, with a fresh nonce.
    pub fn this_process() -> Self {
        let pid = std::process::id();
        Owner { host: host_name(), pid, start: process_start(pid), nonce: rand::random() }
    }

    /// Whether this owner is this process.
    pub fn is_this_process(&self) -> bool {
        self.host == host_name() && self.pid == std::process::id()
    }
}

/// How claims are kept fresh and when they go stale.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClaimPolicy {
    /// A claim whose heartbeat is older than this is stale.
    pub timeout: Duration,
    /// How often the owner refreshes its heartbeat.
    pub refresh: Duration,
}

impl ClaimPolicy {
    /// A policy with this timeout, refreshing four times per timeout.
    pub fn with_timeout(timeout: Duration) -> Self {
        ClaimPolicy { timeout, refresh: timeout / 4 }
    }

    /// The timeout from `EYRIE_CLAIM_TIMEOUT` (seconds), else [`DEFAULT_TIMEOUT_SECONDS`].
    pub fn from_env() -> Self {
        let secs = std::env::var("EYRIE_CLAIM_TIMEOUT")
            .ok()
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s > 0.0)
            .unwrap_or(DEFAULT_TIMEOUT_SECONDS as f64);
        Self::with_timeout(Duration::from_secs_f64(secs))
    }
}

/// Why a claim was found stale and taken over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stale {
    /// Empty or unreadable for longer than [`EMPTY_GRACE`].
    Empty,
    /// Its owner was on this host and its process is gone.
    ProcessGone(Owner),
    /// Its owner's pid on this host now belongs to another process.
    PidReused(Owner),
    /// No heartbeat for this long.
    NoHeartbeat(Owner, Duration),
}

impl std::fmt::Display for Stale {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stale::Empty => write!(f, "its claim file was empty or unreadable (its writer was stopped)"),
            Stale::ProcessGone(o) => write!(f, "its owner ({o}) is gone"),
            Stale::PidReused(o) => write!(f, "its owner ({o}) is gone and its pid belongs to another process"),
            Stale::NoHeartbeat(o, age) => write!(f, "its owner ({o}) gave no heartbeat for {} s", age.as_secs()),
        }
    }
}

/// What an existing claim file means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimState {
    /// A live owner holds it (its heartbeat this long ago).
    Live(Owner, Duration),
    /// Being written right now (empty, younger than [`EMPTY_GRACE`]).
    Writing,
    /// Nobody holds it.
    Stale(Stale),
}

/// Holding a claim: a thread refreshes its heartbeat; dropping it stops the thread and releases the claim.
#[derive(Debug)]
pub struct Claim {
    path: PathBuf,
    owner: Owner,
    stop: Arc<AtomicBool>,
    heartbeat: Option<std::thread::JoinHandle<()>>,
    /// Why an earlier claim was taken over to get this one, if it was.
    pub took_over: Option<Stale>,
}

impl Drop for Claim {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.heartbeat.take() {
            h.thread().unpark();
            let _ = h.join();
        }
        // Only our own claim: if another process took it over, it is theirs now.
        if read_owner(&self.path).is_some_and(|o| o == self.owner) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// The outcome of trying to claim.
#[derive(Debug)]
pub enum ClaimResult {
    /// This process now owns the work.
    Claimed(Claim),
    /// Someone else holds it (None: its claim is being written).
    Busy(Option<Owner>),
}

/// This machine's host name.
pub fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates within it on success.
    let r = unsafe { libc::gethostname(buf.as_mut_ptr() as *mut libc::c_char, buf.len()) };
    if r != 0 {
        return "unknown-host".into();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// A process's start time in clock ticks since boot (field 22 of `/proc/<pid>/stat`), if readable.
pub fn process_start(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count fields after its `)`.
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(19)?.parse().ok()
}

/// Whether process `pid` exists on this machine (this process counts as alive).
pub(crate) fn alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // kill(pid, 0) probes existence without sending a signal; EPERM: it exists, owned by another user.
    // SAFETY: signal 0 sends nothing.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// The owner written in the claim file, if it can be read (claims by older versions hold a bare
/// pid on this host).
fn read_owner(path: &Path) -> Option<Owner> {
    let text = std::fs::read_to_string(path).ok()?;
    if let Ok(o) = serde_json::from_str::<Owner>(&text) {
        return Some(o);
    }
    let pid = text.trim().parse::<u32>().ok()?;
    Some(Owner { host: host_name(), pid, start: None, nonce: 0 })
}

/// What the claim at `path` means now (None: no claim).
pub fn inspect(path: &Path, policy: &ClaimPolicy) -> Option<ClaimState> {
    let modified = std::fs::metadata(path).ok()?.modified().ok()?;
    let age = SystemTime::now().duration_since(modified).unwrap_or_default();
    let Some(owner) = read_owner(path) else {
        return Some(if age > EMPTY_GRACE { ClaimState::Stale(Stale::Empty) } else { ClaimState::Writing });
    };
    if owner.host == host_name() {
        if !alive(owner.pid) {
            return Some(ClaimState::Stale(Stale::ProcessGone(owner)));
        }
        if owner.start.is_some() && process_start(owner.pid).is_some_and(|s| Some(s) != owner.start) {
            return Some(ClaimState::Stale(Stale::PidReused(owner)));
        }
    }
    if age > policy.timeout {
        return Some(ClaimState::Stale(Stale::NoHeartbeat(owner, age)));
    }
    Some(ClaimState::Live(owner, age))
}

/// The live owner of the claim at `path`, if there is one.
pub fn live_owner(path: &Path, policy: &ClaimPolicy) -> Option<Owner> {
    match inspect(path, policy)? {
        ClaimState::Live(owner, _) => Some(owner),
        _ => None,
    }
}

/// Tries to claim `path`, taking over stale claims.
pub fn try_claim(path: &Path, policy: &ClaimPolicy) -> std::io::Result<ClaimResult> {
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d)?;
    }
    let mut took_over = None;
    for _ in 0..3 {
        match std::fs::OpenOptions::new().write(true).create_new(true).open(path) {
            Ok(mut f) => {
                let owner = Owner::this_process();
                use std::io::Write;
                f.write_all(serde_json::to_string(&owner).expect("an owner serialises").as_bytes())?;
                f.sync_all()?;
                return Ok(ClaimResult::Claimed(start_heartbeat(path, owner, policy, took_over)));
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => match inspect(path, policy) {
                Some(ClaimState::Live(owner, _)) => return Ok(ClaimResult::Busy(Some(owner))),
                Some(ClaimState::Writing) => return Ok(ClaimResult::Busy(None)),
                Some(ClaimState::Stale(why)) if remove_if_unchanged(path, &why)? => took_over = Some(why),
                Some(ClaimState::Stale(_)) => {}
                None => {} // released meanwhile: try again
            },
            Err(e) => return Err(e),
        }
    }
    Ok(ClaimResult::Busy(read_owner(path)))
}

/// Removes the claim at `path` if nobody holds it any more (its owner is gone or silent), as a process
/// killed between finishing a stage and releasing its claim leaves it; whether one was removed.
pub fn clear_stale(path: &Path, policy: &ClaimPolicy) -> std::io::Result<bool> {
    match inspect(path, policy) {
        Some(ClaimState::Stale(why)) => remove_if_unchanged(path, &why),
        _ => Ok(false),
    }
}

/// Removes the stale claim at `path` if it is still the one judged stale: it is renamed aside first
/// (one process wins the rename), and put back if it turns out to be a fresh claim of another process.
fn remove_if_unchanged(path: &Path, why: &Stale) -> std::io::Result<bool> {
    let judged = match why {
        Stale::Empty => None,
        Stale::ProcessGone(o) | Stale::PidReused(o) | Stale::NoHeartbeat(o, _) => Some(o.clone()),
    };
    // A temporary name, so that a takeover killed before the removal leaves nothing the next run keeps.
    let aside = super::atomic::temp_path(path, std::process::id());
    match std::fs::rename(path, &aside) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    }
    if read_owner(&aside) != judged {
        // Someone replaced the stale claim between our look and the rename: give theirs back.
        if !path.exists() {
            let _ = std::fs::rename(&aside, path);
        }
        let _ = std::fs::remove_file(&aside);
        return Ok(false);
    }
    std::fs::remove_file(&aside)?;
    Ok(true)
}

fn start_heartbeat(path: &Path, owner: Owner, policy: &ClaimPolicy, took_over: Option<Stale>) -> Claim {
    let stop = Arc::new(AtomicBool::new(false));
    let (p, s, refresh) = (path.to_path_buf(), stop.clone(), policy.refresh.max(Duration::from_millis(10)));
    let heartbeat = std::thread::Builder::new()
        .name("claim-heartbeat".into())
        .spawn(move || {
            while !s.load(Ordering::SeqCst) {
                std::thread::park_timeout(refresh);
                if s.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(f) = std::fs::OpenOptions::new().write(true).open(&p) {
                    let _ = f.set_modified(SystemTime::now());
                }
            }
        })
        .ok();
    Claim { path: path.to_path_buf(), owner, stop, heartbeat, took_over }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> ClaimPolicy {
        ClaimPolicy::with_timeout(Duration::from_secs(60))
    }

    fn claimed(r: ClaimResult) -> Claim {
        match r {
            ClaimResult::Claimed(c) => c,
            ClaimResult::Busy(o) => panic!("expected a claim, busy with {o:?}"),
        }
    }

    fn age(path: &Path, by: Duration) {
        let f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
        f.set_modified(SystemTime::now() - by).unwrap();
    }

    #[test]
    fn a_second_claim_is_busy_and_a_released_one_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.claim");
        let first = claimed(try_claim(&p, &policy()).unwrap());
        assert!(first.took_over.is_none());
        match try_claim(&p, &policy()).unwrap() {
            ClaimResult::Busy(Some(o)) => assert!(o.is_this_process(), "{o:?}"),
            other => panic!("{other:?}"),
        }
        drop(first);
        assert!(!p.exists());
    }

    #[test]
    fn claims_nobody_holds_are_taken_over_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.claim");
        // A dead pid on this host (an old-format claim: a bare pid).
        std::fs::write(&p, "999999999\n").unwrap();
        let c = claimed(try_claim(&p, &policy()).unwrap());
        assert!(matches!(c.took_over, Some(Stale::ProcessGone(ref o)) if o.pid == 999999999), "{:?}", c.took_over);
        drop(c);
        // An empty claim: being written while young, stale once older than the grace.
        std::fs::write(&p, "").unwrap();
        assert!(matches!(try_claim(&p, &policy()).unwrap(), ClaimResult::Busy(None)));
        age(&p, EMPTY_GRACE + Duration::from_secs(1));
        let c = claimed(try_claim(&p, &policy()).unwrap());
        assert_eq!(c.took_over, Some(Stale::Empty));
        drop(c);
        // A live pid (this process) that started at another time: the pid was reused.
        let mut foreign = Owner::this_process();
        foreign.start = foreign.start.map(|s| s + 1);
        assert!(foreign.start.is_some(), "this test needs /proc");
        std::fs::write(&p, serde_json::to_string(&foreign).unwrap()).unwrap();
        let c = claimed(try_claim(&p, &policy()).unwrap());
        assert!(matches!(c.took_over, Some(Stale::PidReused(_))), "{:?}", c.took_over);
        drop(c);
        // An owner on another host whose heartbeat stopped: live until the timeout, then stale.
        let remote = Owner { host: "elsewhere".into(), pid: 1, start: None, nonce: 7 };
        std::fs::write(&p, serde_json::to_string(&remote).unwrap()).unwrap();
        age(&p, Duration::from_secs(30));
        assert!(matches!(try_claim(&p, &policy()).unwrap(), ClaimResult::Busy(Some(ref o)) if *o == remote));
        age(&p, Duration::from_secs(61));
        let c = claimed(try_claim(&p, &policy()).unwrap());
        assert!(matches!(c.took_over, Some(Stale::NoHeartbeat(ref o, _)) if *o == remote), "{:?}", c.took_over);
        assert!(c.took_over.as_ref().unwrap().to_string().contains("pid 1 on elsewhere"));
    }

    #[test]
    fn a_stale_claim_is_cleared_and_a_held_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.claim");
        assert!(!clear_stale(&p, &policy()).unwrap(), "no claim, nothing to clear");
        std::fs::write(&p, "999999999\n").unwrap(); // a dead pid on this host
        assert!(clear_stale(&p, &policy()).unwrap());
        assert!(!p.exists());
        let held = claimed(try_claim(&p, &policy()).unwrap());
        assert!(!clear_stale(&p, &policy()).unwrap());
        assert!(p.exists(), "a live claim stays");
        drop(held);
    }

    #[test]
    fn a_held_claim_keeps_its_heartbeat_fresh() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.claim");
        let fast = ClaimPolicy { timeout: Duration::from_secs(60), refresh: Duration::from_millis(20) };
        let c = claimed(try_claim(&p, &fast).unwrap());
        age(&p, Duration::from_secs(3600));
        std::thread::sleep(Duration::from_millis(300));
        let state = inspect(&p, &fast).unwrap();
        assert!(matches!(state, ClaimState::Live(_, a) if a < Duration::from_secs(5)), "{state:?}");
        drop(c);
        assert!(!p.exists());
    }

    #[test]
    fn releasing_a_claim_taken_over_by_another_leaves_theirs() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.claim");
        let c = claimed(try_claim(&p, &policy()).unwrap());
        let other = Owner { host: "elsewhere".into(), pid: 2, start: None, nonce: 9 };
        std::fs::write(&p, serde_json::to_string(&other).unwrap()).unwrap();
        drop(c);
        assert_eq!(read_owner(&p), Some(other));
    }

    #[test]
    fn the_start_time_of_this_process_is_read() {
        let pid = std::process::id();
        assert!(process_start(pid).is_some());
        assert_eq!(process_start(pid), process_start(pid));
        assert!(process_start(999_999_999).is_none());
    }
}
