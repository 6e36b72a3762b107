//! How raw message bytes are kept in the database: compressed with zstd, and recognised on the
//! way out by the zstd frame's magic number, so rows written before compression read unchanged
//! (a mail never begins with those four bytes: its first line is a header field name).
//!
//! Once a desk has [`TRAIN_AFTER`] messages, a dictionary is trained on its newest ones and
//! kept in the `dictionaries` table; messages stored after that are compressed with it. Small
//! mail is mostly what every mail of the desk repeats (headers, greetings, signatures, the
//! disclaimer), which a frame of its own cannot exploit and a dictionary can: a 1 KB request
//! goes to about a sixth of its size instead of three fifths. Each frame names its dictionary
//! by the ID zstd's trainer derives from the dictionary's content, so older frames, and those
//! of another instance's dictionary, read as long as the table holds theirs.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::Read;
use std::sync::{Arc, RwLock};

use futures_util::TryStreamExt;
use sqlx::Row;

use super::Error;
use crate::model::Millis;

/// The first four bytes of a zstd frame (RFC 8878, 3.1.1), little-endian 0xFD2FB528.
const MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// zstd's default level: about 400 MB/s to compress on this kind of machine, a mail to a
/// quarter of its size or less (base64 attachments to about three quarters).
const LEVEL: i32 = 3;

/// Messages stored (by row number) before a dictionary is trained.
pub(crate) const TRAIN_AFTER: i64 = 1000;
/// The newest messages a dictionary is trained on.
const SAMPLES: i64 = 2000;
/// Of each, at most this much: the head of a mail holds what mail repeats, and an attachment's
/// base64 would only crowd it out.
const SAMPLE_BYTES: usize = 8 * 1024;
/// And at most this much in all: training holds the samples and about as much again, once
/// (8 MB raised the daemon's peak memory by 10 MiB, for no smaller mail than 2 MB gives).
const SAMPLES_BYTES: usize = 2 * 1024 * 1024;
/// The dictionary's size: loaded once per thread that compresses.
const DICTIONARY_BYTES: usize = 64 * 1024;

/// A trained dictionary.
#[derive(Debug)]
pub(crate) struct Dictionary {
    /// The ID its frames name.
    pub id: u32,
    bytes: Arc<[u8]>,
}

/// Every dictionary this process has read, by ID: what [`unpack`] decompresses with. The IDs
/// come from the dictionaries' content, so the dictionaries of different databases (tests
/// open many in one process) do not share one.
static KNOWN: RwLock<BTreeMap<u32, Arc<[u8]>>> = RwLock::new(BTreeMap::new());

thread_local! {
    /// One compressor per thread, its context reused, with the ID of the dictionary it holds
    /// (0: none): a mail costs microseconds, not an allocation of zstd's tables each time.
    static COMPRESSOR: RefCell<Option<(u32, zstd::bulk::Compressor<'static>)>> =
        const { RefCell::new(None) };
}

/// `raw` as it is stored: one zstd frame that records its content size, compressed with
/// `dictionary` when there is one.
///
/// # Errors
/// zstd failed to set up its context (out of memory).
pub(crate) fn pack(raw: &[u8], dictionary: Option<&Dictionary>) -> Result<Vec<u8>, Error> {
    let id = dictionary.map_or(0, |d| d.id);
    COMPRESSOR.with(|cell| {
        let mut cell = cell.borrow_mut();
        if cell.as_ref().is_none_or(|(held, _)| *held != id) {
            let bytes = dictionary.map_or(&[][..], |d| &d.bytes[..]);
            let compressor = zstd::bulk::Compressor::with_dictionary(LEVEL, bytes);
            *cell = Some((id, compressor.map_err(packing)?));
        }
        let (_, compressor) = cell.as_mut().expect("set just above");
        compressor.compress(raw).map_err(packing)
    })
}

/// The raw bytes of a stored message: unpacked when it is a zstd frame (with the dictionary
/// it names, which [`learn`] must have read first), as they are when it was stored before
/// compression.
///
/// # Errors
/// A stored frame that does not decompress, or names a dictionary this process has not read:
/// the database was changed behind our back.
pub(crate) fn unpack(stored: Vec<u8>) -> Result<Vec<u8>, Error> {
    if !stored.starts_with(&MAGIC) {
        return Ok(stored);
    }
    let damaged = |e: std::io::Error| {
        Error::Corrupt(format!("a stored raw message does not decompress: {e}"))
    };
    let Some(id) = named(&stored) else {
        return zstd::stream::decode_all(stored.as_slice()).map_err(damaged);
    };
    let known = KNOWN
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let Some(bytes) = known.get(&id).cloned() else {
        return Err(Error::Corrupt(format!(
            "a stored raw message was compressed with zstd dictionary {id}, which the \
             database does not hold"
        )));
    };
    drop(known);
    let mut out = Vec::new();
    zstd::stream::read::Decoder::with_dictionary(stored.as_slice(), &bytes)
        .and_then(|mut d| d.read_to_end(&mut out))
        .map_err(damaged)?;
    Ok(out)
}

/// The dictionary a stored frame names, if any.
fn named(stored: &[u8]) -> Option<u32> {
    if !stored.starts_with(&MAGIC) {
        return None;
    }
    zstd::zstd_safe::get_dict_id_from_frame(stored).map(std::num::NonZeroU32::get)
}

/// Reads the dictionary `stored` names from the database when this process has not read it
/// yet (another instance trained it), so that [`unpack`] finds it.
///
/// # Errors
/// Database failure.
pub(crate) async fn learn(pool: &sqlx::AnyPool, stored: &[u8]) -> Result<(), Error> {
    let Some(id) = named(stored) else {
        return Ok(());
    };
    if KNOWN
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .contains_key(&id)
    {
        return Ok(());
    }
    let row = sqlx::query("SELECT dict FROM dictionaries WHERE id = $1")
        .bind(i64::from(id))
        .fetch_optional(pool)
        .await?;
    if let Some(r) = row {
        remember(id, r.try_get::<Vec<u8>, _>(0)?.into());
    }
    Ok(())
}

fn remember(id: u32, bytes: Arc<[u8]>) -> Arc<Dictionary> {
    KNOWN
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(id, bytes.clone());
    Arc::new(Dictionary { id, bytes })
}

/// The newest dictionary of the database, if it has one.
///
/// # Errors
/// Database failure, or a stored dictionary zstd does not recognise.
pub(crate) async fn newest(pool: &sqlx::AnyPool) -> Result<Option<Arc<Dictionary>>, Error> {
    let row =
        sqlx::query("SELECT id, dict FROM dictionaries ORDER BY created_at DESC, id DESC LIMIT 1")
            .fetch_optional(pool)
            .await?;
    let Some(r) = row else {
        return Ok(None);
    };
    let (id, bytes): (i64, Vec<u8>) = (r.try_get(0)?, r.try_get(1)?);
    match u32::try_from(id) {
        Ok(id)
            if zstd::zstd_safe::get_dict_id(&bytes).map(std::num::NonZeroU32::get) == Some(id) =>
        {
            Ok(Some(remember(id, bytes.into())))
        }
        _ => Err(Error::Corrupt(format!(
            "the stored zstd dictionary {id} is not one (its bytes name another ID)"
        ))),
    }
}

/// Trains a dictionary on the newest messages once the database has [`TRAIN_AFTER`], stores
/// it and returns the newest (another instance may have stored one meanwhile); `None` while
/// there are fewer messages.
///
/// # Errors
/// Database failure, or zstd could not train on what is stored.
pub(crate) async fn train(
    pool: &sqlx::AnyPool,
    now: Millis,
) -> Result<Option<Arc<Dictionary>>, Error> {
    // Until the desk has enough mail this is the only statement, once per intake batch (no
    // instance can have trained one before then either).
    let last: Option<i64> = sqlx::query("SELECT MAX(id) FROM messages")
        .fetch_one(pool)
        .await?
        .try_get(0)?;
    if last.unwrap_or(0) < TRAIN_AFTER {
        return Ok(None);
    }
    if let Some(d) = newest(pool).await? {
        return Ok(Some(d));
    }
    // One buffer of samples end to end, as zstd's trainer takes them: no second copy.
    let (mut samples, mut sizes) = (Vec::new(), Vec::new());
    // Read as they come, the large ones (attachments) left out, until enough is read.
    let mut rows = sqlx::query(
        "SELECT raw FROM messages WHERE OCTET_LENGTH(raw) <= $1 ORDER BY id DESC LIMIT $2",
    )
    .bind(i64::try_from(4 * SAMPLE_BYTES).unwrap_or(i64::MAX))
    .bind(SAMPLES)
    .fetch(pool);
    while let Some(r) = rows.try_next().await? {
        // Dictionaries are trained on plain frames only, so nothing here needs one.
        if let Ok(raw) = unpack(r.try_get(0)?) {
            let head = &raw[..raw.len().min(SAMPLE_BYTES)];
            samples.extend_from_slice(head);
            sizes.push(head.len());
        }
        if samples.len() >= SAMPLES_BYTES {
            break;
        }
    }
    drop(rows);
    let bytes = tokio::task::spawn_blocking(move || {
        zstd::dict::from_continuous(&samples, &sizes, DICTIONARY_BYTES)
    })
    .await
    .map_err(|e| Error::Corrupt(format!("training a zstd dictionary stopped: {e}")))?
    .map_err(|e| Error::Corrupt(format!("zstd could not train a dictionary: {e}")))?;
    let Some(id) = zstd::zstd_safe::get_dict_id(&bytes) else {
        return Err(Error::Corrupt(
            "zstd trained a dictionary without an ID".into(),
        ));
    };
    sqlx::query(
        "INSERT INTO dictionaries (id, dict, created_at) VALUES ($1, $2, $3)
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(i64::from(id.get()))
    .bind(bytes)
    .bind(now)
    .execute(pool)
    .await?;
    newest(pool).await
}

fn packing(e: std::io::Error) -> Error {
    Error::Corrupt(format!("cannot compress a raw message: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{testing, Store};

    /// A small request like those of a desk: the same headers and phrases, different details.
    fn request(i: usize) -> Vec<u8> {
        let things = [
            "printer", "laptop", "VPN", "mailbox", "monitor", "badge", "Wi-Fi",
        ];
        let thing = things[i % things.len()];
        format!(
            "Return-Path: <user{i}@example.test>\r\nReceived: from mail.example.test by mx.example.test \
             with ESMTPS id {i:08x}\r\nFrom: User {i} <user{i}@example.test>\r\nTo: IT Service Desk \
             <support@example.test>\r\nSubject: {thing} not working on floor {}\r\nMessage-ID: \
             <{i:016x}@laptop-{}.corp.example.test>\r\nDate: Mon, 7 Dec 2026 09:{:02}:00 +0000\r\n\
             MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHi,\r\n\r\nMy {thing} \
             stopped working this morning (ticket {i}). I restarted it and it still does not work.\r\n\
             Could someone have a look?\r\n\r\nBest regards,\r\nUser {i}\r\nExample Corp, \
             Accounting\r\n",
            i % 9,
            i % 40,
            i % 60
        )
        .into_bytes()
    }

    /// `n` messages more on one case, stored as they were before compression.
    async fn seed(store: &Store, from: usize, n: usize) {
        let mut tx = store.begin().await.unwrap();
        if from == 0 {
            sqlx::query(
                "INSERT INTO cases (ticket, subject, requester, status, case_type, category,
                     priority, created_at, updated_at)
                 VALUES ('HD-000001', 's', 'a@example.test', 'open', 'incident', 'break_fix', 3,
                     0, 0)",
            )
            .execute(&mut *tx)
            .await
            .unwrap();
        }
        for i in from..from + n {
            sqlx::query(
                "INSERT INTO messages (case_id, message_id, content_hash, sender, subject, body,
                     auto_signals, origin, raw, received_at)
                 SELECT id, $1, $1, 'a@example.test', 's', 'b', '', 'test', $2, 0 FROM cases",
            )
            .bind(format!("{i}@example.test"))
            .bind(request(i))
            .execute(&mut *tx)
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
    }

    #[tokio::test]
    async fn a_dictionary_is_trained_once_the_desk_has_mail_and_shrinks_what_follows() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("helpdesk.db").display());
        let file = Store::connect(&url).await.unwrap();
        file.migrate().await.unwrap();
        let mut stores = vec![file];
        let tests = testing::stores().await;
        stores.extend(tests.iter().skip(1).map(|t| t.store.clone()));
        let now = Millis(1_000);
        for store in &stores {
            let below = usize::try_from(TRAIN_AFTER).unwrap() - 1;
            seed(store, 0, below).await;
            store.train_dictionary(now).await;
            assert!(store.dictionary().is_none(), "{below} messages are too few");
            seed(store, below, 1).await;
            store.train_dictionary(now).await;
            let d = store.dictionary().expect("trained at TRAIN_AFTER messages");
            let n: i64 = sqlx::query("SELECT COUNT(*) FROM dictionaries")
                .fetch_one(&store.pool)
                .await
                .unwrap()
                .get(0);
            assert_eq!(n, 1);
            // New mail like the desk's: far smaller with the dictionary, and it reads back.
            let mail = request(5_000);
            let plain = pack(&mail, None).unwrap();
            let packed = pack(&mail, Some(&d)).unwrap();
            assert!(
                packed.len() * 2 < plain.len(),
                "{} against {}",
                packed.len(),
                plain.len()
            );
            assert_eq!(named(&packed), Some(d.id));
            assert_eq!(unpack(packed.clone()).unwrap(), mail);
            // Work carries it to what stores messages.
            let work = store.work().await.unwrap();
            assert_eq!(work.dictionary.as_ref().map(|w| w.id), Some(d.id));
            drop(work);
            // A process that has not read the dictionary (another instance trained it) learns
            // it from the database before unpacking.
            KNOWN.write().unwrap().remove(&d.id);
            let err = unpack(packed.clone()).unwrap_err().to_string();
            assert!(err.contains(&format!("dictionary {}", d.id)), "{err}");
            learn(&store.pool, &packed).await.unwrap();
            assert_eq!(unpack(packed).unwrap(), mail);
        }
        // Opened again, the store compresses with the stored dictionary at once.
        let id = stores[0].dictionary().unwrap().id;
        let again = Store::connect(&url).await.unwrap();
        again.migrate().await.unwrap();
        assert_eq!(again.dictionary().map(|d| d.id), Some(id));
        again.close().await;
        for t in tests {
            t.cleanup().await;
        }
    }

    #[test]
    fn a_frame_of_a_dictionary_never_read_is_an_error_that_names_it() {
        let samples: Vec<Vec<u8>> = (0..300).map(request).collect();
        let bytes = zstd::dict::from_samples(&samples, 16 * 1024).unwrap();
        let id = zstd::zstd_safe::get_dict_id(&bytes).unwrap().get();
        // Not remembered: as if the row were missing from the database.
        let d = Dictionary {
            id,
            bytes: bytes.into(),
        };
        let packed = pack(&request(1), Some(&d)).unwrap();
        let err = unpack(packed).unwrap_err().to_string();
        assert!(
            err.contains(&format!(
                "zstd dictionary {id}, which the database does not hold"
            )),
            "{err}"
        );
        // The same thread packs without one afterwards: its compressor is replaced.
        assert_eq!(named(&pack(&request(2), None).unwrap()), None);
    }

    #[test]
    fn a_mail_round_trips_and_shrinks() {
        let mail = "From: a@example.test\r\nSubject: printer\r\n\r\n".to_owned()
            + &"The printer on floor 2 does not print. ".repeat(40);
        let packed = pack(mail.as_bytes(), None).unwrap();
        assert!(packed.starts_with(&MAGIC));
        assert!(packed.len() * 4 < mail.len(), "{} bytes", packed.len());
        assert_eq!(unpack(packed).unwrap(), mail.as_bytes());
    }

    #[test]
    fn rows_from_before_compression_read_as_they_are() {
        let old = b"Subject: old row\r\n\r\nbody".to_vec();
        assert_eq!(unpack(old.clone()).unwrap(), old);
        assert_eq!(unpack(Vec::new()).unwrap(), b"");
    }

    #[test]
    fn empty_and_binary_input_round_trip() {
        for raw in [Vec::new(), (0..=255u8).cycle().take(5000).collect()] {
            assert_eq!(unpack(pack(&raw, None).unwrap()).unwrap(), raw);
        }
    }

    #[test]
    fn a_damaged_frame_is_reported_not_returned() {
        let mut packed = pack(&b"Subject: x\r\n\r\n".repeat(50), None).unwrap();
        packed.truncate(packed.len() / 2);
        let err = unpack(packed).unwrap_err().to_string();
        assert!(err.contains("does not decompress"), "{err}");
    }
}
