use super::*;

fn screen(button: Option<Button>) -> LockScreen {
    LockScreen {
        header: "Clubhall · PC-07".into(),
        title: "Welcome, Anna".into(),
        detail: "1 hour — press Start or Enter when you are ready.".into(),
        button,
        error: None,
        link: Link::Connected,
    }
}

#[test]
fn the_start_button_is_drawn_where_it_is_clicked() {
    let fonts = Fonts::load().unwrap();
    let p = lock_panel(&fonts, &screen(Some(Button::Start)), 1.0);
    let b = p.button.expect("a button");
    let mid = p.canvas.pixels
        [(b.y + b.h as i32 / 2) as usize * p.canvas.width as usize + b.x as usize + 8];
    assert_eq!(mid, ACCENT);
    assert!(b.contains(b.x + 1, b.y + 1) && !b.contains(b.x - 1, b.y));
}

#[test]
fn a_press_in_flight_has_no_clickable_button() {
    let fonts = Fonts::load().unwrap();
    assert!(lock_panel(&fonts, &screen(Some(Button::Starting)), 1.0)
        .button
        .is_none());
}

#[test]
fn text_is_drawn_and_long_names_are_shortened() {
    let fonts = Fonts::load().unwrap();
    let p = lock_panel(&fonts, &screen(None), 1.0);
    assert!(p.canvas.pixels.contains(&TEXT), "the title is drawn");
    let long = "W".repeat(500);
    let short = fit(&fonts.bold, 54.0, &long, 900.0);
    assert!(short.ends_with('…') && text_width(&fonts.bold, 54.0, &short) <= 900.0);
}

#[test]
fn the_panel_scales_with_the_monitor() {
    assert_eq!(scale_for(1080), 1.0);
    assert_eq!(scale_for(720), 1.0);
    assert_eq!(scale_for(2160), 2.0);
    let fonts = Fonts::load().unwrap();
    let p = lock_panel(&fonts, &screen(None), 2.0);
    assert_eq!(
        (p.canvas.width, p.canvas.height),
        (PANEL_W * 2, PANEL_H * 2)
    );
}
