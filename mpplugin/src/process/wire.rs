//! The bytes between the process host and one child: frames of a 4-byte
//! little-endian body length, one kind byte and the body. A message's body
//! is its postcard encoding, made once per send and written to every child
//! as it is. Only framing and the encodings of the frames live here: no
//! process, no socket, no plugin.

use std::borrow::Cow;
use std::io::{self, Read};

use serde::Serialize;

use super::error::EncodeError;

/// Bytes before a frame's body: the length, then the kind.
const HEADER: usize = 5;

/// Host to child, first frame: what to load (see [`hello`]).
pub(crate) const HELLO: u8 = 1;
/// Host to child: one message, its postcard encoding.
pub(crate) const MESSAGE: u8 = 2;
/// Host to child: no more messages; drop the plugin and report.
pub(crate) const END: u8 = 3;

/// Child to host: the plugin is constructed; the body is its name.
pub(crate) const READY: u8 = 11;
/// Child to host: the plugin could not be loaded; the body says why.
pub(crate) const REFUSED: u8 = 12;
/// Child to host: a handler returned `None`.
pub(crate) const HANDLED: u8 = 13;
/// Child to host: a handler returned `Some(status)`; the body is the status.
pub(crate) const DETACHED: u8 = 14;
/// Child to host: a handler panicked; the body is the panic message.
pub(crate) const PANICKED: u8 = 15;
/// Child to host: a message from the host did not decode; the body says why.
pub(crate) const UNDECODABLE: u8 = 16;
/// Child to host: the plugin is dropped; the body is
/// [`done`]'s encoding.
pub(crate) const DONE: u8 = 17;
/// Child to host: a handler ran past its deadline; the child ends itself.
pub(crate) const DEADLINE: u8 = 18;
/// Child to host: an answer through a `Reply`; the body is [`reply`]'s.
pub(crate) const REPLY: u8 = 19;
/// Child to host: the child's last clone of a `Reply` is gone; the body is
/// its id, 8 bytes little-endian.
pub(crate) const RELEASE: u8 = 20;

/// The largest body a child may send: past this its bytes are taken as
/// garbage, not as a reason to allocate.
pub(crate) const MAX_FROM_CHILD: u32 = 64 << 20;

/// Bytes of a [`REPLY`] body before the answer: the `Reply`'s id.
const REPLY_ID: usize = 8;

/// The largest answer's encoding a child may send through a `Reply`: what
/// fits beside the id in a body the host reads.
pub(crate) const MAX_ANSWER: usize = MAX_FROM_CHILD as usize - REPLY_ID;

/// The longest text a child sends in one frame (a panic message, a
/// refusal, its plugin's name, a drop's panic in [`done`]): room is left
/// for [`done`]'s encoding of its length. Longer text is cut by [`text`].
pub(crate) const MAX_TEXT: usize = MAX_FROM_CHILD as usize - 16;

/// What is put after text that [`text`] cut.
const CUT: &str = " [... cut by mpplugin: the text had";

/// `text` as a child sends it: as it is if at most [`MAX_TEXT`] bytes,
/// otherwise its start cut at a char boundary, with a marker saying so, so
/// that the host reads it (a frame over its limit would break the child)
/// and a text over 4 GiB is no frame the child cannot make.
pub(crate) fn text(text: &str) -> Cow<'_, str> {
    fit(text, MAX_TEXT)
}

/// [`text`] under any `limit`, in bytes.
fn fit(text: &str, limit: usize) -> Cow<'_, str> {
    if text.len() <= limit {
        return Cow::Borrowed(text);
    }
    let mut marker = format!("{CUT} {} bytes]", text.len());
    if marker.len() > limit {
        // No room for the marker (never under `MAX_TEXT`): the start alone.
        marker.clear();
    }
    let mut keep = limit - marker.len();
    while !text.is_char_boundary(keep) {
        keep -= 1;
    }
    Cow::Owned([&text[..keep], &marker].concat())
}

/// A frame of `kind` around `body`.
pub(crate) fn frame(kind: u8, body: &[u8]) -> Vec<u8> {
    let length = u32::try_from(body.len()).expect("mpplugin: a control frame over 4 GiB");
    let mut frame = Vec::with_capacity(HEADER + body.len());
    frame.extend_from_slice(&length.to_le_bytes());
    frame.push(kind);
    frame.extend_from_slice(body);
    frame
}

/// A [`MESSAGE`] frame of `value`, encoded once.
pub(crate) fn message_frame<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, EncodeError> {
    let mut frame =
        postcard::to_extend(value, vec![0, 0, 0, 0, MESSAGE]).map_err(EncodeError::Postcard)?;
    let length = frame.len() - HEADER;
    let length = u32::try_from(length).map_err(|_| EncodeError::TooLarge(length))?;
    frame[..4].copy_from_slice(&length.to_le_bytes());
    Ok(frame)
}

/// Reads one frame: `None` at a clean end of the stream (between frames).
///
/// # Errors
/// The stream's errors; `UnexpectedEof` for a stream that ends inside a
/// frame; `InvalidData` for a body longer than `limit`.
pub(crate) fn read_frame(reader: &mut impl Read, limit: u32) -> io::Result<Option<(u8, Vec<u8>)>> {
    let mut header = [0; HEADER];
    let mut filled = 0;
    while filled < HEADER {
        match reader.read(&mut header[filled..]) {
            Ok(0) if filled == 0 => return Ok(None),
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(read) => filled += read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    let length = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
    if length > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("a frame of {length} bytes, over the limit of {limit}"),
        ));
    }
    let mut body = vec![0; length as usize];
    reader.read_exact(&mut body)?;
    Ok(Some((header[4], body)))
}

/// A [`REPLY`] frame: the `Reply`'s id (8 bytes little-endian), then the
/// answer's postcard encoding.
pub(crate) fn reply(id: u64, answer: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(REPLY_ID + answer.len());
    body.extend_from_slice(&id.to_le_bytes());
    body.extend_from_slice(answer);
    frame(REPLY, &body)
}

/// Reads [`reply`]'s body back: the id and the answer's encoding.
pub(crate) fn read_reply(body: &[u8]) -> Option<(u64, &[u8])> {
    let (id, answer) = body.split_first_chunk::<REPLY_ID>()?;
    Some((u64::from_le_bytes(*id), answer))
}

/// A [`RELEASE`] frame of `id`.
pub(crate) fn release(id: u64) -> Vec<u8> {
    frame(RELEASE, &id.to_le_bytes())
}

/// Reads a [`RELEASE`] body back.
pub(crate) fn read_release(body: &[u8]) -> Option<u64> {
    Some(u64::from_le_bytes(body.try_into().ok()?))
}

/// What the child needs to load its plugin, [`HELLO`]'s body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Hello {
    /// `type_name` of the host's message type.
    pub(crate) message_type: String,
    /// `type_name` of the constructor's argument, and its encoding.
    pub(crate) argument: Option<(String, Vec<u8>)>,
    /// The library's path, as the operating system's bytes.
    pub(crate) library: Vec<u8>,
    /// The plugin's type name, for a library that declares several.
    pub(crate) plugin: Option<String>,
    /// Longest a handler may run, in milliseconds.
    pub(crate) deadline_ms: Option<u64>,
    /// The child's address-space limit, in bytes.
    pub(crate) memory_limit: Option<u64>,
}

type HelloTuple = (
    String,
    Option<(String, Vec<u8>)>,
    Vec<u8>,
    Option<String>,
    Option<u64>,
    Option<u64>,
);

/// [`Hello`]'s encoding.
pub(crate) fn hello(hello: &Hello) -> Vec<u8> {
    let tuple: HelloTuple = (
        hello.message_type.clone(),
        hello.argument.clone(),
        hello.library.clone(),
        hello.plugin.clone(),
        hello.deadline_ms,
        hello.memory_limit,
    );
    postcard::to_allocvec(&tuple).expect("mpplugin: postcard encodes strings and bytes")
}

/// Reads [`hello`]'s encoding back.
pub(crate) fn read_hello(body: &[u8]) -> Result<Hello, postcard::Error> {
    let (message_type, argument, library, plugin, deadline_ms, memory_limit): HelloTuple =
        postcard::from_bytes(body)?;
    Ok(Hello {
        message_type,
        argument,
        library,
        plugin,
        deadline_ms,
        memory_limit,
    })
}

/// [`DONE`]'s body: the panic of the plugin's drop, if any.
pub(crate) fn done(drop_panic: Option<&str>) -> Vec<u8> {
    let drop_panic = drop_panic.map(text);
    postcard::to_allocvec(&drop_panic.as_deref()).expect("mpplugin: postcard encodes strings")
}

/// Reads [`done`]'s encoding back.
pub(crate) fn read_done(body: &[u8]) -> Result<Option<String>, postcard::Error> {
    postcard::from_bytes(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_frame_reads_back_as_its_encoding() {
        let frame = message_frame(&(7_u64, "seven")).unwrap();
        let (kind, body) = read_frame(&mut frame.as_slice(), u32::MAX)
            .unwrap()
            .unwrap();
        assert_eq!(kind, MESSAGE);
        let value: (u64, String) = postcard::from_bytes(&body).unwrap();
        assert_eq!(value, (7, "seven".to_owned()));
    }

    #[test]
    fn frames_end_cleanly_only_between_frames() {
        let mut stream = frame(HANDLED, b"");
        stream.extend(frame(DONE, &done(Some("boom"))));
        let mut reader = stream.as_slice();
        assert_eq!(
            read_frame(&mut reader, 64).unwrap(),
            Some((HANDLED, vec![]))
        );
        let (kind, body) = read_frame(&mut reader, 64).unwrap().unwrap();
        assert_eq!(
            (kind, read_done(&body).unwrap()),
            (DONE, Some("boom".to_owned()))
        );
        assert_eq!(read_frame(&mut reader, 64).unwrap(), None);

        let cut = &stream[..stream.len() - 1];
        let mut reader = &cut[5..];
        let error = read_frame(&mut reader, 64).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn a_frame_over_the_limit_is_refused_before_allocating() {
        let stream = [0xff, 0xff, 0xff, 0x7f, HANDLED];
        let error = read_frame(&mut stream.as_slice(), MAX_FROM_CHILD).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn a_reply_and_a_release_read_back() {
        let stream = [reply(7, b"answer"), release(7)].concat();
        let mut reader = stream.as_slice();
        let (kind, body) = read_frame(&mut reader, 64).unwrap().unwrap();
        assert_eq!(
            (kind, read_reply(&body)),
            (REPLY, Some((7, &b"answer"[..])))
        );
        let (kind, body) = read_frame(&mut reader, 64).unwrap().unwrap();
        assert_eq!((kind, read_release(&body)), (RELEASE, Some(7)));
        assert_eq!(read_reply(&[1, 2]), None);
        assert_eq!(read_release(&[1, 2, 3, 4, 5, 6, 7, 8, 9]), None);
    }

    #[test]
    fn the_largest_answer_is_the_largest_reply_the_host_reads() {
        // The largest fills the host's limit exactly, beside its id...
        assert_eq!(u32::try_from(REPLY_ID + MAX_ANSWER), Ok(MAX_FROM_CHILD));
        // ...and one byte more is refused (from the header alone: nothing
        // is allocated).
        let body = u32::try_from(REPLY_ID + MAX_ANSWER + 1).unwrap();
        let header = [&body.to_le_bytes()[..], &[REPLY]].concat();
        let refused = read_frame(&mut header.as_slice(), MAX_FROM_CHILD).unwrap_err();
        assert_eq!(refused.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn text_within_the_limit_is_sent_as_it_is() {
        assert!(matches!(fit("boom", 4), Cow::Borrowed("boom")));
        assert!(matches!(text("boom"), Cow::Borrowed("boom")));
    }

    #[test]
    fn text_over_the_limit_keeps_its_start_at_a_char_boundary_with_a_marker() {
        // 'é' is two bytes: a cut at an odd byte would split one.
        let panic = format!("start {}", "é".repeat(200));
        let limit = 101;
        let cut = fit(&panic, limit);
        assert!(cut.len() <= limit, "{} bytes", cut.len());
        assert!(cut.starts_with("start é"), "{cut}");
        assert!(
            cut.ends_with(&format!("{CUT} {} bytes]", panic.len())),
            "{cut}"
        );
        // As a child sends it, the host reads it under that limit.
        let limit = u32::try_from(limit).unwrap();
        let frame = frame(PANICKED, cut.as_bytes());
        let (kind, body) = read_frame(&mut frame.as_slice(), limit).unwrap().unwrap();
        assert_eq!(
            (kind, String::from_utf8(body).unwrap()),
            (PANICKED, cut.into_owned())
        );
    }

    #[test]
    // 64 MiB of text, written and scanned byte by byte, would keep Miri busy
    // for hours; the cut itself is checked under Miri at a small limit above.
    #[cfg_attr(miri, ignore)]
    fn a_drop_panic_over_the_host_limit_is_cut_to_a_report_the_host_reads() {
        // Just over the host's limit: 64 MiB, not what would overflow `u32`.
        let panic = "x".repeat(MAX_FROM_CHILD as usize + 1);
        let body = done(Some(&panic));
        assert!(body.len() <= MAX_FROM_CHILD as usize, "{}", body.len());
        let said = read_done(&body).unwrap().unwrap();
        assert!(said.len() <= MAX_TEXT && said.starts_with("xxx"));
        assert!(said.ends_with(&format!("{CUT} {} bytes]", panic.len())));
    }

    #[test]
    fn a_limit_below_the_marker_still_cuts_to_the_limit() {
        let cut = fit("ééééé", 3);
        assert_eq!(cut, "é");
    }

    #[test]
    fn hello_reads_back() {
        let sent = Hello {
            message_type: "u64".into(),
            argument: Some(("alloc::string::String".into(), vec![1, b'a'])),
            library: b"/tmp/libx.so".to_vec(),
            plugin: Some("Kinds".into()),
            deadline_ms: Some(250),
            memory_limit: None,
        };
        assert_eq!(read_hello(&hello(&sent)).unwrap(), sent);
    }
}
