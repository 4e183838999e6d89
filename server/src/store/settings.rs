use super::Result;

/// What the store keeps of settings, as every backend answers it.
pub trait Settings {
    fn get_setting(&mut self, key: &str) -> Result<Option<String>>;
    fn put_setting(&mut self, key: &str, value: &str) -> Result<()>;
}
