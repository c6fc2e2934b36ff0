//! Subscriptions (RFC 29, libzmq `src/trie.cpp`, `src/xpub.cpp`, `src/xsub.cpp`), sans-IO: a
//! counted set of topic prefixes, and the prefix match on a message's first frame.
//!
//! On the wire a subscription is a SUBSCRIBE command (ZMTP 3.1) or a message whose single
//! frame is `0x01` + topic (ZMTP 3.0); a cancel is CANCEL or `0x00` + topic. The socket layer
//! uses the message form inside ([`encode`], [`decode`]), as libzmq does.

use std::collections::HashMap;

use bytes::{BufMut, Bytes, BytesMut};

/// A counted set of topic prefixes. An empty prefix matches every message.
#[derive(Debug, Clone, Default)]
pub struct Subscriptions {
    topics: HashMap<Bytes, u32>,
    /// The distinct topics while there are at most [`SCAN_TOPICS`] of them (else empty): a
    /// match compares the message with each, which costs less than walking the hash map.
    few: Vec<Scanned>,
    /// The distinct lengths of the topics, ascending, each with how many topics have it: a
    /// message matches if one of its prefixes of these lengths is a topic, so a match costs
    /// one lookup per distinct length, however many topics there are (and none at all when
    /// the empty prefix, "everything", is there: it comes first).
    lens: Vec<(usize, u32)>,
}

/// Up to this many topics, a match compares the message with each topic; beyond, it looks up
/// the message's prefixes of the topics' lengths (hashing costs more than a few compares).
const SCAN_TOPICS: usize = 8;

/// A topic as a match compares it: its first 8 bytes (or fewer) as a big-endian number and
/// the mask that keeps as many of a message's, so that a topic of up to 8 bytes (most are)
/// takes one comparison and no `memcmp`. With 4 subscribers of one topic each, `memcmp`
/// calls were 250 instructions per published message (callgrind), a fifth of the publisher.
#[derive(Debug, Clone)]
struct Scanned {
    head: u64,
    mask: u64,
    topic: Bytes,
}

/// The first 8 bytes of `data` as a big-endian number, zeros after its end.
#[inline]
fn head8(data: &[u8]) -> u64 {
    match data.first_chunk::<8>() {
        Some(c) => u64::from_be_bytes(*c),
        None => {
            let mut b = [0u8; 8];
            b[..data.len()].copy_from_slice(data);
            u64::from_be_bytes(b)
        }
    }
}

impl Scanned {
    fn new(topic: Bytes) -> Scanned {
        let n = topic.len().min(8);
        let mask = match n {
            0 => 0,
            n => !0u64 << (8 * (8 - n)),
        };
        Scanned {
            head: head8(&topic) & mask,
            mask,
            topic,
        }
    }

    /// True if the topic starts `data`, whose [`head8`] is `head`.
    #[inline]
    fn starts(&self, head: u64, data: &[u8]) -> bool {
        let len = self.topic.len();
        len <= data.len()
            && head & self.mask == self.head
            && (len <= 8 || data[8..len] == self.topic[8..])
    }
}

impl PartialEq for Subscriptions {
    fn eq(&self, other: &Self) -> bool {
        self.topics == other.topics
    }
}

impl Eq for Subscriptions {}

impl Subscriptions {
    /// No subscriptions (matches nothing).
    pub fn new() -> Self {
        Subscriptions::default()
    }

    /// Adds one subscription to `topic`; true if it is new (its count went from 0 to 1).
    pub fn subscribe(&mut self, topic: Bytes) -> bool {
        let len = topic.len();
        let n = self.topics.entry(topic).or_insert(0);
        *n = n.saturating_add(1);
        let new = *n == 1;
        if new {
            self.add_len(len);
        }
        new
    }

    /// Removes one subscription to `topic`; true if it was the last one. Cancelling a topic
    /// never subscribed does nothing.
    pub fn cancel(&mut self, topic: &[u8]) -> bool {
        let Some(n) = self.topics.get_mut(topic) else {
            return false;
        };
        *n -= 1;
        if *n == 0 {
            self.topics.remove(topic);
            self.remove_len(topic.len());
            return true;
        }
        false
    }

    /// Adds `topic` once, as a set does (what a publisher keeps per subscriber, as libzmq's
    /// mtrie does: a subscriber's repeated subscription is one, and one cancel removes it);
    /// true if it was not there.
    pub fn insert(&mut self, topic: Bytes) -> bool {
        if self.topics.contains_key(&topic) {
            return false;
        }
        let len = topic.len();
        self.topics.insert(topic, 1);
        self.add_len(len);
        true
    }

    /// Removes `topic` whatever its count; true if it was there.
    pub fn remove(&mut self, topic: &[u8]) -> bool {
        let there = self.topics.remove(topic).is_some();
        if there {
            self.remove_len(topic.len());
        }
        there
    }

    /// True if some subscribed prefix starts `data` (the message's first frame).
    #[inline(always)]
    pub fn matches(&self, data: &[u8]) -> bool {
        if self.topics.len() <= SCAN_TOPICS {
            // The empty prefix, if there, is one of the few, and its mask takes no byte.
            let head = head8(data);
            self.few.iter().any(|t| t.starts(head, data))
        } else {
            self.matches_by_length(data)
        }
    }

    /// [`Subscriptions::matches`] for more than [`SCAN_TOPICS`] topics.
    fn matches_by_length(&self, data: &[u8]) -> bool {
        match self.lens.first() {
            None => false,
            Some(&(0, _)) => true,
            Some(_) => self
                .lens
                .iter()
                .take_while(|&&(len, _)| len <= data.len())
                .any(|&(len, _)| self.topics.contains_key(&data[..len])),
        }
    }

    /// Rebuilds [`Subscriptions::few`] after a topic came or went (rare: not per message).
    fn refresh_few(&mut self) {
        self.few.clear();
        if self.topics.len() <= SCAN_TOPICS {
            self.few
                .extend(self.topics.keys().cloned().map(Scanned::new));
        }
    }

    /// A topic of `len` bytes was added to the map.
    fn add_len(&mut self, len: usize) {
        match self.lens.binary_search_by_key(&len, |&(l, _)| l) {
            Ok(i) => self.lens[i].1 += 1,
            Err(i) => self.lens.insert(i, (len, 1)),
        }
        self.refresh_few();
    }

    /// A topic of `len` bytes was removed from the map.
    fn remove_len(&mut self, len: usize) {
        if let Ok(i) = self.lens.binary_search_by_key(&len, |&(l, _)| l) {
            self.lens[i].1 -= 1;
            if self.lens[i].1 == 0 {
                self.lens.remove(i);
            }
        }
        self.refresh_few();
    }

    /// The subscribed topics, each once.
    pub fn topics(&self) -> impl Iterator<Item = &Bytes> {
        self.topics.keys()
    }

    /// Number of distinct topics.
    pub fn len(&self) -> usize {
        self.topics.len()
    }

    /// True if there are none.
    pub fn is_empty(&self) -> bool {
        self.topics.is_empty()
    }
}

/// A subscription (`true`) or a cancel as a message frame: `0x01`/`0x00` + topic.
pub fn encode(subscribe: bool, topic: &[u8]) -> Bytes {
    let mut b = BytesMut::with_capacity(1 + topic.len());
    b.put_u8(u8::from(subscribe));
    b.put_slice(topic);
    b.freeze()
}

/// Reads a frame as a subscription (`Some((true, topic))`) or a cancel (`Some((false,
/// topic))`); `None` if its first byte is neither `0x01` nor `0x00` (or it is empty).
pub fn decode(frame: &Bytes) -> Option<(bool, Bytes)> {
    match frame.first() {
        Some(1) => Some((true, frame.slice(1..))),
        Some(0) => Some((false, frame.slice(1..))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counted_prefixes() {
        let mut s = Subscriptions::new();
        assert!(!s.matches(b"anything"));
        assert!(s.subscribe(Bytes::from_static(b"ab")));
        assert!(!s.subscribe(Bytes::from_static(b"ab")));
        assert!(s.matches(b"abc") && s.matches(b"ab") && !s.matches(b"a") && !s.matches(b"b"));
        assert!(!s.cancel(b"ab"), "one subscription left");
        assert!(s.matches(b"abc"));
        assert!(s.cancel(b"ab"));
        assert!(!s.matches(b"abc"));
        assert!(!s.cancel(b"never"));
        assert!(s.subscribe(Bytes::new()));
        assert!(s.matches(b"") && s.matches(b"x"));
    }

    #[test]
    fn set_of_prefixes() {
        let mut s = Subscriptions::new();
        assert!(s.insert(Bytes::from_static(b"ab")));
        assert!(!s.insert(Bytes::from_static(b"ab")), "a repeat is one");
        assert!(s.matches(b"abc"));
        assert!(s.remove(b"ab"), "one cancel removes it");
        assert!(!s.matches(b"abc"));
        assert!(!s.remove(b"ab"));
    }

    #[test]
    fn wire_forms() {
        assert_eq!(&encode(true, b"t")[..], b"\x01t");
        assert_eq!(&encode(false, b"")[..], b"\x00");
        assert_eq!(
            decode(&Bytes::from_static(b"\x01top")),
            Some((true, Bytes::from_static(b"top")))
        );
        assert_eq!(
            decode(&Bytes::from_static(b"\x00")),
            Some((false, Bytes::new()))
        );
        assert_eq!(decode(&Bytes::from_static(b"\x02x")), None);
        assert_eq!(decode(&Bytes::new()), None);
    }
}
