//! Request ids as Lambda gives them.

/// A request id as Lambda gives them (a UUID, version 4) from the operating system's random
/// source: the Runtime API answers to whoever names an id, so an id must not be guessable.
///
/// # Errors
///
/// When the operating system gives no random bytes.
pub(crate) fn request_id() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)?;
    let mut value = u128::from_be_bytes(bytes);
    // RFC 9562: version 4 in bits 48..52, variant 0b10 in bits 64..66.
    value = (value & !(0xf << 76)) | (0x4 << 76);
    value = (value & !(0x3 << 62)) | (0x2 << 62);
    let hex = format!("{value:032x}");
    Ok(format!(
        "{}-{}-{}-{}-{}",
        hex.get(0..8).unwrap_or_default(),
        hex.get(8..12).unwrap_or_default(),
        hex.get(12..16).unwrap_or_default(),
        hex.get(16..20).unwrap_or_default(),
        hex.get(20..32).unwrap_or_default()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_random_version_4_uuids() {
        let ids: std::collections::HashSet<String> =
            (0..1000).map(|_| request_id().unwrap()).collect();
        assert_eq!(ids.len(), 1000);
        for id in &ids {
            let parts: Vec<&str> = id.split('-').collect();
            assert_eq!(
                parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
                [8, 4, 4, 4, 12]
            );
            assert!(parts[2].starts_with('4'), "{id}");
            assert!(matches!(&parts[3][..1], "8" | "9" | "a" | "b"), "{id}");
        }
    }
}
