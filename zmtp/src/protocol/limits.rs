//! Every bound the protocol core puts on what a peer can make it hold or do, in one place.
//!
//! Each limit caps memory or work that a peer controls: the size of a command, the frames of a
//! message, how far an announced frame size is trusted, how much output unanswered PINGs may
//! queue. MAXMSGSIZE itself is an option ([`crate::protocol::session::SessionConfig`]); the
//! limits here hold whatever it is set to.

/// Largest command frame accepted (READY with its metadata, PING, ...). Commands are small; a
/// bound here keeps a hostile handshake from buffering megabytes.
pub const MAX_COMMAND_LEN: u64 = 64 * 1024;

/// What a frame of a message costs us beyond its body, in bytes (its slot in the message, with
/// room to grow): with MAXMSGSIZE set, a message may have at most MAXMSGSIZE / FRAME_COST
/// frames (but never fewer than [`MIN_FRAMES_PER_MESSAGE`]).
pub const FRAME_COST: u64 = 64;

/// The frames a message may always have, however small MAXMSGSIZE is.
pub const MIN_FRAMES_PER_MESSAGE: u64 = 1024;

/// PINGs that arrive while this many bytes of our output wait unwritten are not answered
/// (libzmq likewise keeps at most one PONG pending).
pub const MAX_OUT_FOR_PONG: usize = 64 * 1024;

/// Most context bytes a PING may carry that PONG echoes (RFC 37; libzmq truncates longer ones).
pub const MAX_PING_CONTEXT_LEN: usize = 16;

/// How far a frame's announced size is trusted before its bytes arrive: room for up to this
/// many bytes (or as many as are already buffered, if more) is reserved at once. This is the
/// most memory a peer can make us reserve beyond twice what it actually sent; reserved but
/// unwritten memory is address space, not resident memory.
pub const EAGER_LEN: usize = 1024 * 1024;

/// Bytes of peer text (an ERROR reason, a command name, a socket type) kept for error messages.
pub const MAX_PEER_TEXT_LEN: usize = 32;

/// The largest routing id (ZMQ_ROUTING_ID; the `Identity` property), as libzmq allows.
pub const MAX_ROUTING_ID_LEN: usize = 255;

/// The largest HEARTBEAT_TTL: PING carries it in deciseconds in 16 bits (libzmq refuses larger
/// values with EINVAL).
pub const MAX_HEARTBEAT_TTL_MS: u64 = u16::MAX as u64 * 100 + 99;
