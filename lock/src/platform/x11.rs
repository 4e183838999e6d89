//! X11: one override-redirect window per monitor (RandR), raised above any
//! window that maps or moves over it, with the keyboard and the pointer
//! grabbed while locked. Pixels go up with PutImage: no GPU, no toolkit.
//!
//! While the player plays there is no window and no grab, and the lock
//! screen selects no events but the root's size: a game's windows coming
//! and going never wake it.

use crate::draw::{self, Fonts, Rect};
use crate::model::Scene;
use crate::Input;
use anyhow::{bail, Context};
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::time::{Duration, Instant};
use x11rb::connection::{Connection, RequestConnection};
use x11rb::protocol::randr::{self, ConnectionExt as _};
use x11rb::protocol::shape::{self};
use x11rb::protocol::xproto::{ConnectionExt as _, EventMask, Visibility, Window};
use x11rb::protocol::Event as XEvent;
use x11rb::rust_connection::RustConnection;

mod windows;

/// A display event, or the display going away.
pub enum Event {
    X(XEvent),
    Lost(String),
}

const XK_RETURN: u32 = 0xff0d;
const XK_KP_ENTER: u32 = 0xff8d;
/// While a grab is refused (another client holds one), try again this often.
const GRAB_RETRY: Duration = Duration::from_millis(50);

struct LockWindow {
    id: Window,
    monitor: Rect,
}

pub struct X11 {
    conn: Arc<RustConnection>,
    root: Window,
    depth: u8,
    fonts: Fonts,
    enter_keys: Vec<u8>,
    shape: bool,
    locks: Vec<LockWindow>,
    notice: Option<Window>,
    /// The drawn lock panel and its Start button, in panel pixels.
    panel: Option<draw::Panel>,
    grabbed: bool,
    scene: Scene,
}

pub fn open(inputs: Sender<Input>) -> anyhow::Result<Box<dyn crate::Display>> {
    if std::env::var_os("WAYLAND_DISPLAY").is_some() {
        bail!(
            "this is a Wayland session: club-lock cannot hold the keyboard or stay on top there; \
             the PC needs an X11 session (see the README)"
        );
    }
    if std::env::var_os("DISPLAY").is_none() {
        bail!("no display: DISPLAY is not set");
    }
    let (conn, screen_num) = x11rb::connect(None).context("connecting to the X display")?;
    let conn = Arc::new(conn);
    let screen = &conn.setup().roots[screen_num];
    let (root, depth) = (screen.root, screen.root_depth);
    let randr = conn
        .randr_query_version(1, 5)
        .ok()
        .and_then(|c| c.reply().ok())
        .is_some();
    if randr {
        conn.randr_select_input(
            root,
            randr::NotifyMask::SCREEN_CHANGE
                | randr::NotifyMask::CRTC_CHANGE
                | randr::NotifyMask::OUTPUT_CHANGE,
        )?;
    }
    let shape = conn
        .extension_information(shape::X11_EXTENSION_NAME)?
        .is_some();
    conn.change_window_attributes(
        root,
        &x11rb::protocol::xproto::ChangeWindowAttributesAux::new()
            .event_mask(EventMask::STRUCTURE_NOTIFY),
    )?;
    conn.flush()?;
    let reader = conn.clone();
    std::thread::Builder::new()
        .name("x11-events".into())
        .spawn(move || loop {
            let event = match reader.wait_for_event() {
                Ok(e) => Event::X(e),
                Err(e) => Event::Lost(e.to_string()),
            };
            let lost = matches!(event, Event::Lost(_));
            if inputs.send(Input::Platform(event)).is_err() || lost {
                return;
            }
        })?;
    let mut x = X11 {
        conn,
        root,
        depth,
        fonts: Fonts::load()?,
        enter_keys: Vec::new(),
        shape,
        locks: Vec::new(),
        notice: None,
        panel: None,
        grabbed: false,
        scene: Scene::Hidden,
    };
    x.enter_keys = x.enter_keycodes()?;
    Ok(Box::new(x))
}

impl X11 {
    fn enter_keycodes(&self) -> anyhow::Result<Vec<u8>> {
        let setup = self.conn.setup();
        let (min, max) = (setup.min_keycode, setup.max_keycode);
        let map = self
            .conn
            .get_keyboard_mapping(min, max - min + 1)?
            .reply()?;
        let per = map.keysyms_per_keycode.max(1) as usize;
        Ok(map
            .keysyms
            .chunks(per)
            .enumerate()
            .filter(|(_, syms)| syms.iter().any(|s| *s == XK_RETURN || *s == XK_KP_ENTER))
            .map(|(i, _)| min + i as u8)
            .collect())
    }

    /// Every monitor, from RandR; the whole screen without it.
    fn monitors(&self) -> Vec<Rect> {
        let listed = self
            .conn
            .randr_get_monitors(self.root, true)
            .ok()
            .and_then(|c| c.reply().ok())
            .map(|r| {
                r.monitors
                    .iter()
                    .filter(|m| m.width > 0 && m.height > 0)
                    .map(|m| Rect {
                        x: m.x.into(),
                        y: m.y.into(),
                        w: m.width.into(),
                        h: m.height.into(),
                    })
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        if !listed.is_empty() {
            return listed;
        }
        let geometry = self
            .conn
            .get_geometry(self.root)
            .ok()
            .and_then(|c| c.reply().ok());
        let (w, h) = geometry.map_or((1024, 768), |g| (g.width.into(), g.height.into()));
        vec![Rect { x: 0, y: 0, w, h }]
    }

    fn is_ours(&self, w: Window) -> bool {
        self.locks.iter().any(|l| l.id == w) || self.notice == Some(w)
    }

    fn locked(&self) -> bool {
        matches!(self.scene, Scene::Lock(_))
    }
}

impl crate::Display for X11 {
    fn present(&mut self, scene: &Scene) -> anyhow::Result<()> {
        self.scene = scene.clone();
        match scene {
            Scene::Hidden => {
                self.hide_lock()?;
                self.hide_notice()?;
            }
            Scene::Notice(text) => {
                self.hide_lock()?;
                self.show_notice(text)?;
            }
            Scene::Lock(_) => {
                self.hide_notice()?;
                self.panel = None;
                self.show_lock()?;
            }
        }
        self.conn.flush()?;
        Ok(())
    }

    fn handle(&mut self, event: Event) -> anyhow::Result<bool> {
        let event = match event {
            Event::X(e) => e,
            Event::Lost(why) => bail!("the X display went away: {why}"),
        };
        let mut start = false;
        match event {
            XEvent::Expose(e) if e.count == 0 => {
                if let Some(i) = self.locks.iter().position(|w| w.id == e.window) {
                    self.paint_lock(i)?;
                } else if Some(e.window) == self.notice {
                    if let Scene::Notice(text) = self.scene.clone() {
                        self.show_notice(&text)?;
                    }
                }
            }
            XEvent::KeyPress(k) if self.locked() => start = self.enter_keys.contains(&k.detail),
            XEvent::ButtonPress(b) if self.locked() && b.detail == 1 => {
                if let (Some(w), Some(panel)) =
                    (self.locks.iter().find(|w| w.id == b.event), &self.panel)
                {
                    let (px, py) = draw::panel_origin(w.monitor, &panel.canvas);
                    start = panel.button.is_some_and(|r| {
                        r.contains(i32::from(b.event_x) - px, i32::from(b.event_y) - py)
                    });
                }
            }
            XEvent::MappingNotify(_) => self.enter_keys = self.enter_keycodes()?,
            // Something covered a lock window, or another window mapped,
            // moved or restacked: back on top.
            XEvent::VisibilityNotify(v) if v.state != Visibility::UNOBSCURED => self.raise()?,
            XEvent::MapNotify(m) if self.locked() && !self.is_ours(m.window) => self.raise()?,
            XEvent::ConfigureNotify(c)
                if self.locked() && c.window != self.root && !self.is_ours(c.window) =>
            {
                self.raise()?
            }
            // Someone destroyed a lock window (any X client can): build the
            // lock anew.
            XEvent::DestroyNotify(d) if self.locks.iter().any(|w| w.id == d.window) => {
                self.locks.retain(|w| w.id != d.window);
                self.hide_lock()?;
                if self.locked() {
                    self.show_lock()?;
                }
            }
            // Someone unmapped a lock window: map it again, grab again.
            XEvent::UnmapNotify(u) if self.locks.iter().any(|w| w.id == u.window) => {
                self.conn.map_window(u.window)?;
                self.raise()?;
                self.grabbed = false;
            }
            // Monitors came, went or changed size: build the windows anew.
            XEvent::RandrScreenChangeNotify(_) | XEvent::RandrNotify(_) => self.rebuild()?,
            XEvent::ConfigureNotify(c) if c.window == self.root => self.rebuild()?,
            _ => {}
        }
        self.conn.flush()?;
        Ok(start)
    }

    fn tick(&mut self) -> Option<Instant> {
        if !self.locked() || self.grabbed {
            return None;
        }
        if let Err(e) = self.try_grab() {
            eprintln!("club-lock: grabbing the keyboard: {e:#}");
        }
        let _ = self.conn.flush();
        (!self.grabbed).then(|| Instant::now() + GRAB_RETRY)
    }
}

impl X11 {
    fn rebuild(&mut self) -> anyhow::Result<()> {
        let now: Vec<Rect> = self.monitors();
        let had: Vec<Rect> = self.locks.iter().map(|w| w.monitor).collect();
        if !self.locked() || now == had {
            return Ok(());
        }
        self.hide_lock()?;
        self.show_lock()
    }
}
