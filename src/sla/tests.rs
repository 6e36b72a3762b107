use super::*;

use jiff::civil::date;
use jiff::tz::TimeZone;

const MIN: Duration = Duration::from_secs(60);

/// Monday to Friday, 08:00-17:00 UTC: a working day of 9 hours.
fn office() -> Calendar {
    let days: Vec<String> = ["mon", "tue", "wed", "thu", "fri"]
        .iter()
        .map(|d| (*d).to_owned())
        .collect();
    Calendar::new(Some("UTC"), &days, "08:00-17:00", &[]).unwrap()
}

/// December 2026 in UTC, as ms; the 7th and the 14th are Mondays, the 11th a Friday.
fn dec(day: i8, hour: i8, minute: i8) -> Millis {
    Millis(
        date(2026, 12, day)
            .at(hour, minute, 0, 0)
            .to_zoned(TimeZone::UTC)
            .unwrap()
            .timestamp()
            .as_millisecond(),
    )
}

fn hours(n: u64) -> Target {
    Target {
        duration: Duration::from_secs(n * 3600),
        clock: ClockKind::Always,
    }
}

fn business_days(n: u64) -> Target {
    Target {
        duration: Duration::from_secs(n * 86_400),
        clock: ClockKind::Business,
    }
}

/// The clocks with a warning at three quarters of a target.
fn clocks(calendar: &Calendar) -> Clocks<'_> {
    Clocks {
        calendar,
        warn_at: Some(0.75),
    }
}

/// A resolution clock started at `start` with `target` (a new case, open).
fn started(c: &Clocks<'_>, target: Target, start: Millis) -> Resolution {
    c.sync(Resolution::default(), Status::Open, Some(target), start)
}

#[test]
fn the_clock_runs_only_while_open_in_progress_or_assigned() {
    let want = [
        (Status::Open, true),
        (Status::InProgress, true),
        (Status::Assigned, true),
        (Status::Pending, false),
        (Status::Resolved, false),
        (Status::Closed, false),
    ];
    assert_eq!(want.len(), Status::ALL.len());
    for (status, runs_in) in want {
        assert_eq!(runs(status), runs_in, "{status}");
    }
}

#[test]
fn first_response_around_the_clock() {
    let cal = office();
    let fr = clocks(&cal).first_response(hours(4), dec(7, 10, 0));
    assert_eq!(
        fr,
        FirstResponse {
            due_at: Some(dec(7, 14, 0)),
            warn_at: Some(dec(7, 13, 0)),
            at: None,
            stage: Stage::None,
            breached_at: None,
        }
    );
}

#[test]
fn first_response_around_the_clock_ignores_the_calendar() {
    let cal = office();
    // Friday 16:00 + 4h is Friday 20:00, after hours.
    let fr = clocks(&cal).first_response(hours(4), dec(11, 16, 0));
    assert_eq!(fr.due_at, Some(dec(11, 20, 0)));
    assert_eq!(fr.warn_at, Some(dec(11, 19, 0)));
}

#[test]
fn first_response_on_business_days() {
    let cal = office();
    // One working day is 9 h: Friday 16:00-17:00, then Monday 08:00-16:00.
    let fr = clocks(&cal).first_response(business_days(1), dec(11, 16, 0));
    assert_eq!(fr.due_at, Some(dec(14, 16, 0)));
    // 0.75 × 9 h = 6 h 45 min: one on Friday, 5 h 45 min on Monday.
    assert_eq!(fr.warn_at, Some(dec(14, 13, 45)));
    assert_eq!((fr.at, fr.stage, fr.breached_at), (None, Stage::None, None));
}

#[test]
fn first_response_without_warnings() {
    let cal = office();
    let c = Clocks {
        calendar: &cal,
        warn_at: None,
    };
    let fr = c.first_response(hours(4), dec(7, 10, 0));
    assert_eq!(fr.due_at, Some(dec(7, 14, 0)));
    assert_eq!(fr.warn_at, None);
    let fr = c.first_response(business_days(1), dec(11, 16, 0));
    assert_eq!(fr.due_at, Some(dec(14, 16, 0)));
    assert_eq!(fr.warn_at, None);
}

#[test]
fn answered_in_time_stops_the_clock_once() {
    let cal = office();
    let fr = clocks(&cal).first_response(hours(4), dec(7, 10, 0));
    let answered = Clocks::answered(fr, dec(7, 12, 0));
    assert_eq!(answered.at, Some(dec(7, 12, 0)));
    assert_eq!(answered.breached_at, None);
    assert_eq!(answered.due_at, fr.due_at);
    // A second reply, even a late one, changes nothing.
    assert_eq!(Clocks::answered(answered, dec(7, 15, 0)), answered);
}

#[test]
fn answered_late_is_breached_at_the_due_time() {
    let cal = office();
    let fr = clocks(&cal).first_response(hours(4), dec(7, 10, 0));
    let answered = Clocks::answered(fr, dec(7, 15, 0));
    assert_eq!(answered.at, Some(dec(7, 15, 0)));
    assert_eq!(answered.breached_at, Some(dec(7, 14, 0)));
    // Exactly at the due time is late too.
    let on_the_dot = Clocks::answered(fr, dec(7, 14, 0));
    assert_eq!(on_the_dot.breached_at, Some(dec(7, 14, 0)));
}

#[test]
fn answered_keeps_a_breach_already_recorded() {
    let cal = office();
    let mut fr = clocks(&cal).first_response(hours(4), dec(7, 10, 0));
    fr.breached_at = Some(dec(7, 14, 1));
    fr.stage = Stage::Breached;
    let answered = Clocks::answered(fr, dec(7, 16, 0));
    assert_eq!(answered.breached_at, Some(dec(7, 14, 1)));
    assert_eq!(answered.stage, Stage::Breached);
}

#[test]
fn answered_without_a_target() {
    let answered = Clocks::answered(FirstResponse::default(), dec(7, 12, 0));
    assert_eq!(answered.at, Some(dec(7, 12, 0)));
    assert_eq!(answered.breached_at, None);
}

#[test]
fn a_running_clock_is_due_at_the_target() {
    let cal = office();
    let clock = started(&clocks(&cal), hours(4), dec(7, 10, 0));
    assert_eq!(
        clock,
        Resolution {
            since: Some(dec(7, 10, 0)),
            used_real: Duration::ZERO,
            used_work: Duration::ZERO,
            due_at: Some(dec(7, 14, 0)),
            warn_at: Some(dec(7, 13, 0)),
            stage: Stage::None,
            breached_at: None,
        }
    );
}

#[test]
fn a_business_clock_is_due_a_working_day_later() {
    let cal = office();
    let clock = started(&clocks(&cal), business_days(1), dec(11, 16, 0));
    assert_eq!(clock.due_at, Some(dec(14, 16, 0)));
    assert_eq!(clock.warn_at, Some(dec(14, 13, 45)));
}

#[test]
fn without_a_target_the_clock_runs_without_due_times() {
    let cal = office();
    let clock = clocks(&cal).sync(Resolution::default(), Status::Open, None, dec(7, 10, 0));
    assert_eq!(clock.since, Some(dec(7, 10, 0)));
    assert_eq!((clock.due_at, clock.warn_at), (None, None));
}

#[test]
fn without_warnings_there_is_no_warning_time() {
    let cal = office();
    let c = Clocks {
        calendar: &cal,
        warn_at: None,
    };
    let clock = started(&c, hours(4), dec(7, 10, 0));
    assert_eq!(clock.due_at, Some(dec(7, 14, 0)));
    assert_eq!(clock.warn_at, None);
}

#[test]
fn a_clock_created_pending_does_not_start() {
    let cal = office();
    let clock = clocks(&cal).sync(
        Resolution::default(),
        Status::Pending,
        Some(hours(4)),
        dec(7, 10, 0),
    );
    assert_eq!(clock, Resolution::default());
}

#[test]
fn pending_stops_the_clock_and_counts_the_stretch() {
    let cal = office();
    let c = clocks(&cal);
    let clock = started(&c, hours(4), dec(7, 10, 0));
    let paused = c.sync(clock, Status::Pending, Some(hours(4)), dec(7, 12, 0));
    assert_eq!(
        paused,
        Resolution {
            since: None,
            used_real: Duration::from_secs(2 * 3600),
            used_work: Duration::from_secs(2 * 3600),
            due_at: None,
            warn_at: None,
            stage: Stage::None,
            breached_at: None,
        }
    );
}

#[test]
fn resolved_and_closed_stop_the_clock_too() {
    let cal = office();
    let c = clocks(&cal);
    let clock = started(&c, hours(4), dec(7, 10, 0));
    for status in [Status::Resolved, Status::Closed] {
        let stopped = c.sync(clock, status, Some(hours(4)), dec(7, 11, 0));
        assert_eq!(stopped.since, None, "{status}");
        assert_eq!((stopped.due_at, stopped.warn_at), (None, None), "{status}");
        assert_eq!(
            (stopped.used_real, stopped.used_work),
            (Duration::from_secs(3600), Duration::from_secs(3600)),
            "{status}"
        );
    }
}

#[test]
fn working_time_used_counts_only_working_hours() {
    let cal = office();
    let c = clocks(&cal);
    // Friday 16:00 to Monday 09:00: 65 hours, two of them working hours.
    let clock = started(&c, business_days(1), dec(11, 16, 0));
    let paused = c.sync(
        clock,
        Status::Pending,
        Some(business_days(1)),
        dec(14, 9, 0),
    );
    assert_eq!(paused.used_real, Duration::from_secs(65 * 3600));
    assert_eq!(paused.used_work, Duration::from_secs(2 * 3600));
}

#[test]
fn stretches_add_up() {
    let cal = office();
    let c = clocks(&cal);
    let t = Some(hours(4));
    let clock = started(&c, hours(4), dec(7, 10, 0));
    let clock = c.sync(clock, Status::Pending, t, dec(7, 11, 0));
    let clock = c.sync(clock, Status::InProgress, t, dec(7, 12, 0));
    let clock = c.sync(clock, Status::Pending, t, dec(7, 12, 30));
    assert_eq!(clock.used_real, Duration::from_secs(3600 + 1800));
    // Stopped again by another stopping status: nothing more is counted.
    let clock = c.sync(clock, Status::Resolved, t, dec(7, 16, 0));
    assert_eq!(clock.used_real, Duration::from_secs(3600 + 1800));
    assert_eq!(clock.since, None);
}

/// Paused time is kept to the millisecond: ten pauses of 1.5 s each are 15 s, not 10 s (each
/// used to lose its half second), on both clocks, and the due time moves by all of it.
#[test]
fn short_pauses_keep_their_milliseconds() {
    let cal = office();
    let c = clocks(&cal);
    let t = Some(hours(4));
    let start = dec(7, 10, 0);
    let mut clock = started(&c, hours(4), start);
    let mut now = start;
    for _ in 0..10 {
        now += Duration::from_millis(1_500);
        clock = c.sync(clock, Status::Pending, t, now);
        now += Duration::from_secs(60);
        clock = c.sync(clock, Status::InProgress, t, now);
    }
    assert_eq!(
        (clock.used_real, clock.used_work),
        (Duration::from_secs(15), Duration::from_secs(15))
    );
    // Four hours from the last resume, less the 15 s used.
    assert_eq!(
        clock.due_at,
        Some(now + Duration::from_secs(4 * 3600) - Duration::from_secs(15))
    );
}

#[test]
fn syncing_twice_changes_nothing() {
    let cal = office();
    let c = clocks(&cal);
    let t = Some(hours(4));
    let clock = started(&c, hours(4), dec(7, 10, 0));
    assert_eq!(c.sync(clock, Status::InProgress, t, dec(7, 11, 0)), clock);
    let paused = c.sync(clock, Status::Pending, t, dec(7, 11, 0));
    assert_eq!(c.sync(paused, Status::Pending, t, dec(7, 11, 30)), paused);
}

#[test]
fn resuming_around_the_clock_pushes_the_due_time_by_the_pause() {
    let cal = office();
    let c = clocks(&cal);
    let t = Some(hours(4));
    let clock = started(&c, hours(4), dec(7, 10, 0));
    let paused = c.sync(clock, Status::Pending, t, dec(7, 11, 0));
    let resumed = c.sync(paused, Status::InProgress, t, dec(7, 15, 0));
    assert_eq!(resumed.since, Some(dec(7, 15, 0)));
    assert_eq!(resumed.used_real, Duration::from_secs(3600));
    // Due 14:00, paused four hours: 18:00; the warning likewise from 13:00 to 17:00.
    assert_eq!(resumed.due_at, Some(dec(7, 18, 0)));
    assert_eq!(resumed.warn_at, Some(dec(7, 17, 0)));
    assert_eq!(resumed.breached_at, None);
}

#[test]
fn resuming_on_business_days_pushes_the_due_time_by_the_working_time_paused() {
    let cal = office();
    let c = clocks(&cal);
    let t = Some(business_days(1));
    // Monday 10:00 + 9 working hours: Tuesday 10:00.
    let clock = started(&c, business_days(1), dec(7, 10, 0));
    assert_eq!(clock.due_at, Some(dec(8, 10, 0)));
    // Paused from 12:00 to 16:00 Monday: four working hours, so due Tuesday 14:00.
    let paused = c.sync(clock, Status::Pending, t, dec(7, 12, 0));
    let resumed = c.sync(paused, Status::Assigned, t, dec(7, 16, 0));
    assert_eq!(resumed.due_at, Some(dec(8, 14, 0)));
    // Warning at 6 h 45 min of work, 2 h used: 4 h 45 min from Monday 16:00.
    assert_eq!(resumed.warn_at, Some(dec(8, 11, 45)));
}

#[test]
fn a_pause_outside_working_hours_moves_a_business_clock_not_at_all() {
    let cal = office();
    let c = clocks(&cal);
    let t = Some(business_days(1));
    let clock = started(&c, business_days(1), dec(7, 10, 0));
    // Paused from Monday 18:00 to Tuesday 07:00: no working time.
    let paused = c.sync(clock, Status::Pending, t, dec(7, 18, 0));
    assert_eq!(
        (paused.used_real, paused.used_work),
        (Duration::from_secs(8 * 3600), Duration::from_secs(7 * 3600))
    );
    let resumed = c.sync(paused, Status::InProgress, t, dec(8, 7, 0));
    assert_eq!(resumed.due_at, clock.due_at);
    // The warning point (6 h 45 min) was used up before the pause: it falls due at once.
    assert_eq!(resumed.warn_at, Some(dec(8, 7, 0)));
}

#[test]
fn a_new_target_keeps_the_time_used_while_running() {
    let cal = office();
    let c = clocks(&cal);
    let clock = started(&c, hours(4), dec(7, 10, 0));
    // Priority lowered at 12:00 to a business day: counted from 10:00, due Tuesday 10:00.
    let changed = c.sync(
        clock,
        Status::InProgress,
        Some(business_days(1)),
        dec(7, 12, 0),
    );
    assert_eq!(changed.since, Some(dec(7, 10, 0)));
    assert_eq!(changed.due_at, Some(dec(8, 10, 0)));
    assert_eq!(changed.warn_at, Some(dec(7, 16, 45)));
}

#[test]
fn a_new_target_keeps_the_time_used_before_a_pause() {
    let cal = office();
    let c = clocks(&cal);
    let clock = started(&c, hours(4), dec(7, 10, 0));
    let paused = c.sync(clock, Status::Pending, Some(hours(4)), dec(7, 12, 0));
    // Two hours used on both clocks; resumed at 13:00 with a business day: 7 working hours left.
    let longer = c.sync(
        paused,
        Status::InProgress,
        Some(business_days(1)),
        dec(7, 13, 0),
    );
    assert_eq!(longer.due_at, Some(dec(8, 11, 0)));
    // Back to 4 h around the clock: 2 h left.
    let paused = c.sync(
        longer,
        Status::Pending,
        Some(business_days(1)),
        dec(7, 13, 0),
    );
    let shorter = c.sync(paused, Status::InProgress, Some(hours(4)), dec(7, 13, 0));
    assert_eq!(shorter.due_at, Some(dec(7, 15, 0)));
}

#[test]
fn a_target_used_up_is_due_when_resumed() {
    let cal = office();
    let c = clocks(&cal);
    let t = Some(hours(4));
    let clock = started(&c, hours(4), dec(7, 10, 0));
    let paused = c.sync(clock, Status::Pending, t, dec(7, 15, 0));
    let resumed = c.sync(paused, Status::InProgress, t, dec(7, 16, 0));
    assert_eq!(resumed.due_at, Some(dec(7, 16, 0)));
    assert_eq!(resumed.warn_at, Some(dec(7, 16, 0)));
}

#[test]
fn a_target_passed_while_running_is_breached_at_the_old_due_time_on_pause() {
    let cal = office();
    let c = clocks(&cal);
    let clock = started(&c, hours(4), dec(7, 10, 0));
    let paused = c.sync(clock, Status::Pending, Some(hours(4)), dec(7, 15, 0));
    assert_eq!(paused.breached_at, Some(dec(7, 14, 0)));
    assert_eq!(paused.used_real, Duration::from_secs(5 * 3600));
    assert_eq!(paused.due_at, None);
}

#[test]
fn a_target_passed_while_running_is_breached_when_recomputed() {
    let cal = office();
    let c = clocks(&cal);
    let clock = started(&c, hours(4), dec(7, 10, 0));
    let same = c.sync(clock, Status::InProgress, Some(hours(4)), dec(7, 15, 0));
    assert_eq!(same.breached_at, Some(dec(7, 14, 0)));
    assert_eq!(same.due_at, Some(dec(7, 14, 0)));
    // Even when the new target lies in the future, the old one was missed.
    let longer = c.sync(clock, Status::InProgress, Some(hours(8)), dec(7, 15, 0));
    assert_eq!(longer.breached_at, Some(dec(7, 14, 0)));
    assert_eq!(longer.due_at, Some(dec(7, 18, 0)));
}

#[test]
fn a_breach_is_recorded_at_the_due_time_not_before() {
    let cal = office();
    let c = clocks(&cal);
    let t = Some(hours(4));
    let clock = started(&c, hours(4), dec(7, 10, 0));
    let before = c.sync(
        clock,
        Status::InProgress,
        t,
        dec(7, 14, 0) - Duration::from_millis(1),
    );
    assert_eq!(before.breached_at, None);
    let on_the_dot = c.sync(clock, Status::InProgress, t, dec(7, 14, 0));
    assert_eq!(on_the_dot.breached_at, Some(dec(7, 14, 0)));
}

#[test]
fn the_first_breach_is_kept() {
    let cal = office();
    let c = clocks(&cal);
    let mut clock = started(&c, hours(4), dec(7, 10, 0));
    clock.breached_at = Some(dec(7, 14, 2));
    let later = c.sync(clock, Status::Pending, Some(hours(4)), dec(7, 16, 0));
    assert_eq!(later.breached_at, Some(dec(7, 14, 2)));
}

#[test]
fn the_stage_resets_when_the_new_warning_lies_ahead() {
    let cal = office();
    let c = clocks(&cal);
    let mut clock = started(&c, hours(4), dec(7, 10, 0));
    clock.stage = Stage::Warned;
    // At 13:30 the target becomes a business day: the warning moves to 16:45.
    let changed = c.sync(
        clock,
        Status::InProgress,
        Some(business_days(1)),
        dec(7, 13, 30),
    );
    assert_eq!(changed.warn_at, Some(dec(7, 16, 45)));
    assert_eq!(changed.stage, Stage::None);
}

#[test]
fn the_stage_is_capped_at_warned_when_only_the_due_time_lies_ahead() {
    let cal = office();
    let c = clocks(&cal);
    let mut clock = started(&c, hours(4), dec(7, 10, 0));
    clock.stage = Stage::Breached;
    // At 15:00 the target becomes 6 h: warned at 14:30 (passed), due at 16:00 (ahead).
    let changed = c.sync(clock, Status::InProgress, Some(hours(6)), dec(7, 15, 0));
    assert_eq!(changed.warn_at, Some(dec(7, 14, 30)));
    assert_eq!(changed.due_at, Some(dec(7, 16, 0)));
    assert_eq!(changed.stage, Stage::Warned);
    // Capped, not raised: a clock that had sent nothing stays at nothing.
    clock.stage = Stage::None;
    let changed = c.sync(clock, Status::InProgress, Some(hours(6)), dec(7, 15, 0));
    assert_eq!(changed.stage, Stage::None);
}

#[test]
fn the_stage_stays_when_both_times_have_passed() {
    let cal = office();
    let c = clocks(&cal);
    let mut clock = started(&c, hours(4), dec(7, 10, 0));
    clock.stage = Stage::Breached;
    // At 15:00 the target becomes 4 h 30 min: due 14:30, warned 13:22:30, both passed.
    let target = Target {
        duration: Duration::from_secs(4 * 3600 + 1800),
        clock: ClockKind::Always,
    };
    let changed = c.sync(clock, Status::InProgress, Some(target), dec(7, 15, 0));
    assert_eq!(changed.due_at, Some(dec(7, 14, 30)));
    assert_eq!(
        changed.warn_at,
        Some(dec(7, 13, 0) + 22 * MIN + Duration::from_secs(30))
    );
    assert_eq!(changed.stage, Stage::Breached);
    // The old due time (14:00) was missed first.
    assert_eq!(changed.breached_at, Some(dec(7, 14, 0)));
}

#[test]
fn the_stage_stays_when_the_times_do_not_change() {
    let cal = office();
    let c = clocks(&cal);
    let mut clock = started(&c, hours(4), dec(7, 10, 0));
    clock.stage = Stage::Warned;
    let same = c.sync(clock, Status::Assigned, Some(hours(4)), dec(7, 13, 30));
    assert_eq!(same.stage, Stage::Warned);
}

#[test]
fn the_stage_survives_a_pause_when_the_warning_is_used_up() {
    let cal = office();
    let c = clocks(&cal);
    let t = Some(hours(4));
    let mut clock = started(&c, hours(4), dec(7, 10, 0));
    clock.stage = Stage::Warned;
    let paused = c.sync(clock, Status::Pending, t, dec(7, 13, 30));
    assert_eq!(paused.stage, Stage::Warned);
    // Resumed at 16:00 with 30 min left: the warning point (3 h) is already used up.
    let resumed = c.sync(paused, Status::InProgress, t, dec(7, 16, 0));
    assert_eq!(resumed.due_at, Some(dec(7, 16, 30)));
    assert_eq!(resumed.warn_at, Some(dec(7, 16, 0)));
    assert_eq!(resumed.stage, Stage::Warned);
    // Resumed with a longer target instead: the warning lies ahead again and will be sent.
    let longer = c.sync(paused, Status::InProgress, Some(hours(8)), dec(7, 16, 0));
    assert_eq!(longer.warn_at, Some(dec(7, 18, 30)));
    assert_eq!(longer.stage, Stage::None);
}

#[test]
fn without_warnings_the_stage_resets_when_the_due_time_lies_ahead() {
    let cal = office();
    let c = Clocks {
        calendar: &cal,
        warn_at: None,
    };
    let mut clock = started(&c, hours(4), dec(7, 10, 0));
    clock.stage = Stage::Breached;
    let changed = c.sync(clock, Status::InProgress, Some(hours(8)), dec(7, 15, 0));
    assert_eq!(changed.warn_at, None);
    assert_eq!(changed.due_at, Some(dec(7, 18, 0)));
    assert_eq!(changed.stage, Stage::None);
}

#[test]
fn removing_the_target_clears_the_due_times_but_keeps_the_clock_running() {
    let cal = office();
    let c = clocks(&cal);
    let clock = started(&c, hours(4), dec(7, 10, 0));
    let none = c.sync(clock, Status::InProgress, None, dec(7, 11, 0));
    assert_eq!(none.since, Some(dec(7, 10, 0)));
    assert_eq!((none.due_at, none.warn_at), (None, None));
}

#[test]
fn targets_from_the_stored_columns() {
    let read = |secs, clock| Target::from_columns(secs, clock).unwrap();
    assert_eq!(read(Some(4 * 3600), Some("24x7")), Some(hours(4)));
    assert_eq!(read(Some(86_400), Some("business")), Some(business_days(1)));
    // Without a clock, whole days are business days and anything else is 24x7.
    assert_eq!(read(Some(86_400), None), Some(business_days(1)));
    assert_eq!(read(Some(4 * 3600), None), Some(hours(4)));
    assert_eq!(read(None, Some("24x7")), None);
    // Corrupt columns are an error, never "no target" or a guessed clock.
    let bad = Target::from_columns(Some(4 * 3600), Some("nonsense")).unwrap_err();
    assert!(bad.starts_with("SLA clock \"nonsense\""), "{bad}");
    let bad = Target::from_columns(Some(-1), None).unwrap_err();
    assert_eq!(bad, "SLA target of -1 seconds");
    assert_eq!(hours(4).secs(), 4 * 3600);
    assert_eq!(business_days(2).secs(), 2 * 86_400);
}

#[test]
fn stages_are_ordered_and_stored_as_their_numbers() {
    assert!(Stage::None < Stage::Warned && Stage::Warned < Stage::Breached);
    for stage in [Stage::None, Stage::Warned, Stage::Breached] {
        assert_eq!(Stage::from_stored(stage.stored()), Ok(stage));
    }
    assert_eq!(Stage::None.stored(), 0);
    assert_eq!(Stage::Breached.stored(), 2);
    assert_eq!(
        Stage::from_stored(3),
        Err("SLA stage 3 (0, 1 or 2 expected)".to_owned())
    );
}
