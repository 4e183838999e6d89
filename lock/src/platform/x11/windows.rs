//! The lock's windows on X11: creating them, showing and hiding the lock
//! and its notice, keeping them on top, grabbing, painting.

use super::{LockWindow, X11};
use crate::draw::{self, Canvas, Rect, BACKGROUND};
use crate::model::Scene;
use x11rb::connection::{Connection, RequestConnection};
use x11rb::protocol::shape::{self, ConnectionExt as _};
use x11rb::protocol::xproto::{
    AtomEnum, ClipOrdering, ConfigureWindowAux, ConnectionExt as _, CreateGCAux, CreateWindowAux,
    EventMask, GrabMode, GrabStatus, ImageFormat, PropMode, StackMode, Window, WindowClass,
};
use x11rb::rust_connection::RustConnection;
use x11rb::wrapper::ConnectionExt as _;
use x11rb::{COPY_DEPTH_FROM_PARENT, COPY_FROM_PARENT, CURRENT_TIME, NONE};

impl X11 {
    /// An override-redirect window: no window manager decorates, moves or
    /// stacks it.
    pub(super) fn create(&self, r: Rect, events: EventMask, name: &[u8]) -> anyhow::Result<Window> {
        let id = self.conn.generate_id()?;
        self.conn.create_window(
            COPY_DEPTH_FROM_PARENT,
            id,
            self.root,
            r.x as i16,
            r.y as i16,
            r.w as u16,
            r.h as u16,
            0,
            WindowClass::INPUT_OUTPUT,
            COPY_FROM_PARENT,
            &CreateWindowAux::new()
                .background_pixel(BACKGROUND)
                .override_redirect(1)
                .event_mask(events),
        )?;
        self.conn.change_property8(
            PropMode::REPLACE,
            id,
            AtomEnum::WM_NAME,
            AtomEnum::STRING,
            name,
        )?;
        self.conn.change_property8(
            PropMode::REPLACE,
            id,
            AtomEnum::WM_CLASS,
            AtomEnum::STRING,
            b"club-lock\0Club-lock\0",
        )?;
        Ok(id)
    }

    pub(super) fn show_lock(&mut self) -> anyhow::Result<()> {
        if self.locks.is_empty() {
            let events = EventMask::EXPOSURE
                | EventMask::KEY_PRESS
                | EventMask::BUTTON_PRESS
                | EventMask::VISIBILITY_CHANGE
                | EventMask::STRUCTURE_NOTIFY;
            for monitor in self.monitors() {
                let id = self.create(monitor, events, b"Clubhall lock")?;
                self.conn.map_window(id)?;
                self.locks.push(LockWindow { id, monitor });
            }
            self.grabbed = false;
        }
        // Every other top-level window's map and move, to stay above it.
        self.select_root(EventMask::STRUCTURE_NOTIFY | EventMask::SUBSTRUCTURE_NOTIFY)?;
        self.raise()?;
        for i in 0..self.locks.len() {
            self.paint_lock(i)?;
        }
        self.try_grab()?;
        Ok(())
    }

    pub(super) fn hide_lock(&mut self) -> anyhow::Result<()> {
        if self.grabbed {
            self.conn.ungrab_keyboard(CURRENT_TIME)?;
            self.conn.ungrab_pointer(CURRENT_TIME)?;
            self.grabbed = false;
        }
        for w in self.locks.drain(..) {
            self.conn.destroy_window(w.id)?;
        }
        self.panel = None;
        self.select_root(EventMask::STRUCTURE_NOTIFY)
    }

    pub(super) fn select_root(&self, mask: EventMask) -> anyhow::Result<()> {
        self.conn.change_window_attributes(
            self.root,
            &x11rb::protocol::xproto::ChangeWindowAttributesAux::new().event_mask(mask),
        )?;
        Ok(())
    }

    pub(super) fn raise(&self) -> anyhow::Result<()> {
        for w in &self.locks {
            self.conn.configure_window(
                w.id,
                &ConfigureWindowAux::new().stack_mode(StackMode::ABOVE),
            )?;
        }
        Ok(())
    }

    /// Keyboard and pointer to the first lock window (events over the other
    /// monitors' windows still reach those). Refused while another client
    /// holds a grab: `tick` tries again.
    pub(super) fn try_grab(&mut self) -> anyhow::Result<()> {
        let Some(first) = self.locks.first() else {
            return Ok(());
        };
        let keyboard = self
            .conn
            .grab_keyboard(
                true,
                first.id,
                CURRENT_TIME,
                GrabMode::ASYNC,
                GrabMode::ASYNC,
            )?
            .reply()?;
        let pointer = self
            .conn
            .grab_pointer(
                true,
                first.id,
                EventMask::BUTTON_PRESS,
                GrabMode::ASYNC,
                GrabMode::ASYNC,
                NONE,
                NONE,
                CURRENT_TIME,
            )?
            .reply()?;
        self.grabbed =
            keyboard.status == GrabStatus::SUCCESS && pointer.status == GrabStatus::SUCCESS;
        Ok(())
    }

    pub(super) fn paint_lock(&mut self, index: usize) -> anyhow::Result<()> {
        let Scene::Lock(screen) = &self.scene else {
            return Ok(());
        };
        if self.panel.is_none() {
            let smallest = self.locks.iter().map(|w| w.monitor.h).min().unwrap_or(1080);
            self.panel = Some(draw::lock_panel(
                &self.fonts,
                screen,
                draw::scale_for(smallest),
            ));
        }
        let (Some(panel), Some(w)) = (&self.panel, self.locks.get(index)) else {
            return Ok(());
        };
        let at = draw::panel_origin(w.monitor, &panel.canvas);
        put(&self.conn, self.depth, w.id, &panel.canvas, at)
    }

    pub(super) fn show_notice(&mut self, text: &str) -> anyhow::Result<()> {
        let monitor = self.monitors()[0];
        let scale = draw::scale_for(monitor.h);
        let canvas = draw::notice(&self.fonts, text, scale);
        let r = draw::notice_place(monitor, &canvas);
        let id = match self.notice {
            Some(id) => id,
            None => {
                let id = self.create(r, EventMask::EXPOSURE, b"Clubhall notice")?;
                if self.shape {
                    // An empty input region: clicks go through to the game.
                    self.conn.shape_rectangles(
                        shape::SO::SET,
                        shape::SK::INPUT,
                        ClipOrdering::UNSORTED,
                        id,
                        0,
                        0,
                        &[],
                    )?;
                }
                self.conn.map_window(id)?;
                self.notice = Some(id);
                id
            }
        };
        self.conn
            .configure_window(id, &ConfigureWindowAux::new().stack_mode(StackMode::ABOVE))?;
        put(&self.conn, self.depth, id, &canvas, (0, 0))
    }

    pub(super) fn hide_notice(&mut self) -> anyhow::Result<()> {
        if let Some(id) = self.notice.take() {
            self.conn.destroy_window(id)?;
        }
        Ok(())
    }
}

/// Sends a canvas in strips small enough for one request each.
fn put(
    conn: &RustConnection,
    depth: u8,
    w: Window,
    c: &Canvas,
    at: (i32, i32),
) -> anyhow::Result<()> {
    let gc = conn.generate_id()?;
    conn.create_gc(gc, w, &CreateGCAux::new())?;
    let row_bytes = c.width as usize * 4;
    let rows = ((conn.maximum_request_bytes().saturating_sub(64)) / row_bytes).clamp(1, 256);
    let mut bytes = Vec::with_capacity(rows * row_bytes);
    for (i, strip) in c.pixels.chunks(rows * c.width as usize).enumerate() {
        bytes.clear();
        bytes.extend(strip.iter().flat_map(|p| p.to_le_bytes()));
        let height = (strip.len() / c.width as usize) as u16;
        conn.put_image(
            ImageFormat::Z_PIXMAP,
            w,
            gc,
            c.width as u16,
            height,
            at.0 as i16,
            (at.1 + (i * rows) as i32) as i16,
            0,
            depth,
            &bytes,
        )?;
    }
    conn.free_gc(gc)?;
    Ok(())
}
