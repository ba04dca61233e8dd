//! A canonical, length-prefixed SHA-256 encoder for stable 64-bit fingerprints: the same bytes
//! on every run and platform, and no two different field sequences encode alike.

use sha2::{Digest, Sha256};

/// Feeds fields into SHA-256; `finish` gives the first 8 digest bytes, big-endian.
pub(crate) struct Canon(Sha256);

impl Canon {
    /// Start with a version tag, so a change of encoding never matches an old fingerprint.
    pub(crate) fn new(version: &[u8]) -> Self {
        let mut h = Sha256::new();
        h.update(version);
        Self(h)
    }

    pub(crate) fn byte(&mut self, b: u8) {
        self.0.update([b]);
    }

    pub(crate) fn len(&mut self, n: usize) {
        self.0.update((n as u64).to_be_bytes());
    }

    pub(crate) fn str(&mut self, s: &str) {
        self.len(s.len());
        self.0.update(s.as_bytes());
    }

    pub(crate) fn finish(self) -> u64 {
        let digest = self.0.finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        u64::from_be_bytes(first)
    }
}
