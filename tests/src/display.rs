//! A real X display for lock-screen tests: Xvfb on a display number of its
//! own (it says which, through -displayfd, once it is ready), screenshots
//! read back as pixels with ImageMagick's `import`, and xdotool for keys,
//! clicks and window queries. Everything stays on this machine (no TCP).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const WIDTH: u32 = 1920;
pub const HEIGHT: u32 = 1080;

pub struct Xvfb {
    child: Child,
    /// e.g. ":12"
    pub display: String,
}

/// Pixels of the whole screen, 0xRRGGBB.
pub struct Shot {
    pub pixels: Vec<u32>,
}

impl Shot {
    pub fn at(&self, x: u32, y: u32) -> u32 {
        self.pixels[(y * WIDTH + x) as usize]
    }

    /// The share of the screen in exactly this colour.
    pub fn share(&self, colour: u32) -> f64 {
        self.pixels.iter().filter(|p| **p == colour).count() as f64 / self.pixels.len() as f64
    }

    /// Whether any pixel of the rectangle has this colour.
    pub fn any_in(&self, x: u32, y: u32, w: u32, h: u32, colour: u32) -> bool {
        (y..y + h).any(|yy| (x..x + w).any(|xx| self.at(xx, yy) == colour))
    }
}

impl Xvfb {
    pub fn start() -> Xvfb {
        let mut child = Command::new("Xvfb")
            .args(["-displayfd", "1", "-nolisten", "tcp", "-screen", "0"])
            .arg(format!("{WIDTH}x{HEIGHT}x24"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb runs (scripts/install-test-deps.sh installs it)");
        // Xvfb writes its display number once it accepts clients.
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("Xvfb says its display");
        let display = format!(":{}", line.trim());
        assert!(display.len() > 1, "Xvfb gave no display number");
        Xvfb { child, display }
    }

    fn tool(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.env("DISPLAY", &self.display);
        c
    }

    pub fn shot(&self) -> Shot {
        let out = self
            .tool("import")
            .args(["-window", "root", "-depth", "8", "rgb:-"])
            .output()
            .expect("ImageMagick's import runs");
        assert!(out.status.success(), "import failed");
        let pixels = out
            .stdout
            .chunks_exact(3)
            .map(|p| u32::from(p[0]) << 16 | u32::from(p[1]) << 8 | u32::from(p[2]))
            .collect::<Vec<_>>();
        assert_eq!(pixels.len(), (WIDTH * HEIGHT) as usize, "a whole screen");
        Shot { pixels }
    }

    pub fn save_png(&self, path: &Path) {
        let ok = self
            .tool("import")
            .args(["-window", "root"])
            .arg(path)
            .status()
            .expect("import runs")
            .success();
        assert!(ok, "saving a screenshot to {}", path.display());
    }

    /// Takes screenshots until one satisfies `pred` (each takes a good part
    /// of 100 ms, which paces the loop); fails after `within`.
    pub fn wait_for_screen(
        &self,
        what: &str,
        within: Duration,
        pred: impl Fn(&Shot) -> bool,
    ) -> Shot {
        let deadline = Instant::now() + within;
        loop {
            let shot = self.shot();
            if pred(&shot) {
                return shot;
            }
            assert!(Instant::now() < deadline, "the screen never showed: {what}");
        }
    }

    /// The viewable lock-screen windows: (x, y, width, height) of each.
    pub fn lock_windows(&self) -> Vec<(i32, i32, u32, u32)> {
        let out = self
            .tool("xdotool")
            // The lock windows by name: the notice is club-lock's too.
            .args(["search", "--onlyvisible", "--name", "^Clubhall lock$"])
            .output()
            .expect("xdotool runs");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|id| self.geometry(id.trim()))
            .collect()
    }

    fn geometry(&self, id: &str) -> Option<(i32, i32, u32, u32)> {
        let out = self.tool("xwininfo").args(["-id", id]).output().ok()?;
        let text = String::from_utf8_lossy(&out.stdout);
        if !text.contains("IsViewable") {
            return None;
        }
        let field = |name: &str| -> Option<i64> {
            text.lines()
                .find_map(|l| l.trim().strip_prefix(name))
                .and_then(|v| v.trim().parse().ok())
        };
        Some((
            field("Absolute upper-left X:")? as i32,
            field("Absolute upper-left Y:")? as i32,
            field("Width:")? as u32,
            field("Height:")? as u32,
        ))
    }

    /// Waits until the viewable lock windows satisfy `pred`.
    pub fn wait_for_windows(
        &self,
        what: &str,
        within: Duration,
        pred: impl Fn(&[(i32, i32, u32, u32)]) -> bool,
    ) -> Vec<(i32, i32, u32, u32)> {
        let deadline = Instant::now() + within;
        loop {
            let w = self.lock_windows();
            if pred(&w) {
                return w;
            }
            assert!(
                Instant::now() < deadline,
                "the lock windows never matched: {what}; now {w:?}"
            );
        }
    }

    /// Presses a key, as the player would (XTEST: real input to the server).
    pub fn key(&self, key: &str) {
        assert!(self
            .tool("xdotool")
            .args(["key", key])
            .status()
            .expect("xdotool")
            .success());
    }

    pub fn click(&self, x: u32, y: u32) {
        let ok = self
            .tool("xdotool")
            .args(["mousemove", &x.to_string(), &y.to_string(), "click", "1"])
            .status()
            .expect("xdotool")
            .success();
        assert!(ok, "clicking at {x},{y}");
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
