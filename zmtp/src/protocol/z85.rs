//! Z85 (RFC 32): the text form of CURVE keys, 5 characters for every 4 bytes.

/// The 85 characters, in value order.
const ALPHABET: &[u8; 85] =
    b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

/// Why a Z85 string was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Z85Error {
    /// The length is not a multiple of 5.
    Length(usize),
    /// A character outside the alphabet, at this position.
    Character(usize),
    /// A group of 5 characters worth more than 2^32 - 1, at this position.
    Overflow(usize),
}

impl std::fmt::Display for Z85Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Z85Error::Length(n) => write!(f, "Z85 length {n} is not a multiple of 5"),
            Z85Error::Character(i) => write!(f, "not a Z85 character at position {i}"),
            Z85Error::Overflow(i) => write!(f, "Z85 group at position {i} is out of range"),
        }
    }
}

impl std::error::Error for Z85Error {}

/// Encodes `data` (its length a multiple of 4, as RFC 32 requires; `None` otherwise).
pub fn encode(data: &[u8]) -> Option<String> {
    if !data.len().is_multiple_of(4) {
        return None;
    }
    let mut out = String::with_capacity(data.len() / 4 * 5);
    for chunk in data.chunks_exact(4) {
        let mut v = u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        let mut group = [0u8; 5];
        for c in group.iter_mut().rev() {
            *c = ALPHABET[(v % 85) as usize];
            v /= 85;
        }
        out.extend(group.iter().map(|&c| c as char));
    }
    Some(out)
}

/// Decodes a Z85 string (its length a multiple of 5).
pub fn decode(text: &str) -> Result<Vec<u8>, Z85Error> {
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(5) {
        return Err(Z85Error::Length(bytes.len()));
    }
    let mut out = Vec::with_capacity(bytes.len() / 5 * 4);
    for (g, group) in bytes.chunks_exact(5).enumerate() {
        let mut v: u64 = 0;
        for (i, &c) in group.iter().enumerate() {
            let digit = ALPHABET
                .iter()
                .position(|&a| a == c)
                .ok_or(Z85Error::Character(g * 5 + i))?;
            v = v * 85 + digit as u64;
        }
        let v = u32::try_from(v).map_err(|_| Z85Error::Overflow(g * 5))?;
        out.extend_from_slice(&v.to_be_bytes());
    }
    Ok(out)
}

/// Decodes a 32-byte key from its 40-character Z85 form.
pub fn decode_key(text: &str) -> Result<[u8; 32], Z85Error> {
    if text.len() != 40 {
        return Err(Z85Error::Length(text.len()));
    }
    let v = decode(text)?;
    let mut key = [0u8; 32];
    key.copy_from_slice(&v);
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc32_test_vector() {
        // RFC 32's example: these 8 bytes are "HelloWorld".
        let data = [0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B];
        assert_eq!(encode(&data).as_deref(), Some("HelloWorld"));
        assert_eq!(decode("HelloWorld").unwrap(), data);
    }

    #[test]
    fn libzmq_test_keys_round_trip() {
        // The key pair of libzmq's tests (tests/testutil_security.cpp), public and secret.
        for k in [
            "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7",
            "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6",
        ] {
            let key = decode_key(k).unwrap();
            assert_eq!(encode(&key).as_deref(), Some(k));
        }
    }

    #[test]
    fn bad_input_is_refused() {
        assert_eq!(encode(&[1, 2, 3]), None);
        assert_eq!(decode("abcd"), Err(Z85Error::Length(4)));
        assert_eq!(decode("abcd~"), Err(Z85Error::Character(4)));
        // "#####" is 84 * (85^4 + 85^3 + 85^2 + 85 + 1) > 2^32 - 1.
        assert_eq!(decode("#####"), Err(Z85Error::Overflow(0)));
        assert!(decode_key("HelloWorld").is_err());
    }
}
