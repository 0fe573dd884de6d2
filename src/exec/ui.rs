//! Progress bars: cells done of total, the current stage, step with loss and ETA.

use crate::train::Progress;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Seconds between plain progress lines when not on a terminal (`EYRIE_PROGRESS_SECONDS`, default 30).
fn plain_interval() -> Duration {
    let s = std::env::var("EYRIE_PROGRESS_SECONDS").ok().and_then(|v| v.parse::<f64>().ok()).unwrap_or(30.0);
    Duration::from_secs_f64(s.max(0.0))
}

/// The terminal display of a run (hidden with `--quiet`).
pub struct Ui {
    multi: MultiProgress,
    cells: ProgressBar,
    quiet: bool,
    kernels: Option<KernelWatch>,
}

impl Ui {
    /// A display for `total` cells.
    pub fn new(total: usize, quiet: bool) -> Self {
        let multi = MultiProgress::with_draw_target(if quiet {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        });
        let cells = multi.add(ProgressBar::new(total as u64));
        cells.set_style(
            ProgressStyle::with_template("cells {bar:30.green/white} {pos}/{len} [{elapsed_precise}] {msg}").unwrap(),
        );
        let kernels = (!quiet && crate::kernels::compiled_so_far().is_some()).then(|| KernelWatch::start(&multi));
        Self { multi, cells, quiet, kernels }
    }

    /// Marks one more cell done.
    pub fn cell_done(&self, label: &str) {
        self.cells.inc(1);
        self.cells.set_message(format!("last: {label}"));
    }

    /// A bar for one stage of `steps` steps.
    pub fn stage(&self, label: &str, steps: usize) -> StageBar {
        let bar = self.multi.add(ProgressBar::new(steps.max(1) as u64));
        bar.set_style(
            ProgressStyle::with_template("  {prefix:40!} {bar:25.cyan/white} {pos}/{len} {msg} eta {eta}").unwrap(),
        );
        bar.set_prefix(label.to_string());
        let plain = (!self.quiet && self.multi.is_hidden()).then(|| Plain {
            label: label.to_string(),
            start: Instant::now(),
            last: Mutex::new(None),
        });
        StageBar { bar, plain }
    }

    /// Prints a line above the bars (nothing when quiet).
    pub fn println(&self, line: &str) {
        if self.quiet {
            return;
        }
        self.warn(line);
    }

    /// Prints a line even in quiet mode: a fault (a damaged artifact, a failed stage, a claim taken
    /// over, a wait on another process) is never silent.
    pub fn warn(&self, line: &str) {
        if self.multi.is_hidden() {
            // Not a terminal (a log file, CI): plain lines instead of bars.
            eprintln!("{line}");
        } else {
            let _ = self.multi.println(line);
        }
    }

    /// Removes the bars.
    pub fn finish(&self) {
        self.cells.finish_and_clear();
        if let Some(k) = &self.kernels {
            k.stop();
            if let Some(n) = crate::kernels::compiled_so_far() {
                self.println(&format!(
                    "{n} GPU kernels compiled by this process (cache: {})",
                    crate::kernels::cache_dir().display()
                ));
            }
        }
    }
}

impl Drop for Ui {
    fn drop(&mut self) {
        if let Some(k) = &self.kernels {
            k.stop();
        }
    }
}

/// A spinner with the count of GPU kernels compiled so far, so that a first run on a machine (seconds
/// to minutes of compiling) does not look like a hang; plain lines when not on a terminal.
struct KernelWatch {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl KernelWatch {
    fn start(multi: &MultiProgress) -> Self {
        use std::sync::atomic::{AtomicBool, Ordering};
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let plain = multi.is_hidden();
        let bar = multi.add(ProgressBar::new_spinner());
        bar.set_style(ProgressStyle::with_template("  {spinner} {msg}").unwrap());
        let flag = stop.clone();
        std::thread::spawn(move || {
            let (mut shown, mut last_line) = (0, Instant::now());
            while !flag.load(Ordering::Relaxed) {
                let n = crate::kernels::compiled_so_far().unwrap_or(0);
                if n != shown {
                    let text = format!(
                        "compiling GPU kernels: {n} so far (cached in {} for later runs)",
                        crate::kernels::cache_dir().display()
                    );
                    if plain {
                        if last_line.elapsed() >= plain_interval() || shown == 0 {
                            eprintln!("  {text}");
                            last_line = Instant::now();
                        }
                    } else {
                        bar.set_message(text);
                        bar.tick();
                    }
                    shown = n;
                }
                std::thread::sleep(Duration::from_millis(250));
            }
            bar.finish_and_clear();
        });
        Self { stop }
    }

    fn stop(&self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Progress as plain lines, at most one per interval (logs, CI).
struct Plain {
    label: String,
    start: Instant,
    last: Mutex<Option<Instant>>,
}

/// The bar of one stage; it is its own [`Progress`] sink.
pub struct StageBar {
    bar: ProgressBar,
    plain: Option<Plain>,
}

impl Progress for StageBar {
    fn step(&self, step: usize, total: usize, loss: f64) {
        self.bar.set_position(step as u64);
        self.bar.set_message(format!("loss {loss:.3}"));
        if let Some(p) = &self.plain {
            let mut last = p.last.lock().unwrap();
            if last.is_none_or(|t| t.elapsed() >= plain_interval()) {
                *last = Some(Instant::now());
                eprintln!(
                    "  {}: step {step}/{total}, loss {loss:.3}, {:.1}s",
                    p.label,
                    p.start.elapsed().as_secs_f64()
                );
            }
        }
    }
}

impl Drop for StageBar {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}
