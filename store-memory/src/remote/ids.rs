//! Small encoders the server needs: GUIDs for items posted without an id, and base64 versions.

/// A random (version 4) UUID in the lowercase hyphenated form the Node server generates.
pub(super) fn new_uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Standard base64 with padding, as the server encodes the version column (`1` → `MQ==`).
/// Fifteen lines for short version counters: not worth a dependency.
pub(super) fn base64(text: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_node_server() {
        assert_eq!(base64("1"), "MQ==");
        assert_eq!(base64("2"), "Mg==");
        assert_eq!(base64("10"), "MTA=");
        assert_eq!(base64("AAAA"), "QUFBQQ==");
        assert_eq!(base64("123"), "MTIz");
        assert_eq!(base64(""), "");
    }

    #[test]
    fn uuids_are_v4_and_distinct() {
        let a = new_uuid();
        let b = new_uuid();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"));
        assert!(sync_core::backend::validate_id(&a).is_ok());
    }
}
