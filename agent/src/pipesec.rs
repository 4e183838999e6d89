//! Windows: who may open the lock screen's named pipe. A pipe's default
//! security lets any account read it but only its creator write, so the
//! player's club-lock (in the player's session, under the player's
//! account) could not press Start on a pipe the LocalSystem service made.
//! This one gives full control to SYSTEM and Administrators, and to
//! interactive users exactly what a lock screen needs: read, write and
//! wait. Not FILE_CREATE_PIPE_INSTANCE (FILE_APPEND_DATA): a player cannot
//! add an instance of their own and pose as the daemon to the next lock
//! screen.
#![allow(unsafe_code)] // SDDL conversion and the raw security attributes

use std::ffi::OsStr;
use tokio::net::windows::named_pipe::{NamedPipeServer, ServerOptions};
use windows_sys::Win32::Foundation::LocalFree;
use windows_sys::Win32::Security::Authorization::{
    ConvertStringSecurityDescriptorToSecurityDescriptorW, SDDL_REVISION_1,
};
use windows_sys::Win32::Security::{PSECURITY_DESCRIPTOR, SECURITY_ATTRIBUTES};

/// FILE_READ_DATA | FILE_WRITE_DATA | FILE_READ_ATTRIBUTES | READ_CONTROL
/// | SYNCHRONIZE: what club-lock opens the pipe with.
const LOCK_SCREEN_ACCESS: &str = "0x00120083";

pub struct PipeSecurity(PSECURITY_DESCRIPTOR);

// SAFETY: the descriptor is written once, here, and only read afterwards.
unsafe impl Send for PipeSecurity {}
unsafe impl Sync for PipeSecurity {}

impl PipeSecurity {
    pub fn lock_screen() -> std::io::Result<PipeSecurity> {
        let sddl = format!("D:P(A;;GA;;;SY)(A;;GA;;;BA)(A;;{LOCK_SCREEN_ACCESS};;;IU)");
        let wide: Vec<u16> = sddl.encode_utf16().chain([0]).collect();
        let mut sd: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
        // SAFETY: a NUL-terminated SDDL string; the descriptor it allocates
        // is freed on drop.
        let ok = unsafe {
            ConvertStringSecurityDescriptorToSecurityDescriptorW(
                wide.as_ptr(),
                SDDL_REVISION_1,
                &mut sd,
                std::ptr::null_mut(),
            )
        };
        if ok == 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(PipeSecurity(sd))
    }

    /// `options.create(name)`, with this security.
    pub fn create(
        &self,
        options: &ServerOptions,
        name: &OsStr,
    ) -> std::io::Result<NamedPipeServer> {
        let mut attrs = SECURITY_ATTRIBUTES {
            nLength: std::mem::size_of::<SECURITY_ATTRIBUTES>() as u32,
            lpSecurityDescriptor: self.0,
            bInheritHandle: 0,
        };
        // SAFETY: `attrs` and the descriptor it points to outlive the call,
        // which copies them into the new pipe.
        unsafe {
            options.create_with_security_attributes_raw(
                name,
                (&mut attrs as *mut SECURITY_ATTRIBUTES).cast(),
            )
        }
    }
}

impl Drop for PipeSecurity {
    fn drop(&mut self) {
        // SAFETY: allocated by ConvertStringSecurityDescriptorToSecurityDescriptorW.
        unsafe { LocalFree(self.0) };
    }
}
