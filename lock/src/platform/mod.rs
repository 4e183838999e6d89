//! The platform edge: windows, grabs and hooks per display system, and the
//! local channel's transport. Everything above this module is the same on
//! every platform (STYLE 19).

#[cfg(unix)]
mod unix;
#[cfg(unix)]
mod x11;
#[cfg(unix)]
pub use unix::{connect, default_socket};
#[cfg(unix)]
pub use x11::{open, Event};

#[cfg(windows)]
mod pipe;
#[cfg(windows)]
mod win32;
#[cfg(windows)]
pub use pipe::{connect, default_socket};
#[cfg(windows)]
pub use win32::{open, Event};

/// Whether the Windows keyboard hook swallows a key while locked: the
/// shell's shortcuts that would leave the lock screen (Alt+Tab, Alt+Esc,
/// Alt+F4, Ctrl+Esc, Ctrl+Shift+Esc, the Windows and menu keys). Enter and
/// everything else still reach the lock window. Virtual-key codes.
#[cfg_attr(not(windows), allow(dead_code))] // only Windows hooks keys; tested everywhere
pub fn swallowed(vk: u32, alt: bool, ctrl: bool, _shift: bool) -> bool {
    const TAB: u32 = 0x09;
    const ESCAPE: u32 = 0x1b;
    const F4: u32 = 0x73;
    const LWIN: u32 = 0x5b;
    const RWIN: u32 = 0x5c;
    const APPS: u32 = 0x5d;
    match vk {
        LWIN | RWIN | APPS => true,
        TAB | F4 => alt,
        // Ctrl+Esc (Start menu), Ctrl+Shift+Esc (Task Manager), Alt+Esc.
        ESCAPE => alt || ctrl,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::swallowed;

    #[test]
    fn the_hook_swallows_the_shell_shortcuts_and_nothing_else() {
        assert!(swallowed(0x09, true, false, false), "Alt+Tab");
        assert!(swallowed(0x73, true, false, false), "Alt+F4");
        assert!(swallowed(0x1b, false, true, false), "Ctrl+Esc");
        assert!(swallowed(0x1b, false, true, true), "Ctrl+Shift+Esc");
        assert!(swallowed(0x5b, false, false, false), "Win");
        assert!(
            !swallowed(0x0d, false, false, false),
            "Enter reaches the lock"
        );
        assert!(!swallowed(0x09, false, false, false), "Tab alone");
        assert!(!swallowed(0x41, false, true, false), "Ctrl+A");
    }
}
