//! Redaction of output that arrives in chunks.

use std::fmt;

use super::Redactor;

/// Redacts one output stream chunk by chunk, so a secret split across two
/// chunks is still hidden.
///
/// [`StreamRedactor::push`] returns what is safe to show now. It holds back
/// only bytes whose fate more input could change: a tail that is the start
/// of some secret or token prefix (at most the longest needle less one
/// byte), or an occurrence whose end is not yet known (a token or URL
/// authority still running at the end of the chunk, up to a few hundred
/// bytes). Ordinary output, which ends with none of these, passes at once.
/// [`StreamRedactor::finish`] flushes the rest. Whatever the chunking, the
/// outputs joined equal [`Redactor::redact`] of the whole stream.
pub struct StreamRedactor {
    redactor: Redactor,
    held: Vec<u8>,
}

impl StreamRedactor {
    pub(super) fn new(redactor: Redactor) -> Self {
        Self {
            redactor,
            held: Vec::new(),
        }
    }

    /// Takes the next chunk; returns the redacted bytes that can be shown.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.held.len() + chunk.len());

        if self.held.is_empty() {
            let (decided, _) = self.redactor.inner.scan(chunk, false, &mut out);
            self.held.extend_from_slice(&chunk[decided..]);
        } else {
            self.held.extend_from_slice(chunk);
            let (decided, _) = self.redactor.inner.scan(&self.held, false, &mut out);
            self.held.drain(..decided);
        }
        out
    }

    /// Ends the stream; returns the redacted bytes that were held back.
    pub fn finish(self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.held.len());
        self.redactor.inner.scan(&self.held, true, &mut out);
        out
    }
}

impl fmt::Debug for StreamRedactor {
    // The held bytes may be the start of a secret: show only their count.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamRedactor")
            .field("redactor", &self.redactor)
            .field("held_bytes", &self.held.len())
            .finish()
    }
}
