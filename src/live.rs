//! Output that reaches the terminal while a command runs, as a shell shows a program's.
//!
//! The REPL turns streaming on ([`begin`]) while it runs a command line (`ping …`, `ip netns
//! exec ns1 ping …`, `docker exec bb ping …`). The fronts whose commands take long then
//! write each line as it comes: `ping`'s header and replies ([`crate::front`]), a program's
//! stdout and stderr as they leave it ([`crate::kernel::process`]). They still return their
//! whole output, so the REPL only has to leave out what was already shown ([`shown`]).
//!
//! While streaming, Ctrl-C is the command's to handle, as a terminal's is the foreground
//! program's: `ping` stops and prints its statistics, a program in a container gets SIGINT.
//! The entry then ends as the command does, and the lab and the session stay. Scripts (and
//! Rhai entries) never stream: their fronts return their output whole, and Ctrl-C stops the
//! entry (see [`crate::interrupt`]).

use std::cell::RefCell;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

static ON: AtomicBool = AtomicBool::new(false);
static SHOWN: AtomicBool = AtomicBool::new(false);
static FAILURE_SHOWN: AtomicBool = AtomicBool::new(false);

thread_local! {
    static FAILED: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Streaming, until dropped.
pub struct Streaming(());

impl Drop for Streaming {
    fn drop(&mut self) {
        ON.store(false, Ordering::SeqCst);
    }
}

/// Turns streaming on for one command line.
pub fn begin() -> Streaming {
    FAILED.with(|f| f.borrow_mut().take());
    SHOWN.store(false, Ordering::SeqCst);
    FAILURE_SHOWN.store(false, Ordering::SeqCst);
    ON.store(true, Ordering::SeqCst);
    Streaming(())
}

/// Whether output streams to the terminal now.
pub fn on() -> bool {
    ON.load(Ordering::SeqCst)
}

/// Writes `bytes` to stdout at once (when streaming).
pub fn stdout(bytes: &[u8]) {
    write(&mut std::io::stdout().lock(), bytes);
}

/// Writes `bytes` to stderr at once (when streaming).
pub fn stderr(bytes: &[u8]) {
    write(&mut std::io::stderr().lock(), bytes);
}

fn write(to: &mut dyn Write, bytes: &[u8]) {
    if !on() || bytes.is_empty() {
        return;
    }
    // A terminal that went away is no reason to stop the command.
    let _ = to.write_all(bytes).and_then(|()| to.flush());
    SHOWN.store(true, Ordering::SeqCst);
}

/// Whether anything was streamed since [`begin`].
pub fn shown() -> bool {
    SHOWN.load(Ordering::SeqCst)
}

/// Notes the words a command line failed with (the program's stderr, or what it printed
/// when it wrote nothing there), for the REPL to print as a shell shows them — or not at
/// all when they already streamed.
pub fn failed(words: &str) {
    if !on() {
        return;
    }
    if shown() {
        FAILURE_SHOWN.store(true, Ordering::SeqCst);
    }
    FAILED.with(|f| *f.borrow_mut() = Some(words.to_string()));
}

/// Whether the entry's error was already shown (see [`failed`]).
pub fn failure_shown() -> bool {
    FAILURE_SHOWN.load(Ordering::SeqCst)
}

/// The words the command line failed with, if it failed as its program does (see
/// [`failed`]); `None` for anything else (a limit reached, a Ctrl-C the command left).
pub fn failure() -> Option<String> {
    FAILED.with(|f| f.borrow_mut().take())
}
