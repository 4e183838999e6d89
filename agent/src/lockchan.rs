//! The daemon's end of the local channel to `club-lock`: line-delimited
//! JSON (`club_shared::lock`). The daemon sends the whole view on connect
//! and after every change; the lock screen can only press Start. The
//! channel admits only the daemon's own account (and, when the daemon runs
//! as a system service, the one account whose session shows the lock
//! screen): a Unix socket (mode 0600, owned by that account, peer uid
//! checked), a local-only named pipe on Windows that only SYSTEM,
//! Administrators and the signed-in player may open (`pipesec`).

use crate::runtime::AgentHandle;
use club_shared::lock::{DaemonMsg, LockMsg, MAX_LOCK_CLIENTS, MAX_LOCK_LINE_BYTES};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::{mpsc, Semaphore};
use tokio_util::sync::CancellationToken;

/// A lock screen that takes nothing for this long is dropped.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// Serves lock screens on `path` until `shutdown`.
#[cfg(unix)]
pub(crate) async fn serve(
    path: std::path::PathBuf,
    lock_screen_uid: Option<u32>,
    handle: AgentHandle,
    shutdown: CancellationToken,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    use anyhow::Context;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    // A socket left by an earlier run (or anything else at that path).
    let _ = std::fs::remove_file(&path);
    let listener = tokio::net::UnixListener::bind(&path)
        .with_context(|| format!("opening the lock screen's socket {}", path.display()))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    let own_uid = std::fs::metadata(&path)?.uid();
    if let Some(uid) = lock_screen_uid {
        // The lock screen's account may open it; club-lock trusts a socket
        // owned by its own account (or root) and no other.
        std::os::unix::fs::chown(&path, Some(uid), None)
            .with_context(|| format!("giving {} to uid {uid}", path.display()))?;
    }
    let slots = Arc::new(Semaphore::new(MAX_LOCK_CLIENTS));
    Ok(tokio::spawn(async move {
        loop {
            let stream = tokio::select! {
                _ = shutdown.cancelled() => break,
                a = listener.accept() => match a {
                    Ok((s, _)) => s,
                    Err(e) => {
                        tracing::warn!(error = %e, "lock screen accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                },
            };
            let uid = stream.peer_cred().map(|c| c.uid()).ok();
            let allowed = |u: u32| u == own_uid || u == 0 || Some(u) == lock_screen_uid;
            if !uid.is_some_and(allowed) {
                tracing::warn!(
                    ?uid,
                    "a process of another account tried the lock screen's socket"
                );
                continue;
            }
            let Ok(permit) = slots.clone().try_acquire_owned() else {
                tracing::warn!("too many lock screens connected; closing one");
                continue;
            };
            let (r, w) = stream.into_split();
            let (handle, shutdown) = (handle.clone(), shutdown.clone());
            tokio::spawn(async move {
                client(r, w, handle, shutdown).await;
                drop(permit);
            });
        }
        let _ = std::fs::remove_file(&path);
    }))
}

/// Serves lock screens on the named pipe `path` until `shutdown`.
#[cfg(windows)]
pub(crate) async fn serve(
    path: std::path::PathBuf,
    _lock_screen_uid: Option<u32>,
    handle: AgentHandle,
    shutdown: CancellationToken,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    use anyhow::Context;
    use tokio::net::windows::named_pipe::ServerOptions;
    let name = path.as_os_str().to_owned();
    let security = crate::pipesec::PipeSecurity::lock_screen()
        .context("the lock screen pipe's security descriptor")?;
    // first_pipe_instance: a pipe of that name made by anyone else first
    // (a fake daemon) makes this fail rather than share it.
    let mut server = security
        .create(
            ServerOptions::new()
                .first_pipe_instance(true)
                .reject_remote_clients(true),
            &name,
        )
        .with_context(|| format!("opening the lock screen's pipe {}", path.display()))?;
    let slots = Arc::new(Semaphore::new(MAX_LOCK_CLIENTS));
    Ok(tokio::spawn(async move {
        loop {
            let connected = tokio::select! {
                _ = shutdown.cancelled() => return,
                c = server.connect() => c,
            };
            // Whether or not a lock screen came, the next one needs an
            // instance of its own: a failed connect (a client that came and
            // went at once) leaves this instance unusable.
            let next = loop {
                match security.create(ServerOptions::new().reject_remote_clients(true), &name) {
                    Ok(n) => break n,
                    Err(e) => {
                        tracing::error!(error = %e, "opening the next lock screen pipe");
                        handle.set_lock_screen_problem(Some(format!(
                            "the lock screen's pipe cannot be opened: {e}"
                        )));
                        tokio::select! {
                            _ = shutdown.cancelled() => return,
                            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                        }
                    }
                }
            };
            if let Err(e) = connected {
                tracing::warn!(error = %e, "lock screen pipe connect failed");
                server = next;
                continue;
            }
            let connected = std::mem::replace(&mut server, next);
            let Ok(permit) = slots.clone().try_acquire_owned() else {
                tracing::warn!("too many lock screens connected; closing one");
                continue;
            };
            let (r, w) = tokio::io::split(connected);
            let (handle, shutdown) = (handle.clone(), shutdown.clone());
            tokio::spawn(async move {
                client(r, w, handle, shutdown).await;
                drop(permit);
            });
        }
    }))
}

async fn send<W: AsyncWrite + Unpin>(w: &mut W, msg: &DaemonMsg) -> bool {
    let mut line = serde_json::to_vec(msg).unwrap_or_default();
    line.push(b'\n');
    matches!(
        tokio::time::timeout(WRITE_TIMEOUT, w.write_all(&line)).await,
        Ok(Ok(()))
    )
}

/// One lock screen: views down, presses up, until either side goes.
async fn client<R, W>(r: R, mut w: W, handle: AgentHandle, shutdown: CancellationToken)
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let _counted = handle.lock_screen_connected();
    let mut changes = handle.subscribe();
    let mut reader = BufReader::with_capacity(1024, r);
    let mut line = Vec::new();
    let (answers, mut answered) = mpsc::channel::<DaemonMsg>(4);
    let pressing = Arc::new(AtomicBool::new(false));
    let mut last = handle.lock_view();
    if !send(&mut w, &DaemonMsg::View { view: last.clone() }).await {
        return;
    }
    loop {
        // `line` keeps a partly read line when another branch wins the
        // select (read_until is cancel safe that way); it is cleared once a
        // whole line has been handled.
        let room = (MAX_LOCK_LINE_BYTES + 1).saturating_sub(line.len()) as u64;
        let mut limited = (&mut reader).take(room);
        tokio::select! {
            _ = shutdown.cancelled() => return,
            c = changes.changed() => {
                if c.is_err() {
                    return;
                }
                let now = handle.lock_view();
                if now != last {
                    last = now;
                    if !send(&mut w, &DaemonMsg::View { view: last.clone() }).await {
                        return;
                    }
                }
            }
            Some(answer) = answered.recv() => if !send(&mut w, &answer).await {
                return;
            },
            n = limited.read_until(b'\n', &mut line) => {
                if matches!(n, Ok(0) | Err(_)) {
                    return;
                }
                if line.len() > MAX_LOCK_LINE_BYTES {
                    let _ = send(&mut w, &DaemonMsg::Error { message: format!("a line is limited to {MAX_LOCK_LINE_BYTES} bytes") }).await;
                    return;
                }
                match serde_json::from_slice::<LockMsg>(&line) {
                    // One press in flight per lock screen: a flood of
                    // presses costs one task, not one each.
                    Ok(LockMsg::StartPressed { press }) if pressing.swap(true, Ordering::AcqRel) => {
                        let busy = DaemonMsg::StartAnswer { press, ok: false, message: Some("a Start press is already on its way".into()) };
                        if !send(&mut w, &busy).await {
                            return;
                        }
                    }
                    Ok(LockMsg::StartPressed { press }) => {
                        let (handle, answers, pressing) = (handle.clone(), answers.clone(), pressing.clone());
                        tokio::spawn(async move {
                            let result = handle.press_start().await;
                            pressing.store(false, Ordering::Release);
                            let msg = DaemonMsg::StartAnswer { press, ok: result.is_ok(), message: result.err() };
                            let _ = answers.send(msg).await;
                        });
                    }
                    Err(e) => if !send(&mut w, &DaemonMsg::Error { message: format!("not a message: {e}") }).await {
                        return;
                    },
                }
                line.clear();
            }
        }
    }
}
