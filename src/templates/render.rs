//! Mail templates: handlebars, strict mode, defaults embedded from `templates/`, overridden by
//! files of the same name in the configured directory (which may also add templates). Each mail
//! is `NAME.txt.hbs` (first line `Subject: …`, a blank line, then the body) plus an optional
//! `NAME.html.hbs`. Text templates are not escaped; HTML templates escape what they interpolate.

use std::collections::BTreeSet;
use std::path::Path;

use handlebars::Handlebars;
use serde::{Deserialize, Serialize};

use super::contexts::{
    CommandErrorContext, DigestContext, RedirectContext, StaffContext, UpdateContext,
};

/// The templates shipped in the binary: (name, text, html).
const EMBEDDED: &[(&str, &str, Option<&str>)] = &[
    (
        "acknowledgment",
        include_str!("../../templates/acknowledgment.txt.hbs"),
        Some(include_str!("../../templates/acknowledgment.html.hbs")),
    ),
    (
        "task",
        include_str!("../../templates/task.txt.hbs"),
        Some(include_str!("../../templates/task.html.hbs")),
    ),
    (
        "approval_request",
        include_str!("../../templates/approval_request.txt.hbs"),
        Some(include_str!("../../templates/approval_request.html.hbs")),
    ),
    (
        "approval_refused",
        include_str!("../../templates/approval_refused.txt.hbs"),
        Some(include_str!("../../templates/approval_refused.html.hbs")),
    ),
    (
        "conference_acknowledgment",
        include_str!("../../templates/conference_acknowledgment.txt.hbs"),
        Some(include_str!(
            "../../templates/conference_acknowledgment.html.hbs"
        )),
    ),
    (
        UPDATE,
        include_str!("../../templates/update.txt.hbs"),
        Some(include_str!("../../templates/update.html.hbs")),
    ),
    (
        TEAM_NOTIFICATION,
        include_str!("../../templates/team_notification.txt.hbs"),
        Some(include_str!("../../templates/team_notification.html.hbs")),
    ),
    (
        COMMAND_ERROR,
        include_str!("../../templates/command_error.txt.hbs"),
        Some(include_str!("../../templates/command_error.html.hbs")),
    ),
    (
        COMMAND_RECEIPT,
        include_str!("../../templates/command_receipt.txt.hbs"),
        Some(include_str!("../../templates/command_receipt.html.hbs")),
    ),
    (
        RESOLUTION_NOTICE,
        include_str!("../../templates/resolution_notice.txt.hbs"),
        Some(include_str!("../../templates/resolution_notice.html.hbs")),
    ),
    (
        REOPENED,
        include_str!("../../templates/reopened.txt.hbs"),
        Some(include_str!("../../templates/reopened.html.hbs")),
    ),
    (
        AUTO_CLOSED,
        include_str!("../../templates/auto_closed.txt.hbs"),
        Some(include_str!("../../templates/auto_closed.html.hbs")),
    ),
    (
        SLA_WARNING,
        include_str!("../../templates/sla_warning.txt.hbs"),
        Some(include_str!("../../templates/sla_warning.html.hbs")),
    ),
    (
        SLA_BREACH,
        include_str!("../../templates/sla_breach.txt.hbs"),
        Some(include_str!("../../templates/sla_breach.html.hbs")),
    ),
    (
        FOLLOW_UP_REMINDER,
        include_str!("../../templates/follow_up_reminder.txt.hbs"),
        Some(include_str!("../../templates/follow_up_reminder.html.hbs")),
    ),
    (
        TRIAGE_DIGEST,
        include_str!("../../templates/triage_digest.txt.hbs"),
        Some(include_str!("../../templates/triage_digest.html.hbs")),
    ),
    (
        UNVERIFIED_TECHNICIAN,
        include_str!("../../templates/unverified_technician.txt.hbs"),
        Some(include_str!(
            "../../templates/unverified_technician.html.hbs"
        )),
    ),
    (
        MAJOR_INCIDENT,
        include_str!("../../templates/major_incident.txt.hbs"),
        Some(include_str!("../../templates/major_incident.html.hbs")),
    ),
    (
        KNOWN_ISSUE,
        include_str!("../../templates/known_issue.txt.hbs"),
        Some(include_str!("../../templates/known_issue.html.hbs")),
    ),
    (
        MERGED,
        include_str!("../../templates/merged.txt.hbs"),
        Some(include_str!("../../templates/merged.html.hbs")),
    ),
    (
        REDIRECT,
        include_str!("../../templates/redirect.txt.hbs"),
        Some(include_str!("../../templates/redirect.html.hbs")),
    ),
    (
        REDIRECT_FORWARD,
        include_str!("../../templates/redirect_forward.txt.hbs"),
        Some(include_str!("../../templates/redirect_forward.html.hbs")),
    ),
    (
        "remote_assistance",
        include_str!("../../templates/remote_assistance.txt.hbs"),
        Some(include_str!("../../templates/remote_assistance.html.hbs")),
    ),
];

/// A technician's answer relayed to the customer ([`UpdateContext`]).
pub const UPDATE: &str = "update";
/// Mail to a team or technician ([`StaffContext`]).
pub const TEAM_NOTIFICATION: &str = "team_notification";
/// The answer to refused commands ([`CommandErrorContext`]).
pub const COMMAND_ERROR: &str = "command_error";
/// A technician's receipt for their commands ([`CommandErrorContext`], with `changes`).
pub const COMMAND_RECEIPT: &str = "command_receipt";
/// The answer to a technician address whose mail proved nothing ([`CommandErrorContext`]).
pub const UNVERIFIED_TECHNICIAN: &str = "unverified_technician";
/// The resolution notice with the reopen deadline ([`UpdateContext`]).
pub const RESOLUTION_NOTICE: &str = "resolution_notice";
/// The customer is told their case is open again ([`UpdateContext`]).
pub const REOPENED: &str = "reopened";
/// The customer is told the reopen window ended and the case closed ([`UpdateContext`]).
pub const AUTO_CLOSED: &str = "auto_closed";
/// A target is near ([`StaffContext`]).
pub const SLA_WARNING: &str = "sla_warning";
/// A target was missed ([`StaffContext`]).
pub const SLA_BREACH: &str = "sla_breach";
/// A pending or scheduled case is due its weekly status note ([`StaffContext`]).
pub const FOLLOW_UP_REMINDER: &str = "follow_up_reminder";
/// The uncategorized queue for the triage team ([`DigestContext`]).
pub const TRIAGE_DIGEST: &str = "triage_digest";

/// The alert of a major incident to `[major_incident] notify` and the team ([`StaffContext`]).
pub const MAJOR_INCIDENT: &str = "major_incident";
/// The acknowledgment of a report of a known major incident ([`AckContext`]).
pub const KNOWN_ISSUE: &str = "known_issue";
/// The customer is told their case was folded into another ([`UpdateContext`]).
pub const MERGED: &str = "merged";
/// The customer is sent to another help desk ([`RedirectContext`]).
pub const REDIRECT: &str = "redirect";
/// The original of a redirected case, forwarded to that desk ([`StaffContext`]).
pub const REDIRECT_FORWARD: &str = "redirect_forward";

/// A task for a team, answered with `/done` or `/reject` ([`StaffContext`]).
pub const TASK: &str = "task";
/// An approval asked of someone, answered APPROVE or REJECT ([`StaffContext`]).
pub const APPROVAL_REQUEST: &str = "approval_request";
/// The answer to an approver whose reply could not count ([`CommandErrorContext`]).
pub const APPROVAL_REFUSED: &str = "approval_refused";
/// The Quick Assist instructions, with the code of `/remote` ([`UpdateContext`]).
pub const REMOTE_ASSISTANCE: &str = "remote_assistance";

/// Customer mail of the update shape that the daemon sends itself: never a canned reply.
const NOTICES: &[&str] = &[UPDATE, RESOLUTION_NOTICE, REOPENED, AUTO_CLOSED, MERGED];

/// Which context a template is rendered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// [`AckContext`]: the acknowledgments the rules name.
    Acknowledgment,
    /// [`UpdateContext`]: `update` and every canned reply.
    Update,
    /// [`StaffContext`].
    Staff,
    /// [`CommandErrorContext`].
    CommandError,
    /// [`DigestContext`].
    Digest,
    /// [`RedirectContext`].
    Redirect,
}

/// The shape of template `name`, given the templates the rules use as acknowledgments. Every
/// template that is neither a system template nor an acknowledgment is a canned reply.
pub fn shape<'a>(name: &str, mut acknowledgments: impl Iterator<Item = &'a str>) -> Shape {
    match name {
        UPDATE | RESOLUTION_NOTICE | REOPENED | AUTO_CLOSED | MERGED => Shape::Update,
        TEAM_NOTIFICATION | SLA_WARNING | SLA_BREACH | FOLLOW_UP_REMINDER | REDIRECT_FORWARD
        | MAJOR_INCIDENT | TASK | APPROVAL_REQUEST => Shape::Staff,
        REDIRECT => Shape::Redirect,
        COMMAND_ERROR | COMMAND_RECEIPT | UNVERIFIED_TECHNICIAN | APPROVAL_REFUSED => {
            Shape::CommandError
        }
        TRIAGE_DIGEST => Shape::Digest,
        "acknowledgment" | "conference_acknowledgment" | KNOWN_ISSUE => Shape::Acknowledgment,
        n if acknowledgments.any(|a| a == n) => Shape::Acknowledgment,
        _ => Shape::Update,
    }
}

/// Why a template could not be loaded or rendered.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The override directory or a file in it could not be read.
    #[error("cannot read template {path}")]
    Read {
        /// The file or directory.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A template does not compile.
    #[error("template {name}: {message}")]
    Syntax {
        /// `NAME.txt` or `NAME.html`.
        name: String,
        /// Handlebars' message with line and column.
        message: String,
    },
    /// No template of that name.
    #[error("no template named `{0}` (looked for {0}.txt.hbs)")]
    Unknown(String),
    /// Rendering failed (strict mode: a field the context lacks).
    #[error("rendering template {name} failed: {message}")]
    Render {
        /// `NAME.txt` or `NAME.html`.
        name: String,
        /// Handlebars' message.
        message: String,
    },
    /// The text template does not start with a `Subject:` line.
    #[error("template {0}.txt.hbs must start with a `Subject: …` line followed by a blank line")]
    NoSubject(String),
}

/// What every acknowledgment template receives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AckContext {
    /// The help desk's display name.
    pub helpdesk_name: String,
    /// The support address.
    pub helpdesk_address: String,
    /// `HD-000123`.
    pub ticket: String,
    /// The customer's subject.
    pub subject: String,
    /// The customer's name, or address when they gave none.
    pub requester_name: String,
    /// Category name.
    pub category: String,
    /// Category id, for conditional wording.
    pub category_id: String,
    /// Priority level.
    pub priority: u8,
    /// Priority label.
    pub priority_name: String,
    /// ITIL type.
    pub case_type: String,
    /// Team the case went to.
    pub team: Option<String>,
    /// First-response target, e.g. `24 hours`.
    pub first_response: String,
    /// Resolution target, e.g. `4 hours`; `None` where the chart has no SLA.
    pub resolution_target: Option<String>,
    /// When the request was received, in the calendar's zone, e.g. `Sun 22 Nov 2026 06:30 UTC`.
    pub received_at: String,
    /// When a technician's first response is due, e.g. `Monday 23 November, 14:30 UTC`.
    pub first_response_due: Option<String>,
    /// When the resolution is due, e.g. `Thursday 26 November, 17:00 UTC`; `None` without a
    /// target.
    pub resolution_due: Option<String>,
    /// The closed case the customer replied to, when this case follows it up.
    pub previous_ticket: Option<String>,
    /// The open case the same requester already wrote about, when this one repeats it.
    pub duplicate_of: Option<String>,
    /// The open major incident this report belongs to (`known_issue`).
    pub major_ticket: Option<String>,
    /// What it is, as customers are told: "VPN down for remote staff".
    pub major_summary: Option<String>,
    /// The open problem this report is a known error of…
    pub known_error: Option<String>,
    /// …and its workaround, for the customer to try.
    pub workaround: Option<String>,
    /// A conference request: what was read of the event, the lead time, what is missing.
    pub conference: Option<super::contexts::ConferenceContext>,
    /// Whose approval the request waits for (a rule's `approval`), as a list.
    pub approval: Option<String>,
}

impl AckContext {
    /// A filled-in context, for `helpdesk check` and tests.
    pub fn sample() -> AckContext {
        AckContext {
            helpdesk_name: "IT Service Desk".into(),
            helpdesk_address: "support@example.test".into(),
            ticket: "HD-000123".into(),
            subject: "Printer <3rd floor> & scanner".into(),
            requester_name: "Alice Example".into(),
            category: "Break/fix (hardware, software, network)".into(),
            category_id: "break_fix".into(),
            priority: 4,
            priority_name: "Administrative".into(),
            case_type: "incident".into(),
            team: Some("service-desk".into()),
            first_response: "24 hours".into(),
            resolution_target: Some("4 days".into()),
            received_at: "Sun 22 Nov 2026 06:30 UTC".into(),
            first_response_due: Some("Monday 23 November, 14:30 UTC".into()),
            resolution_due: Some("Thursday 26 November, 17:00 UTC".into()),
            previous_ticket: None,
            duplicate_of: Some("HD-000117".into()),
            major_ticket: Some("HD-000118".into()),
            major_summary: Some("Wi-Fi down <east wing> & gym".into()),
            known_error: Some("HD-000120".into()),
            workaround: Some("Use the wired port <by the door>.".into()),
            conference: Some(super::contexts::ConferenceContext::sample()),
            approval: Some("manager@example.test".into()),
        }
    }
}

/// A rendered mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// One line, no control characters.
    pub subject: String,
    /// The text body.
    pub text: String,
    /// The HTML body, when the template has one.
    pub html: Option<String>,
}

/// The loaded templates.
#[derive(Debug)]
pub struct Templates {
    text: Handlebars<'static>,
    html: Handlebars<'static>,
    names: BTreeSet<String>,
}

impl Templates {
    /// Loads the embedded templates, then every `*.txt.hbs`/`*.html.hbs` in `dir`.
    ///
    /// # Errors
    /// An unreadable directory or file, or a template that does not compile.
    pub fn load(dir: Option<&Path>) -> Result<Templates, Error> {
        let mut t = Templates {
            text: Handlebars::new(),
            html: Handlebars::new(),
            names: BTreeSet::new(),
        };
        t.text.set_strict_mode(true);
        t.text.register_escape_fn(handlebars::no_escape);
        t.html.set_strict_mode(true);
        for (name, text, html) in EMBEDDED {
            t.register(name, text, *html)?;
        }
        if let Some(dir) = dir {
            t.load_dir(dir)?;
        }
        Ok(t)
    }

    fn load_dir(&mut self, dir: &Path) -> Result<(), Error> {
        let read = |path: &Path| {
            std::fs::read_to_string(path).map_err(|source| Error::Read {
                path: path.display().to_string(),
                source,
            })
        };
        let entries = std::fs::read_dir(dir).map_err(|source| Error::Read {
            path: dir.display().to_string(),
            source,
        })?;
        let mut files: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
        files.sort();
        for path in &files {
            let file = path.file_name().and_then(|f| f.to_str()).unwrap_or("");
            if let Some(name) = file.strip_suffix(".txt.hbs") {
                let html_path = dir.join(format!("{name}.html.hbs"));
                let html = if html_path.exists() {
                    Some(read(&html_path)?)
                } else {
                    None
                };
                self.register(name, &read(path)?, html.as_deref())?;
            } else if let Some(name) = file.strip_suffix(".html.hbs") {
                if !self.names.contains(name) && !dir.join(format!("{name}.txt.hbs")).exists() {
                    return Err(Error::Unknown(name.to_owned()));
                }
                if !dir.join(format!("{name}.txt.hbs")).exists() {
                    self.compile_html(name, &read(path)?)?;
                }
            }
        }
        Ok(())
    }

    fn register(&mut self, name: &str, text: &str, html: Option<&str>) -> Result<(), Error> {
        if !text.starts_with("Subject:") {
            return Err(Error::NoSubject(name.to_owned()));
        }
        self.text
            .register_template_string(name, text)
            .map_err(|e| Error::Syntax {
                name: format!("{name}.txt"),
                message: e.to_string(),
            })?;
        match html {
            Some(html) => self.compile_html(name, html)?,
            None => self.html.unregister_template(name),
        }
        self.names.insert(name.to_owned());
        Ok(())
    }

    fn compile_html(&mut self, name: &str, html: &str) -> Result<(), Error> {
        self.html
            .register_template_string(name, html)
            .map_err(|e| Error::Syntax {
                name: format!("{name}.html"),
                message: e.to_string(),
            })
    }

    /// Template names.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(String::as_str)
    }

    /// True when a template of this name exists.
    pub fn has(&self, name: &str) -> bool {
        self.names.contains(name)
    }

    /// Renders a mail.
    ///
    /// # Errors
    /// Unknown template, a field missing from the context, or no subject line.
    pub fn render(&self, name: &str, context: &impl Serialize) -> Result<Rendered, Error> {
        if !self.has(name) {
            return Err(Error::Unknown(name.to_owned()));
        }
        let render_err = |kind: &str| {
            let name = format!("{name}.{kind}");
            move |e: handlebars::RenderError| Error::Render {
                name,
                message: e.to_string(),
            }
        };
        let text = self.text.render(name, context).map_err(render_err("txt"))?;
        let html = if self.html.has_template(name) {
            Some(
                self.html
                    .render(name, context)
                    .map_err(render_err("html"))?,
            )
        } else {
            None
        };
        let (first, body) = text.split_once('\n').unwrap_or((&text, ""));
        let subject = first
            .strip_prefix("Subject:")
            .ok_or_else(|| Error::NoSubject(name.to_owned()))?;
        let subject: String = subject
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect::<String>()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        Ok(Rendered {
            subject,
            text: body.trim_start_matches(['\r', '\n']).to_owned(),
            html,
        })
    }

    /// Renders every template with the sample of its context: what `helpdesk check` runs.
    /// `acknowledgments` are the templates the rules name.
    ///
    /// # Errors
    /// The first template that fails.
    pub fn check_all<'a>(
        &self,
        acknowledgments: impl Iterator<Item = &'a str> + Clone,
    ) -> Result<usize, Error> {
        for name in &self.names {
            match shape(name, acknowledgments.clone()) {
                Shape::Acknowledgment => self.render(name, &AckContext::sample())?,
                Shape::Update => self.render(name, &UpdateContext::sample())?,
                Shape::Staff => self.render(name, &StaffContext::sample())?,
                Shape::CommandError => self.render(name, &CommandErrorContext::sample())?,
                Shape::Digest => self.render(name, &DigestContext::sample())?,
                Shape::Redirect => self.render(name, &RedirectContext::sample())?,
            };
        }
        Ok(self.names.len())
    }

    /// The canned replies `/template` may send: every template of the update shape but
    /// `update` itself.
    pub fn canned<'a>(
        &self,
        acknowledgments: impl Iterator<Item = &'a str> + Clone,
    ) -> Vec<String> {
        self.names
            .iter()
            .filter(|n| {
                !NOTICES.contains(&n.as_str()) && shape(n, acknowledgments.clone()) == Shape::Update
            })
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_template_renders() {
        let t = Templates::load(None).unwrap();
        assert_eq!(t.check_all(std::iter::empty()).unwrap(), EMBEDDED.len());
        let render = |name: &str| match shape(name, std::iter::empty()) {
            Shape::Acknowledgment => t.render(name, &AckContext::sample()),
            Shape::Update => t.render(name, &UpdateContext::sample()),
            Shape::Staff => t.render(name, &StaffContext::sample()),
            Shape::CommandError => t.render(name, &CommandErrorContext::sample()),
            Shape::Digest => t.render(name, &DigestContext::sample()),
            Shape::Redirect => t.render(name, &RedirectContext::sample()),
        };
        for name in t.names() {
            let r = render(name).unwrap();
            if name == TRIAGE_DIGEST {
                assert!(r.subject.contains("1 case"), "{}", r.subject);
            } else if name == TASK {
                assert!(
                    r.subject.contains("[HD-000123/T2]"),
                    "{name}: {}",
                    r.subject
                );
            } else {
                assert!(r.subject.contains("[HD-000123]"), "{name}: {}", r.subject);
            }
            assert!(r.text.contains("HD-000123"), "{name}");
            let html = r.html.as_deref().unwrap();
            assert!(html.contains("HD-000123"), "{name}");
            assert!(!html.contains("<3rd floor>"), "{name} escapes: {html}");
        }
        assert_eq!(t.canned(std::iter::empty()), ["remote_assistance"]);
    }

    #[test]
    fn text_is_verbatim_and_html_is_escaped() {
        let t = Templates::load(None).unwrap();
        let r = t.render("acknowledgment", &AckContext::sample()).unwrap();
        assert!(
            r.subject.contains("Printer <3rd floor> & scanner"),
            "{}",
            r.subject
        );
        let html = r.html.unwrap();
        assert!(
            html.contains("Printer &lt;3rd floor&gt; &amp; scanner"),
            "{html}"
        );
        assert!(!html.contains("<3rd floor>"));
    }

    #[test]
    fn overrides_replace_and_add_and_errors_are_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("acknowledgment.txt.hbs"),
            "Subject: [{{ticket}}] ok\n\nHi {{requester_name}}",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("custom.txt.hbs"),
            "Subject: [{{ticket}}] custom\n\nx",
        )
        .unwrap();
        let t = Templates::load(Some(dir.path())).unwrap();
        let r = t.render("acknowledgment", &AckContext::sample()).unwrap();
        assert_eq!(
            (r.subject.as_str(), r.text.as_str()),
            ("[HD-000123] ok", "Hi Alice Example")
        );
        assert!(
            r.html.is_none(),
            "an override without html drops the embedded html"
        );
        assert!(t.has("custom"));

        std::fs::write(dir.path().join("custom.txt.hbs"), "Subject: x\n\n{{#if}}").unwrap();
        let err = Templates::load(Some(dir.path())).unwrap_err().to_string();
        assert!(err.contains("custom.txt"), "{err}");
        std::fs::write(
            dir.path().join("custom.txt.hbs"),
            "Subject: x\n\n{{no_such_field}}",
        )
        .unwrap();
        let t = Templates::load(Some(dir.path())).unwrap();
        let err = t.check_all(std::iter::empty()).unwrap_err().to_string();
        assert!(
            err.contains("custom.txt") && err.contains("no_such_field"),
            "{err}"
        );
        std::fs::write(dir.path().join("custom.txt.hbs"), "Hello").unwrap();
        let err = Templates::load(Some(dir.path())).unwrap_err().to_string();
        assert!(err.contains("Subject:"), "{err}");
    }
}
