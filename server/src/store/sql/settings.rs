use crate::store::settings::*;
use crate::store::sql::cache::keep;
use crate::store::sql::{Result, Sql};

impl<D: Sql> Settings for D {
    fn get_setting(&mut self, key: &str) -> Result<Option<String>> {
        self.cached(
            |m| m.settings.get(key).cloned(),
            |c| {
                c.one(
                    "SELECT value FROM settings WHERE key = ?",
                    crate::args![key],
                )
            },
            |m, v| keep(&mut m.settings, key.to_owned(), v.clone()),
        )
    }

    fn put_setting(&mut self, key: &str, value: &str) -> Result<()> {
        self.writes_cached();
        let c = self;
        c.run(
            "INSERT INTO settings (key, value) VALUES (?, ?) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            crate::args![key, value],
        )
        .map(drop)
    }
}
