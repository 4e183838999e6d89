//! What a message to one of the lock's windows does, and painting.
#![allow(unsafe_code)] // Win32 window messages and GDI calls

use super::Ui;
use crate::draw::{self, Canvas};
use crate::Input;
use windows_sys::Win32::Foundation::{HWND, LPARAM, LRESULT, WPARAM};
use windows_sys::Win32::Graphics::Gdi::{
    BeginPaint, EndPaint, SetDIBitsToDevice, BITMAPINFO, BITMAPINFOHEADER, BI_RGB, DIB_RGB_COLORS,
    PAINTSTRUCT,
};
use windows_sys::Win32::UI::Input::KeyboardAndMouse::VK_RETURN;
use windows_sys::Win32::UI::WindowsAndMessaging::{
    SetForegroundWindow, SetWindowPos, HWND_TOPMOST, SWP_NOACTIVATE, SWP_SHOWWINDOW, WM_CLOSE,
    WM_KEYDOWN, WM_LBUTTONDOWN, WM_PAINT, WM_SYSKEYDOWN, WM_TIMER,
};

fn paint(hwnd: HWND, c: &Canvas, at: (i32, i32)) {
    // SAFETY: painting our own pixels into our own window between
    // BeginPaint and EndPaint; the bitmap header describes `c` exactly.
    unsafe {
        let mut ps: PAINTSTRUCT = std::mem::zeroed();
        let hdc = BeginPaint(hwnd, &mut ps);
        let mut bmi: BITMAPINFO = std::mem::zeroed();
        bmi.bmiHeader = BITMAPINFOHEADER {
            biSize: std::mem::size_of::<BITMAPINFOHEADER>() as u32,
            biWidth: c.width as i32,
            biHeight: -(c.height as i32), // top-down rows
            biPlanes: 1,
            biBitCount: 32,
            biCompression: BI_RGB,
            ..std::mem::zeroed()
        };
        SetDIBitsToDevice(
            hdc,
            at.0,
            at.1,
            c.width,
            c.height,
            0,
            0,
            0,
            c.height,
            c.pixels.as_ptr().cast(),
            &bmi,
            DIB_RGB_COLORS,
        );
        EndPaint(hwnd, &ps);
    }
}

/// What a message to one of our windows does, with the UI state at hand.
/// Answers `None` to leave the message to Windows.
pub(super) fn on_message(
    ui: &mut Ui,
    hwnd: HWND,
    msg: u32,
    wparam: WPARAM,
    lparam: LPARAM,
) -> Option<LRESULT> {
    let lock = ui.locks.iter().find(|(h, _)| *h == hwnd).map(|(_, m)| *m);
    match msg {
        WM_PAINT => {
            if let (Some(m), Some(panel)) = (lock, &ui.panel) {
                let at = draw::panel_origin(m, &panel.canvas);
                paint(hwnd, &panel.canvas, at);
                return Some(0);
            }
            if let Some((h, c)) = &ui.notice {
                if *h == hwnd {
                    paint(hwnd, c, (0, 0));
                    return Some(0);
                }
            }
            None
        }
        WM_KEYDOWN | WM_SYSKEYDOWN if lock.is_some() => {
            if wparam == VK_RETURN as usize {
                let _ = ui.inputs.send(Input::Start);
            }
            Some(0)
        }
        WM_LBUTTONDOWN => {
            let (Some(m), Some(panel)) = (lock, &ui.panel) else {
                return None;
            };
            let at = draw::panel_origin(m, &panel.canvas);
            let x = (lparam & 0xffff) as i16 as i32 - at.0;
            let y = ((lparam >> 16) & 0xffff) as i16 as i32 - at.1;
            if panel.button.is_some_and(|b| b.contains(x, y)) {
                let _ = ui.inputs.send(Input::Start);
            }
            Some(0)
        }
        // Alt+F4 and the like: a lock window does not close.
        WM_CLOSE if lock.is_some() => Some(0),
        WM_TIMER if lock.is_some() => {
            // Back on top, in place, and shown: another program may have
            // moved, hidden or covered a lock window since.
            for (h, m) in &ui.locks {
                // SAFETY: windows of this thread.
                unsafe {
                    SetWindowPos(
                        *h,
                        HWND_TOPMOST,
                        m.x,
                        m.y,
                        m.w as i32,
                        m.h as i32,
                        SWP_SHOWWINDOW | SWP_NOACTIVATE,
                    )
                };
            }
            if let Some((first, _)) = ui.locks.first() {
                // SAFETY: a window of this thread.
                unsafe { SetForegroundWindow(*first) };
            }
            Some(0)
        }
        _ => None,
    }
}
