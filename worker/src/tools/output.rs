//! Bounded capture of a command's output: the first and last bytes are
//! kept, the middle is counted and replaced by a marker that says how much
//! was cut. Memory stays bounded however much a command prints.

use std::collections::VecDeque;

#[derive(Debug)]
pub struct HeadTail {
    head: Vec<u8>,
    tail: VecDeque<u8>,
    head_limit: usize,
    tail_limit: usize,
    total: u64,
}

impl HeadTail {
    /// Keeps at most `limit` bytes: half from the start, half from the end.
    pub fn new(limit: usize) -> Self {
        let head_limit = limit / 2;
        Self {
            head: Vec::with_capacity(head_limit.min(8192)),
            tail: VecDeque::new(),
            head_limit,
            tail_limit: limit - head_limit,
            total: 0,
        }
    }

    pub fn push(&mut self, mut bytes: &[u8]) {
        self.total += u64::try_from(bytes.len()).unwrap_or(u64::MAX);

        let room = self.head_limit - self.head.len();
        if room > 0 {
            let taken = room.min(bytes.len());
            self.head.extend_from_slice(&bytes[..taken]);
            bytes = &bytes[taken..];
        }
        if bytes.len() >= self.tail_limit {
            self.tail.clear();
            self.tail.extend(&bytes[bytes.len() - self.tail_limit..]);
            return;
        }
        let overflow = (self.tail.len() + bytes.len()).saturating_sub(self.tail_limit);
        self.tail.drain(..overflow);
        self.tail.extend(bytes);
    }

    /// The kept text (invalid UTF-8 replaced) and how many bytes were cut.
    pub fn finish(self) -> (String, u64) {
        let kept = u64::try_from(self.head.len() + self.tail.len()).unwrap_or(u64::MAX);
        let cut = self.total - kept;
        let mut text = String::from_utf8_lossy(&self.head).into_owned();
        if cut > 0 {
            text.push_str(&format!("\n[... {cut} bytes truncated ...]\n"));
        }
        let tail: Vec<u8> = self.tail.into_iter().collect();
        text.push_str(&String::from_utf8_lossy(&tail));
        (text, cut)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_output_is_kept_whole() {
        let mut capture = HeadTail::new(100);
        capture.push(b"hello ");
        capture.push(b"world");

        assert_eq!(capture.finish(), ("hello world".to_owned(), 0));
    }

    #[test]
    fn long_output_keeps_head_and_tail_and_says_how_much_was_cut() {
        let mut capture = HeadTail::new(10);
        for chunk in [&b"abcdefgh"[..], b"ijklmnop", b"qrstuvwxyz"] {
            capture.push(chunk);
        }

        let (text, cut) = capture.finish();

        assert_eq!(cut, 16);
        assert_eq!(text, "abcde\n[... 16 bytes truncated ...]\nvwxyz");
    }

    #[test]
    fn one_huge_chunk_is_cut_the_same_way() {
        let mut capture = HeadTail::new(4);
        capture.push(&[b'x'; 1000]);

        let (text, cut) = capture.finish();

        assert_eq!(cut, 996);
        assert!(text.starts_with("xx\n[... 996"));
        assert!(text.ends_with("]\nxx"));
    }
}
