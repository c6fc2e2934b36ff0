//! The line format of `zmtp-cat`: one message per line, frames separated by a separator (a TAB
//! by default), binary frames as `0x` + hex.

use bytes::Bytes;
use zmtp::Message;

/// Reads one input line (without its newline) as a message: frames split at `sep`; a frame
/// written as `0x` followed by an even number of hex digits is those bytes, any other frame is
/// its text. An empty line is one empty frame. `sep` must not be empty.
pub fn parse_line(line: &[u8], sep: &[u8]) -> Message {
    Message::from_frames(split(line, sep).into_iter().map(parse_frame))
}

/// One frame as written on a line: `0x` + an even number of hex digits is those bytes, anything
/// else is the text as it is.
pub fn parse_frame(text: &[u8]) -> Bytes {
    match text.strip_prefix(b"0x").and_then(unhex) {
        Some(bytes) => Bytes::from(bytes),
        None => Bytes::copy_from_slice(text),
    }
}

/// Writes a message as one output line (without the newline): frames joined by `sep`; a
/// frame that is not UTF-8, or holds a control character or `sep`, as `0x` + lowercase hex.
pub fn format_message(msg: &Message, sep: &str) -> String {
    let frames: Vec<String> = msg.frames().iter().map(|f| format_frame(f, sep)).collect();
    frames.join(sep)
}

fn format_frame(frame: &[u8], sep: &str) -> String {
    match std::str::from_utf8(frame) {
        Ok(s) if !s.chars().any(char::is_control) && !s.contains(sep) => s.to_string(),
        _ => {
            let mut out = String::with_capacity(2 + frame.len() * 2);
            out.push_str("0x");
            for b in frame {
                out.push_str(&format!("{b:02x}"));
            }
            out
        }
    }
}

/// The parts of `line` between occurrences of `sep` (one part if there is none).
fn split<'a>(line: &'a [u8], sep: &[u8]) -> Vec<&'a [u8]> {
    let mut parts = Vec::new();
    let mut rest = line;
    while let Some(i) = rest.windows(sep.len()).position(|w| w == sep) {
        parts.push(&rest[..i]);
        rest = &rest[i + sep.len()..];
    }
    parts.push(rest);
    parts
}

/// Hex digits (an even number of them) as bytes; `None` if they are not.
fn unhex(digits: &[u8]) -> Option<Vec<u8>> {
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    let nibble = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    digits
        .chunks(2)
        .map(|p| Some(nibble(p[0])? << 4 | nibble(p[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(m: &Message) -> Vec<&[u8]> {
        m.frames().iter().map(|f| &f[..]).collect()
    }

    #[test]
    fn lines_become_messages() {
        let m = parse_line(b"a\tb c\t\t0x00ff\t0x0\t0xzz\t0x", b"\t");
        assert_eq!(
            frames(&m),
            vec![&b"a"[..], b"b c", b"", b"\x00\xff", b"0x0", b"0xzz", b""]
        );
        assert_eq!(frames(&parse_line(b"", b"\t")), vec![&b""[..]]);
        assert_eq!(frames(&parse_line(b"x||y", b"||")), vec![&b"x"[..], b"y"]);
    }

    #[test]
    fn messages_become_lines() {
        let m = Message::from_frames([
            Bytes::from_static(b"text"),
            Bytes::new(),
            Bytes::from_static(b"\x00\x01"),
            Bytes::from_static(b"tab\there"),
            Bytes::from_static(b"\xff"),
            Bytes::from_static("é".as_bytes()),
        ]);
        assert_eq!(
            format_message(&m, "\t"),
            "text\t\t0x0001\t0x7461620968657265\t0xff\té"
        );
        // A frame holding the separator is written in hex.
        let m = Message::from_frames([Bytes::from_static(b"a,b"), Bytes::from_static(b"c")]);
        assert_eq!(format_message(&m, ","), "0x612c62,c");
        // What is printed reads back as the same message.
        let m = Message::from_frames([Bytes::from_static(b"\x02\x03"), Bytes::from_static(b"z")]);
        assert_eq!(parse_line(format_message(&m, "\t").as_bytes(), b"\t"), m);
    }
}
