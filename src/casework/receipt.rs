//! The receipt a technician gets for a reply that carried commands (`helpdesk.command_receipts`):
//! what the case looks like now where the commands changed it, one line, then what else they
//! did (links, tasks, copies, the mail to the customer). Pure: the caller takes the case's
//! picture before and after, already formatted.

use crate::commands::Change;

/// What a receipt compares of a case, as people read it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Picture {
    /// `pending (vendor)`.
    pub status: String,
    pub priority: u8,
    /// When the resolution is due, shown in the calendar's zone; `None` without a running
    /// target.
    pub due: Option<String>,
    pub team: Option<String>,
    pub assignee: Option<String>,
    pub category: String,
    pub case_type: String,
    pub impact: Option<String>,
    pub urgency: Option<String>,
}

/// The mail that went to the customer with the reply.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Sent {
    /// The requester, when the mail went out.
    pub to: Option<String>,
    /// Who got copies.
    pub cc: Vec<String>,
    /// How many files it carried, and how many were too large to.
    pub files: usize,
    pub kept_back: usize,
}

/// The receipt's lines: first `TICKET: what changed` (or `TICKET: unchanged`), then one line
/// for each thing done that the case's picture does not show.
pub(crate) fn lines(
    ticket: &str,
    before: &Picture,
    after: &Picture,
    changes: &[Change],
    sent: &Sent,
) -> Vec<String> {
    let mut changed = Vec::new();
    if after.status != before.status {
        changed.push(format!("status {}", after.status));
    }
    if after.category != before.category {
        changed.push(format!("category {}", after.category));
    }
    if after.case_type != before.case_type {
        changed.push(format!("type {}", after.case_type));
    }
    if after.impact != before.impact {
        changed.push(format!("impact {}", after.impact.as_deref().unwrap_or("-")));
    }
    if after.urgency != before.urgency {
        changed.push(format!(
            "urgency {}",
            after.urgency.as_deref().unwrap_or("-")
        ));
    }
    let retargeted = after.due != before.due;
    if after.priority != before.priority || (retargeted && after.due.is_some()) {
        let target = match &after.due {
            Some(due) => format!(" → target {due}"),
            None => String::new(),
        };
        changed.push(format!("priority {}{target}", after.priority));
    } else if retargeted {
        changed.push("no resolution target running".to_owned());
    }
    if after.team != before.team && after.assignee.is_none() {
        if let Some(team) = &after.team {
            changed.push(format!("team {team}"));
        }
    }
    if after.assignee != before.assignee {
        match &after.assignee {
            Some(who) => changed.push(format!("assigned to {who}")),
            None if after.team == before.team => changed.push("unassigned".to_owned()),
            None => {}
        }
    }
    let head = match changed.is_empty() {
        true => format!("{ticket}: unchanged"),
        false => format!("{ticket}: {}", changed.join(", ")),
    };
    let mut out = vec![head];
    out.extend(changes.iter().filter_map(done));
    if let Some(to) = &sent.to {
        let mut line = format!("reply sent to {to}");
        if !sent.cc.is_empty() {
            line.push_str(&format!(" (cc {})", sent.cc.join(", ")));
        }
        if sent.files > 0 {
            line.push_str(&format!(", {} attached", plural(sent.files, "file")));
        }
        if sent.kept_back > 0 {
            line.push_str(&format!(
                ", {} too large for mail (listed, kept on the case)",
                plural(sent.kept_back, "file")
            ));
        }
        out.push(line);
    }
    out
}

/// What a change did that the case's picture does not show.
fn done(change: &Change) -> Option<String> {
    Some(match change {
        Change::Link(t) => format!("linked to {t}"),
        Change::Merge(t) => format!("merged into {t}"),
        Change::Problem => "problem case opened".to_owned(),
        Change::Major(_) => "declared a major incident".to_owned(),
        Change::Broadcast(_) => "broadcast to the incidents' requesters".to_owned(),
        Change::RootCause(_) => "root cause recorded".to_owned(),
        Change::Workaround(_) => "workaround recorded".to_owned(),
        Change::Task { team, due, .. } => match due {
            Some(d) => format!("task for {team}, due {d}"),
            None => format!("task for {team}"),
        },
        Change::Done(_) => "task done".to_owned(),
        Change::Reject(_) => "task rejected".to_owned(),
        Change::Approval(who, needs) => format!("approval ({needs}) asked of {}", who.join(", ")),
        Change::Cc(a) => format!("{a} gets copies of the replies"),
        Change::Uncc(a) => format!("{a} gets no more copies"),
        Change::Redirect { desk, .. } => format!("redirected to desk {desk}"),
        Change::Template(t) => format!("canned reply {t}"),
        Change::Remote(code) => format!("remote assistance code {code}"),
        Change::Status(..)
        | Change::Resolve(_)
        | Change::Reopen
        | Change::AssignTeam(_)
        | Change::AssignTechnician(_)
        | Change::Priority(..)
        | Change::Impact(_)
        | Change::Urgency(_)
        | Change::Category { .. }
        | Change::Type(_) => return None,
    })
}

fn plural(n: usize, what: &str) -> String {
    match n {
        1 => format!("1 {what}"),
        n => format!("{n} {what}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn picture() -> Picture {
        Picture {
            status: "in_progress".into(),
            priority: 3,
            due: Some("Fri 11 Dec 2026 17:00 UTC".into()),
            team: Some("service-desk".into()),
            category: "break_fix".into(),
            case_type: "incident".into(),
            ..Picture::default()
        }
    }

    #[test]
    fn the_first_line_says_what_changed_as_the_issue_shows_it() {
        let before = picture();
        let after = Picture {
            status: "pending (vendor)".into(),
            priority: 2,
            due: Some("Thu 10 Dec 2026 17:00 UTC".into()),
            ..before.clone()
        };
        let lines = lines("HD-000123", &before, &after, &[], &Sent::default());
        assert_eq!(
            lines,
            ["HD-000123: status pending (vendor), priority 2 → target Thu 10 Dec 2026 17:00 UTC"]
        );
    }

    #[test]
    fn assignment_team_and_what_the_picture_does_not_show_follow() {
        let before = picture();
        let after = Picture {
            team: Some("network".into()),
            assignee: Some("ann@it.example.org".into()),
            impact: Some("high".into()),
            ..before.clone()
        };
        let changes = [
            Change::Link(crate::model::TicketNo::new("HD", 7)),
            Change::Cc("bob@example.com".into()),
            Change::Priority(3, None),
        ];
        let sent = Sent {
            to: Some("alice@example.com".into()),
            cc: vec!["bob@example.com".into()],
            files: 1,
            kept_back: 2,
        };
        assert_eq!(
            lines("HD-000001", &before, &after, &changes, &sent),
            [
                "HD-000001: impact high, assigned to ann@it.example.org",
                "linked to HD-000007",
                "bob@example.com gets copies of the replies",
                "reply sent to alice@example.com (cc bob@example.com), 1 file attached, 2 files too large for mail (listed, kept on the case)",
            ]
        );
    }

    #[test]
    fn nothing_changed_says_so_and_a_stopped_target_is_named() {
        let before = picture();
        assert_eq!(
            lines("HD-000002", &before, &before, &[], &Sent::default()),
            ["HD-000002: unchanged"]
        );
        let after = Picture {
            status: "resolved".into(),
            due: None,
            ..before.clone()
        };
        assert_eq!(
            lines("HD-000002", &before, &after, &[], &Sent::default()),
            ["HD-000002: status resolved, no resolution target running"]
        );
        let team_only = Picture {
            team: Some("network".into()),
            ..before.clone()
        };
        assert_eq!(
            lines("HD-000002", &before, &team_only, &[], &Sent::default()),
            ["HD-000002: team network"]
        );
    }
}
