//! The Windows builds that the test command makes (x86_64-pc-windows-gnu,
//! Debian's mingw-w64): real PE executables for x86-64, the lock screen a
//! GUI program (no console window flashing up over the game), the agent a
//! console one (it runs as a service and from a terminal). Run under wine
//! when a wine that can run them is installed (Debian 12's cannot: Rust's
//! std needs bcryptprimitives.dll).

use std::path::PathBuf;

const IMAGE_FILE_MACHINE_AMD64: u16 = 0x8664;
const IMAGE_SUBSYSTEM_WINDOWS_GUI: u16 = 2;
const IMAGE_SUBSYSTEM_WINDOWS_CUI: u16 = 3;

fn windows_exe(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    // target/debug/deps/<test> -> target/
    let target = exe
        .parent()
        .and_then(|d| d.parent())
        .and_then(|d| d.parent())
        .expect("target dir");
    let path = target
        .join("x86_64-pc-windows-gnu")
        .join("debug")
        .join(format!("{name}.exe"));
    assert!(
        path.exists(),
        "{} not built: run the tests through ./scripts/test.sh",
        path.display()
    );
    path
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// (machine, subsystem) of a PE32+ image.
fn pe_header(name: &str) -> (u16, u16) {
    let bytes = std::fs::read(windows_exe(name)).unwrap();
    assert_eq!(&bytes[..2], b"MZ", "{name}: a DOS header");
    let pe = u32_at(&bytes, 0x3c) as usize;
    assert_eq!(&bytes[pe..pe + 4], b"PE\0\0", "{name}: a PE signature");
    let machine = u16_at(&bytes, pe + 4);
    let optional = pe + 24;
    assert_eq!(u16_at(&bytes, optional), 0x20b, "{name}: PE32+ (64-bit)");
    (machine, u16_at(&bytes, optional + 68))
}

#[test]
fn the_agent_and_the_lock_screen_are_64_bit_windows_executables() {
    assert_eq!(
        pe_header("club-agent"),
        (IMAGE_FILE_MACHINE_AMD64, IMAGE_SUBSYSTEM_WINDOWS_CUI)
    );
    assert_eq!(
        pe_header("club-lock"),
        (IMAGE_FILE_MACHINE_AMD64, IMAGE_SUBSYSTEM_WINDOWS_GUI),
        "the lock screen opens no console window"
    );
}

#[test]
fn the_agent_prints_its_help_under_wine_where_wine_can_run_it() {
    let Ok(out) = std::process::Command::new("wine")
        .arg(windows_exe("club-agent"))
        .arg("--help")
        .env("WINEDEBUG", "-all")
        .output()
    else {
        eprintln!("no wine on this machine: the PE checks stand alone");
        return;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    if err.contains("bcryptprimitives") {
        eprintln!("this wine cannot run Rust's std (no bcryptprimitives.dll): skipped");
        return;
    }
    assert!(out.status.success(), "{err}");
    assert!(text.contains("Usage"), "{text}");
}

/// The agent's Windows build links what the service needs: the service
/// manager's entry points, the player's session token and a process
/// started with it, and the lock pipe's security descriptor. Their names
/// are in the import table (a build without the service code has none of
/// them).
#[test]
fn the_windows_agent_links_the_service_and_the_console_session_launch() {
    let bytes = std::fs::read(windows_exe("club-agent")).unwrap();
    // Import names are NUL-terminated strings, each after a two-byte hint.
    let has = |name: &str| {
        let needle = [name.as_bytes(), b"\0"].concat();
        memchr::memmem::find(&bytes, &needle).is_some()
    };
    for import in [
        "StartServiceCtrlDispatcherW",
        "RegisterServiceCtrlHandlerExW",
        "CreateServiceW",
        "ChangeServiceConfig2W",
        "WTSGetActiveConsoleSessionId",
        "WTSQueryUserToken",
        "DuplicateTokenEx",
        "CreateEnvironmentBlock",
        "CreateProcessAsUserW",
        "ConvertStringSecurityDescriptorToSecurityDescriptorW",
    ] {
        assert!(has(import), "club-agent.exe does not import {import}");
    }
}
