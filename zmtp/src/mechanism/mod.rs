//! Security mechanisms. Only NULL (RFC 23/37) is implemented; the greeting of a peer naming
//! any other mechanism is rejected with [`crate::ProtocolError::MechanismMismatch`].

pub mod null;
