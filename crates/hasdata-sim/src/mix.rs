//! Deterministic pseudo-randomness from a seed and a few integers.
//!
//! Rows must be the same for the same (job id, index) on every run and every machine, without
//! storing them, so each value is a pure function of its inputs (splitmix64), not the output
//! of a stateful generator.

/// Mixes `inputs` into one well-distributed 64-bit value.
pub fn mix(inputs: &[u64]) -> u64 {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    for &input in inputs {
        state = splitmix(state ^ input);
    }
    state
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A value in `[0, 1)` from `inputs`.
pub fn unit(inputs: &[u64]) -> f64 {
    (mix(inputs) >> 11) as f64 / (1u64 << 53) as f64
}

/// A UUID (version 4 layout) from `inputs`.
pub fn uuid(inputs: &[u64]) -> String {
    let high = mix(inputs);
    let low = mix(&[high, 0xA5A5]);
    let bytes = ((u128::from(high) << 64) | u128::from(low)).to_be_bytes();
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

/// Picks one of `items` from `inputs`.
pub fn pick<'a, T>(items: &'a [T], inputs: &[u64]) -> &'a T {
    &items[(mix(inputs) % items.len() as u64) as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_and_spread() {
        assert_eq!(mix(&[1, 2]), mix(&[1, 2]));
        assert_ne!(mix(&[1, 2]), mix(&[2, 1]));
        assert_eq!(uuid(&[7]).len(), 36);
        assert_eq!(&uuid(&[7])[14..15], "4");
        let mean = (0..10_000).map(|i| unit(&[i])).sum::<f64>() / 10_000.0;
        assert!((mean - 0.5).abs() < 0.02, "{mean}");
    }
}
