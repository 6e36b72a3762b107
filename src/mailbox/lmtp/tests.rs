//! Tests for the LMTP module: pure parts first, then sessions over real
//! sockets driven by a raw client.

use super::*;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc::error::TryRecvError;
use tokio::task::JoinHandle;

// ---------------------------------------------------------------------------
// Command parsing
// ---------------------------------------------------------------------------

fn mail(from: &str, size: Option<u64>) -> Command {
    Command::Mail {
        from: from.to_string(),
        size,
    }
}

fn is_syntax(r: Result<Command, CommandError>, needle: &str) -> bool {
    matches!(r, Err(CommandError::Syntax(m)) if m.contains(needle))
}

fn is_unsupported(r: Result<Command, CommandError>, needle: &str) -> bool {
    matches!(r, Err(CommandError::Unsupported(m)) if m.contains(needle))
}

#[test]
fn command_words_are_case_insensitive() {
    let lhlo = Ok(Command::Lhlo("mx.example".into()));
    assert_eq!(parse_command("LHLO mx.example"), lhlo);
    assert_eq!(parse_command("lhlo mx.example"), lhlo);
    assert_eq!(parse_command("LhLo mx.example"), lhlo);
    assert_eq!(parse_command("mail from:<a@b>"), Ok(mail("a@b", None)));
    assert_eq!(parse_command("Mail From:<a@b>"), Ok(mail("a@b", None)));
    assert_eq!(
        parse_command("rcpt to:<c@d>"),
        Ok(Command::Rcpt { to: "c@d".into() })
    );
    assert_eq!(parse_command("data"), Ok(Command::Data));
    assert_eq!(parse_command("rset"), Ok(Command::Rset));
    assert_eq!(parse_command("noop"), Ok(Command::Noop));
    assert_eq!(parse_command("quit"), Ok(Command::Quit));
    assert_eq!(parse_command("vrfy someone"), Ok(Command::Vrfy));
}

#[test]
fn helo_and_ehlo_are_recognised_as_wrong_protocol() {
    assert_eq!(parse_command("HELO x"), Ok(Command::Helo));
    assert_eq!(parse_command("ehlo x"), Ok(Command::Helo));
}

#[test]
fn lhlo_needs_a_host() {
    assert!(is_syntax(parse_command("LHLO"), "host name"));
    assert!(is_syntax(parse_command("LHLO   "), "host name"));
}

#[test]
fn mail_from_null_sender() {
    assert_eq!(parse_command("MAIL FROM:<>"), Ok(mail("", None)));
    assert_eq!(parse_command("MAIL FROM:<> SIZE=5"), Ok(mail("", Some(5))));
}

#[test]
fn mail_tolerates_space_after_colon_and_trailing_space() {
    assert_eq!(parse_command("MAIL FROM: <a@b>  "), Ok(mail("a@b", None)));
}

#[test]
fn mail_parameters() {
    assert_eq!(
        parse_command("MAIL FROM:<a@b> SIZE=1234 BODY=8BITMIME"),
        Ok(mail("a@b", Some(1234)))
    );
    assert_eq!(
        parse_command("MAIL FROM:<a@b> body=7bit size=9"),
        Ok(mail("a@b", Some(9)))
    );
    // All digits but beyond u64: saturates so the size limit rejects it.
    assert_eq!(
        parse_command("MAIL FROM:<a@b> SIZE=99999999999999999999999"),
        Ok(mail("a@b", Some(u64::MAX)))
    );
}

#[test]
fn mail_parameter_errors() {
    assert!(is_syntax(
        parse_command("MAIL FROM:<a@b> SIZE=abc"),
        "not a number"
    ));
    assert!(is_syntax(
        parse_command("MAIL FROM:<a@b> SIZE=-1"),
        "not a number"
    ));
    assert!(is_syntax(
        parse_command("MAIL FROM:<a@b> SIZE="),
        "not a number"
    ));
    assert!(is_syntax(
        parse_command("MAIL FROM:<a@b> SIZE"),
        "needs a value"
    ));
    assert!(is_syntax(
        parse_command("MAIL FROM:<a@b> SIZE=1 SIZE=2"),
        "duplicate SIZE"
    ));
    assert!(is_unsupported(
        parse_command("MAIL FROM:<a@b> BODY=BINARYMIME"),
        "BODY=BINARYMIME"
    ));
    assert!(is_unsupported(
        parse_command("MAIL FROM:<a@b> SMTPUTF8"),
        "unknown MAIL parameter SMTPUTF8"
    ));
    assert!(is_unsupported(
        parse_command("MAIL FROM:<a@b> RET=FULL"),
        "unknown MAIL parameter RET"
    ));
}

#[test]
fn address_syntax_errors() {
    assert!(is_syntax(
        parse_command("MAIL FROM:<a b@c>"),
        "must not contain spaces"
    ));
    assert!(is_syntax(
        parse_command("RCPT TO:<\"a b\"@c>"),
        "must not contain spaces"
    ));
    assert!(is_syntax(parse_command("MAIL FROM:a@b"), "enclosed in <>"));
    assert!(is_syntax(parse_command("MAIL FROM:<a@b"), "missing >"));
    assert!(is_syntax(
        parse_command("MAIL FROM:<a@b>SIZE=1"),
        "space after"
    ));
    assert!(is_syntax(
        parse_command("MAIL TO:<a@b>"),
        "MAIL FROM:<address>"
    ));
    assert!(is_syntax(parse_command("MAIL"), "MAIL FROM:<address>"));
    assert!(is_syntax(
        parse_command("RCPT FROM:<a@b>"),
        "RCPT TO:<address>"
    ));
    assert!(is_syntax(parse_command("RCPT TO:<>"), "must not be empty"));
    assert!(is_syntax(
        parse_command("MAIL FROM:<a\u{1}b>"),
        "invalid characters"
    ));
}

#[test]
fn rcpt_parameters_are_unsupported() {
    assert!(is_unsupported(
        parse_command("RCPT TO:<a@b> NOTIFY=NEVER"),
        "NOTIFY=NEVER"
    ));
}

#[test]
fn source_route_is_dropped() {
    assert_eq!(
        parse_command("RCPT TO:<@relay.example,@other:user@example.org>"),
        Ok(Command::Rcpt {
            to: "user@example.org".into()
        })
    );
    assert_eq!(strip_source_route("user@x"), "user@x");
}

#[test]
fn argument_rules() {
    assert!(is_syntax(
        parse_command("DATA now"),
        "DATA takes no arguments"
    ));
    assert!(is_syntax(
        parse_command("RSET x"),
        "RSET takes no arguments"
    ));
    assert_eq!(parse_command("NOOP whatever"), Ok(Command::Noop));
    assert_eq!(parse_command("DATA "), Ok(Command::Data));
}

#[test]
fn unknown_and_empty_commands() {
    assert_eq!(
        parse_command("XYZZY plugh"),
        Err(CommandError::Unknown("XYZZY".into()))
    );
    assert_eq!(parse_command(""), Err(CommandError::Empty));
    assert_eq!(parse_command("   "), Err(CommandError::Empty));
    assert_eq!(
        parse_command("BAD\rWORD"),
        Err(CommandError::Unknown("BAD?WORD".into()))
    );
}

#[test]
fn parse_line_strips_line_ends_and_checks_length_and_utf8() {
    assert_eq!(parse_line(b"NOOP\r\n"), Ok(Command::Noop));
    assert_eq!(parse_line(b"NOOP\n"), Ok(Command::Noop));
    assert_eq!(parse_line(b"NOOP"), Ok(Command::Noop));
    assert_eq!(parse_line(b"NOOP \xff\xfe\r\n"), Err(CommandError::NotUtf8));

    let mut at_limit = b"NOOP ".to_vec();
    at_limit.resize(MAX_COMMAND_LINE, b'x');
    at_limit.extend_from_slice(b"\r\n");
    assert_eq!(parse_line(&at_limit), Ok(Command::Noop));

    let mut over = b"NOOP ".to_vec();
    over.resize(MAX_COMMAND_LINE + 1, b'x');
    over.push(b'\n');
    assert_eq!(parse_line(&over), Err(CommandError::TooLong));
}

#[test]
fn command_error_replies() {
    let text = |e: CommandError| {
        let mut out = Vec::new();
        e.reply().render(&mut out);
        String::from_utf8(out).expect("replies are UTF-8")
    };
    assert_eq!(text(CommandError::TooLong), "500 5.5.2 line too long\r\n");
    assert_eq!(
        text(CommandError::NotUtf8),
        "500 5.5.2 command is not valid UTF-8\r\n"
    );
    assert_eq!(
        text(CommandError::Unknown("FOO".into())),
        "500 5.5.2 unknown command FOO\r\n"
    );
    assert_eq!(text(syntax("bad")), "501 5.5.4 bad\r\n");
    assert_eq!(
        text(CommandError::Unsupported("nope".into())),
        "555 5.5.4 nope\r\n"
    );
}

// ---------------------------------------------------------------------------
// Replies
// ---------------------------------------------------------------------------

fn render(r: &Reply) -> String {
    let mut out = Vec::new();
    r.render(&mut out);
    String::from_utf8(out).expect("replies are UTF-8")
}

#[test]
fn reply_rendering() {
    assert_eq!(render(&Reply::new(250, "2.0.0 OK")), "250 2.0.0 OK\r\n");
    assert_eq!(
        render(&lhlo_reply("mx", 42)),
        "250-mx\r\n250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250 SIZE 42\r\n"
    );
    assert_eq!(
        render(&Reply {
            code: 250,
            lines: vec![]
        }),
        "250\r\n"
    );
    assert_eq!(render(&greeting("h")), "220 h LMTP helpdesk ready\r\n");
    assert_eq!(
        render(&too_big_reply(11, 10)),
        "552 5.3.4 message of 11 bytes exceeds the limit of 10 bytes\r\n"
    );
}

#[test]
fn reasons_are_single_line_and_capped() {
    assert_eq!(sanitize_reason("disk\r\nfull", "x"), "disk full");
    assert_eq!(sanitize_reason("  a \t b\r\n", "x"), "a b");
    assert_eq!(sanitize_reason("\r\n", "fallback"), "fallback");
    assert_eq!(sanitize_reason("", "fallback"), "fallback");
    let long = "é".repeat(500);
    let capped = sanitize_reason(&long, "x");
    assert_eq!(capped.chars().count(), MAX_REASON_CHARS);
    assert!(!capped.contains(['\r', '\n']));
}

#[test]
fn per_recipient_replies_follow_rcpt_order() {
    let rcpts = vec!["a@x".to_string(), "b@x".to_string()];
    let texts = |o: DataOutcome| {
        data_replies(&o, &rcpts)
            .iter()
            .map(render)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        texts(DataOutcome::Decided(Verdict::Accepted)),
        vec![
            "250 2.0.0 <a@x> delivered\r\n",
            "250 2.0.0 <b@x> delivered\r\n"
        ]
    );
    assert_eq!(
        texts(DataOutcome::Decided(Verdict::Transient("busy\r\n".into()))),
        vec!["451 4.3.0 busy\r\n", "451 4.3.0 busy\r\n"]
    );
    let no_answer = texts(DataOutcome::NoAnswer);
    assert_eq!(no_answer.len(), 2);
    assert!(no_answer.iter().all(|t| t.starts_with("451 4.3.0 ")));
    let big = texts(DataOutcome::TooBig { size: 5, limit: 4 });
    assert_eq!(big.len(), 2);
    assert!(big
        .iter()
        .all(|t| t.starts_with("552 5.3.4 message of 5 bytes")));
    assert!(data_replies(&DataOutcome::NoAnswer, &[]).is_empty());
}

// ---------------------------------------------------------------------------
// Session state machine
// ---------------------------------------------------------------------------

fn test_options() -> Options {
    Options {
        max_message_size: 1000,
        max_recipients: 2,
        max_sessions: 8,
        idle_timeout: Duration::from_secs(30),
        hostname: "lmtp.test".to_string(),
    }
}

fn code(action: &Action) -> u16 {
    match action {
        Action::Reply(r) | Action::Close(r) => r.code,
        Action::StartData => 354,
    }
}

fn greeted() -> Session {
    Session {
        greeted: true,
        ..Session::default()
    }
}

#[test]
fn commands_before_lhlo() {
    let o = test_options();
    let mut s = Session::default();
    assert_eq!(code(&s.step(Ok(mail("a@b", None)), &o)), 503);
    assert_eq!(code(&s.step(Ok(Command::Rcpt { to: "x".into() }), &o)), 503);
    assert_eq!(code(&s.step(Ok(Command::Data), &o)), 503);
    assert_eq!(code(&s.step(Ok(Command::Vrfy), &o)), 503);
    assert_eq!(code(&s.step(Ok(Command::Noop), &o)), 250);
    assert_eq!(code(&s.step(Ok(Command::Rset), &o)), 250);
    assert_eq!(code(&s.step(Ok(Command::Helo), &o)), 500);
    assert_eq!(code(&s.step(Ok(Command::Lhlo("c".into())), &o)), 250);
    assert_eq!(code(&s.step(Ok(mail("a@b", None)), &o)), 250);
    let mut s = Session::default();
    assert_eq!(code(&s.step(Ok(Command::Quit), &o)), 221);
}

#[test]
fn mail_rules() {
    let o = test_options();
    let mut s = greeted();
    assert_eq!(code(&s.step(Ok(mail("a@b", Some(1000))), &o)), 250);
    assert_eq!(s.sender.as_deref(), Some("a@b"));
    let nested = s.step(Ok(mail("c@d", None)), &o);
    assert_eq!(
        nested,
        Action::Reply(Reply::new(503, "5.5.1 nested MAIL command"))
    );
    assert_eq!(s.sender.as_deref(), Some("a@b"));

    let mut s = greeted();
    assert_eq!(
        s.step(Ok(mail("a@b", Some(1001))), &o),
        Action::Reply(too_big_reply(1001, 1000))
    );
    assert_eq!(s.sender, None);
}

#[test]
fn rcpt_rules() {
    let o = test_options();
    let mut s = greeted();
    assert_eq!(
        code(&s.step(Ok(Command::Rcpt { to: "x@y".into() }), &o)),
        503
    );
    s.step(Ok(mail("", None)), &o);
    for to in ["r1@y", "r2@y"] {
        assert_eq!(code(&s.step(Ok(Command::Rcpt { to: to.into() }), &o)), 250);
    }
    assert_eq!(
        s.step(Ok(Command::Rcpt { to: "r3@y".into() }), &o),
        Action::Reply(Reply::new(452, "4.5.3 too many recipients"))
    );
    assert_eq!(s.recipients, vec!["r1@y".to_string(), "r2@y".to_string()]);
}

#[test]
fn data_rules_and_reset() {
    let o = test_options();
    let mut s = greeted();
    assert_eq!(code(&s.step(Ok(Command::Data), &o)), 503);
    s.step(Ok(mail("a@b", None)), &o);
    assert_eq!(
        s.step(Ok(Command::Data), &o),
        Action::Reply(Reply::new(503, "5.5.1 no valid recipients"))
    );
    s.step(Ok(Command::Rcpt { to: "r@y".into() }), &o);
    assert_eq!(s.step(Ok(Command::Data), &o), Action::StartData);
    assert_eq!(code(&s.step(Ok(Command::Rset), &o)), 250);
    assert_eq!(s, greeted());
    s.step(Ok(mail("a@b", None)), &o);
    assert_eq!(code(&s.step(Ok(Command::Lhlo("again".into())), &o)), 250);
    assert_eq!(s, greeted());
}

#[test]
fn quit_vrfy_and_errors() {
    let o = test_options();
    let mut s = greeted();
    assert!(matches!(s.step(Ok(Command::Quit), &o), Action::Close(r) if r.code == 221));
    assert_eq!(code(&s.step(Ok(Command::Vrfy), &o)), 252);
    assert_eq!(code(&s.step(Err(CommandError::TooLong), &o)), 500);
    assert_eq!(code(&s.step(Err(syntax("x")), &o)), 501);
}

// ---------------------------------------------------------------------------
// DATA accounting
// ---------------------------------------------------------------------------

fn line(bytes: &[u8]) -> CappedLine {
    CappedLine {
        stored: bytes.to_vec(),
        total: bytes.len() as u64,
    }
}

#[test]
fn end_of_data_and_unstuffing() {
    assert!(is_end_of_data(b".\r\n"));
    assert!(is_end_of_data(b".\n"));
    assert!(!is_end_of_data(b"..\r\n"));
    assert!(!is_end_of_data(b". \r\n"));
    assert_eq!(unstuff(b"..x\r\n"), b".x\r\n");
    assert_eq!(unstuff(b"x.\r\n"), b"x.\r\n");
    assert_eq!(unstuff(b"...\r\n"), b"..\r\n");
}

#[test]
fn body_accumulates_unstuffed_lines_with_prefix() {
    let mut b = DataBody::new(return_path_line("s@x"), 100);
    assert_eq!(b.push(&line(b"Subject: a\r\n")), DataStep::More);
    assert_eq!(b.push(&line(b"..dot\n")), DataStep::More);
    assert_eq!(b.push(&line(b".\r\n")), DataStep::End);
    assert_eq!(
        b.raw,
        b"Return-Path: <s@x>\r\nSubject: a\r\n.dot\n".to_vec()
    );
    assert_eq!(b.size, 12 + 5);
    assert!(!b.too_big);
}

#[test]
fn body_exactly_at_limit_is_kept() {
    let mut b = DataBody::new(Vec::new(), 6);
    b.push(&line(b"..abc\r\n")); // 6 bytes once unstuffed
    assert!(!b.too_big);
    assert_eq!(b.raw, b".abc\r\n".to_vec());
}

#[test]
fn body_over_limit_is_dropped_but_counted() {
    let mut b = DataBody::new(b"RP\r\n".to_vec(), 10);
    b.push(&line(b"12345\r\n"));
    assert!(!b.too_big);
    b.push(&line(b"67890\r\n"));
    assert!(b.too_big);
    assert!(b.raw.is_empty());
    b.push(&line(b"abc\r\n"));
    assert_eq!(b.size, 19);
    assert_eq!(b.line_cap(), 3);
    assert_eq!(b.push(&line(b".\r\n")), DataStep::End);
}

#[test]
fn truncated_line_marks_too_big_and_is_not_the_end() {
    let mut b = DataBody::new(Vec::new(), 10);
    let truncated = CappedLine {
        stored: b".\r\n".to_vec(),
        total: 50,
    };
    assert_eq!(b.push(&truncated), DataStep::More);
    assert!(b.too_big);
    assert_eq!(b.size, 49);
}

#[test]
fn line_cap_tracks_remaining_room() {
    let mut b = DataBody::new(Vec::new(), 10);
    assert_eq!(b.line_cap(), 13);
    b.push(&line(b"1234\r\n"));
    assert_eq!(b.line_cap(), 7);
    let huge = DataBody::new(Vec::new(), u64::MAX);
    assert_eq!(huge.line_cap(), usize::MAX);
}

#[test]
fn return_path_for_null_sender() {
    assert_eq!(return_path_line(""), b"Return-Path: <>\r\n".to_vec());
}

#[test]
fn flush_decision() {
    assert!(must_flush(b""));
    assert!(must_flush(b"NOOP"));
    assert!(!must_flush(b"NOOP\r\n"));
    assert!(!must_flush(b"NOOP\r\nRS"));
}

#[tokio::test]
async fn read_line_capped_keeps_prefix_and_counts_all() {
    let data: &[u8] = b"hello world\r\nnext\nlast-without-eol";
    let mut r = BufReader::with_capacity(4, data);
    let first = read_line_capped(&mut r, 5)
        .await
        .expect("read")
        .expect("line");
    assert_eq!(first.stored, b"hello".to_vec());
    assert_eq!(first.total, 13);
    assert!(!first.is_complete());
    let second = read_line_capped(&mut r, 100)
        .await
        .expect("read")
        .expect("line");
    assert_eq!(second, line(b"next\n"));
    assert!(read_line_capped(&mut r, 100).await.expect("read").is_none());
}

// ---------------------------------------------------------------------------
// Sessions over real sockets
// ---------------------------------------------------------------------------

const WAIT: Duration = Duration::from_secs(5);

struct Server {
    rx: mpsc::Receiver<Delivery>,
    cancel: CancellationToken,
    task: JoinHandle<io::Result<()>>,
}

async fn spawn_server(listener: Listener, options: Options) -> Server {
    let (tx, rx) = mpsc::channel(4);
    let cancel = CancellationToken::new();
    let task = tokio::spawn(listener.serve(options, tx, cancel.clone()));
    Server { rx, cancel, task }
}

async fn tcp_server(options: Options) -> (Server, SocketAddr) {
    let listener = bind(&Listen::Tcp("127.0.0.1:0".parse().expect("addr")))
        .await
        .expect("bind tcp");
    let addr = listener.local_addr().expect("local addr");
    (spawn_server(listener, options).await, addr)
}

impl Server {
    async fn delivery(&mut self) -> Delivery {
        tokio::time::timeout(WAIT, self.rx.recv())
            .await
            .expect("delivery in time")
            .expect("channel open")
    }

    fn no_delivery(&mut self) {
        assert!(matches!(self.rx.try_recv(), Err(TryRecvError::Empty)));
    }

    async fn stop(self) {
        self.cancel.cancel();
        let done = tokio::time::timeout(WAIT, self.task)
            .await
            .expect("serve ends after cancel")
            .expect("serve task not panicked");
        assert!(done.is_ok());
    }
}

struct Client<S> {
    io: BufReader<S>,
}

impl Client<TcpStream> {
    async fn tcp(addr: SocketAddr) -> Self {
        Client {
            io: BufReader::new(TcpStream::connect(addr).await.expect("connect")),
        }
    }
}

impl Client<UnixStream> {
    async fn unix(path: &Path) -> Self {
        Client {
            io: BufReader::new(UnixStream::connect(path).await.expect("connect")),
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Client<S> {
    async fn send(&mut self, text: &str) {
        self.send_bytes(text.as_bytes()).await;
    }

    async fn send_bytes(&mut self, bytes: &[u8]) {
        let s = self.io.get_mut();
        s.write_all(bytes).await.expect("write");
        s.flush().await.expect("flush");
    }

    /// One full reply (all lines of a multi-line reply, `\r\n` kept).
    async fn reply(&mut self) -> String {
        let mut all = String::new();
        loop {
            let mut l = String::new();
            let n = tokio::time::timeout(WAIT, self.io.read_line(&mut l))
                .await
                .expect("reply in time")
                .expect("read reply");
            assert!(
                n > 0,
                "connection closed while waiting for a reply; got {all:?}"
            );
            all.push_str(&l);
            if l.as_bytes().get(3) != Some(&b'-') {
                return all;
            }
        }
    }

    async fn expect(&mut self, prefix: &str) -> String {
        let r = self.reply().await;
        assert!(r.starts_with(prefix), "expected {prefix:?}, got {r:?}");
        r
    }

    async fn lhlo(&mut self) {
        self.expect("220 lmtp.test LMTP helpdesk ready").await;
        self.send("LHLO client.test\r\n").await;
        let r = self.expect("250-lmtp.test\r\n").await;
        assert!(r.contains("250-PIPELINING\r\n"));
        assert!(r.contains("250-ENHANCEDSTATUSCODES\r\n"));
        assert!(r.contains("250-8BITMIME\r\n"));
        assert!(r.ends_with("250 SIZE 1000\r\n"), "{r:?}");
    }

    /// True if nothing arrives within `d`.
    async fn silent_for(&mut self, d: Duration) -> bool {
        tokio::time::timeout(d, self.io.fill_buf()).await.is_err()
    }

    async fn expect_eof(&mut self) {
        let mut l = String::new();
        let n = tokio::time::timeout(WAIT, self.io.read_line(&mut l))
            .await
            .expect("eof in time")
            .unwrap_or(0);
        assert_eq!(n, 0, "expected EOF, got {l:?}");
    }

    /// LHLO, MAIL, the RCPTs and DATA, pipelined; checks the 250s and 354.
    async fn open_data(&mut self, from: &str, rcpts: &[&str]) {
        self.lhlo().await;
        let mut batch = format!("MAIL FROM:<{from}>\r\n");
        for r in rcpts {
            batch.push_str(&format!("RCPT TO:<{r}>\r\n"));
        }
        batch.push_str("DATA\r\n");
        self.send(&batch).await;
        self.expect("250 2.1.0").await;
        for _ in rcpts {
            self.expect("250 2.1.5").await;
        }
        self.expect("354 ").await;
    }
}

static UNIQUE: AtomicU64 = AtomicU64::new(0);

fn temp_socket_path() -> PathBuf {
    let n = UNIQUE.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("lmtp-test-{}-{n}.sock", std::process::id()))
}

#[tokio::test]
async fn pipelined_session_two_recipients_one_delivery() {
    let (mut server, addr) = tcp_server(test_options()).await;
    let mut c = Client::tcp(addr).await;
    c.lhlo().await;
    c.send("MAIL FROM:<alice@example.org> SIZE=30 BODY=8BITMIME\r\nRCPT TO:<desk@help.test>\r\nRCPT TO:<ops@help.test>\r\nDATA\r\n")
        .await;
    c.expect("250 2.1.0").await;
    c.expect("250 2.1.5 <desk@help.test>").await;
    c.expect("250 2.1.5 <ops@help.test>").await;
    c.expect("354 ").await;
    c.send("Subject: hi\r\n\r\n..x\r\nbody\r\n.\r\n").await;

    let d = server.delivery().await;
    assert_eq!(d.sender, "alice@example.org");
    assert_eq!(d.recipients, vec!["desk@help.test", "ops@help.test"]);
    assert_eq!(
        d.raw,
        b"Return-Path: <alice@example.org>\r\nSubject: hi\r\n\r\n.x\r\nbody\r\n".to_vec()
    );
    d.reply.send(Verdict::Accepted).expect("session waits");
    assert_eq!(c.reply().await, "250 2.0.0 <desk@help.test> delivered\r\n");
    assert_eq!(c.reply().await, "250 2.0.0 <ops@help.test> delivered\r\n");
    server.no_delivery();

    // Envelope cleared, LHLO state kept.
    c.send("RCPT TO:<x@y>\r\nMAIL FROM:<>\r\nQUIT\r\n").await;
    c.expect("503 5.5.1").await;
    c.expect("250 2.1.0").await;
    c.expect("221 2.0.0").await;
    c.expect_eof().await;
    server.no_delivery();
    server.stop().await;
}

#[tokio::test]
async fn unix_socket_session_with_null_sender() {
    let path = temp_socket_path();
    // A stale socket file left by a dead server must be replaced.
    drop(std::os::unix::net::UnixListener::bind(&path).expect("stale socket"));
    assert!(path.exists());
    let listener = bind(&Listen::Unix(path.clone())).await.expect("bind unix");
    let mode = std::fs::metadata(&path)
        .expect("socket metadata")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o660);
    assert!(listener.local_addr().is_err());
    let mut server = spawn_server(listener, test_options()).await;

    let mut c = Client::unix(&path).await;
    c.open_data("", &["desk@help.test"]).await;
    c.send("line one\r\n.\r\n").await;
    let d = server.delivery().await;
    assert_eq!(d.sender, "");
    assert_eq!(d.raw, b"Return-Path: <>\r\nline one\r\n".to_vec());
    d.reply.send(Verdict::Accepted).expect("session waits");
    c.expect("250 2.0.0 <desk@help.test> delivered").await;
    server.stop().await;
    let _ = std::fs::remove_file(&path);
}

#[tokio::test]
async fn bind_refuses_live_socket_and_regular_file() {
    let path = temp_socket_path();
    let live = bind(&Listen::Unix(path.clone())).await.expect("first bind");
    let err = bind(&Listen::Unix(path.clone()))
        .await
        .expect_err("live socket");
    assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
    drop(live);
    std::fs::remove_file(&path).expect("remove socket");

    std::fs::write(&path, b"not a socket").expect("write file");
    let err = bind(&Listen::Unix(path.clone()))
        .await
        .expect_err("regular file");
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
    assert_eq!(std::fs::read(&path).expect("file kept"), b"not a socket");
    std::fs::remove_file(&path).expect("cleanup");
}

#[tokio::test]
async fn bind_error_names_tcp_address() {
    let taken = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = taken.local_addr().expect("addr");
    let err = bind(&Listen::Tcp(addr)).await.expect_err("address in use");
    assert!(err.to_string().contains(&addr.to_string()), "{err}");
}

#[tokio::test]
async fn reply_waits_for_the_verdict() {
    let (mut server, addr) = tcp_server(test_options()).await;
    let mut c = Client::tcp(addr).await;
    c.open_data("a@b", &["r@y"]).await;
    c.send("hello\r\n.\r\n").await;
    let d = server.delivery().await;
    assert!(
        c.silent_for(Duration::from_millis(300)).await,
        "reply before verdict"
    );
    d.reply.send(Verdict::Accepted).expect("session waits");
    c.expect("250 2.0.0 <r@y> delivered").await;
    server.stop().await;
}

#[tokio::test]
async fn transient_verdict_gives_451_per_recipient() {
    let (mut server, addr) = tcp_server(test_options()).await;
    let mut c = Client::tcp(addr).await;
    c.open_data("a@b", &["r1@y", "r2@y"]).await;
    c.send("x\r\n.\r\n").await;
    let d = server.delivery().await;
    d.reply
        .send(Verdict::Transient("disk\r\nfull".into()))
        .expect("session waits");
    assert_eq!(c.reply().await, "451 4.3.0 disk full\r\n");
    assert_eq!(c.reply().await, "451 4.3.0 disk full\r\n");
    server.stop().await;
}

#[tokio::test]
async fn dropped_oneshot_gives_451() {
    let (mut server, addr) = tcp_server(test_options()).await;
    let mut c = Client::tcp(addr).await;
    c.open_data("a@b", &["r1@y", "r2@y"]).await;
    c.send("x\r\n.\r\n").await;
    drop(server.delivery().await);
    c.expect("451 4.3.0").await;
    c.expect("451 4.3.0").await;
    c.send("NOOP\r\n").await;
    c.expect("250 2.0.0").await;
    server.stop().await;
}

#[tokio::test]
async fn closed_delivery_channel_gives_451() {
    let (server, addr) = tcp_server(test_options()).await;
    let Server { rx, cancel, task } = server;
    drop(rx);
    let mut c = Client::tcp(addr).await;
    c.open_data("a@b", &["r@y"]).await;
    c.send("x\r\n.\r\n").await;
    c.expect("451 4.3.0").await;
    cancel.cancel();
    assert!(tokio::time::timeout(WAIT, task).await.is_ok());
}

#[tokio::test]
async fn size_parameter_over_limit_is_refused_at_mail() {
    let (mut server, addr) = tcp_server(test_options()).await;
    let mut c = Client::tcp(addr).await;
    c.lhlo().await;
    c.send("MAIL FROM:<a@b> SIZE=5000\r\n").await;
    assert_eq!(
        c.reply().await,
        "552 5.3.4 message of 5000 bytes exceeds the limit of 1000 bytes\r\n"
    );
    c.send("RCPT TO:<r@y>\r\n").await;
    c.expect("503 5.5.1").await;
    server.no_delivery();
    server.stop().await;
}

#[tokio::test]
async fn oversize_body_is_refused_after_the_dot() {
    let (mut server, addr) = tcp_server(test_options()).await;
    let mut c = Client::tcp(addr).await;
    c.open_data("a@b", &["r1@y", "r2@y"]).await;
    let line = format!("{}\r\n", "x".repeat(98)); // 100 bytes a line
    let mut body = line.repeat(15);
    body.push_str(&"y".repeat(3000)); // one long line
    body.push_str("\r\n.\r\n");
    c.send(&body).await;
    let expected = "552 5.3.4 message of 4502 bytes exceeds the limit of 1000 bytes\r\n";
    assert_eq!(c.reply().await, expected);
    assert_eq!(c.reply().await, expected);
    server.no_delivery();
    // The session goes on with a fresh transaction.
    c.send("DATA\r\nNOOP\r\n").await;
    c.expect("503 5.5.1").await;
    c.expect("250 2.0.0").await;
    server.no_delivery();
    server.stop().await;
}

#[tokio::test]
async fn bare_lf_lines_are_kept_as_sent() {
    let (mut server, addr) = tcp_server(test_options()).await;
    let mut c = Client::tcp(addr).await;
    c.open_data("a@b", &["r@y"]).await;
    c.send("a\nb\r\n..\n.\n").await;
    let d = server.delivery().await;
    assert_eq!(d.raw, b"Return-Path: <a@b>\r\na\nb\r\n.\n".to_vec());
    d.reply.send(Verdict::Accepted).expect("session waits");
    c.expect("250 2.0.0").await;
    server.stop().await;
}

#[tokio::test]
async fn rset_clears_the_envelope() {
    let (mut server, addr) = tcp_server(test_options()).await;
    let mut c = Client::tcp(addr).await;
    c.lhlo().await;
    c.send("MAIL FROM:<a@b>\r\nRCPT TO:<r@y>\r\nRSET\r\nDATA\r\nRCPT TO:<r@y>\r\n")
        .await;
    c.expect("250 2.1.0").await;
    c.expect("250 2.1.5").await;
    assert_eq!(c.reply().await, "250 2.0.0 OK\r\n");
    c.expect("503 5.5.1").await;
    c.expect("503 5.5.1").await;
    server.no_delivery();
    server.stop().await;
}

#[tokio::test]
async fn data_without_recipient_is_refused() {
    let (server, addr) = tcp_server(test_options()).await;
    let mut c = Client::tcp(addr).await;
    c.lhlo().await;
    c.send("MAIL FROM:<a@b>\r\nDATA\r\n").await;
    c.expect("250 2.1.0").await;
    assert_eq!(c.reply().await, "503 5.5.1 no valid recipients\r\n");
    server.stop().await;
}

#[tokio::test]
async fn wrong_protocol_unknown_and_early_commands() {
    let (server, addr) = tcp_server(test_options()).await;
    let mut c = Client::tcp(addr).await;
    c.expect("220 ").await;
    c.send("MAIL FROM:<a@b>\r\nHELO x\r\nEHLO x\r\nFROB x\r\nNOOP\r\nVRFY x\r\n")
        .await;
    c.expect("503 5.5.1").await;
    assert_eq!(c.reply().await, "500 5.5.1 this is LMTP: say LHLO\r\n");
    assert_eq!(c.reply().await, "500 5.5.1 this is LMTP: say LHLO\r\n");
    assert_eq!(c.reply().await, "500 5.5.2 unknown command FROB\r\n");
    c.expect("250 2.0.0").await;
    c.expect("503 5.5.1").await;
    c.send("LHLO c\r\nVRFY x\r\nMAIL FROM:<a b@c>\r\nMAIL FROM:<a@b> FOO=1\r\n")
        .await;
    c.expect("250-").await;
    c.expect("252 2.5.0").await;
    assert_eq!(
        c.reply().await,
        "501 5.5.4 address must not contain spaces\r\n"
    );
    assert_eq!(c.reply().await, "555 5.5.4 unknown MAIL parameter FOO\r\n");
    server.stop().await;
}

#[tokio::test]
async fn long_and_non_utf8_lines_are_refused() {
    let (server, addr) = tcp_server(test_options()).await;
    let mut c = Client::tcp(addr).await;
    c.expect("220 ").await;
    let mut long = "NOOP ".to_string();
    long.push_str(&"a".repeat(20_000));
    long.push_str("\r\nNOOP\r\n");
    c.send(&long).await;
    assert_eq!(c.reply().await, "500 5.5.2 line too long\r\n");
    c.expect("250 2.0.0").await;
    c.send_bytes(b"NOOP \xff\r\nQUIT\r\n").await;
    assert_eq!(c.reply().await, "500 5.5.2 command is not valid UTF-8\r\n");
    c.expect("221 ").await;
    c.expect_eof().await;
    server.stop().await;
}

#[tokio::test]
async fn too_many_recipients() {
    let (server, addr) = tcp_server(test_options()).await;
    let mut c = Client::tcp(addr).await;
    c.lhlo().await;
    c.send("MAIL FROM:<a@b>\r\nRCPT TO:<1@y>\r\nRCPT TO:<2@y>\r\nRCPT TO:<3@y>\r\n")
        .await;
    c.expect("250 2.1.0").await;
    c.expect("250 2.1.5").await;
    c.expect("250 2.1.5").await;
    assert_eq!(c.reply().await, "452 4.5.3 too many recipients\r\n");
    server.stop().await;
}

#[tokio::test]
async fn sessions_over_the_limit_get_421_and_slots_are_freed() {
    let options = Options {
        max_sessions: 1,
        ..test_options()
    };
    let (server, addr) = tcp_server(options).await;
    let mut first = Client::tcp(addr).await;
    first.expect("220 ").await;
    let mut second = Client::tcp(addr).await;
    assert_eq!(
        second.reply().await,
        "421 4.3.2 too many connections, try later\r\n"
    );
    second.expect_eof().await;
    first.send("QUIT\r\n").await;
    first.expect("221 ").await;
    first.expect_eof().await;
    // The slot comes back once the first session is gone.
    let mut third = None;
    for _ in 0..50 {
        let mut c = Client::tcp(addr).await;
        if c.reply().await.starts_with("220 ") {
            third = Some(c);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(third.is_some(), "session slot not released");
    server.stop().await;
}

#[tokio::test]
async fn idle_timeout_closes_with_421() {
    let options = Options {
        idle_timeout: Duration::from_millis(200),
        ..test_options()
    };
    let (server, addr) = tcp_server(options).await;
    let mut c = Client::tcp(addr).await;
    c.expect("220 ").await;
    assert_eq!(c.reply().await, "421 4.4.2 idle timeout\r\n");
    c.expect_eof().await;
    server.stop().await;
}

#[tokio::test]
async fn idle_timeout_applies_inside_data() {
    let options = Options {
        idle_timeout: Duration::from_millis(300),
        ..test_options()
    };
    let (mut server, addr) = tcp_server(options).await;
    let mut c = Client::tcp(addr).await;
    c.open_data("a@b", &["r@y"]).await;
    c.send("partial\r\n").await;
    assert_eq!(c.reply().await, "421 4.4.2 idle timeout\r\n");
    c.expect_eof().await;
    server.no_delivery();
    server.stop().await;
}

#[tokio::test]
async fn cancel_closes_idle_sessions_and_ends_serve() {
    let (server, addr) = tcp_server(test_options()).await;
    let mut c = Client::tcp(addr).await;
    c.lhlo().await;
    server.cancel.cancel();
    c.expect("421 4.3.2").await;
    c.expect_eof().await;
    let result = tokio::time::timeout(WAIT, server.task)
        .await
        .expect("serve ends")
        .expect("not panicked");
    assert!(result.is_ok());
    assert!(TcpStream::connect(addr).await.is_err(), "still accepting");
}

#[tokio::test]
async fn cancel_lets_a_message_in_data_finish() {
    let (mut server, addr) = tcp_server(test_options()).await;
    let mut c = Client::tcp(addr).await;
    c.open_data("a@b", &["r@y"]).await;
    c.send("first half\r\n").await;
    server.cancel.cancel();
    tokio::time::sleep(Duration::from_millis(100)).await;
    c.send("second half\r\n.\r\n").await;
    let d = server.delivery().await;
    assert_eq!(
        d.raw,
        b"Return-Path: <a@b>\r\nfirst half\r\nsecond half\r\n".to_vec()
    );
    d.reply.send(Verdict::Accepted).expect("session waits");
    c.expect("250 2.0.0 <r@y> delivered").await;
    c.expect("421 4.3.2").await;
    c.expect_eof().await;
    let result = tokio::time::timeout(WAIT, server.task)
        .await
        .expect("serve ends")
        .expect("not panicked");
    assert!(result.is_ok());
}
