//! The lock screen's end of the local channel to the daemon: it reads views
//! and answers on a thread of its own and forwards them to the main loop;
//! presses go the other way. When the channel drops, the main loop hears
//! `DaemonLost` (and shows the lock) and this side reconnects.

use crate::Input;
use club_shared::lock::{DaemonMsg, LockMsg, MAX_LOCK_LINE_BYTES};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Where the daemon listens.
#[derive(Debug, Clone)]
pub struct Endpoint(pub PathBuf);

type Writer = Arc<Mutex<Option<Box<dyn Write + Send>>>>;

/// Sends presses to the daemon, if connected.
#[derive(Clone)]
pub struct Presses(Writer);

impl Presses {
    /// False when there is no daemon to send it to.
    pub fn send(&self, msg: &LockMsg) -> bool {
        let mut w = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let Some(out) = w.as_mut() else {
            return false;
        };
        let mut line = serde_json::to_vec(msg).unwrap_or_default();
        line.push(b'\n');
        if out.write_all(&line).and_then(|()| out.flush()).is_err() {
            *w = None;
            return false;
        }
        true
    }
}

/// Connects (and reconnects) to the daemon on a thread of its own.
pub fn spawn(endpoint: Endpoint, inputs: Sender<Input>) -> Presses {
    let writer: Writer = Arc::default();
    let presses = Presses(writer.clone());
    std::thread::Builder::new()
        .name("daemon-channel".into())
        .spawn(move || {
            let mut last_error = String::new();
            loop {
                match crate::platform::connect(&endpoint.0) {
                    Ok((reader, w)) => {
                        last_error.clear();
                        *writer.lock().unwrap_or_else(|p| p.into_inner()) = Some(w);
                        let why = read_lines(reader, &inputs);
                        *writer.lock().unwrap_or_else(|p| p.into_inner()) = None;
                        eprintln!("club-lock: the daemon's channel closed: {why}");
                        if inputs.send(Input::DaemonLost).is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        if inputs.send(Input::DaemonLost).is_err() {
                            return;
                        }
                        // Said once per outage, not every retry.
                        let e = format!("{e:#}");
                        if e != last_error {
                            eprintln!(
                                "club-lock: cannot reach the daemon at {}: {e}",
                                endpoint.0.display()
                            );
                            last_error = e;
                        }
                    }
                }
                std::thread::sleep(Duration::from_millis(250));
            }
        })
        .expect("a thread for the daemon's channel");
    presses
}

/// Reads lines until the channel ends; answers why it ended.
fn read_lines(reader: Box<dyn Read + Send>, inputs: &Sender<Input>) -> String {
    let mut reader = BufReader::with_capacity(4096, reader);
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = match reader
            .by_ref()
            .take(MAX_LOCK_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut line)
        {
            Ok(0) => return "end of stream".into(),
            Ok(n) => n,
            Err(e) => return e.to_string(),
        };
        if n > MAX_LOCK_LINE_BYTES {
            return "a line longer than the limit".into();
        }
        match serde_json::from_slice::<DaemonMsg>(&line) {
            Ok(msg) => {
                if inputs.send(Input::Daemon(msg)).is_err() {
                    return "the lock screen is stopping".into();
                }
            }
            Err(e) => eprintln!("club-lock: an unreadable line from the daemon: {e}"),
        }
    }
}
