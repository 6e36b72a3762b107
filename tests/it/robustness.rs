//! Hostile input: thousands of deterministic mutations of the fixture corpus (truncations, byte
//! flips, injected MIME syntax) go through parse and classify. None may panic, and each ends as
//! a message or a stated reason, which ingest turns into a case or a quarantine entry.

use std::path::Path;

use helpdesk::classify::Rules;
use helpdesk::parse::{parse, Limits, ParseError};

/// xorshift64*: deterministic, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const INSERTS: &[&[u8]] = &[
    b"\r\n\r\n",
    b"--",
    b"=?utf-8?B?",
    b"=?x-unknown?Q?=FF=FE?=",
    b"Content-Type: multipart/mixed; boundary=\"\"\r\n",
    b"Content-Transfer-Encoding: base64\r\n",
    b"\x00\xff\xfe",
    b"<html><table><tr><td>",
    b"filename*0*=utf-8''%FF%",
];

fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut m = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        match rng.below(4) {
            0 => m.truncate(rng.below(m.len() + 1)),
            1 if !m.is_empty() => {
                let i = rng.below(m.len());
                m[i] = rng.next() as u8;
            }
            2 => {
                let at = rng.below(m.len() + 1);
                let ins = INSERTS[rng.below(INSERTS.len())];
                m.splice(at..at, ins.iter().copied());
            }
            _ => {
                let at = rng.below(m.len() + 1);
                let end = (at + rng.below(64)).min(m.len());
                m.drain(at..end);
            }
        }
    }
    m
}

#[test]
fn mutated_mail_never_panics() {
    let rules = Rules::load(None).unwrap();
    let limits = Limits {
        max_message_size: 1 << 20,
        max_attachment_size: 1 << 16,
    };
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mail");
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut parsed, mut refused) = (0, 0);
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "eml") {
            continue;
        }
        let original = std::fs::read(&path).unwrap();
        for _ in 0..300 {
            let input = mutate(&mut rng, &original);
            match parse(&input, limits, "support@example.test") {
                Ok(m) => {
                    rules.classify(&m);
                    parsed += 1;
                }
                Err(ParseError::ParserPanicked) => {
                    panic!("mail-parser panicked on a mutation of {}", path.display())
                }
                Err(_) => refused += 1,
            }
        }
    }
    assert!(
        parsed > 1000 && refused > 10,
        "parsed {parsed}, refused {refused}"
    );
}
