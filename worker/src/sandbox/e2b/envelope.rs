//! The Connect protocol's envelope: how one message of a streaming RPC is
//! framed on the wire.
//!
//! Each message is one flag byte, a 4-byte big-endian length and that many
//! bytes of payload (NOTES §3a). Flag `0x02` marks the end-of-stream
//! message, which carries the RPC's outcome; `0x01` marks a compressed
//! payload, which Hero never asks for and so never accepts.

use bytes::{Buf, Bytes, BytesMut};
use thiserror::Error;

/// Flag bit of a compressed message.
pub const FLAG_COMPRESSED: u8 = 0x01;
/// Flag bit of the end-of-stream message.
pub const FLAG_END_STREAM: u8 = 0x02;

const HEADER_LEN: usize = 5;

/// The largest message accepted. envd sends output in chunks of at most
/// 32 KiB, base64 encoded inside JSON, so this is generous; it stops a
/// corrupt length from making us buffer without bound.
pub const MAX_MESSAGE_LEN: usize = 16 * 1024 * 1024;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum EnvelopeError {
    #[error("compressed message received, but compression was not negotiated")]
    Compressed,
    #[error("message of {0} bytes exceeds the limit of {MAX_MESSAGE_LEN}")]
    TooLarge(usize),
    #[error("stream ended inside a message ({0} bytes left over)")]
    Truncated(usize),
}

/// One decoded frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A response message.
    Message(Bytes),
    /// The end-of-stream message: JSON, possibly with an error.
    End(Bytes),
}

/// Frames `payload` as one message with the given flags.
pub fn encode(flags: u8, payload: &[u8]) -> Result<Bytes, EnvelopeError> {
    let len = u32::try_from(payload.len())
        .ok()
        .filter(|_| payload.len() <= MAX_MESSAGE_LEN)
        .ok_or(EnvelopeError::TooLarge(payload.len()))?;

    let mut framed = BytesMut::with_capacity(HEADER_LEN + payload.len());
    framed.extend_from_slice(&[flags]);
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(payload);
    Ok(framed.freeze())
}

/// Splits a byte stream into frames, whatever the chunk boundaries: a
/// frame may arrive split over several chunks, or several in one chunk.
#[derive(Debug, Default)]
pub struct Decoder {
    buffer: BytesMut,
}

impl Decoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the next chunk read from the stream.
    pub fn push(&mut self, chunk: &[u8]) {
        self.buffer.extend_from_slice(chunk);
    }

    /// The next complete frame, or `None` until more bytes arrive.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, EnvelopeError> {
        if self.buffer.len() < HEADER_LEN {
            return Ok(None);
        }

        let flags = self.buffer[0];
        let len_bytes = [
            self.buffer[1],
            self.buffer[2],
            self.buffer[3],
            self.buffer[4],
        ];
        let len = usize::try_from(u32::from_be_bytes(len_bytes)).unwrap_or(usize::MAX);
        if len > MAX_MESSAGE_LEN {
            return Err(EnvelopeError::TooLarge(len));
        }
        if flags & FLAG_COMPRESSED != 0 {
            return Err(EnvelopeError::Compressed);
        }
        if self.buffer.len() < HEADER_LEN + len {
            return Ok(None);
        }

        self.buffer.advance(HEADER_LEN);
        let payload = self.buffer.split_to(len).freeze();
        if flags & FLAG_END_STREAM != 0 {
            Ok(Some(Frame::End(payload)))
        } else {
            Ok(Some(Frame::Message(payload)))
        }
    }

    /// Checks, once the stream has ended, that no partial frame is left.
    pub fn finish(&self) -> Result<(), EnvelopeError> {
        if self.buffer.is_empty() {
            Ok(())
        } else {
            Err(EnvelopeError::Truncated(self.buffer.len()))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn decode_all(decoder: &mut Decoder) -> Vec<Frame> {
        let mut frames = Vec::new();
        while let Some(frame) = decoder.next_frame().unwrap() {
            frames.push(frame);
        }
        frames
    }

    #[test]
    fn an_encoded_message_has_flag_length_and_payload() {
        let framed = encode(0, b"{}").unwrap();

        assert_eq!(&framed[..], &[0, 0, 0, 0, 2, b'{', b'}']);
    }

    #[test]
    fn a_message_split_across_chunks_is_decoded_once_complete() {
        let framed = encode(0, b"{\"event\":{}}").unwrap();
        let mut decoder = Decoder::new();

        decoder.push(&framed[..3]);
        assert_eq!(decoder.next_frame().unwrap(), None);
        decoder.push(&framed[3..9]);
        assert_eq!(decoder.next_frame().unwrap(), None);
        decoder.push(&framed[9..]);

        assert_eq!(
            decoder.next_frame().unwrap(),
            Some(Frame::Message(Bytes::from_static(b"{\"event\":{}}")))
        );
        decoder.finish().unwrap();
    }

    #[test]
    fn several_frames_in_one_chunk_are_all_decoded_in_order() {
        let mut chunk = Vec::new();
        chunk.extend_from_slice(&encode(0, b"1").unwrap());
        chunk.extend_from_slice(&encode(0, b"").unwrap());
        chunk.extend_from_slice(&encode(FLAG_END_STREAM, b"{}").unwrap());
        let mut decoder = Decoder::new();

        decoder.push(&chunk);

        assert_eq!(
            decode_all(&mut decoder),
            vec![
                Frame::Message(Bytes::from_static(b"1")),
                Frame::Message(Bytes::new()),
                Frame::End(Bytes::from_static(b"{}")),
            ]
        );
    }

    #[test]
    fn a_stream_fed_one_byte_at_a_time_decodes_the_same() {
        let mut wire = Vec::new();
        wire.extend_from_slice(&encode(0, b"hello").unwrap());
        wire.extend_from_slice(&encode(FLAG_END_STREAM, b"{}").unwrap());
        let mut decoder = Decoder::new();

        let mut frames = Vec::new();
        for byte in wire {
            decoder.push(&[byte]);
            frames.extend(decode_all(&mut decoder));
        }

        assert_eq!(
            frames,
            vec![
                Frame::Message(Bytes::from_static(b"hello")),
                Frame::End(Bytes::from_static(b"{}")),
            ]
        );
    }

    #[test]
    fn a_compressed_message_is_rejected() {
        let mut decoder = Decoder::new();

        decoder.push(&encode(FLAG_COMPRESSED, b"x").unwrap());

        assert_eq!(decoder.next_frame(), Err(EnvelopeError::Compressed));
    }

    #[test]
    fn an_absurd_length_is_rejected_before_buffering_it() {
        let mut decoder = Decoder::new();

        decoder.push(&[0, 0xff, 0xff, 0xff, 0xff]);

        assert!(matches!(
            decoder.next_frame(),
            Err(EnvelopeError::TooLarge(_))
        ));
    }

    #[test]
    fn a_stream_cut_inside_a_frame_is_reported_as_truncated() {
        let framed = encode(0, b"partial").unwrap();
        let mut decoder = Decoder::new();

        decoder.push(&framed[..6]);

        assert_eq!(decoder.next_frame().unwrap(), None);
        assert_eq!(decoder.finish(), Err(EnvelopeError::Truncated(6)));
    }
}
