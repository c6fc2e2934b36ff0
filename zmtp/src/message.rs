//! Multipart messages.

use std::sync::Arc;

use bytes::Bytes;

use crate::protocol::metadata::Metadata;

/// Frames kept inline, without a heap allocation: enough for a body, a ROUTER's routing-id
/// prefix and an empty delimiter.
const INLINE_FRAMES: usize = 3;

/// A multipart message: one or more frames, each a cheaply clonable [`Bytes`] (from the
/// `bytes` crate, which zmtp re-exports: `zmtp::bytes::Bytes`).
///
/// Cloning a message clones the frame handles, not the payloads. Frames received from the
/// network are slices of the connection's receive buffer (no copy), so a received message
/// keeps that buffer alive while it is held: up to 64 KiB for small messages, up to about
/// 1 MiB while messages are large. To keep a few received frames for long, copy them
/// (`Bytes::copy_from_slice`). Up to three frames are stored inline, so the common message
/// costs no allocation of its own.
///
/// # Building one
///
/// A single value is **one frame**: `&str`, `String`, `&[u8]`, `&[u8; N]` (a byte string
/// literal), `Vec<u8>` and [`Bytes`]. Owned values (`String`, `Vec<u8>`, `Bytes`) become the
/// frame without a copy; borrowed ones (`&str`, `&[u8]`, `&[u8; N]`) are copied, whatever
/// their lifetime, as `zmq_send` copies: for a `'static` literal without the copy, pass
/// `Bytes::from_static(b"...")`.
///
/// A collection is **one frame per item**: an array `[T; N]` and any iterator
/// (`collect()`, [`Message::from_frames`], `extend`) of `T: Into<Bytes>`, and a `Vec` of
/// `Bytes`, `Vec<u8>` or `String`. So `Vec<u8>` is one frame of bytes, while `Vec<Vec<u8>>`
/// is a frame per inner vector. (Items go through `Into<Bytes>`, as [`Bytes`] defines it:
/// `&'static str` and `&'static [u8]` are taken without a copy, and a borrowed `&str` item
/// needs `Bytes::copy_from_slice`.)
///
/// ```
/// use zmtp::bytes::Bytes;
/// use zmtp::Message;
///
/// let one = Message::from("hello"); // one frame
/// assert_eq!(one.frames(), [Bytes::from("hello")]);
/// assert_eq!(Message::from(b"hello"), one);
/// assert_eq!(Message::from(vec![b'h', b'e', b'l', b'l', b'o']), one); // Vec<u8>: one frame
///
/// let two = Message::from(["key", "value"]); // an array: a frame per item
/// assert_eq!(two.len(), 2);
/// assert_eq!(Message::from(vec![b"key".to_vec(), b"value".to_vec()]), two);
/// assert_eq!("key value".split(' ').map(str::to_owned).collect::<Message>(), two);
///
/// // ROUTER-style envelopes: put a routing id and a delimiter in front, take them off.
/// let mut m = Message::from("body");
/// m.push_front(Bytes::new());
/// m.push_front("peer-7");
/// assert_eq!(m, Message::from(["peer-7", "", "body"]));
/// assert_eq!(m.pop_front().as_deref(), Some(&b"peer-7"[..]));
/// m.push_back("trailer");
/// assert_eq!(m.byte_len(), 4 + 7);
/// assert_eq!(m.get(2).map(|f| &f[..]), Some(&b"trailer"[..]));
/// let frames: Vec<Bytes> = m.into_frames();
/// assert_eq!(frames.len(), 3);
/// ```
///
/// [`Bytes`]: https://docs.rs/bytes/1/bytes/struct.Bytes.html
///
/// # Reading one
///
/// A frame is bytes; there is no string accessor, as ZeroMQ does not say what frames hold.
/// For text, decode the frame with [`std::str::from_utf8`] (an error if it is not UTF-8), or
/// [`String::from_utf8_lossy`]. A received message has at least one frame, so
/// `msg.frames()[0]` is there; [`Message::first`] and [`Message::get`] give an `Option`.
/// `Debug` shows each frame as an escaped byte string (`["weather.paris", "12C"]` prints as
/// `[b"weather.paris", b"12C"]`; a frame over 64 bytes as `<N bytes>`).
///
/// ```
/// use zmtp::Message;
///
/// let msg = Message::from(["weather.paris", "12C"]); // as a SUB would receive it
/// let topic = std::str::from_utf8(&msg.frames()[0])?;
/// assert_eq!(topic, "weather.paris");
/// let text: Vec<&str> = msg.iter().map(|f| std::str::from_utf8(f)).collect::<Result<_, _>>()?;
/// assert_eq!(text, ["weather.paris", "12C"]);
/// assert_eq!(String::from_utf8_lossy(&msg.frames()[1]), "12C");
/// assert_eq!(format!("{msg:?}"), r#"[b"weather.paris", b"12C"]"#);
/// // Not UTF-8: an error, not a panic.
/// assert!(std::str::from_utf8(&Message::from(b"\xff".to_vec()).frames()[0]).is_err());
/// # Ok::<(), std::str::Utf8Error>(())
/// ```
#[derive(Clone)]
pub struct Message {
    repr: Repr,
    /// The connection's metadata, on messages from authenticated peers only.
    meta: Option<Arc<PeerMetadata>>,
}

/// What a received message tells about the connection it came in on: libzmq's message
/// metadata (`zmq_msg_gets`). Set on messages from peers that an authenticator
/// (`SocketOptions::authenticator`, with the `tokio` feature) accepted; other messages carry
/// none, so that they cost nothing more.
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

enum Repr {
    Inline {
        len: usize,
        frames: [Bytes; INLINE_FRAMES],
    },
    Heap(Vec<Bytes>),
}

impl Clone for Repr {
    /// Clones the frames in use only: the unused inline slots are empty and stay so (a PUB
    /// clones a message per subscriber; deriving Clone cloned all three slots).
    #[inline]
    fn clone(&self) -> Self {
        match self {
            Repr::Inline { len, frames } => {
                let frames = match (*len, frames) {
                    (0, _) => [Bytes::new(), Bytes::new(), Bytes::new()],
                    (1, [a, ..]) => [a.clone(), Bytes::new(), Bytes::new()],
                    (2, [a, b, _]) => [a.clone(), b.clone(), Bytes::new()],
                    (_, [a, b, c]) => [a.clone(), b.clone(), c.clone()],
                };
                Repr::Inline { len: *len, frames }
            }
            Repr::Heap(v) => Repr::Heap(v.clone()),
        }
    }
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
                // Each frame moves one slot up, the last into the free slot (written out: the
                // generic `rotate_right` cost ~80 instructions per call, and a ROUTER does
                // this for every message it receives).
                let [a, b, c] = frames;
                let old_a = std::mem::replace(a, frame);
                if *len > 0 {
                    let old_b = std::mem::replace(b, old_a);
                    if *len > 1 {
                        *c = old_b;
                    }
                }
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
                // Each frame moves one slot down (written out, as in `push_front`).
                let [a, b, c] = frames;
                let f = std::mem::replace(a, std::mem::take(b));
                *b = std::mem::take(c);
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

/// A frame per item (more than three frames keep the `Vec` as it is, without a copy).
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

/// One frame.
impl From<Bytes> for Message {
    #[inline]
    fn from(frame: Bytes) -> Self {
        // Built in place: `new` then `push_back` cost 65 more instructions per message
        // (callgrind, the thr sender at 16 B), among them the drop of the empty frame replaced.
        Message {
            repr: Repr::Inline {
                len: 1,
                frames: [frame, Bytes::new(), Bytes::new()],
            },
            meta: None,
        }
    }
}

/// One frame, copied (for a `'static` string without the copy: `Bytes::from_static`).
impl From<&str> for Message {
    fn from(s: &str) -> Self {
        Message::from(Bytes::copy_from_slice(s.as_bytes()))
    }
}

/// One frame, copied (for a `'static` slice without the copy: `Bytes::from_static`).
impl From<&[u8]> for Message {
    fn from(b: &[u8]) -> Self {
        Message::from(Bytes::copy_from_slice(b))
    }
}

/// One frame, copied: a byte string literal (`b"hello"`).
impl<const N: usize> From<&[u8; N]> for Message {
    fn from(b: &[u8; N]) -> Self {
        Message::from(&b[..])
    }
}

/// A frame per item (`["key", "value"]` is two frames).
impl<T: Into<Bytes>, const N: usize> From<[T; N]> for Message {
    fn from(frames: [T; N]) -> Self {
        Message::from_frames(frames)
    }
}

/// A frame per item; the items are taken without a copy.
impl From<Vec<Vec<u8>>> for Message {
    fn from(frames: Vec<Vec<u8>>) -> Self {
        Message::from_frames(frames)
    }
}

/// A frame per item; the items are taken without a copy.
impl From<Vec<String>> for Message {
    fn from(frames: Vec<String>) -> Self {
        Message::from_frames(frames)
    }
}

/// A frame per item.
impl<T: Into<Bytes>> FromIterator<T> for Message {
    fn from_iter<I: IntoIterator<Item = T>>(frames: I) -> Self {
        Message::from_frames(frames)
    }
}

/// Appends a frame per item.
impl<T: Into<Bytes>> Extend<T> for Message {
    fn extend<I: IntoIterator<Item = T>>(&mut self, frames: I) {
        for f in frames {
            self.push_back(f);
        }
    }
}

/// The frames ([`Message::into_frames`]).
impl From<Message> for Vec<Bytes> {
    fn from(m: Message) -> Self {
        m.into_frames()
    }
}

/// One frame, without a copy.
impl From<String> for Message {
    fn from(s: String) -> Self {
        Message::from(Bytes::from(s))
    }
}

/// One frame of bytes, without a copy (a `Vec` of frames is `Vec<Vec<u8>>` or `Vec<Bytes>`).
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

    /// The conversions: one value is one frame, a collection is a frame per item, whatever
    /// path builds it; `Vec<u8>` (bytes) and `Vec<Vec<u8>>` (frames) are not confused.
    #[test]
    fn conversions_one_frame_or_a_frame_per_item() {
        let hello = [Bytes::from_static(b"hello")];
        let owned = String::from("hello");
        let borrowed: &str = &owned; // not 'static
        for m in [
            Message::from("hello"),
            Message::from(borrowed),
            Message::from(owned.clone()),
            Message::from(owned.as_bytes()),
            Message::from(b"hello"),
            Message::from(owned.clone().into_bytes()),
            Message::from(Bytes::from(owned.clone())),
        ] {
            assert_eq!(m.frames(), hello, "{m:?}");
        }
        let kv = [Bytes::from_static(b"k"), Bytes::from_static(b"v")];
        let per_item = [
            Message::from(["k", "v"]),
            Message::from([b"k".to_vec(), b"v".to_vec()]),
            Message::from(vec![b"k".to_vec(), b"v".to_vec()]),
            Message::from(vec![String::from("k"), String::from("v")]),
            Message::from(kv.to_vec()),
            ["k", "v"].into_iter().collect(),
            Message::from_frames(kv.clone()),
        ];
        for m in per_item {
            assert_eq!(m.frames(), kv, "{m:?}");
        }
        assert_eq!(
            Message::from(vec![b'k', b'v']).frames(),
            [Bytes::from_static(b"kv")]
        );
        // Many frames, through every path that takes a collection.
        let many: Vec<Bytes> = (0..10u8).map(|i| Bytes::from(vec![i])).collect();
        let mut extended = Message::from("x");
        extended.extend(many.iter().cloned());
        assert_eq!(extended.len(), 11);
        assert_eq!(&extended.frames()[1..], &many[..]);
        assert_eq!(
            many.iter().cloned().collect::<Message>().frames(),
            &many[..]
        );
        assert_eq!(Vec::<Bytes>::from(Message::from(many.clone())), many);
        assert!(Message::from([] as [Bytes; 0]).is_empty());
    }
}
