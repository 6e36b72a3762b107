//! What happened to a case, typed: one [`Event`] variant per thing the event log records, each
//! with its detail as fields. The `kind` column is [`Event::name`]; the `detail` column is the
//! fields as a JSON object (keys sorted, as stored before the types existed), an empty list or
//! an absent value left out (a million cases' creation events carried 90 bytes each of
//! `null` and `[]`); the metrics that count events read their labels from the fields, never
//! back out of the JSON.

use serde::Serialize;

use crate::classify::{Evidence, Level, ModelNote};
use crate::commands::Problem;
use crate::model::{AutoSignal, Capped, CaseType, Millis, Status, TicketNo};
use crate::thread::{Party, Via};

/// Evidence as the log keeps it: `{field, matched}` without the pattern.
fn matched_only<S: serde::Serializer>(evidence: &[Evidence], s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq;
    #[derive(Serialize)]
    struct Matched<'a> {
        field: crate::classify::Field,
        matched: &'a str,
    }
    let mut seq = s.serialize_seq(Some(evidence.len()))?;
    for e in evidence {
        seq.serialize_element(&Matched {
            field: e.field,
            matched: &e.matched,
        })?;
    }
    seq.end()
}

/// One entry of a case's event log.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Event<'a> {
    /// A case was opened from a message.
    Created {
        /// The rule that matched; none for `uncategorized`.
        #[serde(skip_serializing_if = "Option::is_none")]
        rule: Option<&'a str>,
        /// The category (the metric's label).
        category: &'a str,
        /// Its priority level.
        priority: u8,
        /// Its ITIL type.
        #[serde(rename = "type")]
        case_type: CaseType,
        /// The team it went to.
        #[serde(skip_serializing_if = "Option::is_none")]
        team: Option<&'a str>,
        /// Why the rule matched: each condition's field and the text it matched (the rule
        /// names the pattern; a copy of a keyword list per case would be most of the log).
        #[serde(serialize_with = "matched_only")]
        evidence: &'a [Evidence],
        /// What the model said: its choice, the runner-up, the margin and the words.
        #[serde(skip_serializing_if = "Option::is_none")]
        model: Option<&'a ModelNote>,
        /// Why the message looked automatic.
        #[serde(skip_serializing_if = "<[_]>::is_empty")]
        auto_signals: &'a [AutoSignal],
        /// The ticket a stranger wrote to, which they may not join.
        #[serde(skip_serializing_if = "Option::is_none")]
        refused_thread: Option<&'a TicketNo>,
        /// The case this one follows up (a reply after closing).
        #[serde(skip_serializing_if = "Option::is_none")]
        follows_up: Option<i64>,
        /// What was cut from an oversized message.
        #[serde(skip_serializing_if = "<[_]>::is_empty")]
        capped: &'a [Capped],
    },
    /// A problem case was opened from an incident by a technician.
    ProblemCreated {
        /// The incident's ticket.
        incident: &'a TicketNo,
        /// The technician.
        by: &'a str,
        /// The category (the metric's label).
        category: &'a str,
    },
    /// A message joined the case.
    MessageAdded {
        /// How it found the case.
        via: Via,
        /// Who wrote it.
        party: Party,
        subject: &'a str,
        /// Why it looked automatic.
        #[serde(skip_serializing_if = "<[_]>::is_empty")]
        auto_signals: &'a [AutoSignal],
        /// Whether a quoted reply was cut.
        quote_removed: bool,
        /// Whether a signature was cut.
        signature_removed: bool,
        /// Why a technician's mail did not count as theirs.
        #[serde(skip_serializing_if = "Option::is_none")]
        unverified_technician: Option<&'a str>,
    },
    /// The customer said thanks on a resolved case; it stays resolved.
    ThanksReceived {
        /// Always false: thanks do not reopen.
        reopened: bool,
    },
    /// A technician's internal note.
    NoteAdded {
        /// Its length in characters.
        length: usize,
    },
    /// A technician's reply whose commands were refused; nothing changed.
    CommandsRefused {
        /// What was wrong with each.
        problems: &'a [Problem],
    },
    /// Assigned to a team or a technician.
    Assigned {
        #[serde(skip_serializing_if = "Option::is_none")]
        team: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        technician: Option<&'a str>,
    },
    /// `/priority`.
    PriorityChanged {
        /// The old level.
        from: u8,
        /// The new level.
        to: u8,
        /// What impact × urgency gives, when the case has them: the hand-chosen priority
        /// overrides it from now on.
        #[serde(skip_serializing_if = "Option::is_none")]
        over_matrix: Option<u8>,
    },
    /// `/impact`, or `/urgency` (the same fields under [`Event::UrgencyChanged`]).
    ImpactChanged {
        /// The old level.
        from: Option<Level>,
        /// The new level.
        to: Level,
        /// The priority the matrix moved the case to.
        #[serde(skip_serializing_if = "Option::is_none")]
        priority: Option<u8>,
        /// The priority the matrix gives but the hand-chosen one stands over.
        #[serde(skip_serializing_if = "Option::is_none")]
        overridden: Option<u8>,
    },
    /// `/urgency`.
    UrgencyChanged {
        /// The old level.
        from: Option<Level>,
        /// The new level.
        to: Level,
        /// The priority the matrix moved the case to.
        #[serde(skip_serializing_if = "Option::is_none")]
        priority: Option<u8>,
        /// The priority the matrix gives but the hand-chosen one stands over.
        #[serde(skip_serializing_if = "Option::is_none")]
        overridden: Option<u8>,
    },
    /// helpdesk found that this case and another report the same thing.
    RepeatFound {
        /// The other case.
        ticket: &'a TicketNo,
        /// `related` (another person) or `duplicate` (the same person again).
        kind: &'a str,
        /// Why: the shared terms and the time apart.
        why: &'a str,
    },
    /// `/merge`: this case was folded into another and closed.
    Merged {
        /// The surviving case.
        into: &'a TicketNo,
        /// How many messages moved there.
        messages: u64,
    },
    /// Another case was folded into this one.
    MergedFrom {
        /// The merged case.
        ticket: &'a TicketNo,
        /// How many messages moved here.
        messages: u64,
    },
    /// This case is a major incident, declared by a technician or raised by helpdesk.
    MajorDeclared {
        /// How many incidents it began with.
        incidents: usize,
        /// Raised by helpdesk from related reports, not by `/major`.
        automatic: bool,
    },
    /// This case is an incident of a major incident.
    MajorIncident {
        /// The major incident's case.
        ticket: &'a TicketNo,
    },
    /// A new report joined this major incident.
    IncidentAdded {
        /// Its case.
        ticket: &'a TicketNo,
    },
    /// A new case repeats an incident of an open problem with a workaround: linked to it, and
    /// the workaround sent with the acknowledgment.
    KnownError {
        /// The problem case.
        problem: &'a TicketNo,
    },
    /// `/broadcast` on a major incident.
    BroadcastSent {
        /// How many requesters it went to.
        requesters: usize,
    },
    /// `/rootcause` on a problem case.
    RootCauseRecorded {
        /// What causes its incidents.
        text: &'a str,
    },
    /// `/workaround` on a problem case.
    WorkaroundRecorded {
        /// How to get by until it is fixed.
        text: &'a str,
    },
    /// The case belongs to another help desk: resolved, and the customer sent there.
    Redirected {
        /// The desk's key in the configuration.
        desk: &'a str,
        /// Its name, as the customer was told.
        name: &'a str,
        /// The rule that redirected it; none when a technician did.
        #[serde(skip_serializing_if = "Option::is_none")]
        rule: Option<&'a str>,
    },
    /// A rule named a desk the configuration lacks: the case was worked here.
    RedirectSkipped {
        /// The desk the rule named.
        desk: &'a str,
        /// Why not.
        reason: &'a str,
    },
    /// `/category`.
    CategoryChanged {
        /// The old category.
        from: &'a str,
        /// The new one.
        to: &'a str,
        /// The priority in the new category.
        priority: u8,
        /// The team to move to.
        team: Option<&'a str>,
    },
    /// `/type`.
    TypeChanged {
        /// The old type.
        from: CaseType,
        /// The new one.
        to: CaseType,
    },
    /// Linked to another case.
    Linked {
        /// The other case's ticket.
        ticket: &'a TicketNo,
    },
    /// `/task`.
    TaskCreated {
        /// The task's id.
        task: i64,
        /// Its label on the case, `T2`.
        label: &'a str,
        /// The team that does it.
        team: &'a str,
        /// What to do.
        text: &'a str,
        /// When it is due, if a date was given.
        #[serde(
            serialize_with = "crate::model::rfc3339",
            skip_serializing_if = "Option::is_none"
        )]
        due: Option<Millis>,
    },
    /// A team member answered a task mail: `done` (with a note) or `rejected` (with the reason).
    TaskAnswered {
        /// `T2`.
        task: &'a str,
        team: &'a str,
        /// `done` or `rejected`.
        outcome: &'a str,
        /// The note or the reason.
        note: Option<&'a str>,
        /// Tasks still open on the case.
        open: usize,
    },
    /// Approval was asked of these people; the case waits for them.
    ApprovalRequested {
        approvers: &'a [String],
        /// `all` or `any`.
        needs: &'a str,
    },
    /// An approver answered by reply.
    ApprovalAnswered {
        approver: &'a str,
        /// `approved` or `rejected`.
        answer: &'a str,
        /// A rejection's reason.
        reason: Option<&'a str>,
    },
    /// An approver's reply that could not count, and why (told to them).
    ApprovalRefused { approver: &'a str, why: &'a str },
    /// The approvals decided the request: `approved` or `rejected`.
    ApprovalDecided {
        outcome: &'a str,
        /// The approver whose answer decided it.
        by: &'a str,
    },
    /// An approver who had not answered was reminded.
    ApprovalReminded {
        approver: &'a str,
        /// Which reminder this is (1, 2, …).
        reminder: i64,
    },
    /// The customer rated the resolution by reply.
    Rated {
        /// 1 (poor) to 5 (excellent).
        score: u8,
        /// As written.
        written: &'a str,
    },
    /// What a conference request's mail says about its event, and what is still missing.
    ConferenceRead {
        /// The days of support, `2027-03-12`.
        dates: &'a [String],
        place: Option<&'a str>,
        /// `on premises`, `off site` or `unknown`.
        site: &'a str,
        /// Whether the notice is long enough, when the first day is known.
        notice_ok: Option<bool>,
        /// What the customer was asked for.
        missing: &'a [&'a str],
    },
    /// The status moved.
    StatusChanged {
        /// The old status.
        from: Status,
        /// The new one.
        to: Status,
        /// Why it is pending, when it is.
        reason: Option<&'a str>,
    },
    /// Resolved: the resolution notice went out and the reopen window runs.
    Resolved {
        resolution: Option<&'a str>,
        /// When the case closes by itself.
        #[serde(serialize_with = "crate::model::rfc3339")]
        close_at: Option<Millis>,
    },
    Reopened {
        /// By the customer's reply, rather than a technician's command.
        by_customer: bool,
    },
    /// Closed at the end of the reopen window.
    Closed {
        /// Why.
        reason: &'a str,
    },
    /// A problem case was opened from this incident.
    ProblemOpened {
        /// The problem case's ticket.
        ticket: &'a TicketNo,
    },
    /// An SLA clock neared its target; the team was warned.
    SlaWarning {
        /// `first_response` or `resolution`.
        clock: &'a str,
        /// When it is due.
        #[serde(serialize_with = "crate::model::rfc3339")]
        due: Option<Millis>,
    },
    /// An SLA clock passed its target.
    SlaBreached {
        /// `first_response` or `resolution` (the metric's label).
        clock: &'a str,
        /// When it was due.
        #[serde(serialize_with = "crate::model::rfc3339")]
        due: Option<Millis>,
    },
    /// A week without a status note; the technician was reminded.
    FollowUpReminded {
        /// The last note, if any.
        #[serde(serialize_with = "crate::model::rfc3339")]
        last_note: Option<Millis>,
    },
    /// A team notification was not sent.
    NotificationSkipped {
        /// What it was about.
        headline: &'a str,
        /// Why not.
        reason: &'a str,
    },
    /// A team notification was queued.
    NotificationQueued {
        /// The recipient.
        to: &'a str,
        /// What it is about.
        headline: &'a str,
        /// The outbox row.
        outbox: i64,
    },
    /// A technician's reply was not relayed to the customer.
    RelaySkipped {
        /// Why not.
        reason: &'a str,
    },
    /// A technician's reply was relayed to the customer.
    ReplyRelayed {
        /// The customer.
        to: &'a str,
        template: &'a str,
        /// The outbox row.
        outbox: i64,
        /// The relayed mail's Message-ID.
        message_id: &'a str,
        /// Who else got it (Cc), each in a row of their own.
        #[serde(skip_serializing_if = "<[_]>::is_empty")]
        cc: &'a [String],
        /// How many files it carried.
        #[serde(skip_serializing_if = "is_zero")]
        files: usize,
    },
    /// `/cc`: the address gets copies of the relays.
    CopyAdded { address: &'a str },
    /// `/uncc`: the address gets no more copies.
    CopyDropped { address: &'a str },
    /// A technician's receipt for their commands was queued.
    ReceiptQueued {
        /// The technician.
        to: &'a str,
        /// The outbox row.
        outbox: i64,
    },
    /// A command error mail was not sent.
    CommandErrorSuppressed {
        /// Why not.
        reason: &'a str,
        /// The template it would have used.
        template: &'a str,
    },
    /// A command error mail was queued.
    CommandErrorQueued {
        /// The technician.
        to: &'a str,
        /// The outbox row.
        outbox: i64,
        template: &'a str,
    },
    /// No acknowledgment.
    AcknowledgmentSuppressed {
        /// Why not.
        reason: &'a str,
    },
    /// The acknowledgment was queued.
    AcknowledgmentQueued {
        /// The outbox row.
        outbox: i64,
        template: &'a str,
        /// The customer.
        to: &'a str,
        message_id: &'a str,
    },
    /// A delivery-status notification about our mail.
    BounceReceived {
        /// Who sent the report.
        from: &'a str,
        /// The Message-IDs it reports on.
        bounced_message_ids: &'a [String],
        /// What was cut from an oversized report.
        #[serde(skip_serializing_if = "<[_]>::is_empty")]
        capped: &'a [Capped],
    },
}

impl Event<'_> {
    /// The stored kind (the `kind` column).
    pub fn name(&self) -> &'static str {
        match self {
            Event::Created { .. } | Event::ProblemCreated { .. } => "created",
            Event::MessageAdded { .. } => "message_added",
            Event::ThanksReceived { .. } => "thanks_received",
            Event::NoteAdded { .. } => "note_added",
            Event::CommandsRefused { .. } => "commands_refused",
            Event::Assigned { .. } => "assigned",
            Event::PriorityChanged { .. } => "priority_changed",
            Event::ImpactChanged { .. } => "impact_changed",
            Event::UrgencyChanged { .. } => "urgency_changed",
            Event::Redirected { .. } => "redirected",
            Event::RootCauseRecorded { .. } => "root_cause_recorded",
            Event::RepeatFound { .. } => "repeat_found",
            Event::Merged { .. } => "merged",
            Event::MajorDeclared { .. } => "major_declared",
            Event::MajorIncident { .. } => "major_incident",
            Event::IncidentAdded { .. } => "incident_added",
            Event::BroadcastSent { .. } => "broadcast_sent",
            Event::KnownError { .. } => "known_error",
            Event::MergedFrom { .. } => "merged_from",
            Event::WorkaroundRecorded { .. } => "workaround_recorded",
            Event::RedirectSkipped { .. } => "redirect_skipped",
            Event::CategoryChanged { .. } => "category_changed",
            Event::TypeChanged { .. } => "type_changed",
            Event::Linked { .. } => "linked",
            Event::TaskCreated { .. } => "task_created",
            Event::TaskAnswered { .. } => "task_answered",
            Event::ApprovalRequested { .. } => "approval_requested",
            Event::ApprovalAnswered { .. } => "approval_answered",
            Event::ApprovalRefused { .. } => "approval_refused",
            Event::ApprovalDecided { .. } => "approval_decided",
            Event::ApprovalReminded { .. } => "approval_reminded",
            Event::Rated { .. } => "rated",
            Event::ConferenceRead { .. } => "conference_read",
            Event::StatusChanged { .. } => "status_changed",
            Event::Resolved { .. } => "resolved",
            Event::Reopened { .. } => "reopened",
            Event::Closed { .. } => "closed",
            Event::ProblemOpened { .. } => "problem_opened",
            Event::SlaWarning { .. } => "sla_warning",
            Event::SlaBreached { .. } => "sla_breached",
            Event::FollowUpReminded { .. } => "follow_up_reminded",
            Event::NotificationSkipped { .. } => "notification_skipped",
            Event::NotificationQueued { .. } => "notification_queued",
            Event::RelaySkipped { .. } => "relay_skipped",
            Event::ReplyRelayed { .. } => "reply_relayed",
            Event::CopyAdded { .. } => "copy_added",
            Event::CopyDropped { .. } => "copy_dropped",
            Event::ReceiptQueued { .. } => "receipt_queued",
            Event::CommandErrorSuppressed { .. } => "command_error_suppressed",
            Event::CommandErrorQueued { .. } => "command_error_queued",
            Event::AcknowledgmentSuppressed { .. } => "acknowledgment_suppressed",
            Event::AcknowledgmentQueued { .. } => "acknowledgment_queued",
            Event::BounceReceived { .. } => "bounce_received",
        }
    }

    /// The stored detail (the `detail` column): the fields as a JSON object, keys sorted.
    pub fn detail(&self) -> String {
        // Through a Value, whose map is sorted, so the text is the same whatever the field order.
        serde_json::to_value(self).map_or_else(
            |e| format!("{{\"error\":{:?}}}", e.to_string()),
            |v| v.to_string(),
        )
    }
}

/// For `skip_serializing_if`: a count of none is left out.
#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_zero(n: &usize) -> bool {
    *n == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The stored names are what the event log has always held (the SQL, the reports and the
    /// CLI read them); the two ways a case opens share one.
    #[test]
    fn events_keep_their_stored_names() {
        let ticket = TicketNo::new("HD", 1);
        let events = [
            Event::ProblemCreated {
                incident: &ticket,
                by: "tech@x",
                category: "x",
            },
            Event::SlaBreached {
                clock: "resolution",
                due: None,
            },
            Event::Closed { reason: "" },
            Event::Reopened { by_customer: true },
            Event::StatusChanged {
                from: Status::Open,
                to: Status::InProgress,
                reason: None,
            },
            Event::RelaySkipped { reason: "" },
        ];
        let names: Vec<&str> = events.iter().map(Event::name).collect();
        assert_eq!(
            names,
            [
                "created",
                "sla_breached",
                "closed",
                "reopened",
                "status_changed",
                "relay_skipped"
            ]
        );
    }

    #[test]
    fn details_are_stored_as_sorted_json_objects() {
        let e = Event::ReplyRelayed {
            to: "ann@example.org",
            template: "update",
            outbox: 7,
            message_id: "<m@x>",
            cc: &[],
            files: 0,
        };
        assert_eq!(e.name(), "reply_relayed");
        assert_eq!(
            e.detail(),
            r#"{"message_id":"<m@x>","outbox":7,"template":"update","to":"ann@example.org"}"#
        );
        let e = Event::Resolved {
            resolution: Some("fixed"),
            close_at: Some(Millis(1_796_558_400_000)),
        };
        assert_eq!(
            e.detail(),
            r#"{"close_at":"2026-12-06T12:00:00Z","resolution":"fixed"}"#
        );
        let e = Event::Assigned {
            team: Some("network"),
            technician: None,
        };
        assert_eq!(e.detail(), r#"{"team":"network"}"#);
        let e = Event::BounceReceived {
            from: "MAILER-DAEMON@x",
            bounced_message_ids: &[],
            capped: &[],
        };
        assert_eq!(
            e.detail(),
            r#"{"bounced_message_ids":[],"from":"MAILER-DAEMON@x"}"#
        );
    }
}
