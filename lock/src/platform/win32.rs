//! Windows: one borderless topmost window per monitor while locked, put
//! back on top, in place and shown every second, and a low-level keyboard
//! hook that swallows every key while locked (the shell's shortcuts, Alt+Tab,
//! Win, Alt+F4, Ctrl+Esc, Ctrl+Shift+Esc, included) and turns Enter into
//! Start, so the lock needs no keyboard focus, which Windows may refuse a
//! process started in the background. The hook lives on a thread of its own
//! that does nothing else, so it always answers in time (Windows silently
//! drops a slow hook), is installed only while locked (every key press of a
//! game would pass through it), and is installed afresh every few seconds.
//! Ctrl+Alt+Del cannot be hooked: see the README.
//!
//! The window thread owns every window; the main loop hands it scenes.
#![allow(unsafe_code)] // Win32 window procedures, hooks and GDI calls

mod hook;
mod messages;

use crate::draw::{self, Canvas, Fonts, Rect, BACKGROUND};
use crate::model::Scene;
use crate::Input;
use hook::{hook_thread, START_PRESSES};
use messages::on_message;
use std::cell::RefCell;
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use windows_sys::Win32::Foundation::{HWND, LPARAM, LRESULT, RECT, WPARAM};
use windows_sys::Win32::Graphics::Gdi::{
    CreateSolidBrush, EnumDisplayMonitors, InvalidateRect, HDC, HMONITOR,
};
use windows_sys::Win32::System::LibraryLoader::GetModuleHandleW;
use windows_sys::Win32::System::Threading::GetCurrentThreadId;
use windows_sys::Win32::UI::WindowsAndMessaging::{
    CreateWindowExW, DefWindowProcW, DestroyWindow, DispatchMessageW, GetMessageW, KillTimer,
    LoadCursorW, PostThreadMessageW, RegisterClassW, SetForegroundWindow,
    SetLayeredWindowAttributes, SetTimer, ShowWindow, TranslateMessage, IDC_ARROW, LWA_ALPHA, MSG,
    SW_SHOWNOACTIVATE, WM_APP, WM_DISPLAYCHANGE, WNDCLASSW, WS_EX_LAYERED, WS_EX_NOACTIVATE,
    WS_EX_TOOLWINDOW, WS_EX_TOPMOST, WS_EX_TRANSPARENT, WS_POPUP, WS_VISIBLE,
};

/// Windows sends the main loop no display events: the window thread
/// handles its own and sends `Input::Start` itself.
pub enum Event {}

const WM_SCENE: u32 = WM_APP + 1;
const WM_HOOK_ON: u32 = WM_APP + 2;
const WM_HOOK_OFF: u32 = WM_APP + 3;
const TOPMOST_TIMER: usize = 1;
const TOPMOST_EVERY_MS: u32 = 1000;
const REHOOK_EVERY_MS: u32 = 5000;

pub struct Win32 {
    window_thread: u32,
    scene: Arc<Mutex<Scene>>,
}

struct Ui {
    inputs: Sender<Input>,
    fonts: Fonts,
    scene: Arc<Mutex<Scene>>,
    hook_thread: u32,
    locks: Vec<(HWND, Rect)>,
    panel: Option<draw::Panel>,
    notice: Option<(HWND, Canvas)>,
}

thread_local! {
    static UI: RefCell<Option<Ui>> = const { RefCell::new(None) };
}

fn wide(s: &str) -> Vec<u16> {
    s.encode_utf16().chain([0]).collect()
}

fn class_name() -> Vec<u16> {
    wide("ClubhallLock")
}

/// 0x00RRGGBB to a COLORREF (0x00BBGGRR).
fn colorref(rgb: u32) -> u32 {
    ((rgb & 0xff) << 16) | (rgb & 0xff00) | ((rgb >> 16) & 0xff)
}

pub fn open(inputs: Sender<Input>) -> anyhow::Result<Box<dyn crate::Display>> {
    let fonts = Fonts::load()?;
    let _ = START_PRESSES.set(inputs.clone());
    let (hook_tx, hook_rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("keyboard-hook".into())
        .spawn(move || hook_thread(hook_tx))?;
    let hook_thread = hook_rx.recv()?;
    let scene = Arc::new(Mutex::new(Scene::Hidden));
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let shared = scene.clone();
    std::thread::Builder::new()
        .name("windows".into())
        .spawn(move || {
            UI.with(|u| {
                *u.borrow_mut() = Some(Ui {
                    inputs,
                    fonts,
                    scene: shared,
                    hook_thread,
                    locks: Vec::new(),
                    panel: None,
                    notice: None,
                })
            });
            let class = class_name();
            // SAFETY: plain registration of a window class whose procedure
            // and strings live for the whole process.
            unsafe {
                let wc = WNDCLASSW {
                    lpfnWndProc: Some(wndproc),
                    hInstance: GetModuleHandleW(std::ptr::null()),
                    lpszClassName: class.as_ptr(),
                    hbrBackground: CreateSolidBrush(colorref(BACKGROUND)),
                    hCursor: LoadCursorW(std::ptr::null_mut(), IDC_ARROW),
                    ..std::mem::zeroed()
                };
                RegisterClassW(&wc);
                let _ = ready_tx.send(GetCurrentThreadId());
                let mut msg: MSG = std::mem::zeroed();
                while GetMessageW(&mut msg, std::ptr::null_mut(), 0, 0) > 0 {
                    if msg.hwnd.is_null() && msg.message == WM_SCENE {
                        apply();
                    } else {
                        TranslateMessage(&msg);
                        DispatchMessageW(&msg);
                    }
                }
            }
        })?;
    let window_thread = ready_rx.recv()?;
    Ok(Box::new(Win32 {
        window_thread,
        scene,
    }))
}

impl crate::Display for Win32 {
    fn present(&mut self, scene: &Scene) -> anyhow::Result<()> {
        *self.scene.lock().unwrap_or_else(|p| p.into_inner()) = scene.clone();
        // SAFETY: posting to a thread of ours that runs a message loop.
        if unsafe { PostThreadMessageW(self.window_thread, WM_SCENE, 0, 0) } == 0 {
            anyhow::bail!(
                "the window thread is gone: {}",
                std::io::Error::last_os_error()
            );
        }
        Ok(())
    }

    fn handle(&mut self, event: Event) -> anyhow::Result<bool> {
        match event {}
    }

    fn tick(&mut self) -> Option<Instant> {
        None
    }
}

unsafe extern "system" fn monitor_proc(_: HMONITOR, _: HDC, r: *mut RECT, out: LPARAM) -> i32 {
    let out = &mut *(out as *mut Vec<Rect>);
    let r = &*r;
    out.push(Rect {
        x: r.left,
        y: r.top,
        w: (r.right - r.left).max(1) as u32,
        h: (r.bottom - r.top).max(1) as u32,
    });
    1
}

fn monitors() -> Vec<Rect> {
    let mut out: Vec<Rect> = Vec::new();
    // SAFETY: the callback only pushes into `out`, which outlives the call.
    unsafe {
        EnumDisplayMonitors(
            std::ptr::null_mut(),
            std::ptr::null(),
            Some(monitor_proc),
            &mut out as *mut Vec<Rect> as LPARAM,
        );
    }
    if out.is_empty() {
        out.push(Rect {
            x: 0,
            y: 0,
            w: 1920,
            h: 1080,
        });
    }
    out
}

fn create(ex: u32, r: Rect, title: &str) -> HWND {
    let class = class_name();
    let title = wide(title);
    // SAFETY: a top-level popup of our registered class.
    unsafe {
        CreateWindowExW(
            ex,
            class.as_ptr(),
            title.as_ptr(),
            WS_POPUP | WS_VISIBLE,
            r.x,
            r.y,
            r.w as i32,
            r.h as i32,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            GetModuleHandleW(std::ptr::null()),
            std::ptr::null(),
        )
    }
}

fn destroy(h: HWND) {
    // SAFETY: a window this thread created.
    unsafe { DestroyWindow(h) };
}

/// Makes the windows match the scene. Windows calls back into `wndproc`
/// while windows are made and destroyed, so the UI state is borrowed in
/// short steps, never across those calls.
fn apply() {
    let Some((scene, hook_thread)) = UI.with(|u| {
        u.borrow().as_ref().map(|ui| {
            let scene = ui.scene.lock().unwrap_or_else(|p| p.into_inner()).clone();
            (scene, ui.hook_thread)
        })
    }) else {
        return;
    };
    let locked = matches!(scene, Scene::Lock(_));
    let notice_text = match &scene {
        Scene::Notice(t) => Some(t.clone()),
        _ => None,
    };
    let (old_locks, old_notice) = UI.with(|u| {
        let mut u = u.borrow_mut();
        let ui = u.as_mut().expect("ui state");
        let locks = if locked {
            Vec::new()
        } else {
            std::mem::take(&mut ui.locks)
        };
        let notice = if notice_text.is_some() {
            None
        } else {
            ui.notice.take().map(|(h, _)| h)
        };
        (locks, notice)
    });
    for (h, _) in old_locks {
        destroy(h);
    }
    if let Some(h) = old_notice {
        destroy(h);
    }
    // SAFETY: posting to our hook thread.
    unsafe {
        PostThreadMessageW(
            hook_thread,
            if locked { WM_HOOK_ON } else { WM_HOOK_OFF },
            0,
            0,
        )
    };
    if let Scene::Lock(screen) = &scene {
        let need = UI.with(|u| u.borrow().as_ref().is_some_and(|ui| ui.locks.is_empty()));
        if need {
            let made: Vec<(HWND, Rect)> = monitors()
                .into_iter()
                .map(|m| {
                    (
                        create(WS_EX_TOPMOST | WS_EX_TOOLWINDOW, m, "Clubhall lock"),
                        m,
                    )
                })
                .collect();
            if let Some((first, _)) = made.first() {
                // SAFETY: windows of this thread.
                unsafe {
                    SetForegroundWindow(*first);
                    SetTimer(*first, TOPMOST_TIMER, TOPMOST_EVERY_MS, None);
                }
            }
            UI.with(|u| u.borrow_mut().as_mut().expect("ui state").locks = made);
        }
        UI.with(|u| {
            let mut u = u.borrow_mut();
            let ui = u.as_mut().expect("ui state");
            let smallest = ui.locks.iter().map(|(_, m)| m.h).min().unwrap_or(1080);
            ui.panel = Some(draw::lock_panel(
                &ui.fonts,
                screen,
                draw::scale_for(smallest),
            ));
        });
    }
    if let Some(text) = notice_text {
        let m = monitors()[0];
        let scale = draw::scale_for(m.h);
        let canvas =
            UI.with(|u| draw::notice(&u.borrow().as_ref().expect("ui state").fonts, &text, scale));
        let r = draw::notice_place(m, &canvas);
        let existing = UI.with(|u| {
            u.borrow()
                .as_ref()
                .and_then(|ui| ui.notice.as_ref().map(|(h, _)| *h))
        });
        let h = existing.unwrap_or_else(|| {
            // Layered and transparent: clicks go through to the game; no
            // activation: the game keeps the keyboard.
            let h = create(
                WS_EX_TOPMOST
                    | WS_EX_NOACTIVATE
                    | WS_EX_TOOLWINDOW
                    | WS_EX_LAYERED
                    | WS_EX_TRANSPARENT,
                r,
                "Clubhall notice",
            );
            // SAFETY: a window of this thread.
            unsafe {
                SetLayeredWindowAttributes(h, 0, 240, LWA_ALPHA);
                ShowWindow(h, SW_SHOWNOACTIVATE);
            }
            h
        });
        UI.with(|u| u.borrow_mut().as_mut().expect("ui state").notice = Some((h, canvas)));
    }
    let all: Vec<HWND> = UI.with(|u| {
        let u = u.borrow();
        let ui = u.as_ref().expect("ui state");
        ui.locks
            .iter()
            .map(|(h, _)| *h)
            .chain(ui.notice.as_ref().map(|(h, _)| *h))
            .collect()
    });
    for h in all {
        // SAFETY: a window of this thread; WM_PAINT follows.
        unsafe { InvalidateRect(h, std::ptr::null(), 1) };
    }
}

unsafe extern "system" fn wndproc(hwnd: HWND, msg: u32, wparam: WPARAM, lparam: LPARAM) -> LRESULT {
    if msg == WM_DISPLAYCHANGE {
        // Monitors changed: rebuild the lock windows on the next apply.
        let old = UI.with(|u| {
            u.try_borrow_mut()
                .ok()
                .and_then(|mut u| u.as_mut().map(|ui| std::mem::take(&mut ui.locks)))
        });
        if let Some(old) = old.filter(|o| !o.is_empty()) {
            for (h, _) in old {
                KillTimer(h, TOPMOST_TIMER);
                destroy(h);
            }
            apply();
        }
        return 0;
    }
    let handled = UI.with(|u| {
        let mut u = u.try_borrow_mut().ok()?;
        on_message(u.as_mut()?, hwnd, msg, wparam, lparam)
    });
    match handled {
        Some(r) => r,
        None => DefWindowProcW(hwnd, msg, wparam, lparam),
    }
}
