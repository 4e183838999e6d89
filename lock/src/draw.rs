//! Drawing on the CPU: a panel of 32-bit pixels (0x00RRGGBB, which is what
//! both X11's 24-bit TrueColor visual and a Win32 DIB take), solid and
//! rounded rectangles, and text through ab_glyph. Only the centre panel is
//! drawn; the window's own background colour fills the rest of the screen,
//! so a 4K monitor costs no more memory than a small one.

use crate::model::{Button, Link, LockScreen};
use ab_glyph::{Font, FontRef, PxScale, ScaleFont};

pub const BACKGROUND: u32 = 0x0f1419;
const TEXT: u32 = 0xe6e6e6;
const MUTED: u32 = 0x9aa5b1;
const ACCENT: u32 = 0x2f81f7;
const DISABLED: u32 = 0x3a4450;
const ERROR: u32 = 0xff6b6b;
const OK: u32 = 0x3fb950;
const NOTICE_BG: u32 = 0x1f2933;
const WARN: u32 = 0xf0b429;

static REGULAR: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
static BOLD: &[u8] = include_bytes!("../assets/DejaVuSans-Bold.ttf");

/// The panel at scale 1 (a 1080p monitor); bigger monitors scale it up.
pub const PANEL_W: u32 = 960;
pub const PANEL_H: u32 = 560;
pub const NOTICE_W: u32 = 420;
pub const NOTICE_H: u32 = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rect {
    pub x: i32,
    pub y: i32,
    pub w: u32,
    pub h: u32,
}

impl Rect {
    pub fn contains(&self, x: i32, y: i32) -> bool {
        x >= self.x && y >= self.y && x < self.x + self.w as i32 && y < self.y + self.h as i32
    }

    /// A `w`x`h` rectangle centred in this one (clipped to its origin).
    pub fn centre(&self, w: u32, h: u32) -> Rect {
        Rect {
            x: self.x + (self.w as i32 - w as i32).max(0) / 2,
            y: self.y + (self.h as i32 - h as i32).max(0) / 2,
            w,
            h,
        }
    }
}

/// Where a panel sits in a monitor's window (window pixels): centred.
pub fn panel_origin(monitor: Rect, canvas: &Canvas) -> (i32, i32) {
    let r = Rect {
        x: 0,
        y: 0,
        w: monitor.w,
        h: monitor.h,
    }
    .centre(canvas.width, canvas.height);
    (r.x, r.y)
}

/// Where the notice goes on a monitor (screen pixels): its top right corner.
pub fn notice_place(monitor: Rect, canvas: &Canvas) -> Rect {
    let margin = (24.0 * scale_for(monitor.h)) as i32;
    Rect {
        x: monitor.x + monitor.w as i32 - canvas.width as i32 - margin,
        y: monitor.y + margin,
        w: canvas.width,
        h: canvas.height,
    }
}

/// Pixels, row-major, `width` per row.
pub struct Canvas {
    pub width: u32,
    pub height: u32,
    pub pixels: Vec<u32>,
}

/// A drawn lock panel and where its Start button is, in panel pixels.
pub struct Panel {
    pub canvas: Canvas,
    pub button: Option<Rect>,
}

pub struct Fonts {
    regular: FontRef<'static>,
    bold: FontRef<'static>,
}

impl Fonts {
    pub fn load() -> anyhow::Result<Fonts> {
        Ok(Fonts {
            regular: FontRef::try_from_slice(REGULAR)?,
            bold: FontRef::try_from_slice(BOLD)?,
        })
    }
}

/// The panel's scale for a monitor of this height: 1 up to 1080 rows, 2 at
/// 2160 (4K), never below 1 (a smaller monitor clips the panel's edges).
pub fn scale_for(height: u32) -> f32 {
    (height as f32 / 1080.0).clamp(1.0, 3.0)
}

impl Canvas {
    pub fn new(width: u32, height: u32, colour: u32) -> Canvas {
        Canvas {
            width,
            height,
            pixels: vec![colour; width as usize * height as usize],
        }
    }

    fn blend(&mut self, x: i32, y: i32, colour: u32, alpha: f32) {
        if x < 0 || y < 0 || x >= self.width as i32 || y >= self.height as i32 {
            return;
        }
        let i = y as usize * self.width as usize + x as usize;
        let a = alpha.clamp(0.0, 1.0);
        let under = self.pixels[i];
        let mix = |shift: u32| {
            let c = ((colour >> shift) & 0xff) as f32;
            let u = ((under >> shift) & 0xff) as f32;
            ((c * a + u * (1.0 - a)).round() as u32) << shift
        };
        self.pixels[i] = mix(16) | mix(8) | mix(0);
    }

    pub fn fill(&mut self, r: Rect, colour: u32) {
        for y in r.y.max(0)..(r.y + r.h as i32).min(self.height as i32) {
            for x in r.x.max(0)..(r.x + r.w as i32).min(self.width as i32) {
                self.pixels[y as usize * self.width as usize + x as usize] = colour;
            }
        }
    }

    /// A rectangle with anti-aliased round corners of radius `rad`.
    pub fn rounded(&mut self, r: Rect, rad: f32, colour: u32) {
        let (x0, y0) = (r.x as f32, r.y as f32);
        let (x1, y1) = (x0 + r.w as f32, y0 + r.h as f32);
        for y in r.y..r.y + r.h as i32 {
            for x in r.x..r.x + r.w as i32 {
                let (px, py) = (x as f32 + 0.5, y as f32 + 0.5);
                let cx = px.clamp(x0 + rad, x1 - rad);
                let cy = py.clamp(y0 + rad, y1 - rad);
                let d = ((px - cx).powi(2) + (py - cy).powi(2)).sqrt();
                let cover = (rad - d + 0.5).clamp(0.0, 1.0);
                if cover > 0.0 {
                    self.blend(x, y, colour, cover);
                }
            }
        }
    }

    pub fn circle(&mut self, cx: f32, cy: f32, rad: f32, colour: u32) {
        let r = Rect {
            x: (cx - rad).floor() as i32,
            y: (cy - rad).floor() as i32,
            w: (rad * 2.0).ceil() as u32 + 1,
            h: (rad * 2.0).ceil() as u32 + 1,
        };
        for y in r.y..r.y + r.h as i32 {
            for x in r.x..r.x + r.w as i32 {
                let d = ((x as f32 + 0.5 - cx).powi(2) + (y as f32 + 0.5 - cy).powi(2)).sqrt();
                let cover = (rad - d + 0.5).clamp(0.0, 1.0);
                if cover > 0.0 {
                    self.blend(x, y, colour, cover);
                }
            }
        }
    }
}

/// Width of `text` at `px` pixels.
fn text_width(font: &FontRef<'static>, px: f32, text: &str) -> f32 {
    let f = font.as_scaled(PxScale::from(px));
    let mut w = 0.0;
    let mut prev = None;
    for c in text.chars() {
        let id = f.glyph_id(c);
        if let Some(p) = prev {
            w += f.kern(p, id);
        }
        w += f.h_advance(id);
        prev = Some(id);
    }
    w
}

/// `text` shortened with an ellipsis to fit `max` pixels.
fn fit(font: &FontRef<'static>, px: f32, text: &str, max: f32) -> String {
    // No line on the panel holds more than this: a 16 KiB name costs no
    // more than a long one.
    let text: String = text.chars().take(200).collect();
    if text_width(font, px, &text) <= max {
        return text;
    }
    let mut s = text;
    while !s.is_empty() && text_width(font, px, &format!("{s}…")) > max {
        s.pop();
    }
    format!("{s}…")
}

/// Draws one line of text with its baseline at `baseline`, starting at `x`.
fn text(
    canvas: &mut Canvas,
    font: &FontRef<'static>,
    px: f32,
    x: f32,
    baseline: f32,
    s: &str,
    colour: u32,
) {
    let f = font.as_scaled(PxScale::from(px));
    let mut caret = x;
    let mut prev = None;
    for c in s.chars() {
        let id = f.glyph_id(c);
        if let Some(p) = prev {
            caret += f.kern(p, id);
        }
        let glyph = id.with_scale_and_position(px, ab_glyph::point(caret, baseline));
        caret += f.h_advance(id);
        prev = Some(id);
        if let Some(outline) = font.outline_glyph(glyph) {
            let b = outline.px_bounds();
            outline.draw(|gx, gy, cover| {
                canvas.blend(
                    b.min.x as i32 + gx as i32,
                    b.min.y as i32 + gy as i32,
                    colour,
                    cover,
                );
            });
        }
    }
}

/// One line centred on `cx`, shortened to fit `max` pixels.
#[allow(clippy::too_many_arguments)] // a drawing call: where, how big, what, which colour
fn centred(
    canvas: &mut Canvas,
    font: &FontRef<'static>,
    px: f32,
    cx: f32,
    baseline: f32,
    s: &str,
    max: f32,
    colour: u32,
) {
    let s = fit(font, px, s, max);
    let w = text_width(font, px, &s);
    text(canvas, font, px, cx - w / 2.0, baseline, &s, colour);
}

/// The lock screen's centre panel at `scale`.
pub fn lock_panel(fonts: &Fonts, screen: &LockScreen, scale: f32) -> Panel {
    let s = |v: f32| v * scale;
    let (w, h) = (s(PANEL_W as f32) as u32, s(PANEL_H as f32) as u32);
    let mut c = Canvas::new(w, h, BACKGROUND);
    let cx = w as f32 / 2.0;
    let max = w as f32 - s(40.0);
    centred(
        &mut c,
        &fonts.regular,
        s(22.0),
        cx,
        s(60.0),
        &screen.header,
        max,
        MUTED,
    );
    centred(
        &mut c,
        &fonts.bold,
        s(54.0),
        cx,
        s(170.0),
        &screen.title,
        max,
        TEXT,
    );
    centred(
        &mut c,
        &fonts.regular,
        s(22.0),
        cx,
        s(230.0),
        &screen.detail,
        max,
        MUTED,
    );
    let mut button = None;
    if let Some(b) = screen.button {
        let r = Rect {
            x: (cx - s(130.0)) as i32,
            y: s(280.0) as i32,
            w: s(260.0) as u32,
            h: s(76.0) as u32,
        };
        let (fill, label) = match b {
            Button::Start => (ACCENT, "Start"),
            Button::Starting => (DISABLED, "Starting…"),
        };
        c.rounded(r, s(12.0), fill);
        centred(
            &mut c,
            &fonts.bold,
            s(30.0),
            cx,
            r.y as f32 + s(49.0),
            label,
            r.w as f32,
            0xffffff,
        );
        if b == Button::Start {
            button = Some(r);
        }
    }
    if let Some(e) = &screen.error {
        centred(&mut c, &fonts.regular, s(22.0), cx, s(410.0), e, max, ERROR);
    }
    let (dot, line) = match &screen.link {
        Link::Connected => (OK, "Connected to the club server".to_owned()),
        Link::Unreachable(why) => (ERROR, why.clone()),
    };
    let line = fit(&fonts.regular, s(18.0), &line, max - s(24.0));
    let lw = text_width(&fonts.regular, s(18.0), &line) + s(20.0);
    let x = cx - lw / 2.0;
    c.circle(x + s(6.0), s(512.0), s(6.0), dot);
    text(
        &mut c,
        &fonts.regular,
        s(18.0),
        x + s(20.0),
        s(518.0),
        &line,
        MUTED,
    );
    Panel { canvas: c, button }
}

/// The small "time left" notice shown over a game.
pub fn notice(fonts: &Fonts, message: &str, scale: f32) -> Canvas {
    let s = |v: f32| v * scale;
    let (w, h) = (s(NOTICE_W as f32) as u32, s(NOTICE_H as f32) as u32);
    let mut c = Canvas::new(w, h, BACKGROUND);
    c.rounded(Rect { x: 0, y: 0, w, h }, s(10.0), NOTICE_BG);
    c.fill(
        Rect {
            x: 0,
            y: s(10.0) as i32,
            w: s(6.0) as u32,
            h: h - s(20.0) as u32,
        },
        WARN,
    );
    centred(
        &mut c,
        &fonts.bold,
        s(26.0),
        w as f32 / 2.0,
        s(42.0),
        message,
        w as f32 - s(30.0),
        WARN,
    );
    c
}

#[cfg(test)]
mod tests;
