use crate::store::settings::*;
use crate::store::sqlite::db::{Db, Result};

impl Settings for Db {
    fn get_setting(&mut self, key: &str) -> Result<Option<String>> {
        let c = self;
        c.one(
            "SELECT value FROM settings WHERE key = ?",
            rusqlite::params![key],
        )
    }

    fn put_setting(&mut self, key: &str, value: &str) -> Result<()> {
        let c = self;
        c.run(
            "INSERT INTO settings (key, value) VALUES (?, ?) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            rusqlite::params![key, value],
        )
        .map(drop)
    }
}
