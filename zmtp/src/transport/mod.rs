//! Transports: TCP listeners and dialers, and the driver that runs one connection.

pub(crate) mod driver;
pub(crate) mod recv_bufs;
pub(crate) mod tcp;
