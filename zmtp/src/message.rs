//! Multipart messages.

use std::sync::Arc;

use bytes::Bytes;

use crate::protocol::metadata::Metadata;

/// Frames kept inline, without a heap allocation: enough for a body, a ROUTER's routing-id
/// prefix and an empty delimiter.
const INLINE_FRAMES: usize = 3;

/// A multipart message: one or more frames, each a cheaply clonable [`Bytes`].
///
/// Cloning a message clones the frame handles, not the payloads. Frames received from the
/// network are slices of the connection's receive buffer (no copy), so a received message
/// keeps that buffer alive while it is held: up to 64 KiB for small messages, up to about
/// 1 MiB while messages are large. To keep a few received frames for long, copy them
/// (`Bytes::copy_from_slice`). Up to three frames are stored inline, so the common message
/// costs no allocation of its own.
#[derive(Clone)]
pub struct Message {
    repr: Repr,
    /// The connection's metadata, on messages from authenticated peers only.
    meta: Option<Arc<PeerMetadata>>,
}

/// What a received message tells about the connection it came in on: libzmq's message
/// metadata (`zmq_msg_gets`). Set on messages from peers that an authenticator
/// ([`crate::SocketOptions::authenticator`]) accepted; other messages carry none, so that
/// they cost nothing more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerMetadata {
    /// The user id the authenticator gave (libzmq's `User-Id`).
    pub user_id: Bytes,
    /// The peer's address: an IP address for TCP, the endpoint's path or name for ipc and
    /// inproc (libzmq's `Peer-Address`).
    pub peer_address: String,
    /// The properties the peer sent in its handshake (`Socket-Type`, `Identity`...).
    pub properties: Metadata,
}

impl PeerMetadata {
    /// A property by name, as `zmq_msg_gets` finds it: `User-Id`, `Peer-Address`, or one the
    /// peer sent (names compared without regard to case).
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        if name.eq_ignore_ascii_case("User-Id") {
            return Some(&self.user_id);
        }
        if name.eq_ignore_ascii_case("Peer-Address") {
            return Some(self.peer_address.as_bytes());
        }
        self.properties
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| &v[..])
    }
}

#[derive(Clone)]
enum Repr {
    Inline {
        len: usize,
        frames: [Bytes; INLINE_FRAMES],
    },
    Heap(Vec<Bytes>),
}

impl Default for Message {
    fn default() -> Self {
        Message::new()
    }
}

impl Message {
    /// An empty message (no frames). Sending a message with no frames is an error; push at
    /// least one frame first.
    pub const fn new() -> Self {
        Message {
            repr: Repr::Inline {
                len: 0,
                frames: [Bytes::new(), Bytes::new(), Bytes::new()],
            },
            meta: None,
        }
    }

    /// A message of the given frames.
    pub fn from_frames<I, B>(frames: I) -> Self
    where
        I: IntoIterator<Item = B>,
        B: Into<Bytes>,
    {
        let mut m = Message::new();
        for f in frames {
            m.push_back(f);
        }
        m
    }

    /// Appends a frame.
    pub fn push_back(&mut self, frame: impl Into<Bytes>) {
        let frame = frame.into();
        match &mut self.repr {
            Repr::Inline { len, frames } if *len < INLINE_FRAMES => {
                frames[*len] = frame;
                *len += 1;
            }
            Repr::Inline { len, frames } => {
                let mut v = Vec::with_capacity(*len * 2);
                v.extend(frames.iter_mut().map(std::mem::take));
                v.push(frame);
                self.repr = Repr::Heap(v);
            }
            Repr::Heap(v) => v.push(frame),
        }
    }

    /// Puts a frame in front (how a ROUTER prefixes the routing id).
    pub fn push_front(&mut self, frame: impl Into<Bytes>) {
        let frame = frame.into();
        match &mut self.repr {
            Repr::Inline { len, frames } if *len < INLINE_FRAMES => {
                frames[..=*len].rotate_right(1);
                frames[0] = frame;
                *len += 1;
            }
            Repr::Inline { len, frames } => {
                let mut v = Vec::with_capacity(*len * 2);
                v.push(frame);
                v.extend(frames.iter_mut().map(std::mem::take));
                self.repr = Repr::Heap(v);
            }
            Repr::Heap(v) => v.insert(0, frame),
        }
    }

    /// Removes and returns the first frame (how a ROUTER takes the routing id off).
    pub fn pop_front(&mut self) -> Option<Bytes> {
        match &mut self.repr {
            Repr::Inline { len: 0, .. } => None,
            Repr::Inline { len, frames } => {
                let f = std::mem::take(&mut frames[0]);
                frames[..*len].rotate_left(1);
                *len -= 1;
                Some(f)
            }
            Repr::Heap(v) if v.is_empty() => None,
            Repr::Heap(v) => Some(v.remove(0)),
        }
    }

    /// The frames.
    pub fn frames(&self) -> &[Bytes] {
        match &self.repr {
            Repr::Inline { len, frames } => &frames[..*len],
            Repr::Heap(v) => v,
        }
    }

    /// Takes the frames out.
    pub fn into_frames(self) -> Vec<Bytes> {
        match self.repr {
            Repr::Inline { len, frames } => frames.into_iter().take(len).collect(),
            Repr::Heap(v) => v,
        }
    }

    /// Number of frames.
    pub fn len(&self) -> usize {
        self.frames().len()
    }

    /// True if the message has no frames.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Total payload bytes over all frames.
    pub fn byte_len(&self) -> usize {
        self.frames().iter().map(Bytes::len).sum()
    }

    /// The first frame, if any.
    pub fn first(&self) -> Option<&Bytes> {
        self.frames().first()
    }

    /// The frame at `index`, if any.
    pub fn get(&self, index: usize) -> Option<&Bytes> {
        self.frames().get(index)
    }

    /// Iterates over the frames.
    pub fn iter(&self) -> std::slice::Iter<'_, Bytes> {
        self.frames().iter()
    }

    /// The metadata of the connection the message came in on, if its peer was
    /// authenticated (see [`PeerMetadata`]).
    pub fn metadata(&self) -> Option<&PeerMetadata> {
        self.meta.as_deref()
    }

    /// A metadata property (libzmq's `zmq_msg_gets`): `User-Id`, `Peer-Address` or one the
    /// peer sent. `None` if the message carries no metadata or not that property.
    pub fn property(&self, name: &str) -> Option<&[u8]> {
        self.meta.as_deref()?.get(name)
    }

    /// Attaches the connection's metadata (on receipt).
    #[cfg(feature = "tokio")]
    pub(crate) fn set_metadata(&mut self, meta: Arc<PeerMetadata>) {
        self.meta = Some(meta);
    }
}

impl PartialEq for Message {
    fn eq(&self, other: &Self) -> bool {
        self.frames() == other.frames()
    }
}

impl Eq for Message {}

impl std::hash::Hash for Message {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.frames().hash(state)
    }
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut l = f.debug_list();
        for fr in self.frames() {
            if fr.len() <= 64 {
                l.entry(&format_args!("b\"{}\"", fr.escape_ascii()));
            } else {
                l.entry(&format_args!("<{} bytes>", fr.len()));
            }
        }
        l.finish()
    }
}

impl From<Vec<Bytes>> for Message {
    fn from(frames: Vec<Bytes>) -> Self {
        if frames.len() <= INLINE_FRAMES {
            Message::from_frames(frames)
        } else {
            Message {
                repr: Repr::Heap(frames),
                meta: None,
            }
        }
    }
}

impl From<Bytes> for Message {
    fn from(frame: Bytes) -> Self {
        let mut m = Message::new();
        m.push_back(frame);
        m
    }
}

impl From<&'static str> for Message {
    fn from(s: &'static str) -> Self {
        Message::from(Bytes::from_static(s.as_bytes()))
    }
}

impl From<String> for Message {
    fn from(s: String) -> Self {
        Message::from(Bytes::from(s))
    }
}

impl From<Vec<u8>> for Message {
    fn from(v: Vec<u8>) -> Self {
        Message::from(Bytes::from(v))
    }
}

impl IntoIterator for Message {
    type Item = Bytes;
    type IntoIter = std::vec::IntoIter<Bytes>;
    fn into_iter(self) -> Self::IntoIter {
        self.into_frames().into_iter()
    }
}

impl<'a> IntoIterator for &'a Message {
    type Item = &'a Bytes;
    type IntoIter = std::slice::Iter<'a, Bytes>;
    fn into_iter(self) -> Self::IntoIter {
        self.frames().iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_and_heap_behave_alike() {
        for n in 0..8usize {
            let frames: Vec<Bytes> = (0..n).map(|i| Bytes::from(vec![i as u8; i])).collect();
            let mut m = Message::from_frames(frames.clone());
            assert_eq!(m.frames(), &frames[..]);
            assert_eq!(m, Message::from(frames.clone()));
            m.push_front(Bytes::from_static(b"id"));
            assert_eq!(m.len(), n + 1);
            assert_eq!(m.pop_front().as_deref(), Some(&b"id"[..]));
            assert_eq!(m.frames(), &frames[..]);
            m.push_back(Bytes::from_static(b"z"));
            assert_eq!(m.frames().last().map(|b| &b[..]), Some(&b"z"[..]));
            assert_eq!(m.clone().into_frames().len(), n + 1);
        }
        assert_eq!(Message::new().pop_front(), None);
    }
}
