//! The mbox reader of `helpdesk import mbox`: splits an mbox (mboxrd or mboxo) into messages as
//! a stream, one line at a time, keeping at most a limit of each message.

use std::io::{self, BufRead};

/// One message of an mbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MboxMessage {
    /// The message as it was before it was stored in the mbox: without its `From ` line and the
    /// blank line that ends it, `>From ` lines unescaped. Only the header (at most the limit)
    /// when the message is larger than the limit.
    pub bytes: Vec<u8>,
    /// The message's full size when it is larger than the limit.
    pub oversize: Option<u64>,
}

/// Splits an mbox (mboxrd, or the older mboxo) into messages, reading one line at a time.
///
/// A message starts at a line beginning with `From ` at the start of the file or after a blank
/// line; a `From ` line inside a paragraph is text (a careless writer's unescaped line). One
/// `>` is removed from lines of the form `>…>From ` (mboxrd; for mboxo, which escaped only
/// `From `, this restores those lines too). LF and CRLF files both work, and the last message
/// may lack its final newline.
#[derive(Debug)]
pub struct Mbox<R> {
    reader: R,
    /// Bytes kept of one message at most; the rest is counted, not kept.
    limit: u64,
    /// Bytes consumed from the reader.
    position: u64,
    state: State,
    line: Vec<u8>,
}

/// Where an [`Mbox`] stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the first separator.
    Start,
    /// A separator was read: a message follows.
    Message,
    /// At the end of the file.
    Done,
}

impl<R: BufRead> Mbox<R> {
    /// Reads messages from `reader`, keeping at most `limit` bytes of each.
    pub fn new(reader: R, limit: u64) -> Mbox<R> {
        Mbox {
            reader,
            limit,
            position: 0,
            state: State::Start,
            line: Vec::with_capacity(256),
        }
    }

    /// Bytes consumed so far, for a progress bar.
    pub fn position(&self) -> u64 {
        self.position
    }

    fn read_line(&mut self) -> io::Result<bool> {
        self.line.clear();
        let n = self.reader.read_until(b'\n', &mut self.line)?;
        self.position += n as u64;
        Ok(n > 0)
    }

    /// The next message, or `None` at the end.
    ///
    /// # Errors
    /// Reading failed, or the file does not start with a `From ` line (it is no mbox).
    pub fn next_message(&mut self) -> io::Result<Option<MboxMessage>> {
        while self.state == State::Start {
            // Blank lines before the first separator are tolerated; anything else is no mbox.
            if !self.read_line()? {
                self.state = State::Done;
            } else if self.line.starts_with(b"From ") {
                self.state = State::Message;
            } else if !is_blank(&self.line) {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "not an mbox file: it does not start with a \"From \" line",
                ));
            }
        }
        if self.state == State::Done {
            return Ok(None);
        }
        let mut bytes = Vec::new();
        let mut size = 0u64;
        // The length of the last line read when it was blank and kept: mbox writers end each
        // message with a blank line (the last one too), which is not part of the message.
        let mut blank_tail: Option<(usize, bool)> = None;
        loop {
            if !self.read_line()? {
                self.state = State::Done;
                break;
            }
            if blank_tail.is_some() && self.line.starts_with(b"From ") {
                break;
            }
            let blank = is_blank(&self.line);
            let line = unescape(&self.line);
            size += line.len() as u64;
            let keep = (bytes.len() as u64) < self.limit;
            if keep {
                bytes.extend_from_slice(line);
            }
            blank_tail = blank.then_some((line.len(), keep));
        }
        if let Some((n, kept)) = blank_tail {
            size -= n as u64;
            if kept {
                bytes.truncate(bytes.len() - n);
            }
        }
        let oversize = (size > self.limit).then(|| {
            bytes.truncate(header_end(&bytes));
            size
        });
        Ok(Some(MboxMessage { bytes, oversize }))
    }
}

/// Whether the line is empty but for its line ending.
fn is_blank(line: &[u8]) -> bool {
    line == b"\n" || line == b"\r\n"
}

/// The line with one `>` removed when it reads `>From ` after any number of `>`.
fn unescape(line: &[u8]) -> &[u8] {
    let quotes = line.iter().take_while(|&&b| b == b'>').count();
    if quotes > 0 && line[quotes..].starts_with(b"From ") {
        &line[1..]
    } else {
        line
    }
}

/// Where the header ends (after its blank line), or the whole length when there is none.
fn header_end(bytes: &[u8]) -> usize {
    let lf = bytes.windows(2).position(|w| w == b"\n\n").map(|i| i + 2);
    let crlf = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4);
    match (lf, crlf) {
        (Some(a), Some(b)) => a.min(b),
        (a, b) => a.or(b).unwrap_or(bytes.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(mbox: &[u8]) -> Vec<Vec<u8>> {
        split_with_limit(mbox, u64::MAX)
            .into_iter()
            .map(|m| m.bytes)
            .collect()
    }

    fn split_with_limit(mbox: &[u8], limit: u64) -> Vec<MboxMessage> {
        let mut reader = Mbox::new(mbox, limit);
        let mut out = Vec::new();
        while let Some(m) = reader.next_message().unwrap() {
            out.push(m);
        }
        assert_eq!(reader.position(), mbox.len() as u64);
        out
    }

    #[test]
    fn messages_are_split_at_from_lines_after_a_blank_line() {
        let mbox = b"From a@example.test Mon Jan  5 10:00:00 2026\n\
            Subject: one\n\nbody one\n\n\
            From b@example.test Mon Jan  5 11:00:00 2026\n\
            Subject: two\n\nbody two\n\n";
        assert_eq!(
            split(mbox),
            [
                b"Subject: one\n\nbody one\n".to_vec(),
                b"Subject: two\n\nbody two\n".to_vec()
            ]
        );
    }

    #[test]
    fn a_from_line_inside_a_paragraph_is_text() {
        let mbox = b"From a@example.test Mon Jan  5 10:00:00 2026\n\
            Subject: one\n\nI wrote this\nFrom the office yesterday.\n\n";
        assert_eq!(
            split(mbox),
            [b"Subject: one\n\nI wrote this\nFrom the office yesterday.\n".to_vec()]
        );
    }

    #[test]
    fn mboxrd_escapes_lose_one_quote() {
        let mbox = b"From a@example.test Mon Jan  5 10:00:00 2026\n\
            Subject: one\n\n>From here on\n>>From quoted\n> From is not escaped\n>Fromage\n\n";
        assert_eq!(
            split(mbox),
            [
                b"Subject: one\n\nFrom here on\n>From quoted\n> From is not escaped\n>Fromage\n"
                    .to_vec()
            ]
        );
    }

    #[test]
    fn crlf_files_split_and_keep_their_line_endings() {
        let mbox = b"From a@example.test Mon Jan  5 10:00:00 2026\r\n\
            Subject: one\r\n\r\nbody\r\n>From x\r\n\r\n\
            From b@example.test Mon Jan  5 11:00:00 2026\r\n\
            Subject: two\r\n\r\nbody\r\n\r\n";
        assert_eq!(
            split(mbox),
            [
                b"Subject: one\r\n\r\nbody\r\nFrom x\r\n".to_vec(),
                b"Subject: two\r\n\r\nbody\r\n".to_vec()
            ]
        );
    }

    #[test]
    fn the_last_message_may_lack_its_final_newline() {
        let mbox = b"From a@example.test Mon Jan  5 10:00:00 2026\n\
            Subject: one\n\nbody one\n\n\
            From b@example.test Mon Jan  5 11:00:00 2026\n\
            Subject: two\n\nlast line";
        assert_eq!(
            split(mbox),
            [
                b"Subject: one\n\nbody one\n".to_vec(),
                b"Subject: two\n\nlast line".to_vec()
            ]
        );
        // Without the separating blank line at the end, the message ends with its own newline.
        let mbox = b"From a@example.test Mon Jan  5 10:00:00 2026\nSubject: one\n\nbody\n";
        assert_eq!(split(mbox), [b"Subject: one\n\nbody\n".to_vec()]);
    }

    #[test]
    fn empty_files_hold_no_message_and_other_files_are_no_mbox() {
        assert!(split(b"").is_empty());
        assert!(split(b"\n\n").is_empty());
        let mut reader = Mbox::new(&b"Subject: hello\n\nbody\n"[..], u64::MAX);
        let err = reader.next_message().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("not an mbox file"), "{err}");
    }

    #[test]
    fn a_message_above_the_limit_keeps_only_its_header_and_its_size() {
        let body = "x".repeat(100);
        let mbox = format!(
            "From a@example.test Mon Jan  5 10:00:00 2026\nSubject: big\n\n{body}\n{body}\n\n\
             From b@example.test Mon Jan  5 11:00:00 2026\nSubject: small\n\nok\n"
        );
        let messages = split_with_limit(mbox.as_bytes(), 64);
        assert_eq!(messages.len(), 2);
        assert_eq!(messages[0].bytes, b"Subject: big\n\n");
        assert_eq!(messages[0].oversize, Some(14 + 202));
        assert_eq!(messages[1].bytes, b"Subject: small\n\nok\n");
        assert_eq!(messages[1].oversize, None);
    }
}
