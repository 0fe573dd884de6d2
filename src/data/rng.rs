//! Seeded, splittable random streams: every sample is a pure function of (seed, split, index).

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Which disjoint stream a sample comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Split {
    /// Training data.
    Train,
    /// Validation data (model selection; never the test split).
    Validation,
    /// Held-out test data for evaluation.
    Test,
}

impl Split {
    fn salt(self) -> u64 {
        match self {
            Split::Train => 0x7472_6169_6e00_0001,
            Split::Validation => 0x7661_6c69_6400_0002,
            Split::Test => 0x7465_7374_0000_0003,
        }
    }
}

fn mix(mut z: u64) -> u64 {
    // SplitMix64 finaliser: a bijection, so distinct inputs give distinct seeds.
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The random stream of one sample.
pub fn sample_rng(seed: u64, split: Split, stream: u64, index: u64) -> ChaCha8Rng {
    let s = mix(mix(mix(seed ^ split.salt()) ^ stream) ^ index);
    ChaCha8Rng::seed_from_u64(s)
}
