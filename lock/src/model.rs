//! What the player sees, from what the daemon says: a pure function of the
//! daemon's view and of the one thing the lock screen keeps itself, a Start
//! press in flight. No I/O here; the platform modules draw the scene.

use club_shared::lock::LockView;
use club_shared::SessionStatus;
use std::time::{Duration, Instant};

/// How long a new "time left" warning stays on screen while playing.
pub const NOTICE_FOR: Duration = Duration::from_secs(12);

/// What the platform shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scene {
    /// Nothing on screen: no window, no grab, no hook.
    Hidden,
    /// The full-screen lock over every monitor, holding keyboard and pointer.
    Lock(LockScreen),
    /// A small notice in a corner over the game; it takes no input.
    Notice(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockScreen {
    /// "Clubhall · PC-07"
    pub header: String,
    pub title: String,
    pub detail: String,
    pub button: Option<Button>,
    /// The server's refusal, or why Start cannot be pressed now.
    pub error: Option<String>,
    /// The line at the bottom: whether the club server is reachable.
    pub link: Link,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Button {
    Start,
    /// The press is on its way to the server; not clickable.
    Starting,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    Connected,
    Unreachable(String),
}

/// Lock-screen side state.
#[derive(Debug, Default)]
pub struct Model {
    /// `None` while the daemon is not connected to this lock screen.
    view: Option<LockView>,
    next_press: u64,
    /// The press in flight, if any.
    pressing: Option<u64>,
    refusal: Option<String>,
    /// The warning on show while playing, and until when.
    notice: Option<(String, Instant)>,
}

impl Model {
    pub fn new() -> Self {
        Model::default()
    }

    /// A whole new view from the daemon.
    pub fn on_view(&mut self, view: LockView, now: Instant) {
        let old_session = self
            .view
            .as_ref()
            .and_then(|v| v.session.as_ref().map(|s| s.id));
        let new_session = view.session.as_ref().map(|s| s.id);
        if old_session != new_session {
            self.refusal = None;
        }
        if !view.locked {
            self.pressing = None;
            self.refusal = None;
        }
        // The desk's message first, then a "time left" warning.
        let warning = view
            .message
            .clone()
            .or_else(|| view.warnings.first().cloned());
        let shown = self.notice.as_ref().map(|(w, _)| w.clone());
        match warning {
            Some(w) if Some(&w) != shown.as_ref() => self.notice = Some((w, now + NOTICE_FOR)),
            Some(_) => {}
            None => self.notice = None,
        }
        self.view = Some(view);
    }

    /// The daemon went away: fail closed, show the lock.
    pub fn on_daemon_lost(&mut self) {
        self.view = None;
        self.pressing = None;
    }

    /// Start was pressed (Enter or a click on the button). Answers the
    /// press id to send, if a press is possible now.
    pub fn press_start(&mut self) -> Option<u64> {
        let view = self.view.as_ref()?;
        let waiting = view.locked
            && view.connected
            && view
                .session
                .as_ref()
                .is_some_and(|s| s.status == SessionStatus::Active);
        if !waiting || self.pressing.is_some() {
            return None;
        }
        self.next_press += 1;
        self.pressing = Some(self.next_press);
        self.refusal = None;
        Some(self.next_press)
    }

    pub fn on_start_answer(&mut self, press: u64, ok: bool, message: Option<String>) {
        if self.pressing != Some(press) {
            return;
        }
        self.pressing = None;
        if !ok {
            self.refusal = Some(message.unwrap_or_else(|| "Start was refused".into()));
        }
    }

    /// When the scene changes by itself next (a notice expiring); `None`
    /// once it has, so that the main loop sleeps until something happens.
    pub fn next_deadline(&self, now: Instant) -> Option<Instant> {
        let playing = self.view.as_ref().is_some_and(|v| !v.locked);
        self.notice
            .as_ref()
            .filter(|_| playing)
            .map(|(_, until)| *until)
            .filter(|until| *until > now)
    }

    pub fn scene(&self, now: Instant) -> Scene {
        let Some(view) = &self.view else {
            return Scene::Lock(LockScreen {
                header: "Clubhall".into(),
                title: "Locked".into(),
                detail: "Please see the desk.".into(),
                button: None,
                error: None,
                link: Link::Unreachable("The PC agent is not running".into()),
            });
        };
        if !view.locked {
            return match &self.notice {
                Some((text, until)) if now < *until => Scene::Notice(text.clone()),
                _ => Scene::Hidden,
            };
        }
        let header = match (&view.club_name, &view.device_name) {
            (Some(c), Some(d)) => format!("{c} · {d}"),
            (None, Some(d)) => format!("Clubhall · {d}"),
            (Some(c), None) => c.clone(),
            (None, None) => "Clubhall".into(),
        };
        let link = match (&view.refused, view.connected) {
            (Some(why), _) => Link::Unreachable(why.clone()),
            (None, true) => Link::Connected,
            (None, false) => Link::Unreachable("The club server is unreachable".into()),
        };
        let waiting = view
            .session
            .as_ref()
            .filter(|s| s.status == SessionStatus::Active);
        let Some(session) = waiting else {
            return Scene::Lock(LockScreen {
                header,
                title: "Locked".into(),
                detail: view
                    .message
                    .clone()
                    .unwrap_or_else(|| "Please see the desk to start a session.".into()),
                button: None,
                error: None,
                link,
            });
        };
        let (button, error) = match (self.pressing, view.connected) {
            (Some(_), _) => (Some(Button::Starting), None),
            (None, true) => (Some(Button::Start), self.refusal.clone()),
            (None, false) => (
                None,
                Some("Start needs the club server; please see the desk.".into()),
            ),
        };
        let detail = if let Some(m) = &view.message {
            m.clone()
        } else if session.tariff_name.is_empty() {
            "Press Start or Enter when you are ready.".to_owned()
        } else {
            format!(
                "{} — press Start or Enter when you are ready.",
                session.tariff_name
            )
        };
        Scene::Lock(LockScreen {
            header,
            title: format!("Welcome, {}", session.client_name),
            detail,
            button,
            error,
            link,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use club_shared::protocol::ShownSession;

    #[test]
    fn the_desks_message_is_on_the_lock_screen_and_over_the_game() {
        let now = Instant::now();
        let mut m = Model::new();
        let mut v = view(true, None);
        v.message = Some("PC closes at 23:00".into());
        m.on_view(v.clone(), now);
        assert_eq!(lock(m.scene(now)).detail, "PC closes at 23:00");
        v.locked = false;
        m.on_view(v, now);
        assert_eq!(m.scene(now), Scene::Notice("PC closes at 23:00".into()));
        assert_eq!(m.scene(now + NOTICE_FOR), Scene::Hidden);
    }

    fn view(locked: bool, status: Option<SessionStatus>) -> LockView {
        LockView {
            locked,
            connected: true,
            club_name: None,
            device_name: Some("PC-07".into()),
            session: status.map(|status| ShownSession {
                id: 9,
                client_name: "Anna".into(),
                status,
                tariff_name: "1 hour".into(),
                ends_at: None,
            }),
            warnings: Vec::new(),
            refused: None,
            message: None,
        }
    }

    fn lock(scene: Scene) -> LockScreen {
        match scene {
            Scene::Lock(l) => l,
            other => panic!("expected the lock screen, got {other:?}"),
        }
    }

    #[test]
    fn without_a_daemon_the_screen_stays_locked() {
        let m = Model::new();
        let l = lock(m.scene(Instant::now()));
        assert_eq!(l.title, "Locked");
        assert!(l.button.is_none());
    }

    #[test]
    fn a_waiting_session_shows_welcome_and_start_then_starting() {
        let now = Instant::now();
        let mut m = Model::new();
        m.on_view(view(true, Some(SessionStatus::Active)), now);
        let l = lock(m.scene(now));
        assert_eq!(l.title, "Welcome, Anna");
        assert_eq!(l.header, "Clubhall · PC-07");
        assert_eq!(l.button, Some(Button::Start));
        let press = m.press_start().expect("a press");
        assert_eq!(m.press_start(), None, "one press in flight at a time");
        assert_eq!(lock(m.scene(now)).button, Some(Button::Starting));
        m.on_start_answer(press, false, Some("session is CANCELLED".into()));
        let l = lock(m.scene(now));
        assert_eq!(l.button, Some(Button::Start));
        assert_eq!(l.error.as_deref(), Some("session is CANCELLED"));
    }

    #[test]
    fn start_is_not_pressable_when_locked_without_a_session_or_offline() {
        let now = Instant::now();
        let mut m = Model::new();
        m.on_view(view(true, None), now);
        assert_eq!(m.press_start(), None);
        let mut offline = view(true, Some(SessionStatus::Active));
        offline.connected = false;
        m.on_view(offline, now);
        assert_eq!(m.press_start(), None);
        let l = lock(m.scene(now));
        assert!(l.button.is_none());
        assert!(matches!(l.link, Link::Unreachable(_)));
    }

    #[test]
    fn playing_hides_everything_but_a_fresh_warning_for_a_while() {
        let now = Instant::now();
        let mut m = Model::new();
        m.on_view(view(false, Some(SessionStatus::Started)), now);
        assert_eq!(m.scene(now), Scene::Hidden);
        assert_eq!(m.next_deadline(now), None);
        let mut warned = view(false, Some(SessionStatus::Started));
        warned.warnings = vec!["5 minutes left".into()];
        m.on_view(warned.clone(), now);
        assert_eq!(m.scene(now), Scene::Notice("5 minutes left".into()));
        // The same warning again does not restart the notice.
        m.on_view(warned.clone(), now + Duration::from_secs(5));
        assert_eq!(m.next_deadline(now), Some(now + NOTICE_FOR));
        assert_eq!(m.scene(now + NOTICE_FOR), Scene::Hidden);
        // Past it, nothing to wake for (the server keeps sending the same
        // warning until the end), and the same warning does not come back.
        assert_eq!(m.next_deadline(now + NOTICE_FOR), None);
        m.on_view(warned, now + NOTICE_FOR + Duration::from_secs(5));
        assert_eq!(
            m.scene(now + NOTICE_FOR + Duration::from_secs(5)),
            Scene::Hidden
        );
    }

    #[test]
    fn losing_the_daemon_while_playing_locks() {
        let now = Instant::now();
        let mut m = Model::new();
        m.on_view(view(false, Some(SessionStatus::Started)), now);
        m.on_daemon_lost();
        assert_eq!(lock(m.scene(now)).title, "Locked");
    }
}
