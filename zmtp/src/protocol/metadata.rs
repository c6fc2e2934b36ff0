//! Metadata property lists, as carried by READY (RFC 23/37 §"The NULL Security Mechanism").
//!
//! ```text
//! property = name-len(1) name(1..255) value-len(4, big-endian) value
//! ```
//!
//! Names are compared case-sensitively, as libzmq does (RFC 37 says case-insensitive, but a
//! libzmq peer ignores `socket-type`); every declared length is checked against the bytes that
//! remain before anything is sliced.

use bytes::{BufMut, Bytes, BytesMut};

use crate::protocol::error::DecodeError;

/// The property naming the sender's socket type.
pub const SOCKET_TYPE: &str = "Socket-Type";
/// The property carrying the sender's routing id (REQ, DEALER, ROUTER).
pub const IDENTITY: &str = "Identity";

/// A list of `name = value` properties, in wire order. Unknown properties are kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metadata {
    props: Vec<(Bytes, Bytes)>,
}

impl Metadata {
    /// An empty list.
    pub fn new() -> Self {
        Metadata::default()
    }

    /// Appends a property.
    pub fn push(&mut self, name: impl Into<Bytes>, value: impl Into<Bytes>) {
        self.props.push((name.into(), value.into()));
    }

    /// The value of the first property named exactly `name`.
    pub fn get(&self, name: &str) -> Option<&Bytes> {
        self.props
            .iter()
            .find(|(n, _)| n.as_ref() == name.as_bytes())
            .map(|(_, v)| v)
    }

    /// All properties, in wire order.
    pub fn iter(&self) -> impl Iterator<Item = (&Bytes, &Bytes)> {
        self.props.iter().map(|(n, v)| (n, v))
    }

    /// Number of properties.
    pub fn len(&self) -> usize {
        self.props.len()
    }

    /// True if there are no properties.
    pub fn is_empty(&self) -> bool {
        self.props.is_empty()
    }

    /// Parses a property list that fills `data` exactly. Slices share `data`'s buffer.
    ///
    /// A second `Socket-Type` or `Identity` is rejected: a peer that names two types is not one
    /// we can check.
    pub fn parse(data: &Bytes) -> Result<Metadata, DecodeError> {
        let mut props: Vec<(Bytes, Bytes)> = Vec::new();
        let mut pos = 0usize;
        while pos < data.len() {
            let name_len = data[pos] as usize;
            pos += 1;
            if name_len == 0 {
                return Err(DecodeError::MalformedMetadata("empty property name"));
            }
            let name_end = pos + name_len;
            let value_len_end = name_end + 4;
            let Some(len_bytes) = data.get(name_end..value_len_end) else {
                return Err(DecodeError::MalformedMetadata("property truncated"));
            };
            let name = data.slice(pos..name_end);
            if !name
                .iter()
                .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b'+'))
            {
                return Err(DecodeError::MalformedMetadata("invalid property name"));
            }
            let value_len =
                u32::from_be_bytes([len_bytes[0], len_bytes[1], len_bytes[2], len_bytes[3]]);
            if value_len > i32::MAX as u32 {
                return Err(DecodeError::MalformedMetadata(
                    "property value length over 2^31-1",
                ));
            }
            let remaining = data.len() - value_len_end;
            if value_len as usize > remaining {
                return Err(DecodeError::MalformedMetadata("property value truncated"));
            }
            let value_end = value_len_end + value_len as usize;
            for unique in [SOCKET_TYPE, IDENTITY] {
                if name.as_ref() == unique.as_bytes()
                    && props.iter().any(|(n, _)| n.as_ref() == unique.as_bytes())
                {
                    return Err(DecodeError::MalformedMetadata(
                        "duplicate Socket-Type or Identity",
                    ));
                }
            }
            props.push((name, data.slice(value_len_end..value_end)));
            pos = value_end;
        }
        Ok(Metadata { props })
    }

    /// Appends the wire form to `out`. Names longer than 255 bytes are a caller bug and are cut.
    pub fn encode(&self, out: &mut BytesMut) {
        for (n, v) in &self.props {
            let n = &n[..n.len().min(255)];
            out.put_u8(n.len() as u8);
            out.put_slice(n);
            out.put_u32(v.len() as u32);
            out.put_slice(v);
        }
    }

    /// Length of the wire form.
    pub fn encoded_len(&self) -> usize {
        self.props
            .iter()
            .map(|(n, v)| 1 + n.len().min(255) + 4 + v.len())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libzmq_dealer_ready_properties() {
        // Body of the READY libzmq 4.3.5 sends for a DEALER with no routing id, after "\x05READY".
        let wire = Bytes::from_static(
            b"\x0bSocket-Type\x00\x00\x00\x06DEALER\x08Identity\x00\x00\x00\x00",
        );
        let md = Metadata::parse(&wire).unwrap();
        assert_eq!(md.get(SOCKET_TYPE).unwrap().as_ref(), b"DEALER");
        assert_eq!(md.get(IDENTITY).unwrap().as_ref(), b"");
        assert_eq!(md.get("socket-type"), None);
        let mut out = BytesMut::new();
        md.encode(&mut out);
        assert_eq!(out.as_ref(), wire.as_ref());
        assert_eq!(md.encoded_len(), wire.len());
    }

    #[test]
    fn rejects_truncation_at_every_offset() {
        let wire = Bytes::from_static(b"\x0bSocket-Type\x00\x00\x00\x06DEALER");
        for n in 1..wire.len() {
            assert!(Metadata::parse(&wire.slice(..n)).is_err(), "prefix {n}");
        }
    }

    #[test]
    fn huge_value_length_is_an_error_not_an_allocation() {
        let wire = Bytes::from_static(b"\x01X\x7f\xff\xff\xffabc");
        assert_eq!(
            Metadata::parse(&wire),
            Err(DecodeError::MalformedMetadata("property value truncated"))
        );
        let wire = Bytes::from_static(b"\x01X\xff\xff\xff\xffabc");
        assert!(Metadata::parse(&wire).is_err());
    }

    #[test]
    fn duplicate_socket_type_rejected_unknown_kept() {
        let wire = Bytes::from_static(
            b"\x0bSocket-Type\x00\x00\x00\x06DEALER\x0bSocket-Type\x00\x00\x00\x06ROUTER",
        );
        assert!(Metadata::parse(&wire).is_err());
        let wire = Bytes::from_static(b"\x05X-Foo\x00\x00\x00\x01a\x05X-Foo\x00\x00\x00\x01b");
        assert_eq!(Metadata::parse(&wire).unwrap().len(), 2);
    }
}
