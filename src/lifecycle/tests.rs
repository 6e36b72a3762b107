use super::*;

use Status::{Assigned, Closed, InProgress, Open, Pending, Resolved};

/// One millisecond.
const MS: Duration = Duration::from_millis(1);
const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(24 * 3600);

/// The reopen window every test runs with: a week.
const WINDOW: Duration = Duration::from_secs(7 * 24 * 3600);

/// When the resolved and closed fixtures were resolved (2026-12-07 10:00 UTC), in ms.
const RESOLVED_MS: i64 = 1_796_637_600_000;
/// When the resolved and closed fixtures were resolved.
const RESOLVED_AT: Millis = Millis(RESOLVED_MS);
/// The end of the resolved fixture's reopen window.
const CLOSE_AT: Millis = Millis(RESOLVED_MS + 7 * 86_400_000);
/// A moment well inside the resolved fixture's reopen window.
const INSIDE: Millis = Millis(RESOLVED_MS + 3_600_000);

const OLD_REASON: &str = "vendor: part ordered";
const NEW_REASON: &str = "customer: awaiting reply";
const RESOLUTION: &str = "replaced the toner";

/// The statuses in the order of the table's columns.
const COLUMNS: [Status; 6] = [Open, InProgress, Assigned, Pending, Resolved, Closed];

/// A case as it typically stands in `status`.
fn fixture(status: Status) -> Life {
    let mut life = Life {
        status,
        pending_reason: None,
        resolution: None,
        resolved_at: None,
        close_at: None,
        closed_at: None,
    };
    match status {
        Open | InProgress | Assigned => {}
        Pending => life.pending_reason = Some(OLD_REASON.into()),
        Resolved => {
            life.resolution = Some(RESOLUTION.into());
            life.resolved_at = Some(RESOLVED_AT);
            life.close_at = Some(CLOSE_AT);
        }
        Closed => {
            life.resolution = Some(RESOLUTION.into());
            life.resolved_at = Some(RESOLVED_AT);
            life.closed_at = Some(CLOSE_AT);
        }
    }
    life
}

/// What a step should give.
#[derive(Debug, Clone, Copy)]
enum Want {
    /// Accepted, and nothing changes or follows.
    Same,
    /// Accepted: the new status and what follows.
    To(Status, &'static [Effect]),
    /// Refused, with a message containing every one of these.
    No(&'static [&'static str]),
}

const SAME: Want = Want::Same;
const TO_IN_PROGRESS: Want = Want::To(InProgress, &[]);
const TO_ASSIGNED: Want = Want::To(Assigned, &[]);
const TO_PENDING: Want = Want::To(Pending, &[]);
const RESOLVED: Want = Want::To(Resolved, &[Effect::ResolutionNotice]);
const CLOSED_NOW: Want = Want::To(Closed, &[]);
const CLOSED_NOTICE: Want = Want::To(Closed, &[Effect::ClosedNotice]);
const REOPENED: Want = Want::To(InProgress, &[Effect::Reopened { by_customer: false }]);
const DISPUTED: Want = Want::To(InProgress, &[Effect::Reopened { by_customer: true }]);

const REOPEN_FIRST: Want = Want::No(&["/reopen"]);
const ALREADY_RESOLVED: Want = Want::No(&["already resolved", "/reopen"]);
const RESOLVE_FIRST: Want = Want::No(&["/resolve"]);
const NEEDS_REASON: Want = Want::No(&["reason", "vendor"]);
/// Refused either for the missing reason or for the status; both mention pending.
const NO_PENDING: Want = Want::No(&["pending"]);
const NOT_FOR_ACTIVE: Want = Want::No(&["/reopen", "resolved or closed"]);
const NOT_OVER: Want = Want::No(&["window"]);

/// One event, when it happens, and what it should give in each status of [`COLUMNS`].
struct Row {
    event: Event,
    now: Millis,
    want: [Want; 6],
}

fn row(event: Event, now: Millis, want: [Want; 6]) -> Row {
    Row { event, now, want }
}

fn set(to: Status, reason: Option<&str>) -> Event {
    Event::Set(to, reason.map(str::to_owned))
}

/// The product contract, written out by hand: every status × every event.
fn table() -> Vec<Row> {
    let replied = |thanks| Event::CustomerReplied { thanks };
    let reason = Some(NEW_REASON);
    let rf = REOPEN_FIRST;
    #[rustfmt::skip]
    let rows = vec![
        //                                        open            in_progress     assigned        pending         resolved          closed
        row(set(Open, None), INSIDE,             [rf,             rf,             rf,             rf,             rf,               rf]),
        row(set(Open, reason), INSIDE,           [rf,             rf,             rf,             rf,             rf,               rf]),
        row(set(InProgress, None), INSIDE,       [TO_IN_PROGRESS, SAME,           TO_IN_PROGRESS, TO_IN_PROGRESS, rf,               rf]),
        row(set(InProgress, reason), INSIDE,     [TO_IN_PROGRESS, SAME,           TO_IN_PROGRESS, TO_IN_PROGRESS, rf,               rf]),
        row(set(Assigned, None), INSIDE,         [TO_ASSIGNED,    TO_ASSIGNED,    SAME,           TO_ASSIGNED,    rf,               rf]),
        row(set(Assigned, reason), INSIDE,       [TO_ASSIGNED,    TO_ASSIGNED,    SAME,           TO_ASSIGNED,    rf,               rf]),
        row(set(Pending, None), INSIDE,          [NEEDS_REASON,   NEEDS_REASON,   NEEDS_REASON,   NEEDS_REASON,   NO_PENDING,       NO_PENDING]),
        row(set(Pending, reason), INSIDE,        [TO_PENDING,     TO_PENDING,     TO_PENDING,     TO_PENDING,     rf,               rf]),
        row(set(Resolved, None), INSIDE,         [RESOLVED,       RESOLVED,       RESOLVED,       RESOLVED,       ALREADY_RESOLVED, rf]),
        row(set(Resolved, reason), INSIDE,       [RESOLVED,       RESOLVED,       RESOLVED,       RESOLVED,       ALREADY_RESOLVED, rf]),
        row(set(Closed, None), INSIDE,           [RESOLVE_FIRST,  RESOLVE_FIRST,  RESOLVE_FIRST,  RESOLVE_FIRST,  CLOSED_NOW,       rf]),
        row(set(Closed, reason), INSIDE,         [RESOLVE_FIRST,  RESOLVE_FIRST,  RESOLVE_FIRST,  RESOLVE_FIRST,  CLOSED_NOW,       rf]),
        row(Event::Resolve(Some("fixed".into())), INSIDE,
                                                 [RESOLVED,       RESOLVED,       RESOLVED,       RESOLVED,       ALREADY_RESOLVED, rf]),
        row(Event::Resolve(None), INSIDE,        [RESOLVED,       RESOLVED,       RESOLVED,       RESOLVED,       ALREADY_RESOLVED, rf]),
        row(Event::Reopen, INSIDE,               [NOT_FOR_ACTIVE, NOT_FOR_ACTIVE, NOT_FOR_ACTIVE, NOT_FOR_ACTIVE, REOPENED,         REOPENED]),
        row(Event::Assigned, INSIDE,             [TO_ASSIGNED,    TO_ASSIGNED,    SAME,           TO_ASSIGNED,    rf,               rf]),
        row(Event::Answered, INSIDE,             [TO_IN_PROGRESS, SAME,           SAME,           SAME,           SAME,             SAME]),
        row(replied(false), INSIDE,              [SAME,           SAME,           SAME,           SAME,           DISPUTED,         SAME]),
        row(replied(false), CLOSE_AT - MS,        [SAME,           SAME,           SAME,           SAME,           DISPUTED,         SAME]),
        row(replied(false), CLOSE_AT,            [SAME,           SAME,           SAME,           SAME,           SAME,             SAME]),
        row(replied(false), CLOSE_AT + DAY,      [SAME,           SAME,           SAME,           SAME,           SAME,             SAME]),
        row(replied(true), INSIDE,               [SAME,           SAME,           SAME,           SAME,           SAME,             SAME]),
        row(replied(true), CLOSE_AT + DAY,       [SAME,           SAME,           SAME,           SAME,           SAME,             SAME]),
        row(Event::WindowElapsed, INSIDE,        [NOT_OVER,       NOT_OVER,       NOT_OVER,       NOT_OVER,       NOT_OVER,         NOT_OVER]),
        row(Event::WindowElapsed, CLOSE_AT - MS,  [NOT_OVER,       NOT_OVER,       NOT_OVER,       NOT_OVER,       NOT_OVER,         NOT_OVER]),
        row(Event::WindowElapsed, CLOSE_AT,      [NOT_OVER,       NOT_OVER,       NOT_OVER,       NOT_OVER,       CLOSED_NOTICE,    NOT_OVER]),
        row(Event::WindowElapsed, CLOSE_AT + DAY, [NOT_OVER,       NOT_OVER,       NOT_OVER,       NOT_OVER,       CLOSED_NOTICE,    NOT_OVER]),
    ];
    rows
}

/// The case after an accepted transition to `to`, by the contract's rules for each kind of
/// transition (not by calling `step`).
fn expected(life: &Life, event: &Event, now: Millis, to: Status, effects: &[Effect]) -> Life {
    let mut want = life.clone();
    want.status = to;
    // Only `/status pending <reason>` sets a reason; any other status clears it.
    want.pending_reason = match event {
        Event::Set(Pending, reason) if to == Pending => reason.clone(),
        _ => None,
    };
    let reopened = effects.iter().any(|e| matches!(e, Effect::Reopened { .. }));
    match to {
        Resolved => {
            if let Event::Resolve(text) = event {
                want.resolution.clone_from(text);
            }
            want.resolved_at = Some(now);
            want.close_at = Some(now + WINDOW);
        }
        Closed => {
            want.close_at = None;
            want.closed_at = Some(now);
        }
        _ if reopened => {
            want.resolution = None;
            want.close_at = None;
            want.closed_at = None;
        }
        _ => {}
    }
    want
}

/// Whether a refusal names a command (`/reopen`) or a status, so the reader knows what to do.
fn names_command_or_status(message: &str) -> bool {
    message.contains('/') || Status::ALL.iter().any(|s| message.contains(s.as_str()))
}

/// Checks one cell of the table; `None` when it holds.
fn check(from: Status, row: &Row, want: Want) -> Option<String> {
    let life = fixture(from);
    let got = step(&life, &row.event, row.now, WINDOW);
    let cell = format!(
        "{from} + {:?} at {}",
        row.event,
        row.now.since(RESOLVED_AT).as_millis()
    );
    match (want, got) {
        (Want::Same, Ok((next, effects))) if next == life && effects.is_empty() => None,
        (Want::To(to, want_effects), Ok((next, effects)))
            if next == expected(&life, &row.event, row.now, to, want_effects)
                && effects == want_effects =>
        {
            None
        }
        (Want::No(hints), Err(message))
            if !message.trim().is_empty()
                && names_command_or_status(&message)
                && hints.iter().all(|h| message.contains(h)) =>
        {
            None
        }
        (want, got) => Some(format!("{cell}: want {want:?}, got {got:?}")),
    }
}

#[test]
fn every_status_and_event_gives_what_the_contract_says() {
    let failures: Vec<String> = table()
        .iter()
        .flat_map(|row| {
            COLUMNS
                .iter()
                .zip(row.want)
                .filter_map(move |(from, want)| check(*from, row, want))
        })
        .collect();
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// The variant's name; a new variant fails to compile here until the table covers it.
fn variant(event: &Event) -> &'static str {
    match event {
        Event::Set(..) => "set",
        Event::Resolve(_) => "resolve",
        Event::Reopen => "reopen",
        Event::Assigned => "assigned",
        Event::Answered => "answered",
        Event::CustomerReplied { .. } => "customer_replied",
        Event::WindowElapsed => "window_elapsed",
    }
}

#[test]
fn the_table_covers_every_status_and_event() {
    assert_eq!(COLUMNS.as_slice(), Status::ALL);
    let rows = table();
    let variants: std::collections::BTreeSet<_> = rows.iter().map(|r| variant(&r.event)).collect();
    assert_eq!(variants.len(), 7, "{variants:?}");
    for to in Status::ALL {
        for reason in [None, Some(NEW_REASON)] {
            let event = set(*to, reason);
            assert!(
                rows.iter().any(|r| r.event == event),
                "no row for {event:?}"
            );
        }
    }
    for resolution in [Some("fixed".to_owned()), None] {
        let event = Event::Resolve(resolution);
        assert!(
            rows.iter().any(|r| r.event == event),
            "no row for {event:?}"
        );
    }
    for thanks in [false, true] {
        let event = Event::CustomerReplied { thanks };
        let inside = rows.iter().any(|r| r.event == event && r.now < CLOSE_AT);
        let after = rows.iter().any(|r| r.event == event && r.now > CLOSE_AT);
        assert!(inside && after, "{event:?} inside and after the window");
    }
}

#[test]
fn refusals_say_what_to_do_instead() {
    let mut refusals = 0;
    for row in table() {
        for from in COLUMNS {
            if let Err(message) = step(&fixture(from), &row.event, row.now, WINDOW) {
                refusals += 1;
                assert!(!message.trim().is_empty(), "{from} + {:?}", row.event);
                assert!(
                    names_command_or_status(&message),
                    "{from} + {:?}: {message:?} names neither a command nor a status",
                    row.event
                );
            }
        }
    }
    // Every `No` cell of the table: a refusal can only be checked if it happens.
    let want = table()
        .iter()
        .flat_map(|r| r.want)
        .filter(|w| matches!(w, Want::No(_)))
        .count();
    assert_eq!(refusals, want);
}

#[test]
fn status_open_points_to_reopen() {
    for from in COLUMNS {
        let message = step(&fixture(from), &set(Open, None), INSIDE, WINDOW).unwrap_err();
        assert!(message.contains("/reopen"), "{from}: {message}");
    }
}

#[test]
fn pending_needs_a_reason_and_lists_them() {
    let message = step(&fixture(InProgress), &set(Pending, None), INSIDE, WINDOW).unwrap_err();
    for reason in ["vendor", "customer", "district", "scheduled"] {
        assert!(message.contains(reason), "{message}");
    }
}

#[test]
fn resolve_records_the_text_the_time_and_the_window() {
    let now = RESOLVED_AT;
    let (life, effects) = step(
        &fixture(Pending),
        &Event::Resolve(Some("swapped the fuser".into())),
        now,
        WINDOW,
    )
    .unwrap();
    assert_eq!(
        life,
        Life {
            status: Resolved,
            pending_reason: None,
            resolution: Some("swapped the fuser".into()),
            resolved_at: Some(now),
            close_at: Some(now + 7 * DAY),
            closed_at: None,
        }
    );
    assert_eq!(effects, [Effect::ResolutionNotice]);
}

#[test]
fn status_resolved_resolves_without_text() {
    let (life, effects) = step(&fixture(Assigned), &set(Resolved, None), INSIDE, WINDOW).unwrap();
    assert_eq!(life.status, Resolved);
    assert_eq!(life.resolution, None);
    assert_eq!(life.resolved_at, Some(INSIDE));
    assert_eq!(life.close_at, Some(INSIDE + WINDOW));
    assert_eq!(effects, [Effect::ResolutionNotice]);
}

#[test]
fn a_zero_window_can_close_at_once() {
    let zero = Duration::ZERO;
    let (life, _) = step(&fixture(InProgress), &Event::Resolve(None), INSIDE, zero).unwrap();
    assert_eq!(life.close_at, Some(INSIDE));
    // The window is over the moment it starts: a reply no longer reopens, the scheduler closes.
    let (same, effects) = step(
        &life,
        &Event::CustomerReplied { thanks: false },
        INSIDE,
        zero,
    )
    .unwrap();
    assert_eq!((&same, effects.as_slice()), (&life, [].as_slice()));
    let (closed, effects) = step(&life, &Event::WindowElapsed, INSIDE, zero).unwrap();
    assert_eq!(closed.status, Closed);
    assert_eq!(effects, [Effect::ClosedNotice]);
}

#[test]
fn a_huge_window_saturates_instead_of_overflowing() {
    let (life, _) = step(&fixture(Open), &Event::Resolve(None), INSIDE, Duration::MAX).unwrap();
    assert_eq!(life.close_at, Some(Millis(i64::MAX)));
    let late = Millis(i64::MAX - 1);
    let (life, _) = step(&fixture(Open), &Event::Resolve(None), late, WINDOW).unwrap();
    assert_eq!(life.close_at, Some(Millis(i64::MAX)));
}

#[test]
fn closing_a_resolved_case_closes_it_at_once() {
    let now = RESOLVED_AT + 2 * DAY;
    let (life, effects) = step(&fixture(Resolved), &set(Closed, None), now, WINDOW).unwrap();
    assert_eq!(life.status, Closed);
    assert_eq!(life.close_at, None);
    assert_eq!(life.closed_at, Some(now));
    assert_eq!(life.resolution.as_deref(), Some(RESOLUTION));
    assert_eq!(life.resolved_at, Some(RESOLVED_AT));
    assert!(effects.is_empty(), "{effects:?}");
}

#[test]
fn closing_an_active_case_says_resolve_first() {
    for from in [Open, InProgress, Assigned, Pending] {
        let message = step(&fixture(from), &set(Closed, None), INSIDE, WINDOW).unwrap_err();
        assert!(message.contains("/resolve"), "{from}: {message}");
        assert!(message.contains(from.as_str()), "{from}: {message}");
    }
}

#[test]
fn reopen_clears_the_resolution_and_the_window() {
    for from in [Resolved, Closed] {
        let mut life = fixture(from);
        // Not reachable through `step`, but a reopened case must never keep a stale reason.
        life.pending_reason = Some(OLD_REASON.into());
        let (next, effects) = step(&life, &Event::Reopen, INSIDE, WINDOW).unwrap();
        assert_eq!(next.status, InProgress, "{from}");
        assert_eq!(next.pending_reason, None, "{from}");
        assert_eq!(next.resolution, None, "{from}");
        assert_eq!(next.close_at, None, "{from}");
        assert_eq!(next.closed_at, None, "{from}");
        assert_eq!(effects, [Effect::Reopened { by_customer: false }], "{from}");
    }
}

#[test]
fn leaving_pending_clears_the_reason() {
    let events = [
        set(InProgress, None),
        set(Assigned, None),
        set(Resolved, None),
        Event::Resolve(Some("done".into())),
        Event::Assigned,
    ];
    for event in events {
        let (life, _) = step(&fixture(Pending), &event, INSIDE, WINDOW).unwrap();
        assert_ne!(life.status, Pending, "{event:?}");
        assert_eq!(life.pending_reason, None, "{event:?}");
    }
}

#[test]
fn pending_again_changes_the_reason() {
    let (life, effects) = step(
        &fixture(Pending),
        &set(Pending, Some(NEW_REASON)),
        INSIDE,
        WINDOW,
    )
    .unwrap();
    assert_eq!(life.status, Pending);
    assert_eq!(life.pending_reason.as_deref(), Some(NEW_REASON));
    assert!(effects.is_empty());
}

#[test]
fn same_status_is_a_no_op() {
    for to in [InProgress, Assigned] {
        let life = fixture(to);
        let (next, effects) = step(&life, &set(to, None), INSIDE, WINDOW).unwrap();
        assert_eq!(next, life, "{to}");
        assert!(effects.is_empty(), "{to}");
    }
    let life = fixture(Pending);
    let (next, effects) = step(&life, &set(Pending, Some(OLD_REASON)), INSIDE, WINDOW).unwrap();
    assert_eq!(next, life);
    assert!(effects.is_empty());
}

#[test]
fn customer_reply_reopens_only_until_the_window_ends() {
    let dispute = Event::CustomerReplied { thanks: false };
    let life = fixture(Resolved);
    let (inside, effects) = step(&life, &dispute, CLOSE_AT - MS, WINDOW).unwrap();
    assert_eq!(inside.status, InProgress);
    assert_eq!(inside.resolution, None);
    assert_eq!(inside.close_at, None);
    assert_eq!(effects, [Effect::Reopened { by_customer: true }]);
    for now in [CLOSE_AT, CLOSE_AT + MS, CLOSE_AT + 30 * DAY] {
        let (next, effects) = step(&life, &dispute, now, WINDOW).unwrap();
        assert_eq!(next, life, "at close_at + {:?}", now.since(CLOSE_AT));
        assert!(effects.is_empty());
    }
}

#[test]
fn thanks_never_reopens() {
    let thanks = Event::CustomerReplied { thanks: true };
    for from in COLUMNS {
        let life = fixture(from);
        for now in [INSIDE, CLOSE_AT + DAY] {
            let (next, effects) = step(&life, &thanks, now, WINDOW).unwrap();
            assert_eq!(next, life, "{from}");
            assert!(effects.is_empty(), "{from}");
        }
    }
}

#[test]
fn window_elapsed_closes_only_a_resolved_case_whose_window_is_over() {
    let life = fixture(Resolved);
    let message = step(&life, &Event::WindowElapsed, CLOSE_AT - MS, WINDOW).unwrap_err();
    assert!(message.contains("window"), "{message}");
    let now = CLOSE_AT + HOUR;
    let (closed, effects) = step(&life, &Event::WindowElapsed, now, WINDOW).unwrap();
    assert_eq!(closed.status, Closed);
    assert_eq!(closed.closed_at, Some(now));
    assert_eq!(closed.close_at, None);
    assert_eq!(closed.resolution.as_deref(), Some(RESOLUTION));
    assert_eq!(effects, [Effect::ClosedNotice]);

    // Resolved, but with no window recorded: nothing to elapse.
    let mut no_window = fixture(Resolved);
    no_window.close_at = None;
    assert!(step(&no_window, &Event::WindowElapsed, now, WINDOW).is_err());
}

#[test]
fn answering_starts_work_on_an_open_case_only() {
    let (life, effects) = step(&fixture(Open), &Event::Answered, INSIDE, WINDOW).unwrap();
    assert_eq!(life.status, InProgress);
    assert!(effects.is_empty());
    for from in [InProgress, Assigned, Pending, Resolved, Closed] {
        let life = fixture(from);
        let (next, effects) = step(&life, &Event::Answered, INSIDE, WINDOW).unwrap();
        assert_eq!(next, life, "{from}");
        assert!(effects.is_empty(), "{from}");
    }
}

/// Steps `life` through `event` at `now`, expecting it to be accepted.
fn go(life: &Life, event: Event, now: Millis) -> (Life, Vec<Effect>) {
    step(life, &event, now, WINDOW)
        .unwrap_or_else(|why| panic!("{} + {event:?} refused: {why}", life.status))
}

#[test]
fn a_case_from_open_to_closed_and_back() {
    let t0 = RESOLVED_AT;
    let life = fixture(Open);

    let (life, fx) = go(&life, Event::Assigned, t0);
    assert_eq!((life.status, fx.as_slice()), (Assigned, [].as_slice()));

    let (life, fx) = go(&life, set(Pending, Some(OLD_REASON)), t0 + HOUR);
    assert_eq!(life.status, Pending);
    assert_eq!(life.pending_reason.as_deref(), Some(OLD_REASON));
    assert!(fx.is_empty());

    let (life, fx) = go(&life, set(InProgress, None), t0 + DAY);
    assert_eq!(life.status, InProgress);
    assert_eq!(life.pending_reason, None);
    assert!(fx.is_empty());

    let t1 = t0 + 2 * DAY;
    let (life, fx) = go(&life, Event::Resolve(Some("new fuser".into())), t1);
    assert_eq!(life.status, Resolved);
    assert_eq!(life.resolution.as_deref(), Some("new fuser"));
    assert_eq!(life.close_at, Some(t1 + WINDOW));
    assert_eq!(fx, [Effect::ResolutionNotice]);

    // The customer disputes the resolution.
    let (life, fx) = go(&life, Event::CustomerReplied { thanks: false }, t1 + DAY);
    assert_eq!(life.status, InProgress);
    assert_eq!((life.resolution.as_deref(), life.close_at), (None, None));
    assert_eq!(fx, [Effect::Reopened { by_customer: true }]);

    // Resolved again: a fresh window from the second resolution.
    let t2 = t1 + 3 * DAY;
    let (life, fx) = go(&life, Event::Resolve(Some("new drum too".into())), t2);
    assert_eq!(life.status, Resolved);
    assert_eq!(life.resolved_at, Some(t2));
    assert_eq!(life.close_at, Some(t2 + WINDOW));
    assert_eq!(fx, [Effect::ResolutionNotice]);

    let (same, fx) = go(&life, Event::CustomerReplied { thanks: true }, t2 + DAY);
    assert_eq!((&same, fx.as_slice()), (&life, [].as_slice()));
    assert!(step(&life, &Event::WindowElapsed, t2 + WINDOW - MS, WINDOW).is_err());

    let t3 = t2 + WINDOW;
    let (life, fx) = go(&life, Event::WindowElapsed, t3);
    assert_eq!(life.status, Closed);
    assert_eq!(life.closed_at, Some(t3));
    assert_eq!(life.close_at, None);
    assert_eq!(fx, [Effect::ClosedNotice]);

    // A late reply leaves it closed; only /reopen opens it again.
    let (same, fx) = go(&life, Event::CustomerReplied { thanks: false }, t3 + DAY);
    assert_eq!((&same, fx.as_slice()), (&life, [].as_slice()));
    assert!(step(&life, &Event::Resolve(None), t3 + DAY, WINDOW).is_err());

    let (life, fx) = go(&life, Event::Reopen, t3 + 2 * DAY);
    assert_eq!(life.status, InProgress);
    assert_eq!(
        (life.resolution.as_deref(), life.close_at, life.closed_at),
        (None, None, None)
    );
    assert_eq!(fx, [Effect::Reopened { by_customer: false }]);
}

#[test]
fn the_customer_answering_ends_a_wait_on_the_customer_only() {
    let mut life = fixture(Pending);
    life.pending_reason = Some("customer: which printer?".into());
    let (next, fx) = step(
        &life,
        &Event::CustomerReplied { thanks: false },
        INSIDE,
        WINDOW,
    )
    .unwrap();
    assert_eq!(
        (next.status, next.pending_reason, fx),
        (InProgress, None, vec![])
    );
    let (same, _) = step(
        &life,
        &Event::CustomerReplied { thanks: true },
        INSIDE,
        WINDOW,
    )
    .unwrap();
    assert_eq!(same, life, "thanks alone is no answer");
    life.pending_reason = Some("customer".into());
    let (next, _) = step(
        &life,
        &Event::CustomerReplied { thanks: false },
        INSIDE,
        WINDOW,
    )
    .unwrap();
    assert_eq!(next.status, InProgress);
    for reason in [
        "vendor: part ordered",
        "district",
        "scheduled: Friday",
        "customers-of-vendor",
    ] {
        life.pending_reason = Some(reason.into());
        let (same, _) = step(
            &life,
            &Event::CustomerReplied { thanks: false },
            INSIDE,
            WINDOW,
        )
        .unwrap();
        assert_eq!(same, life, "{reason}: still waiting on someone else");
    }
}
