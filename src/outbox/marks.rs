//! Group commit of the "sent" marks: the mails the parallel SMTP sessions finish while one
//! commit is running are recorded together in the next, so the sessions stop queueing one
//! commit (one fsync) each for the database's connection. Each mail is recorded before its
//! case's next one is sent, and before its connection sends another mail's final dot: a crash
//! resends at most one mail per connection, as before.

use std::sync::Mutex;

use crate::store::outbox::SentMail;
use crate::store::{self, Error};

/// The marks waiting for a commit, and which of them are recorded.
#[derive(Debug, Default)]
pub(super) struct Marks {
    /// Marks not yet taken into a commit, each with its number (in the order they came).
    waiting: Mutex<Waiting>,
    /// Held by the session committing; inside, the highest number recorded so far.
    recorded: tokio::sync::Mutex<u64>,
}

#[derive(Debug, Default)]
struct Waiting {
    last: u64,
    marks: Vec<(u64, SentMail)>,
}

impl Marks {
    /// Records `mail` as sent, together with whatever other sessions hand in meanwhile; returns
    /// once it is committed.
    ///
    /// # Errors
    /// Database failure of the commit that held this mark (the marks go back to wait for the
    /// next session's commit, so another session's failure does not lose them).
    pub(super) async fn sent(&self, pool: &sqlx::AnyPool, mail: SentMail) -> Result<(), Error> {
        let number = {
            let mut w = lock(&self.waiting);
            w.last += 1;
            let n = w.last;
            w.marks.push((n, mail));
            n
        };
        // One session commits at a time; the others' marks gather meanwhile.
        let mut recorded = self.recorded.lock().await;
        if *recorded >= number {
            return Ok(());
        }
        let batch = std::mem::take(&mut lock(&self.waiting).marks);
        let mails: Vec<&SentMail> = batch.iter().map(|(_, m)| m).collect();
        match store::outbox::mark_sent(pool, &mails).await {
            Ok(()) => {
                // Numbers are handed out in order, and a batch takes everything waiting.
                *recorded = batch.last().map_or(*recorded, |(n, _)| (*n).max(*recorded));
                Ok(())
            }
            Err(e) => {
                let mut w = lock(&self.waiting);
                let later = std::mem::take(&mut w.marks);
                w.marks = batch;
                w.marks.extend(later);
                Err(e)
            }
        }
    }
}

/// The waiting list; a session that panicked holding it left it whole (pushes and takes only).
fn lock(m: &Mutex<Waiting>) -> std::sync::MutexGuard<'_, Waiting> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Millis;
    use crate::store::testing;

    async fn pending(s: &store::Store, n: usize) -> Vec<i64> {
        let mut ids = Vec::new();
        for i in 0..n {
            let id: i64 = sqlx::query_scalar(
                r#"INSERT INTO outbox (kind, template, context, recipient, message_id,
                       reference_ids, status, attempts, next_attempt_at, created_at)
                   VALUES ('auto_reply', 't', '{}', 'a@example.test', $1, '', 'pending', 0, 0,
                       0)
                   RETURNING id"#,
            )
            .bind(format!("m{i}@helpdesk.test"))
            .fetch_one(&s.pool)
            .await
            .unwrap();
            ids.push(id);
        }
        ids
    }

    fn mail(id: i64) -> SentMail {
        SentMail {
            id,
            subject: format!("subject {id}"),
            body: "body".into(),
            at: Millis(7),
        }
    }

    async fn sent_count(s: &store::Store) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE status = 'sent' AND sent_at = 7")
            .fetch_one(&s.pool)
            .await
            .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn every_mark_handed_in_at_once_is_recorded_before_its_session_goes_on() {
        for t in testing::stores().await {
            let s = &t.store;
            let ids = pending(s, 40).await;
            let marks = std::sync::Arc::new(Marks::default());
            let sessions: Vec<_> = ids
                .iter()
                .map(|&id| {
                    let (marks, pool) = (marks.clone(), s.pool.clone());
                    tokio::spawn(async move {
                        marks.sent(&pool, mail(id)).await.unwrap();
                        // Recorded by the time `sent` returns, by whichever session committed.
                        let status: String =
                            sqlx::query_scalar("SELECT status FROM outbox WHERE id = $1")
                                .bind(id)
                                .fetch_one(&pool)
                                .await
                                .unwrap();
                        assert_eq!(status, "sent");
                    })
                })
                .collect();
            for session in sessions {
                session.await.unwrap();
            }
            assert_eq!(sent_count(s).await, 40);
            let subject: String = sqlx::query_scalar("SELECT subject FROM outbox WHERE id = $1")
                .bind(ids[3])
                .fetch_one(&s.pool)
                .await
                .unwrap();
            assert_eq!(subject, format!("subject {}", ids[3]));
            t.cleanup().await;
        }
    }

    #[tokio::test]
    async fn a_failed_commit_leaves_its_marks_to_the_next() {
        for t in testing::stores().await {
            let s = &t.store;
            let ids = pending(s, 2).await;
            let marks = Marks::default();
            // A closed pool fails the commit; the mark waits for the next session's.
            let closed = s.pool.clone();
            let failing = {
                let opts = s.pool.connect_options();
                sqlx::AnyPool::connect_lazy_with((*opts).clone())
            };
            failing.close().await;
            assert!(marks.sent(&failing, mail(ids[0])).await.is_err());
            assert_eq!(sent_count(s).await, 0);
            marks.sent(&closed, mail(ids[1])).await.unwrap();
            assert_eq!(
                sent_count(s).await,
                2,
                "the first mark went in with the second"
            );
            t.cleanup().await;
        }
    }
}
