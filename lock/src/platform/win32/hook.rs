//! The keyboard hook and its thread (see the parent module).
#![allow(unsafe_code)] // a Win32 low-level keyboard hook

use super::{REHOOK_EVERY_MS, WM_HOOK_OFF, WM_HOOK_ON};
use crate::Input;
use std::sync::mpsc::Sender;
use windows_sys::Win32::Foundation::{LPARAM, LRESULT, WPARAM};
use windows_sys::Win32::System::LibraryLoader::GetModuleHandleW;
use windows_sys::Win32::System::Threading::GetCurrentThreadId;
use windows_sys::Win32::UI::Input::KeyboardAndMouse::VK_RETURN;
use windows_sys::Win32::UI::WindowsAndMessaging::{
    CallNextHookEx, DispatchMessageW, GetMessageW, KillTimer, PeekMessageW, SetTimer,
    SetWindowsHookExW, TranslateMessage, UnhookWindowsHookEx, HC_ACTION, HHOOK, KBDLLHOOKSTRUCT,
    MSG, PM_NOREMOVE, WH_KEYBOARD_LL, WM_KEYDOWN, WM_TIMER,
};

/// The keyboard hook's thread: installs the hook on WM_HOOK_ON, removes it
/// on WM_HOOK_OFF, and installs it afresh on a timer while on.
pub(super) fn hook_thread(ready: Sender<u32>) {
    // SAFETY: a message loop on this thread; the hook procedure is a plain
    // function and the hook handle never leaves this thread.
    unsafe {
        let mut msg: MSG = std::mem::zeroed();
        // The thread has a message queue only once it asks for a message:
        // made before its id goes out, so that no WM_HOOK_ON is lost.
        PeekMessageW(&mut msg, std::ptr::null_mut(), 0, 0, PM_NOREMOVE);
        let _ = ready.send(GetCurrentThreadId());
        let mut hook: HHOOK = std::ptr::null_mut();
        let mut timer = 0usize;
        let install = || {
            SetWindowsHookExW(
                WH_KEYBOARD_LL,
                Some(keyboard_hook),
                GetModuleHandleW(std::ptr::null()),
                0,
            )
        };
        while GetMessageW(&mut msg, std::ptr::null_mut(), 0, 0) > 0 {
            match msg.message {
                WM_HOOK_ON => {
                    if hook.is_null() {
                        hook = install();
                    }
                    if timer == 0 {
                        timer = SetTimer(std::ptr::null_mut(), 0, REHOOK_EVERY_MS, None);
                    }
                }
                WM_HOOK_OFF => {
                    if !hook.is_null() {
                        UnhookWindowsHookEx(hook);
                        hook = std::ptr::null_mut();
                    }
                    if timer != 0 {
                        KillTimer(std::ptr::null_mut(), timer);
                        timer = 0;
                    }
                }
                WM_TIMER if timer != 0 => {
                    // Windows removes a hook that was once too slow, without
                    // a word: install a fresh one (before letting the old go,
                    // so that no key slips between), or retry a failed one.
                    let fresh = install();
                    if !fresh.is_null() {
                        if !hook.is_null() {
                            UnhookWindowsHookEx(hook);
                        }
                        hook = fresh;
                    }
                }
                _ => {
                    TranslateMessage(&msg);
                    DispatchMessageW(&msg);
                }
            }
        }
    }
}

/// Where the hook sends Enter: it swallows every key while locked, so the
/// lock needs no keyboard focus (Windows may refuse it the foreground).
pub(super) static START_PRESSES: std::sync::OnceLock<Sender<Input>> = std::sync::OnceLock::new();

unsafe extern "system" fn keyboard_hook(code: i32, wparam: WPARAM, lparam: LPARAM) -> LRESULT {
    if code == HC_ACTION as i32 {
        // Installed only while locked: every key stops here, whatever
        // window has the focus; Enter presses Start.
        let k = &*(lparam as *const KBDLLHOOKSTRUCT);
        if k.vkCode == u32::from(VK_RETURN) && (wparam == WM_KEYDOWN as usize) {
            if let Some(tx) = START_PRESSES.get() {
                let _ = tx.send(Input::Start);
            }
        }
        return 1;
    }
    CallNextHookEx(std::ptr::null_mut(), code, wparam, lparam)
}
