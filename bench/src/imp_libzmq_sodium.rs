//! libzmq with libsodium, for the curve cell. The bench's own libzmq (the `zmq` crate's
//! vendored 4.3.4) is built without libsodium and so has no CURVE; this role loads the libzmq
//! 4.3.5 that pyzmq's wheel ships, built with libsodium (the library the interop tests run
//! against), with `dlopen`, and drives it through its C API as `imp_libzmq` drives the `zmq`
//! crate: blocking calls, one context with its default single I/O thread, default options,
//! DEALER -> ROUTER.
//!
//! The library is `$ZBENCH_LIBZMQ` if set, else the first `libzmq*.so*` under the repo's
//! `.venv/lib/python3*/site-packages/pyzmq.libs/` (made by `scripts/test.sh`).

use std::ffi::{c_char, c_int, c_void, CString};
use std::time::Instant;

use crate::common::*;

const ZMQ_DEALER: c_int = 5;
const ZMQ_ROUTER: c_int = 6;
const ZMQ_SNDMORE: c_int = 2;
const ZMQ_LAST_ENDPOINT: c_int = 32;
const ZMQ_CURVE_SERVER: c_int = 47;
const ZMQ_CURVE_PUBLICKEY: c_int = 48;
const ZMQ_CURVE_SECRETKEY: c_int = 49;
const ZMQ_CURVE_SERVERKEY: c_int = 50;

/// `zmq_msg_t`: 64 opaque bytes, pointer-aligned.
#[repr(C, align(8))]
struct ZmqMsg([u8; 64]);

type Sock = *mut c_void;

/// The C functions used, looked up once.
struct Lib {
    ctx_new: unsafe extern "C" fn() -> *mut c_void,
    socket: unsafe extern "C" fn(*mut c_void, c_int) -> Sock,
    setsockopt: unsafe extern "C" fn(Sock, c_int, *const c_void, usize) -> c_int,
    getsockopt: unsafe extern "C" fn(Sock, c_int, *mut c_void, *mut usize) -> c_int,
    bind: unsafe extern "C" fn(Sock, *const c_char) -> c_int,
    connect: unsafe extern "C" fn(Sock, *const c_char) -> c_int,
    send: unsafe extern "C" fn(Sock, *const c_void, usize, c_int) -> c_int,
    msg_init: unsafe extern "C" fn(*mut ZmqMsg) -> c_int,
    msg_recv: unsafe extern "C" fn(*mut ZmqMsg, Sock, c_int) -> c_int,
    msg_send: unsafe extern "C" fn(*mut ZmqMsg, Sock, c_int) -> c_int,
    msg_size: unsafe extern "C" fn(*const ZmqMsg) -> usize,
    msg_close: unsafe extern "C" fn(*mut ZmqMsg) -> c_int,
    close: unsafe extern "C" fn(Sock) -> c_int,
    ctx_term: unsafe extern "C" fn(*mut c_void) -> c_int,
}

/// The library's path: see the module docs.
pub fn library_path() -> Option<std::path::PathBuf> {
    if let Ok(p) = std::env::var("ZBENCH_LIBZMQ") {
        return Some(p.into());
    }
    let venv = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/lib");
    for py in std::fs::read_dir(venv).ok()?.flatten() {
        let libs = py.path().join("site-packages/pyzmq.libs");
        for f in std::fs::read_dir(libs).into_iter().flatten().flatten() {
            let name = f.file_name().to_string_lossy().to_string();
            if name.starts_with("libzmq") && name.contains(".so") {
                return Some(f.path());
            }
        }
    }
    None
}

fn load() -> Lib {
    let path = library_path().expect("no libzmq with libsodium: set ZBENCH_LIBZMQ");
    let c = CString::new(path.to_string_lossy().as_bytes()).unwrap();
    // SAFETY: dlopen with a valid C string; the handle is checked and never closed (the
    // process ends with the role).
    let h = unsafe { libc::dlopen(c.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
    assert!(!h.is_null(), "dlopen {} failed", path.display());
    macro_rules! sym {
        ($name:literal) => {{
            let n = CString::new($name).unwrap();
            // SAFETY: the symbol is looked up by name in the libzmq just loaded and checked
            // for null; the field it fills has the signature zmq.h declares for it, and a
            // function pointer has the size of a data pointer on the platforms libzmq runs on.
            unsafe {
                let p = libc::dlsym(h, n.as_ptr());
                assert!(!p.is_null(), "{} not found", $name);
                std::mem::transmute_copy(&p)
            }
        }};
    }
    Lib {
        ctx_new: sym!("zmq_ctx_new"),
        socket: sym!("zmq_socket"),
        setsockopt: sym!("zmq_setsockopt"),
        getsockopt: sym!("zmq_getsockopt"),
        bind: sym!("zmq_bind"),
        connect: sym!("zmq_connect"),
        send: sym!("zmq_send"),
        msg_init: sym!("zmq_msg_init"),
        msg_recv: sym!("zmq_msg_recv"),
        msg_send: sym!("zmq_msg_send"),
        msg_size: sym!("zmq_msg_size"),
        msg_close: sym!("zmq_msg_close"),
        close: sym!("zmq_close"),
        ctx_term: sym!("zmq_ctx_term"),
    }
}

/// A context and one socket of type `t`, CURVE server (ROUTER) or client (DEALER) when the
/// curve cell's keys are set.
struct Zmq {
    lib: Lib,
    ctx: *mut c_void,
    s: Sock,
}

impl Zmq {
    fn new(t: c_int) -> Zmq {
        let lib = load();
        // SAFETY: plain libzmq calls on the context and socket they return, checked for null.
        let (ctx, s) = unsafe {
            let ctx = (lib.ctx_new)();
            assert!(!ctx.is_null());
            let s = (lib.socket)(ctx, t);
            assert!(!s.is_null());
            (ctx, s)
        };
        let z = Zmq { lib, ctx, s };
        if let Some(k) = curve_keys() {
            if t == ZMQ_ROUTER {
                z.opt(ZMQ_CURVE_SERVER, &1i32.to_ne_bytes());
                z.opt(ZMQ_CURVE_SECRETKEY, &k.server_secret);
            } else {
                z.opt(ZMQ_CURVE_SERVERKEY, &k.server_public);
                z.opt(ZMQ_CURVE_PUBLICKEY, &k.client_public);
                z.opt(ZMQ_CURVE_SECRETKEY, &k.client_secret);
            }
        }
        z
    }

    fn opt(&self, name: c_int, v: &[u8]) {
        // SAFETY: `v` is valid for its length for the duration of the call.
        let rc = unsafe { (self.lib.setsockopt)(self.s, name, v.as_ptr().cast(), v.len()) };
        assert_eq!(rc, 0, "zmq_setsockopt {name}");
    }

    fn bind(&self, ep: &str) -> String {
        let c = CString::new(ep).unwrap();
        let mut buf = [0u8; 256];
        let mut len = buf.len();
        // SAFETY: a C string in, a buffer of `len` bytes out.
        unsafe {
            assert_eq!((self.lib.bind)(self.s, c.as_ptr()), 0, "bind {ep}");
            assert_eq!(
                (self.lib.getsockopt)(self.s, ZMQ_LAST_ENDPOINT, buf.as_mut_ptr().cast(), &mut len),
                0
            );
        }
        String::from_utf8_lossy(&buf[..len.saturating_sub(1)]).to_string()
    }

    fn connect(&self, ep: &str) {
        let c = CString::new(ep).unwrap();
        // SAFETY: a C string in.
        assert_eq!(unsafe { (self.lib.connect)(self.s, c.as_ptr()) }, 0);
    }

    /// Sends one frame (copied into a fresh message, as zmq_send does).
    fn send(&self, data: &[u8], more: bool) {
        let flags = if more { ZMQ_SNDMORE } else { 0 };
        // SAFETY: `data` is valid for its length during the call, which copies it.
        let rc = unsafe { (self.lib.send)(self.s, data.as_ptr().cast(), data.len(), flags) };
        assert!(rc >= 0, "zmq_send");
    }

    /// Receives one frame into `m` (initialised by `msg`), returning its size.
    fn recv(&self, m: &mut ZmqMsg) -> usize {
        // SAFETY: `m` was initialised by zmq_msg_init (or by a previous receive).
        unsafe {
            assert!((self.lib.msg_recv)(m, self.s, 0) >= 0, "zmq_msg_recv");
            (self.lib.msg_size)(m)
        }
    }

    /// Sends the received frame `m` on (zero-copy), leaving `m` empty.
    fn forward(&self, m: &mut ZmqMsg, more: bool) {
        let flags = if more { ZMQ_SNDMORE } else { 0 };
        // SAFETY: `m` holds a received message; zmq_msg_send takes it and leaves it empty.
        assert!(unsafe { (self.lib.msg_send)(m, self.s, flags) } >= 0);
    }

    fn msg(&self) -> ZmqMsg {
        let mut m = ZmqMsg([0; 64]);
        // SAFETY: initialises the 64 bytes as an empty message.
        unsafe { (self.lib.msg_init)(&mut m) };
        m
    }
}

impl Drop for Zmq {
    fn drop(&mut self) {
        // SAFETY: the socket and context are ours and closed once; zmq_ctx_term flushes what
        // is queued (LINGER default) as the `zmq` crate's drop does.
        unsafe {
            (self.lib.close)(self.s);
            (self.lib.ctx_term)(self.ctx);
        }
    }
}

pub fn thr_recv(size: usize, count: usize) {
    let z = Zmq::new(ZMQ_ROUTER);
    let ep = z.bind(&bind_ep());
    ready(&[&ep]);
    let (mut id, mut body) = (z.msg(), z.msg());
    let mut clock = ThrClock::new();
    for _ in 0..count {
        z.recv(&mut id);
        clock.tick();
        check_size(z.recv(&mut body), size);
    }
    clock.finish(count, size);
    // SAFETY: both were initialised and are closed once.
    unsafe {
        (z.lib.msg_close)(&mut id);
        (z.lib.msg_close)(&mut body);
    }
}

pub fn thr_send(ep: &str, size: usize, count: usize) {
    let z = Zmq::new(ZMQ_DEALER);
    z.connect(ep);
    let p = payload(size);
    for _ in 0..count {
        z.send(&p, false);
    }
    sender_done();
    drop(z);
}

pub fn echo() {
    let z = Zmq::new(ZMQ_ROUTER);
    let ep = z.bind(&bind_ep());
    ready(&[&ep]);
    let (mut id, mut body) = (z.msg(), z.msg());
    loop {
        z.recv(&mut id);
        z.recv(&mut body);
        z.forward(&mut id, true);
        z.forward(&mut body, false);
    }
}

pub fn lat_client(ep: &str, size: usize, warm: usize, count: usize) {
    let z = Zmq::new(ZMQ_DEALER);
    z.connect(ep);
    let p = payload(size);
    let mut m = z.msg();
    let mut samples = Vec::with_capacity(count);
    for i in 0..warm + count {
        let t0 = Instant::now();
        z.send(&p, false);
        let n = z.recv(&mut m);
        let dt = ns_since(t0);
        check_size(n, size);
        if i >= warm {
            samples.push(dt);
        }
    }
    result(&lat_summary(samples));
}
