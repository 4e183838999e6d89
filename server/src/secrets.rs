//! Passwords and PINs (argon2), bearer tokens and device secrets (random,
//! stored as SHA-256).

use argon2::password_hash::{rand_core::OsRng, Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::cell::RefCell;

/// The most memory a stored hash may ask of a check: a hash asking for more
/// (not one this server made) fails to verify instead.
const MAX_BLOCKS: usize = 64 * 1024; // 64 MiB of 1 KiB blocks

thread_local! {
    /// argon2's working memory (19 MiB), kept by each hashing thread for
    /// its lifetime. Allocated afresh for every check, glibc kept up to three
    /// copies per thread arena and never gave them back (a sign-in flood
    /// took the server to 200 MiB); kept, it is exactly one per thread.
    static BLOCKS: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Argon2 into `out`, with this thread's working memory.
fn argon2_into(
    a: &Argon2<'_>,
    params: &Params,
    pwd: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> anyhow::Result<()> {
    let n = params.block_count();
    anyhow::ensure!(n <= MAX_BLOCKS, "argon2 asks for {n} KiB");
    BLOCKS.with(|b| {
        let mut b = b.borrow_mut();
        if b.len() < n {
            b.resize(n, Block::default());
        }
        a.hash_password_into_with_memory(pwd, salt, out, &mut b[..n])
            .map_err(|e| anyhow::anyhow!("argon2: {e}"))
    })
}

pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    let params = Params::default();
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt
        .decode_b64(&mut salt_bytes)
        .map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    argon2_into(&argon, &params, password.as_bytes(), salt_bytes, &mut out)?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| anyhow::anyhow!("params: {e}"))?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(|e| anyhow::anyhow!("output: {e}"))?),
    };
    Ok(phc.to_string())
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    let check = || -> anyhow::Result<bool> {
        let h = PasswordHash::new(hash).map_err(|e| anyhow::anyhow!("{e}"))?;
        let algorithm = Algorithm::try_from(h.algorithm).map_err(|e| anyhow::anyhow!("{e}"))?;
        let version = h
            .version
            .map(Version::try_from)
            .transpose()
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .unwrap_or_default();
        let (Some(salt), Some(expected)) = (h.salt, h.hash) else {
            return Ok(false);
        };
        let params = Params::try_from(&h).map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut salt_bytes = [0u8; 64];
        let salt = salt
            .decode_b64(&mut salt_bytes)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut out = vec![0u8; expected.len()];
        let argon = Argon2::new(algorithm, version, params.clone());
        argon2_into(&argon, &params, password.as_bytes(), salt, &mut out)?;
        // Output's equality is constant-time.
        Ok(Output::new(&out).map_err(|e| anyhow::anyhow!("{e}"))? == expected)
    };
    check().unwrap_or(false)
}

/// 32 random bytes, URL-safe base64: bearer tokens, device secrets.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A short code an operator can read out: 10 characters, no look-alikes.
pub fn enrollment_code() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::thread_rng();
    (0..10)
        .map(|_| ALPHABET[(rng.next_u32() as usize) % ALPHABET.len()] as char)
        .collect()
}

/// Tokens are stored only as this digest.
pub fn digest(token: &str) -> String {
    let d = Sha256::digest(token.as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_against_their_hash() {
        let h = hash_password("correct horse").unwrap();
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong", &h));
        assert!(!verify_password("correct horse", "not a hash"));
    }

    #[test]
    fn hashes_made_by_the_argon2_crate_still_verify_and_ours_read_the_same() {
        use argon2::PasswordHasher;
        let salt = SaltString::generate(&mut OsRng);
        let theirs = Argon2::default()
            .hash_password(b"old password", &salt)
            .unwrap()
            .to_string();
        assert!(verify_password("old password", &theirs));
        assert!(!verify_password("old passworD", &theirs));
        let ours = hash_password("x").unwrap();
        assert!(
            ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{ours}"
        );
        use argon2::PasswordVerifier;
        assert!(Argon2::default()
            .verify_password(b"x", &PasswordHash::new(&ours).unwrap())
            .is_ok());
    }

    #[test]
    fn a_hash_asking_for_too_much_memory_does_not_verify() {
        let huge = "$argon2id$v=19$m=1048576,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$1nKbw0c8Ezo1D4ufSBv+Br4n0A4Tx4ntr0xSg5oS6QQ";
        assert!(!verify_password("x", huge));
    }

    #[test]
    fn tokens_are_random_and_digests_stable() {
        assert_ne!(random_token(), random_token());
        assert_eq!(digest("a"), digest("a"));
        assert_eq!(digest("a").len(), 64);
        assert_eq!(enrollment_code().len(), 10);
    }
}
