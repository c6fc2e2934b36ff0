//! Message assembly: data frames joined into whole messages, under MAXMSGSIZE.

use bytes::Bytes;

use crate::message::Message;
use crate::protocol::error::DecodeError;
use crate::protocol::limits::{FRAME_COST, MIN_FRAMES_PER_MESSAGE};

/// The message being received.
#[derive(Debug, Default)]
pub(super) struct Assembly {
    partial: Message,
    /// Body bytes of `partial`.
    len: u64,
    /// MAXMSGSIZE: the largest message, in body bytes (`None` = no limit). It also bounds the
    /// frames of a message to `max(MAXMSGSIZE / FRAME_COST, MIN_FRAMES_PER_MESSAGE)`, so that
    /// empty frames (2 bytes on the wire, a slot of ours each) cannot cost more memory than
    /// the limit.
    max: Option<u64>,
}

impl Assembly {
    pub(super) fn new(max_msg_size: Option<u64>) -> Assembly {
        Assembly {
            max: max_msg_size,
            ..Assembly::default()
        }
    }

    /// Adds a data frame; returns true if it completes the message (`more` is false): take
    /// it with [`Assembly::take`]. (A `bool` rather than the message itself: returning a
    /// `Message` through a `Result` costs copies on every message, measured in the broker.)
    #[inline]
    pub(super) fn push(&mut self, body: Bytes, more: bool) -> Result<bool, DecodeError> {
        self.len += body.len() as u64;
        if let Some(max) = self.max {
            self.check(max)?;
        }
        self.partial.push_back(body);
        if more {
            return Ok(false);
        }
        self.len = 0;
        Ok(true)
    }

    /// The message completed by the last [`Assembly::push`].
    #[inline]
    pub(super) fn take(&mut self) -> Message {
        std::mem::take(&mut self.partial)
    }

    fn check(&self, max: u64) -> Result<(), DecodeError> {
        if self.len > max {
            return Err(DecodeError::FrameTooLarge { len: self.len, max });
        }
        let frames = self.partial.len() as u64 + 1;
        let max_frames = (max / FRAME_COST).max(MIN_FRAMES_PER_MESSAGE);
        if frames > max_frames {
            return Err(DecodeError::TooManyFrames {
                frames,
                max: max_frames,
            });
        }
        Ok(())
    }
}
