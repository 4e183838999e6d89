//! Windows: the lock screen in the player's session. The agent runs as a
//! LocalSystem service in session 0, where no window is ever seen, so it
//! starts club-lock in the active console session with that session's own
//! user token (WTSQueryUserToken, then CreateProcessAsUser on the
//! interactive desktop `winsta0\default`), as remote-desktop tools start
//! their helpers. The process is the player's: it runs with the player's
//! rights, and the service watches its handle.
#![allow(unsafe_code)] // Win32 token and process calls on handles this module owns

use std::ffi::OsStr;
use std::os::windows::ffi::OsStrExt;
use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle};
use std::path::Path;
use std::sync::Arc;
use windows_sys::Win32::Foundation::{CloseHandle, ERROR_NO_TOKEN, HANDLE};
use windows_sys::Win32::Security::{
    DuplicateTokenEx, SecurityImpersonation, TokenPrimary, TOKEN_ALL_ACCESS,
};
use windows_sys::Win32::System::Environment::{CreateEnvironmentBlock, DestroyEnvironmentBlock};
use windows_sys::Win32::System::RemoteDesktop::{WTSGetActiveConsoleSessionId, WTSQueryUserToken};
use windows_sys::Win32::System::Threading::{
    CreateProcessAsUserW, GetExitCodeProcess, TerminateProcess, WaitForSingleObject,
    CREATE_UNICODE_ENVIRONMENT, INFINITE, PROCESS_INFORMATION, STARTUPINFOW,
};

pub enum SpawnError {
    /// Nobody is signed in on the console: Windows' own sign-in screen is
    /// up.
    NoPlayer,
    Os(String),
}

/// A lock screen process in the player's session, terminated on drop.
pub struct Process {
    handle: Arc<OwnedHandle>,
    pid: u32,
}

fn wide(s: &OsStr) -> Vec<u16> {
    s.encode_wide().chain([0]).collect()
}

fn os_error(call: &str) -> SpawnError {
    SpawnError::Os(format!("{call}: {}", std::io::Error::last_os_error()))
}

/// Starts `exe args…` in the active console session as its signed-in user.
pub fn spawn(exe: &Path, args: &[&OsStr]) -> Result<Process, SpawnError> {
    // SAFETY: plain Win32 calls; every handle they give is owned by an
    // OwnedHandle at once and closed on every path; the environment block
    // is destroyed after CreateProcessAsUserW copied it.
    unsafe {
        let session = WTSGetActiveConsoleSessionId();
        if session == u32::MAX {
            // The console is between sessions.
            return Err(SpawnError::NoPlayer);
        }
        let mut user: HANDLE = std::ptr::null_mut();
        if WTSQueryUserToken(session, &mut user) == 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() == Some(ERROR_NO_TOKEN as i32) {
                return Err(SpawnError::NoPlayer);
            }
            return Err(SpawnError::Os(format!("WTSQueryUserToken: {e}")));
        }
        let user = OwnedHandle::from_raw_handle(user);
        let mut primary: HANDLE = std::ptr::null_mut();
        if DuplicateTokenEx(
            user.as_raw_handle(),
            TOKEN_ALL_ACCESS,
            std::ptr::null(),
            SecurityImpersonation,
            TokenPrimary,
            &mut primary,
        ) == 0
        {
            return Err(os_error("DuplicateTokenEx"));
        }
        let primary = OwnedHandle::from_raw_handle(primary);
        // The player's own environment (their profile, TEMP, PATH), not the
        // service's.
        let mut env: *mut core::ffi::c_void = std::ptr::null_mut();
        if CreateEnvironmentBlock(&mut env, primary.as_raw_handle(), 0) == 0 {
            env = std::ptr::null_mut();
        }
        let app = wide(exe.as_os_str());
        let mut line = crate::supervise::windows_quote(&exe.to_string_lossy());
        for a in args {
            line.push(' ');
            line.push_str(&crate::supervise::windows_quote(&a.to_string_lossy()));
        }
        let mut line = wide(OsStr::new(&line));
        let mut desktop = wide(OsStr::new(r"winsta0\default"));
        let mut si: STARTUPINFOW = std::mem::zeroed();
        si.cb = std::mem::size_of::<STARTUPINFOW>() as u32;
        si.lpDesktop = desktop.as_mut_ptr();
        let mut pi: PROCESS_INFORMATION = std::mem::zeroed();
        let ok = CreateProcessAsUserW(
            primary.as_raw_handle(),
            app.as_ptr(),
            line.as_mut_ptr(),
            std::ptr::null(),
            std::ptr::null(),
            0,
            CREATE_UNICODE_ENVIRONMENT,
            env,
            std::ptr::null(),
            &si,
            &mut pi,
        );
        let failed = (ok == 0).then(|| os_error("CreateProcessAsUser"));
        if !env.is_null() {
            DestroyEnvironmentBlock(env);
        }
        if let Some(e) = failed {
            return Err(e);
        }
        CloseHandle(pi.hThread);
        Ok(Process {
            handle: Arc::new(OwnedHandle::from_raw_handle(pi.hProcess)),
            pid: pi.dwProcessId,
        })
    }
}

impl Process {
    pub fn id(&self) -> u32 {
        self.pid
    }

    /// Waits for the process's end (on a blocking thread); answers its exit
    /// code.
    pub async fn wait(&self) -> std::io::Result<u32> {
        let handle = self.handle.clone();
        tokio::task::spawn_blocking(move || {
            // SAFETY: the handle is open while `handle` (an Arc) lives.
            unsafe {
                WaitForSingleObject(handle.as_raw_handle(), INFINITE);
                let mut code = 0u32;
                if GetExitCodeProcess(handle.as_raw_handle(), &mut code) == 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(code)
            }
        })
        .await
        .map_err(std::io::Error::other)?
    }

    pub async fn kill(&self) {
        self.terminate();
        let _ = self.wait().await;
    }

    fn terminate(&self) {
        // SAFETY: the handle is open; terminating an ended process fails
        // harmlessly.
        unsafe { TerminateProcess(self.handle.as_raw_handle(), 1) };
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.terminate();
    }
}
