//! Item ids in the original pipe's ULID-like format, derived deterministically.
//!
//! The original mints `fc_output_<ULID>` and `call_<ULID>_<index>` from the clock and a
//! random source. The translator is pure (no clock, no randomness), so orpipe derives the
//! 20 Crockford base32 characters from a hash of what the id stands for (the call id and
//! the message's position). The format is the same; the same request always yields the
//! same ids, which also makes the translated body reproducible. These ids never need to be
//! unique across requests: `function_call_output` ids are minimized away before sending
//! (see `pairs`), and a made-up call id only has to be unique within one request.

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// 20 uppercase Crockford base32 characters (100 bits) derived from `seed`.
pub fn ulid_like(seed: &str) -> String {
    let high = mix(fnv1a(seed.as_bytes(), 0xcbf2_9ce4_8422_2325));
    let low = mix(fnv1a(seed.as_bytes(), 0x6c62_272e_07bb_0142));
    let bits = (u128::from(high) << 64) | u128::from(low);
    (0..20)
        .map(|i| {
            // Five bits: always below 32, the alphabet's length.
            let index = ((bits >> (95 - 5 * i)) & 0x1f) as usize;
            char::from(CROCKFORD.get(index).copied().unwrap_or(b'0'))
        })
        .collect()
}

/// The id of a `function_call_output` item made from a `tool` message.
pub fn function_call_output_id(call_id: &str, message_index: usize) -> String {
    format!(
        "fc_output_{}",
        ulid_like(&format!("output:{message_index}:{call_id}"))
    )
}

/// The call id given to an assistant tool call that arrived without one.
pub fn missing_call_id(message_index: usize, call_index: usize) -> String {
    format!(
        "call_{}_{call_index}",
        ulid_like(&format!("call:{message_index}:{call_index}"))
    )
}

fn fnv1a(bytes: &[u8], offset: u64) -> u64 {
    bytes.iter().fold(offset, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// SplitMix64's finalizer: spreads FNV's weak low bits over the whole word.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// True for exactly 20 uppercase Crockford base32 characters (tests check the format of
/// ids with it rather than their value).
#[cfg(test)]
pub fn is_ulid_like(candidate: &str) -> bool {
    candidate.len() == 20 && candidate.bytes().all(|b| CROCKFORD.contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_the_original_format_and_are_deterministic() {
        let id = function_call_output_id("call_1", 2);
        let suffix = id.strip_prefix("fc_output_").expect("prefix");
        assert!(is_ulid_like(suffix), "{id}");
        assert_eq!(id, function_call_output_id("call_1", 2));
        assert_ne!(id, function_call_output_id("call_1", 3));
        assert_ne!(id, function_call_output_id("call_2", 2));

        let call = missing_call_id(1, 0);
        let (body, index) = call
            .strip_prefix("call_")
            .and_then(|rest| rest.rsplit_once('_'))
            .expect("call_<ULID>_<index>");
        assert!(is_ulid_like(body) && index == "0", "{call}");
        assert!(!is_ulid_like("0001htS91SCK2ZE4Z8ZP"));
        assert!(!is_ulid_like("0001HTS91SCK2ZE4Z8ZI"));
    }
}
