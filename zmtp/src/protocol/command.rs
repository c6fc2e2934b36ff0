//! Commands (RFC 23/37 §"Commands"): a command frame's body is `name-len(1) name data`.
//!
//! READY, ERROR, PING, PONG, SUBSCRIBE and CANCEL are parsed; any other name is kept as
//! [`Command::Unknown`] (after the handshake libzmq drops those silently, and so do we).

use bytes::{BufMut, Bytes, BytesMut};

use crate::protocol::codec::OutBuf;
use crate::protocol::error::DecodeError;
use crate::protocol::metadata::Metadata;

use crate::protocol::limits::MAX_PING_CONTEXT_LEN;

/// A ZMTP command.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command {
    /// READY with the sender's metadata (NULL mechanism).
    Ready(Metadata),
    /// ERROR with a reason (at most 255 bytes); fatal.
    Error {
        /// Why the peer gives up.
        reason: Bytes,
    },
    /// PING: a heartbeat asking for a PONG.
    Ping {
        /// Time to live in deciseconds: the peer drops us after that much silence (0 = none).
        ttl: u16,
        /// Opaque context to echo in the PONG (0..16 bytes on output; longer input is cut).
        context: Bytes,
    },
    /// PONG: the answer to a PING.
    Pong {
        /// The PING's context (0..16 bytes; longer input is cut, as for PING).
        context: Bytes,
    },
    /// SUBSCRIBE (ZMTP 3.1).
    Subscribe(Bytes),
    /// CANCEL (ZMTP 3.1).
    Cancel(Bytes),
    /// Any other command.
    Unknown {
        /// Its name.
        name: Bytes,
        /// Its data.
        data: Bytes,
    },
}

impl Command {
    /// The name and the data of a command frame's body, neither interpreted (for a
    /// mechanism whose commands reuse a name: CURVE's READY carries a box, not metadata).
    pub fn split(body: &Bytes) -> Result<(&[u8], Bytes), DecodeError> {
        let Some(&name_len) = body.first() else {
            return Err(DecodeError::MalformedCommand("empty command frame"));
        };
        let name_end = 1 + name_len as usize;
        let Some(name) = body.get(1..name_end) else {
            return Err(DecodeError::MalformedCommand("command name truncated"));
        };
        Ok((name, body.slice(name_end..)))
    }

    /// Parses a command frame's body.
    pub fn parse(body: &Bytes) -> Result<Command, DecodeError> {
        // libzmq 4.3.5's PLAIN and CURVE write ERROR's prefix as the C string "\x05ERROR",
        // whose hex escape swallows the `E`: the body is `^RROR` + reason (9 bytes for "400").
        // Read as the ERROR it means.
        if let Some(rest) = body.strip_prefix(b"^RROR") {
            if let Some((&len, reason)) = rest.split_first() {
                if let Some(reason) = reason.get(..len as usize) {
                    return Ok(Command::Error {
                        reason: Bytes::copy_from_slice(reason),
                    });
                }
            }
        }
        let Some(&name_len) = body.first() else {
            return Err(DecodeError::MalformedCommand("empty command frame"));
        };
        let name_end = 1 + name_len as usize;
        if body.len() < name_end {
            return Err(DecodeError::MalformedCommand("command name truncated"));
        }
        let data = body.slice(name_end..);
        Ok(match &body[1..name_end] {
            b"READY" => Command::Ready(Metadata::parse(&data)?),
            b"ERROR" => {
                let Some(&len) = data.first() else {
                    return Err(DecodeError::MalformedCommand(
                        "ERROR without a reason length",
                    ));
                };
                let Some(reason) = data.get(1..1 + len as usize) else {
                    return Err(DecodeError::MalformedCommand("ERROR reason truncated"));
                };
                Command::Error {
                    reason: Bytes::copy_from_slice(reason),
                }
            }
            b"PING" => {
                let Some(ttl) = data.get(..2) else {
                    return Err(DecodeError::MalformedCommand("PING without a TTL"));
                };
                let ttl = u16::from_be_bytes([ttl[0], ttl[1]]);
                let ctx_end = data.len().min(2 + MAX_PING_CONTEXT_LEN);
                Command::Ping {
                    ttl,
                    context: data.slice(2..ctx_end),
                }
            }
            // Cut like PING's, so that every parsed PONG re-encodes to itself.
            b"PONG" => Command::Pong {
                context: data.slice(..data.len().min(MAX_PING_CONTEXT_LEN)),
            },
            b"SUBSCRIBE" => Command::Subscribe(data),
            b"CANCEL" => Command::Cancel(data),
            _ => Command::Unknown {
                name: body.slice(1..name_end),
                data,
            },
        })
    }

    /// The command's name as sent on the wire.
    pub fn name(&self) -> &[u8] {
        match self {
            Command::Ready(_) => b"READY",
            Command::Error { .. } => b"ERROR",
            Command::Ping { .. } => b"PING",
            Command::Pong { .. } => b"PONG",
            Command::Subscribe(_) => b"SUBSCRIBE",
            Command::Cancel(_) => b"CANCEL",
            Command::Unknown { name, .. } => name,
        }
    }

    /// The command frame's body (name-len, name, data).
    pub fn to_body(&self) -> Bytes {
        let name = self.name();
        let name = &name[..name.len().min(255)];
        let mut b = BytesMut::with_capacity(64);
        b.put_u8(name.len() as u8);
        b.put_slice(name);
        match self {
            Command::Ready(md) => md.encode(&mut b),
            Command::Error { reason } => {
                let r = &reason[..reason.len().min(255)];
                b.put_u8(r.len() as u8);
                b.put_slice(r);
            }
            Command::Ping { ttl, context } => {
                b.put_u16(*ttl);
                b.put_slice(&context[..context.len().min(MAX_PING_CONTEXT_LEN)]);
            }
            Command::Pong { context } => {
                b.put_slice(&context[..context.len().min(MAX_PING_CONTEXT_LEN)])
            }
            Command::Subscribe(t) | Command::Cancel(t) => b.put_slice(t),
            Command::Unknown { data, .. } => b.put_slice(data),
        }
        b.freeze()
    }

    /// Queues the command as a frame.
    pub fn encode(&self, out: &mut OutBuf) {
        out.push_frame(false, true, &self.to_body());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libzmq_plain_error_with_its_swallowed_e() {
        // Captured from libzmq 4.3.5's PLAIN server refusing a password: 04 09 '^RROR' 03 '400'.
        let c = Command::parse(&Bytes::from_static(b"^RROR\x03400")).unwrap();
        assert_eq!(
            c,
            Command::Error {
                reason: Bytes::from_static(b"400")
            }
        );
    }

    #[test]
    fn libzmq_ping_bytes() {
        // libzmq 4.3.5 with HEARTBEAT_TTL=2000: 04 07 04 'PING' 00 14.
        let mut ob = OutBuf::new();
        Command::Ping {
            ttl: 20,
            context: Bytes::new(),
        }
        .encode(&mut ob);
        assert_eq!(ob.to_vec(), b"\x04\x07\x04PING\x00\x14");
        let c = Command::parse(&Bytes::from_static(b"\x04PING\x00\x14")).unwrap();
        assert_eq!(
            c,
            Command::Ping {
                ttl: 20,
                context: Bytes::new()
            }
        );
    }

    #[test]
    fn long_ping_context_truncated() {
        let body = Bytes::from([&b"\x04PING\x00\x01"[..], &[9u8; 58]].concat());
        let Command::Ping { context, .. } = Command::parse(&body).unwrap() else {
            panic!()
        };
        assert_eq!(context.len(), 16);
    }

    #[test]
    fn long_pong_context_truncated_and_round_trips() {
        // Found by the `command` fuzz target: a 17-byte PONG context parsed whole but was
        // re-encoded cut to 16 bytes, so parse(to_body(c)) != c.
        let body = Bytes::from_static(b"\x04PONG0||||||\xb1\x01\x00\x00\x00|||||");
        let c = Command::parse(&body).unwrap();
        let Command::Pong { context } = &c else {
            panic!("{c:?}")
        };
        assert_eq!(context.len(), MAX_PING_CONTEXT_LEN);
        assert_eq!(Command::parse(&c.to_body()).unwrap(), c);
    }

    #[test]
    fn error_round_trip_and_truncation() {
        let c = Command::Error {
            reason: Bytes::from_static(b"Invalid socket type"),
        };
        assert_eq!(Command::parse(&c.to_body()).unwrap(), c);
        assert!(Command::parse(&Bytes::from_static(b"\x05ERROR\x05ab")).is_err());
        assert!(Command::parse(&Bytes::from_static(b"\x05ERROR")).is_err());
    }

    #[test]
    fn malformed_and_unknown() {
        assert!(Command::parse(&Bytes::new()).is_err());
        assert!(Command::parse(&Bytes::from_static(b"\x09PIN")).is_err());
        assert!(Command::parse(&Bytes::from_static(b"\x04PING\x00")).is_err());
        let c = Command::parse(&Bytes::from_static(b"\x04FOOOxyz")).unwrap();
        assert_eq!(
            c,
            Command::Unknown {
                name: Bytes::from_static(b"FOOO"),
                data: Bytes::from_static(b"xyz")
            }
        );
    }
}
