use super::db::Result;
use super::Conn;

pub fn get_setting(c: &mut Conn, key: &str) -> Result<Option<String>> {
    c.one(
        "SELECT value FROM settings WHERE key = ?",
        rusqlite::params![key],
    )
}

pub fn put_setting(c: &mut Conn, key: &str, value: &str) -> Result<()> {
    c.run(
        "INSERT INTO settings (key, value) VALUES (?, ?) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        rusqlite::params![key, value],
    )
    .map(drop)
}
