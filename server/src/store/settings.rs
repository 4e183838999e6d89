use super::{Conn, Result};

/// What the store keeps of settings, as every backend answers it.
pub trait Settings {
    fn get_setting(&mut self, key: &str) -> Result<Option<String>>;
    fn put_setting(&mut self, key: &str, value: &str) -> Result<()>;
}

pub fn get_setting(c: &mut Conn, key: &str) -> Result<Option<String>> {
    c.get_setting(key)
}

pub fn put_setting(c: &mut Conn, key: &str, value: &str) -> Result<()> {
    c.put_setting(key, value)
}
