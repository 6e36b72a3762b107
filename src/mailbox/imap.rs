//! A mailbox on an IMAP server (async-imap over tokio, TLS by rustls). [`Imap`] holds what is
//! fixed (server, login, TLS roots); [`ImapSession`] is one logged-in connection with the folder
//! selected. The session lists new messages by UID with their sizes, fetches them in batches
//! without setting `\Seen`, marks them processed (moved to `processed_folder`, or flagged
//! `\Seen`) once the caller has committed them, and waits for news with IDLE, or sleeps when the
//! server has no IDLE. Every network step has a timeout, so a dead connection surfaces as an
//! error the caller reconnects from.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_imap::extensions::idle::IdleResponse;
use async_imap::{Client, Session};
use futures_util::TryStreamExt;
use tokio_rustls::TlsConnector;
use tokio_util::sync::CancellationToken;

use crate::config::{ImapSettings, Security};
use crate::net::{self, Cause, Peer, Protocol, ServerError, Step, Stream};

/// Longest wait for any one server exchange (a batch fetch, a store).
const IO_TIMEOUT: Duration = Duration::from_secs(120);
/// Longest wait for each step of opening a session (connect, TLS, greeting, login).
const OPEN_TIMEOUT: Duration = Duration::from_secs(30);
/// IDLE is ended and re-issued at least this often (RFC 2177 asks for under 29 minutes), which
/// also detects a connection that died silently.
pub const IDLE_REFRESH: Duration = Duration::from_secs(10 * 60);

/// The fixed part of an IMAP source: built once, connects many times.
#[derive(Clone)]
pub struct Imap {
    settings: ImapSettings,
    tls: TlsConnector,
    peer: Peer,
    key: String,
}

impl fmt::Debug for Imap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Imap")
            .field("key", &self.key)
            .field("security", &self.settings.server.security)
            .finish_non_exhaustive()
    }
}

/// A message waiting in the folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Waiting {
    pub uid: u32,
    /// RFC822.SIZE.
    pub size: u32,
}

/// What ended a [`ImapSession::wait`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Woken {
    /// The server reported a change (IDLE).
    Change,
    /// The refresh interval passed.
    Timeout,
    /// Shutdown was requested.
    Cancelled,
}

impl Imap {
    /// Prepares TLS (the bundled web PKI roots plus `ca_file`).
    ///
    /// # Errors
    /// The CA file cannot be read or holds no usable certificate.
    pub fn new(settings: &ImapSettings) -> Result<Imap, ServerError> {
        let s = &settings.server;
        let user = s.login.as_ref().map_or("", |(u, _)| u.as_str());
        let peer = Peer {
            protocol: Protocol::Imap,
            host: s.host.clone(),
            port: s.port,
            step_timeout: OPEN_TIMEOUT,
        };
        let config = net::client_config(s.ca_file.as_deref()).map_err(|reason| {
            let file = s.ca_file.clone().unwrap_or_default();
            let reason = format!("inbound.ca_file {}: {reason}", file.display());
            peer.fail(Step::Setup, "TLS setup", Cause::Setup(reason))
        })?;
        Ok(Imap {
            tls: TlsConnector::from(Arc::new(config)),
            key: format!("{user}@{}:{}/{}", s.host, s.port, settings.folder),
            peer,
            settings: settings.clone(),
        })
    }

    /// The same source with another limit on each opening step (`check` waits less).
    pub fn with_step_timeout(mut self, timeout: Duration) -> Imap {
        self.peer.step_timeout = timeout;
        self
    }

    /// `user@host:port/folder`: the key of the saved position.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// `imaps://host:port/folder (as user)`, for logs.
    pub fn describe(&self) -> String {
        let scheme = match self.settings.server.security {
            Security::Tls => "imaps",
            Security::Starttls => "imap+starttls",
            Security::None => "imap",
        };
        format!("{scheme}://{}", self.key)
    }

    /// Connects, secures, logs in and asks for the capabilities: what [`Imap::open`] and
    /// `check` share.
    ///
    /// # Errors
    /// Any step failing, with the server and the step.
    pub async fn login(&self) -> Result<LoggedIn, ServerError> {
        let s = &self.settings.server;
        let tcp = self.peer.connect().await?;
        let client = match s.security {
            Security::None => self.greeted(Stream::Plain(tcp)).await?,
            Security::Tls => {
                let tls = self.peer.handshake(&self.tls, tcp).await?;
                self.greeted(Stream::Tls(Box::new(tls))).await?
            }
            Security::Starttls => {
                let mut plain = self.greeted(Stream::Plain(tcp)).await?;
                let starttls = plain.run_command_and_check_ok("STARTTLS", None);
                self.timed(Step::Starttls, "STARTTLS", starttls)
                    .await?
                    .map_err(|e| self.failed(Step::Starttls, "STARTTLS", e))?;
                let Stream::Plain(tcp) = plain.into_inner() else {
                    unreachable!("STARTTLS starts from a plain stream")
                };
                // No second greeting after STARTTLS (RFC 3501 6.2.1).
                let tls = self.peer.handshake(&self.tls, tcp).await?;
                Client::new(Stream::Tls(Box::new(tls)))
            }
        };
        let (user, password) = match &s.login {
            Some((u, p)) => (u.as_str(), p.expose()),
            None => ("", ""),
        };
        let mut session = self
            .timed(Step::Login, "LOGIN", client.login(user, password))
            .await?
            .map_err(|(e, _)| self.failed(Step::Login, &format!("LOGIN as {user:?}"), e))?;
        let caps = self
            .timed(Step::Capability, "CAPABILITY", session.capabilities())
            .await?
            .map_err(|e| self.failed(Step::Capability, "CAPABILITY", e))?;
        Ok(LoggedIn {
            imap: self.clone(),
            session,
            can_idle: caps.has_str("IDLE"),
            can_move: caps.has_str("MOVE"),
            can_uid_expunge: caps.has_str("UIDPLUS"),
        })
    }

    /// Logs in, creates the processed folder when missing and selects the folder.
    ///
    /// # Errors
    /// Any step failing, with the server and the step.
    pub async fn open(&self) -> Result<ImapSession, ServerError> {
        let mut inner = self.login().await?;
        let session = &mut inner.session;
        if let Some(pf) = &self.settings.processed_folder {
            let created = self
                .timed(Step::Select, "CREATE", session.create(pf))
                .await?;
            match created {
                Ok(()) => tracing::info!(folder = %pf, "created the processed folder"),
                // Dovecot: "NO [ALREADYEXISTS] Mailbox already exists"
                Err(async_imap::error::Error::No(m))
                    if m.to_ascii_lowercase().contains("exist") => {}
                Err(e) => return Err(self.failed(Step::Select, &format!("CREATE {pf}"), e)),
            }
        }
        let folder = &self.settings.folder;
        let select = format!("SELECT {folder}");
        let mailbox = self
            .timed(Step::Select, &select, session.select(folder))
            .await?
            .map_err(|e| self.failed(Step::Select, &select, e))?;
        let uid_validity = mailbox.uid_validity.ok_or_else(|| {
            let missing = Cause::Refused("the server reported no UIDVALIDITY".into());
            self.peer.fail(Step::Select, &select, missing)
        })?;
        Ok(ImapSession {
            inner,
            uid_validity,
        })
    }

    async fn greeted(&self, stream: Stream) -> Result<Client<Stream>, ServerError> {
        let mut client = Client::new(stream);
        match self
            .timed(Step::Greeting, "greeting", client.read_response())
            .await?
        {
            Ok(Some(_)) => Ok(client),
            Ok(None) => Err(self.peer.fail(Step::Greeting, "greeting", Cause::Closed)),
            Err(e) => Err(self.peer.fail(Step::Greeting, "greeting", Cause::Io(e))),
        }
    }

    /// `f` within the step's time: the opening steps get the peer's step timeout, commands
    /// on an open session [`IO_TIMEOUT`].
    async fn timed<T>(
        &self,
        step: Step,
        operation: &str,
        f: impl Future<Output = T>,
    ) -> Result<T, ServerError> {
        let timeout = match step {
            Step::Command => IO_TIMEOUT,
            _ => self.peer.step_timeout,
        };
        self.peer.within(timeout, step, operation, f).await
    }

    /// A failed command: the server's words for a NO or BAD.
    fn failed(&self, step: Step, operation: &str, e: async_imap::error::Error) -> ServerError {
        use async_imap::error::Error;
        let cause = match e {
            Error::No(_) | Error::Bad(_) => Cause::Refused(server_text(&e)),
            Error::Io(io) => Cause::Io(io),
            Error::ConnectionLost => Cause::Closed,
            other => Cause::Refused(other.to_string()),
        };
        self.peer.fail(step, operation, cause)
    }

    fn command(&self, operation: &str, e: async_imap::error::Error) -> ServerError {
        self.failed(Step::Command, operation, e)
    }
}

/// A logged-in connection before a folder is opened, with what the server offers.
pub struct LoggedIn {
    imap: Imap,
    session: Session<Stream>,
    can_idle: bool,
    can_move: bool,
    can_uid_expunge: bool,
}

impl fmt::Debug for LoggedIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoggedIn")
            .field("key", &self.imap.key)
            .field("can_idle", &self.can_idle)
            .finish_non_exhaustive()
    }
}

impl LoggedIn {
    /// Whether the server offers IDLE.
    pub fn offers_idle(&self) -> bool {
        self.can_idle
    }

    /// How many messages `folder` holds, opened read-only (EXAMINE): nothing changes.
    ///
    /// # Errors
    /// The folder cannot be opened ([`Cause::Refused`] when the server says no).
    pub async fn examine(&mut self, folder: &str) -> Result<u32, ServerError> {
        let operation = format!("EXAMINE {folder}");
        let examined = self
            .imap
            .timed(Step::Select, &operation, self.session.examine(folder))
            .await?;
        examined
            .map(|mailbox| mailbox.exists)
            .map_err(|e| self.imap.failed(Step::Select, &operation, e))
    }

    /// Logs out politely; errors are irrelevant at this point.
    pub async fn logout(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(5), self.session.logout()).await;
    }
}

/// The server's words in an IMAP error: async-imap wraps a NO or BAD answer's text in debug
/// formatting (`code: None, info: Some("…")`).
fn server_text(e: &async_imap::error::Error) -> String {
    let (async_imap::error::Error::No(s) | async_imap::error::Error::Bad(s)) = e else {
        return e.to_string();
    };
    match (s.find("Some(\""), s.rfind("\")")) {
        (Some(start), Some(end)) if start + 6 <= end => s[start + 6..end].replace("\\\"", "\""),
        _ => s.clone(),
    }
}

/// One logged-in connection with the folder selected.
pub struct ImapSession {
    inner: LoggedIn,
    uid_validity: u32,
}

impl fmt::Debug for ImapSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImapSession")
            .field("key", &self.inner.imap.key)
            .field("uid_validity", &self.uid_validity)
            .field("can_idle", &self.inner.can_idle)
            .finish_non_exhaustive()
    }
}

impl ImapSession {
    /// The folder's UIDVALIDITY.
    pub fn uid_validity(&self) -> u32 {
        self.uid_validity
    }

    /// Whether [`ImapSession::wait`] uses IDLE (offered by the server and not disabled).
    pub fn uses_idle(&self) -> bool {
        self.inner.can_idle && self.inner.imap.settings.idle
    }

    /// Messages with a UID above `after`, in UID order, with their sizes.
    ///
    /// # Errors
    /// The server or the connection failed.
    pub async fn waiting(&mut self, after: u32) -> Result<Vec<Waiting>, ServerError> {
        self.listing(after, "").await
    }

    /// Messages with a UID above `after` that start a conversation: they have neither
    /// `In-Reply-To` nor `References` (the server's SEARCH tells, nothing is fetched but their
    /// sizes). These may be taken in ahead of a backlog; a reply may not, since what it answers
    /// may still be in the backlog.
    ///
    /// # Errors
    /// The server or the connection failed.
    pub async fn new_conversations(&mut self, after: u32) -> Result<Vec<Waiting>, ServerError> {
        // RFC 3501 SEARCH HEADER: an empty string matches every message with the field.
        self.listing(
            after,
            " NOT HEADER In-Reply-To \"\" NOT HEADER References \"\"",
        )
        .await
    }

    /// The messages above `after` that match the SEARCH keys `also` (empty: all), with sizes.
    async fn listing(&mut self, after: u32, also: &str) -> Result<Vec<Waiting>, ServerError> {
        let Some(from) = after.checked_add(1) else {
            return Ok(Vec::new());
        };
        // NOOP makes the server bring the session up to date (Dovecot does not for SEARCH), so
        // a poll sees mail delivered a moment ago.
        self.inner
            .imap
            .timed(Step::Command, "NOOP", self.inner.session.noop())
            .await?
            .map_err(|e| self.inner.imap.command("NOOP", e))?;
        // `n:*` also matches the highest UID when it is below n: filter.
        let uids = self
            .search(&format!("UID {from}:*{also}"), |u| u > after)
            .await?;
        if uids.is_empty() {
            return Ok(Vec::new());
        }
        let mut waiting = Vec::with_capacity(uids.len());
        for chunk in uids.chunks(4096) {
            let set = uid_set(chunk);
            let fetches = self.fetch_all(&set, "(UID RFC822.SIZE)").await?;
            waiting.extend(fetches.iter().filter_map(|f| {
                Some(Waiting {
                    uid: f.uid?,
                    size: f.size.unwrap_or(0),
                })
            }));
        }
        waiting.sort_unstable_by_key(|w| w.uid);
        waiting.dedup_by_key(|w| w.uid);
        Ok(waiting)
    }

    /// The full messages (or only their headers) of `uids`, in UID order, without setting
    /// `\Seen`. A message expunged meanwhile is simply absent.
    ///
    /// # Errors
    /// The server or the connection failed.
    pub async fn fetch(
        &mut self,
        uids: &[u32],
        header_only: bool,
    ) -> Result<Vec<(u32, Vec<u8>)>, ServerError> {
        if uids.is_empty() {
            return Ok(Vec::new());
        }
        let query = if header_only {
            "(UID BODY.PEEK[HEADER])"
        } else {
            "(UID BODY.PEEK[])"
        };
        let fetches = self.fetch_all(&uid_set(uids), query).await?;
        let mut out: Vec<(u32, Vec<u8>)> = fetches
            .iter()
            .filter_map(|f| {
                let bytes = if header_only { f.header() } else { f.body() };
                Some((f.uid?, bytes?.to_vec()))
            })
            .collect();
        out.sort_unstable_by_key(|(uid, _)| *uid);
        Ok(out)
    }

    /// Which of `uids` are still in the folder.
    ///
    /// # Errors
    /// The server or the connection failed.
    pub async fn still_present(&mut self, uids: &[u32]) -> Result<Vec<u32>, ServerError> {
        if uids.is_empty() {
            return Ok(Vec::new());
        }
        self.search(&format!("UID {}", uid_set(uids)), |u| uids.contains(&u))
            .await
    }

    /// `UID SEARCH query`, keeping the UIDs `keep` accepts, sorted.
    async fn search(
        &mut self,
        query: &str,
        keep: impl Fn(u32) -> bool,
    ) -> Result<Vec<u32>, ServerError> {
        let found = self
            .inner
            .imap
            .timed(
                Step::Command,
                "UID SEARCH",
                self.inner.session.uid_search(query),
            )
            .await?
            .map_err(|e| self.inner.imap.command("UID SEARCH", e))?;
        let mut uids: Vec<u32> = found.into_iter().filter(|&u| keep(u)).collect();
        uids.sort_unstable();
        Ok(uids)
    }

    async fn fetch_all(
        &mut self,
        set: &str,
        query: &str,
    ) -> Result<Vec<async_imap::types::Fetch>, ServerError> {
        let imap = &self.inner.imap;
        let session = &mut self.inner.session;
        imap.timed(Step::Command, "UID FETCH", async {
            session.uid_fetch(set, query).await?.try_collect().await
        })
        .await?
        .map_err(|e| imap.command("UID FETCH", e))
    }

    /// Marks committed messages processed: moved to `processed_folder` when one is set,
    /// otherwise flagged `\Seen`.
    ///
    /// # Errors
    /// The server or the connection failed; the messages are committed already, so the next
    /// [`ImapSession::settle`] finishes the job.
    pub async fn mark_processed(&mut self, uids: &[u32]) -> Result<(), ServerError> {
        if uids.is_empty() {
            return Ok(());
        }
        let set = uid_set(uids);
        let imap = &self.inner.imap;
        let session = &mut self.inner.session;
        match imap.settings.processed_folder.as_deref() {
            Some(pf) if self.inner.can_move => imap
                .timed(Step::Command, "UID MOVE", session.uid_mv(&set, pf))
                .await?
                .map_err(|e| imap.command(&format!("UID MOVE to {pf}"), e)),
            Some(pf) => {
                imap.timed(Step::Command, "UID COPY", session.uid_copy(&set, pf))
                    .await?
                    .map_err(|e| imap.command(&format!("UID COPY to {pf}"), e))?;
                let stored = imap
                    .timed(Step::Command, "UID STORE", async {
                        let s = session.uid_store(&set, "+FLAGS.SILENT (\\Deleted)").await?;
                        s.try_collect::<Vec<_>>().await
                    })
                    .await?;
                stored.map_err(|e| imap.command("UID STORE \\Deleted", e))?;
                let expunged = if self.inner.can_uid_expunge {
                    imap.timed(Step::Command, "UID EXPUNGE", async {
                        let s = session.uid_expunge(&set).await?;
                        s.try_collect::<Vec<_>>().await
                    })
                    .await?
                } else {
                    imap.timed(Step::Command, "EXPUNGE", async {
                        let s = session.expunge().await?;
                        s.try_collect::<Vec<_>>().await
                    })
                    .await?
                };
                expunged.map(|_| ()).map_err(|e| imap.command("EXPUNGE", e))
            }
            None => {
                let stored = imap
                    .timed(Step::Command, "UID STORE", async {
                        let s = session.uid_store(&set, "+FLAGS.SILENT (\\Seen)").await?;
                        s.try_collect::<Vec<_>>().await
                    })
                    .await?;
                stored
                    .map(|_| ())
                    .map_err(|e| imap.command("UID STORE \\Seen", e))
            }
        }
    }

    /// Finishes what a crash may have interrupted: messages up to `upto` are committed, so
    /// those still in the folder are moved (with a processed folder) or flagged `\Seen`.
    ///
    /// # Errors
    /// The server or the connection failed.
    pub async fn settle(&mut self, upto: u32) -> Result<usize, ServerError> {
        if upto == 0 {
            return Ok(0);
        }
        let query = if self.inner.imap.settings.processed_folder.is_some() {
            format!("UID 1:{upto}")
        } else {
            format!("UNSEEN UID 1:{upto}")
        };
        let uids = self.search(&query, |u| u <= upto).await?;
        for chunk in uids.chunks(1024) {
            self.mark_processed(chunk).await?;
        }
        Ok(uids.len())
    }

    /// Waits for news: with IDLE until the server reports a change, `refresh` passes or
    /// `cancel` fires (IDLE is then ended cleanly); without IDLE, sleeps `refresh`.
    ///
    /// # Errors
    /// The server or the connection failed; the session is gone.
    pub async fn wait(
        mut self,
        refresh: Duration,
        cancel: &CancellationToken,
    ) -> Result<(ImapSession, Woken), ServerError> {
        if !self.uses_idle() {
            let woken = tokio::select! {
                () = cancel.cancelled() => Woken::Cancelled,
                () = tokio::time::sleep(refresh) => Woken::Timeout,
            };
            return Ok((self, woken));
        }
        let imap = self.inner.imap.clone();
        let mut idle = self.inner.session.idle();
        imap.timed(Step::Command, "IDLE", idle.init())
            .await?
            .map_err(|e| imap.command("IDLE", e))?;
        let woken = {
            let (response, _stop) = idle.wait_with_timeout(refresh);
            tokio::select! {
                () = cancel.cancelled() => Ok(Woken::Cancelled),
                r = response => match r {
                    Ok(IdleResponse::NewData(_)) => Ok(Woken::Change),
                    Ok(IdleResponse::Timeout | IdleResponse::ManualInterrupt) => Ok(Woken::Timeout),
                    Err(e) => Err(imap.command("IDLE", e)),
                },
            }
            // `_stop` drops here, which ends the wait if it is still running.
        }?;
        self.inner.session = imap
            .timed(Step::Command, "DONE", idle.done())
            .await?
            .map_err(|e| imap.command("IDLE DONE", e))?;
        Ok((self, woken))
    }

    /// Logs out politely; errors are irrelevant at this point.
    pub async fn logout(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(5), self.inner.session.logout()).await;
    }
}

/// `1:3,5,7:9` from sorted UIDs.
pub fn uid_set(uids: &[u32]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < uids.len() {
        let start = uids[i];
        let mut end = start;
        while i + 1 < uids.len() && uids[i + 1] == end + 1 {
            i += 1;
            end = uids[i];
        }
        if !out.is_empty() {
            out.push(',');
        }
        if start == end {
            out.push_str(&start.to_string());
        } else {
            out.push_str(&format!("{start}:{end}"));
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_sets_compress_runs() {
        assert_eq!(uid_set(&[]), "");
        assert_eq!(uid_set(&[4]), "4");
        assert_eq!(uid_set(&[1, 2, 3, 5, 7, 8, 9, 11]), "1:3,5,7:9,11");
        assert_eq!(
            uid_set(&[u32::MAX - 1, u32::MAX]),
            format!("{}:{}", u32::MAX - 1, u32::MAX)
        );
    }
}
