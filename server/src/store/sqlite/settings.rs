use crate::store::settings::*;
use crate::store::sqlite::cache::keep;
use crate::store::sqlite::db::{Db, Result};

impl Settings for Db {
    fn get_setting(&mut self, key: &str) -> Result<Option<String>> {
        self.cached(
            |m| m.settings.get(key).cloned(),
            |c| c.one("SELECT value FROM settings WHERE key = ?", [key]),
            |m, v| keep(&mut m.settings, key.to_owned(), v.clone()),
        )
    }

    fn put_setting(&mut self, key: &str, value: &str) -> Result<()> {
        self.writes_cached();
        let c = self;
        c.run(
            "INSERT INTO settings (key, value) VALUES (?, ?) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            rusqlite::params![key, value],
        )
        .map(drop)
    }
}
