//! The daemon's channel on Windows: a local named pipe, opened for
//! overlapped I/O so that the reader thread's pending read does not hold
//! up a Start press being written (synchronous pipe handles serialise the
//! two).
#![allow(unsafe_code)] // Win32 file calls on a handle this module owns

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use windows_sys::Win32::Foundation::{
    CloseHandle, GetLastError, ERROR_IO_PENDING, HANDLE, INVALID_HANDLE_VALUE,
};
use windows_sys::Win32::Storage::FileSystem::{
    CreateFileW, ReadFile, WriteFile, FILE_FLAG_OVERLAPPED, FILE_READ_ATTRIBUTES, FILE_READ_DATA,
    FILE_WRITE_DATA, OPEN_EXISTING, READ_CONTROL, SYNCHRONIZE,
};
use windows_sys::Win32::System::Threading::CreateEventW;
use windows_sys::Win32::System::IO::{GetOverlappedResult, OVERLAPPED};

pub fn default_socket() -> PathBuf {
    PathBuf::from(r"\\.\pipe\clubhall-lock")
}

/// A handle closed on drop. Pipe handles may be used from any thread.
struct Owned(HANDLE);
unsafe impl Send for Owned {}
unsafe impl Sync for Owned {}

impl Drop for Owned {
    fn drop(&mut self) {
        // SAFETY: the handle was opened by this module and is closed once.
        unsafe { CloseHandle(self.0) };
    }
}

struct End {
    pipe: Arc<Owned>,
    /// This end's own event for its overlapped operations.
    event: Owned,
}

impl End {
    fn new(pipe: Arc<Owned>) -> std::io::Result<End> {
        // SAFETY: a manual-reset, unnamed event with default security.
        let event = unsafe { CreateEventW(std::ptr::null(), 1, 0, std::ptr::null()) };
        if event.is_null() {
            return Err(std::io::Error::last_os_error());
        }
        Ok(End {
            pipe,
            event: Owned(event),
        })
    }

    /// Starts an overlapped call and waits for its end: answers the bytes moved.
    fn wait(&self, start: impl FnOnce(*mut OVERLAPPED) -> i32) -> std::io::Result<usize> {
        // SAFETY: OVERLAPPED is plain data; zeroed is its documented start.
        let mut ov: OVERLAPPED = unsafe { std::mem::zeroed() };
        ov.hEvent = self.event.0;
        let done = start(&mut ov);
        // SAFETY: plain calls on our own handles; `ov` outlives the operation
        // because GetOverlappedResult waits (bWait = TRUE) for it to end.
        unsafe {
            if done == 0 && GetLastError() != ERROR_IO_PENDING {
                return Err(std::io::Error::last_os_error());
            }
            let mut n = 0u32;
            if GetOverlappedResult(self.pipe.0, &ov, &mut n, 1) == 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(n as usize)
        }
    }
}

impl Read for End {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let len = buf.len().min(u32::MAX as usize) as u32;
        let pipe = self.pipe.0;
        let ptr = buf.as_mut_ptr();
        // SAFETY: `buf` stays borrowed until `wait` has seen the read end.
        match self.wait(|ov| unsafe { ReadFile(pipe, ptr, len, std::ptr::null_mut(), ov) }) {
            // A closed pipe reads as the end of the stream.
            Err(e) if e.raw_os_error() == Some(109) => Ok(0), // ERROR_BROKEN_PIPE
            other => other,
        }
    }
}

impl Write for End {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let len = buf.len().min(u32::MAX as usize) as u32;
        let pipe = self.pipe.0;
        let ptr = buf.as_ptr();
        // SAFETY: `buf` stays borrowed until `wait` has seen the write end.
        self.wait(|ov| unsafe { WriteFile(pipe, ptr, len, std::ptr::null_mut(), ov) })
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub fn connect(path: &Path) -> anyhow::Result<(Box<dyn Read + Send>, Box<dyn Write + Send>)> {
    use std::os::windows::ffi::OsStrExt;
    let wide: Vec<u16> = path.as_os_str().encode_wide().chain([0]).collect();
    // SAFETY: a NUL-terminated path; the handle is owned from here on.
    let h = unsafe {
        CreateFileW(
            wide.as_ptr(),
            // Exactly what the daemon's pipe grants a player: not
            // GENERIC_WRITE, which would ask for the right to add pipe
            // instances too, and be refused.
            FILE_READ_DATA | FILE_WRITE_DATA | FILE_READ_ATTRIBUTES | READ_CONTROL | SYNCHRONIZE,
            0,
            std::ptr::null(),
            OPEN_EXISTING,
            FILE_FLAG_OVERLAPPED,
            std::ptr::null_mut(),
        )
    };
    if h == INVALID_HANDLE_VALUE {
        return Err(anyhow::anyhow!(
            "opening {}: {}",
            path.display(),
            std::io::Error::last_os_error()
        ));
    }
    let pipe = Arc::new(Owned(h));
    Ok((Box::new(End::new(pipe.clone())?), Box::new(End::new(pipe)?)))
}
