//! Technician quick actions: the `/command` lines at the top of a technician's reply. [`parse`]
//! splits a reply into its command lines, the public text for the customer and an internal note
//! (`/note`: the rest of the mail); [`check`] validates the commands against the configuration,
//! the rules and the case, all or nothing, into [`Change`]s for the ingest step to apply. Pure:
//! unknown or malformed lines become [`Problem`]s that name the line, never a partial change.

use crate::classify::{Level, Rules};
use crate::config::Settings;
use crate::model::{CaseType, Needs, Status, TicketNo};
use crate::sla::Target;

/// Why a case waits, for `/status pending <reason>`.
pub const PENDING_REASONS: &[&str] = &["vendor", "customer", "district", "scheduled"];

/// The commands with their syntax, as listed in the error reply.
pub const VALID: &[(&str, &str)] = &[
    (
        "/status in_progress|assigned|pending <reason> [text]|resolved|closed",
        "set the status; reasons: vendor, customer, district, scheduled",
    ),
    ("/assign <team-or-technician-address>", "hand the case over"),
    (
        "/priority <n>",
        "a priority of the case's category; it stands over impact and urgency",
    ),
    (
        "/impact high|medium|low",
        "how many it affects; with the urgency it sets the priority",
    ),
    (
        "/urgency high|medium|low",
        "how soon it hurts; with the impact it sets the priority",
    ),
    ("/category <name-or-number>", "recategorize"),
    ("/type request|incident|problem", "set the ITIL type"),
    (
        "/resolve [--force] [text]",
        "resolve, with the resolution for the customer; --force when tasks are still open",
    ),
    ("/reopen", "reopen a resolved or closed case"),
    (
        "/redirect <desk> [text]",
        "it belongs to another help desk: resolve it and tell the customer how to reach that desk",
    ),
    (
        "/note [text]",
        "the rest of the mail is internal, never sent to the customer",
    ),
    ("/link <ticket>", "link a related case"),
    (
        "/merge <ticket>",
        "fold this case into that one: messages, people and open tasks move there, this one closes",
    ),
    ("/problem", "open a problem case linked to this incident"),
    (
        "/major [text]",
        "declare a major incident: a major case linking this one and its related reports; its team and the major-incident list are alerted",
    ),
    (
        "/broadcast <text>",
        "on a major incident: send the text to every requester of its incidents, once each, in their own thread",
    ),
    (
        "/rootcause <text>",
        "on a problem case: what causes its incidents",
    ),
    (
        "/workaround <text>",
        "on a problem case: how to get by until it is fixed; its incidents' resolution notices say so",
    ),
    (
        "/task <team>[ by <date>]: <text>",
        "give another team a task on this case; they answer its mail with /done or /reject",
    ),
    (
        "/done [note]",
        "in a reply to a task mail: the task is done; the note goes to the case's liaison",
    ),
    (
        "/reject <reason>",
        "in a reply to a task mail: the team will not do the task, and why",
    ),
    (
        "/approval [any|all] <address> [address…]",
        "put the request on hold until they approve by reply (all of them, or any one)",
    ),
    (
        "/remote <code>",
        "send the customer the Quick Assist instructions with this support code",
    ),
    (
        "/cc <address>",
        "copy this person on the replies to the customer (they are in Cc from now on)",
    ),
    (
        "/uncc <address>",
        "stop copying this person on the replies (the requester always gets them)",
    ),
    ("/template <name>", "send the customer a canned reply"),
];

/// One command as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `/status …`; `pending` carries its reason and text.
    Status(Status, Option<String>),
    /// `/assign …`, lower-cased.
    Assign(String),
    /// `/priority n`.
    Priority(u8),
    /// `/impact LEVEL`.
    Impact(Level),
    /// `/urgency LEVEL`.
    Urgency(Level),
    /// `/redirect DESK [text]`, the desk lower-cased.
    Redirect(String, Option<String>),
    /// `/category …`.
    Category(String),
    /// `/type …`.
    Type(CaseType),
    /// `/resolve [--force] [text]`: the text, and whether open tasks may stay open.
    Resolve(Option<String>, bool),
    /// `/reopen`.
    Reopen,
    /// `/link TICKET`.
    Link(String),
    /// `/merge TICKET`.
    Merge(String),
    /// `/problem`.
    Problem,
    /// `/major [TEXT]`.
    Major(Option<String>),
    /// `/broadcast TEXT`.
    Broadcast(String),
    /// `/rootcause TEXT`.
    RootCause(String),
    /// `/workaround TEXT`.
    Workaround(String),
    /// `/task TEAM[ by DATE]: TEXT`: the team (lower-cased), the date as written, the task.
    Task(String, Option<String>, String),
    /// `/done [NOTE]`.
    Done(Option<String>),
    /// `/reject REASON` (`None`: no reason given).
    Reject(Option<String>),
    /// `/approval [any|all] ADDRESS…`: the addresses as written, and whether one suffices.
    Approval(Vec<String>, Needs),
    /// `/remote CODE`.
    Remote(String),
    /// `/cc ADDRESS`.
    Cc(String),
    /// `/uncc ADDRESS`.
    Uncc(String),
    /// `/template NAME`.
    Template(String),
    /// Unknown, or malformed: why.
    Invalid(String),
}

/// A command line with its place in the reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The line as written.
    pub text: String,
    /// What it says.
    pub command: Command,
}

/// A technician's reply taken apart.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reply {
    /// The command lines at the top, in order (`/note` excluded).
    pub commands: Vec<Line>,
    /// What follows the commands, for the customer; empty when there is none or `/note` came.
    pub public: String,
    /// The internal note: the text of `/note` and everything after it.
    pub note: Option<String>,
}

/// A command line that cannot be carried out, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// The line as written.
    pub line: String,
    /// What is wrong with it, and what would be right.
    pub error: String,
}

/// A validated change, ready to apply in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// New status; `pending` with its reason (`vendor: part ordered`).
    Status(Status, Option<String>),
    /// Hand the case to a configured team.
    AssignTeam(String),
    /// Hand the case to a technician.
    AssignTechnician(String),
    /// New priority with its resolution target, chosen by hand: it stands over impact and
    /// urgency.
    Priority(u8, Option<Target>),
    /// New impact.
    Impact(Assessed),
    /// New urgency.
    Urgency(Assessed),
    /// Resolve the case as belonging to the desk of this name; the text goes to the customer.
    Redirect {
        /// The desk's key in the configuration.
        desk: String,
        /// The resolution: "Redirected to …".
        resolution: String,
        /// What the technician wrote on the command line, for the customer.
        text: Option<String>,
    },
    /// New category, its priority and target, and the team when the case follows the
    /// category's default team.
    Category {
        /// Category id.
        id: String,
        /// Priority in the new category.
        priority: u8,
        /// Its resolution target.
        target: Option<Target>,
        /// The team to move to, when the case was with the old category's team.
        team: Option<String>,
    },
    /// New ITIL type.
    Type(CaseType),
    /// Resolve, with the resolution text.
    Resolve(Option<String>),
    /// Reopen.
    Reopen,
    /// Link another case (checked to exist when applied).
    Link(TicketNo),
    /// Fold this case into another (checked to exist and be open when applied).
    Merge(TicketNo),
    /// Open a problem case linked to this one.
    Problem,
    /// Declare a major incident with this one and its related reports (what it is, if said).
    Major(Option<String>),
    /// Send every requester of the major incident's incidents this text.
    Broadcast(String),
    /// Record the problem's root cause.
    RootCause(String),
    /// Record the problem's workaround.
    Workaround(String),
    /// A task for a team, due by a date (the end of that working day) if one was given.
    Task {
        /// The team.
        team: String,
        /// What to do.
        text: String,
        /// The date it is due.
        due: Option<jiff::civil::Date>,
    },
    /// The task the reply answers is done, with the team's note.
    Done(Option<String>),
    /// The task the reply answers will not be done: why.
    Reject(String),
    /// Ask these people to approve the request (lower-cased, deduplicated), holding the case.
    Approval(Vec<String>, Needs),
    /// Send the Quick Assist instructions with this code.
    Remote(String),
    /// Copy this address (lower-cased) on the replies to the customer.
    Cc(String),
    /// Stop copying this address (lower-cased).
    Uncc(String),
    /// Send the customer this canned template.
    Template(String),
}

/// A new impact or urgency, with what it does to the priority.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessed {
    /// The old level.
    pub from: Option<Level>,
    /// The new level.
    pub to: Level,
    /// The priority the category's matrix gives now, with its target, when it moves the case's
    /// priority; `None` when the priority stays (the same, or chosen by hand).
    pub priority: Option<(u8, Option<Target>)>,
    /// The priority that the matrix would give but a hand-chosen priority stands over.
    pub overridden: Option<u8>,
}

/// Splits a (quote-stripped) technician reply into commands, public text and note. Commands are
/// the lines starting with `/` at the top (blank lines between them allowed); the first other
/// line starts the public text; `/note` makes the rest of the mail the note, wherever it
/// stands. Internal text never reaches a customer: below the top, a `/note` line still starts
/// the note, and any other command line (`/word …`) is kept as an invalid command naming it,
/// so the whole reply is refused rather than relayed with a command inside.
pub fn parse(text: &str) -> Reply {
    let mut reply = Reply::default();
    let lines: Vec<&str> = text.lines().collect();
    let note =
        |rest: &str, after: &[&str]| format!("{rest}\n{}", after.join("\n")).trim().to_owned();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim();
        if line.is_empty() {
            i += 1;
            continue;
        }
        if !line.starts_with('/') {
            break;
        }
        let (name, rest) = line[1..]
            .split_once(char::is_whitespace)
            .map_or((&line[1..], ""), |(n, r)| (n, r.trim()));
        if name.eq_ignore_ascii_case("note") {
            reply.note = Some(note(rest, &lines[i + 1..]));
            return reply;
        }
        reply.commands.push(Line {
            text: line.to_owned(),
            command: command(&name.to_ascii_lowercase(), rest),
        });
        i += 1;
    }
    let start = i.min(lines.len());
    let mut end = lines.len();
    for (j, line) in lines.iter().enumerate().skip(start) {
        let Some((name, rest)) = command_shaped(line.trim()) else {
            continue;
        };
        if name.eq_ignore_ascii_case("note") {
            reply.note = Some(note(rest, &lines[j + 1..]));
            end = j;
            break;
        }
        reply.commands.push(Line {
            text: line.trim().to_owned(),
            command: Command::Invalid(format!(
                "/{name} stands below the text for the customer: commands go at the top of the \
                 reply, one per line, before any text (only /note may come later, and then the \
                 rest of the mail is internal)"
            )),
        });
    }
    reply.public = lines[start..end].join("\n").trim().to_owned();
    reply
}

/// A line that reads as a command, `/word` alone or followed by a space: its name and the rest.
/// (A path such as `/usr/bin/x` or a `/` in prose is not one.)
fn command_shaped(line: &str) -> Option<(&str, &str)> {
    let after = line.strip_prefix('/')?;
    let end = after
        .find(|c: char| !(c.is_ascii_alphabetic() || c == '_'))
        .unwrap_or(after.len());
    let (name, rest) = after.split_at(end);
    let ends_well = rest.is_empty() || rest.starts_with(char::is_whitespace);
    (!name.is_empty() && ends_well).then(|| (name, rest.trim()))
}

fn command(name: &str, rest: &str) -> Command {
    let needs = |what: &str| Command::Invalid(format!("/{name} needs {what}"));
    let no_args = |c: Command| {
        if rest.is_empty() {
            c
        } else {
            Command::Invalid(format!("/{name} takes no argument"))
        }
    };
    match name {
        "status" => status(rest),
        "assign" if rest.is_empty() => needs("a team name or a technician's address"),
        "assign" => Command::Assign(rest.to_ascii_lowercase()),
        "priority" => match rest.parse::<u8>() {
            Ok(n) => Command::Priority(n),
            Err(_) => needs("a priority number, e.g. /priority 2"),
        },
        "impact" | "urgency" => match rest.parse::<Level>() {
            Ok(l) if name == "impact" => Command::Impact(l),
            Ok(l) => Command::Urgency(l),
            Err(e) => Command::Invalid(format!("/{name} {e}")),
        },
        "redirect" if rest.is_empty() => needs("a desk, e.g. /redirect hr"),
        "redirect" => {
            let (desk, text) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            let text = text.trim();
            Command::Redirect(
                desk.to_ascii_lowercase(),
                (!text.is_empty()).then(|| text.to_owned()),
            )
        }
        "category" if rest.is_empty() => needs("a category name or number"),
        "category" => Command::Category(rest.to_ascii_lowercase()),
        "type" => rest.parse().map_or_else(Command::Invalid, Command::Type),
        "resolve" => {
            let (force, text) = match rest.strip_prefix("--force") {
                Some(after) if after.is_empty() || after.starts_with(char::is_whitespace) => {
                    (true, after.trim())
                }
                _ => (false, rest),
            };
            Command::Resolve((!text.is_empty()).then(|| text.to_owned()), force)
        }
        "reopen" => no_args(Command::Reopen),
        "link" if rest.is_empty() => needs("a ticket, e.g. /link HD-000124"),
        "link" => Command::Link(rest.to_owned()),
        "merge" if rest.is_empty() => needs("the ticket to merge into, e.g. /merge HD-000124"),
        "merge" => Command::Merge(rest.to_owned()),
        "problem" => no_args(Command::Problem),
        "major" => Command::Major((!rest.is_empty()).then(|| rest.to_owned())),
        "broadcast" if rest.is_empty() => {
            needs("the text for every requester, e.g. /broadcast the VPN is back")
        }
        "broadcast" => Command::Broadcast(rest.to_owned()),
        "rootcause" | "root_cause" if rest.is_empty() => {
            needs("the root cause, e.g. /rootcause the DHCP pool is exhausted")
        }
        "rootcause" | "root_cause" => Command::RootCause(rest.to_owned()),
        "workaround" if rest.is_empty() => {
            needs("the workaround, e.g. /workaround use the wired port")
        }
        "workaround" => Command::Workaround(rest.to_owned()),
        "task" => match rest.split_once(':') {
            Some((head, text)) if !head.trim().is_empty() && !text.trim().is_empty() => {
                let head = head.trim();
                let (team, due) = match head.split_once(char::is_whitespace) {
                    Some((team, by)) => match by.trim().strip_prefix("by ") {
                        Some(date) => (team, Some(date.trim().to_owned())),
                        None => {
                            return Command::Invalid(format!(
                                "/task {head}: after the team comes `by <date>` or the colon, e.g. /task av by 12 March: bring two microphones"
                            ))
                        }
                    },
                    None => (head, None),
                };
                Command::Task(team.to_ascii_lowercase(), due, text.trim().to_owned())
            }
            _ => needs("a team and the task, e.g. /task network: replace the switch"),
        },
        "done" => Command::Done((!rest.is_empty()).then(|| rest.to_owned())),
        "reject" => Command::Reject((!rest.is_empty()).then(|| rest.to_owned())),
        "approval" | "approve_by" => {
            let mut needs_word = None;
            let mut approvers = Vec::new();
            for word in rest.split(|c: char| c.is_whitespace() || c == ',' || c == ';') {
                match word.to_ascii_lowercase().as_str() {
                    "" => {}
                    w @ ("any" | "all") if needs_word.is_none() && approvers.is_empty() => {
                        needs_word = w.parse().ok();
                    }
                    _ => approvers.push(word.to_owned()),
                }
            }
            if approvers.is_empty() {
                needs("the approvers' addresses, e.g. /approval manager@example.org")
            } else {
                Command::Approval(approvers, needs_word.unwrap_or_default())
            }
        }
        "remote" if rest.is_empty() => needs("the Quick Assist code, e.g. /remote 493201"),
        "remote" => Command::Remote(rest.to_owned()),
        "cc" | "uncc" if rest.is_empty() => needs("an address, e.g. /cc colleague@example.org"),
        "cc" => Command::Cc(rest.to_owned()),
        "uncc" => Command::Uncc(rest.to_owned()),
        "template" if rest.is_empty() => needs("a template name"),
        "template" => Command::Template(rest.to_owned()),
        other => Command::Invalid(format!("unknown command /{other}")),
    }
}

fn status(rest: &str) -> Command {
    let mut words = rest.splitn(2, char::is_whitespace);
    let word = words.next().unwrap_or("").replace('-', "_");
    let more = words.next().map(str::trim).filter(|t| !t.is_empty());
    let status =
        match word.parse::<Status>() {
            Ok(Status::Open) => {
                return Command::Invalid(
                    "use /reopen to open a resolved or closed case again".into(),
                )
            }
            Ok(s) => s,
            Err(_) => {
                return Command::Invalid(format!(
                "/status needs one of in_progress, assigned, pending <reason>, resolved, closed{}",
                if word.is_empty() { String::new() } else { format!(" (not `{word}`)") }
            ))
            }
        };
    if status != Status::Pending {
        return match more {
            None => Command::Status(status, None),
            Some(_) => Command::Invalid(format!("/status {status} takes no further text")),
        };
    }
    let (reason, text) = more
        .map(|m| m.split_once(char::is_whitespace).unwrap_or((m, "")))
        .unwrap_or(("", ""));
    let reason = reason.to_ascii_lowercase();
    if !PENDING_REASONS.contains(&reason.as_str()) {
        return Command::Invalid(format!(
            "/status pending needs a reason: {}",
            PENDING_REASONS.join(", ")
        ));
    }
    let text = text.trim();
    Command::Status(
        Status::Pending,
        Some(if text.is_empty() {
            reason
        } else {
            format!("{reason}: {text}")
        }),
    )
}

/// What the commands are checked against.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// Teams and technicians.
    pub settings: &'a Settings,
    /// Categories and priorities.
    pub rules: &'a Rules,
    /// Templates `/template` may send.
    pub canned: &'a [String],
    /// The case as it stands.
    pub case: CaseNow<'a>,
    /// Who wrote the commands.
    pub actor: &'a str,
    /// Today in the calendar's zone: a task's `by <date>` is read from it.
    pub today: jiff::civil::Date,
    /// The task whose mail the reply answers, if it answers one.
    pub answering: Option<TaskNow<'a>>,
}

/// The task a reply answers, as `/done` and `/reject` need it.
#[derive(Debug, Clone, Copy)]
pub struct TaskNow<'a> {
    /// `T2`.
    pub label: &'a str,
    /// Its team.
    pub team: &'a str,
    /// `open`, `done` or `rejected`.
    pub status: &'a str,
    /// Who answered it already, and when (as shown).
    pub answered: Option<(&'a str, &'a str)>,
}

/// The parts of the case the commands depend on.
#[derive(Debug, Clone, Copy)]
pub struct CaseNow<'a> {
    /// Its ticket.
    pub ticket: &'a TicketNo,
    /// Status.
    pub status: Status,
    /// Type.
    pub case_type: CaseType,
    /// Category id.
    pub category: &'a str,
    /// Priority level.
    pub priority: u8,
    /// Team.
    pub team: Option<&'a str>,
    /// Impact.
    pub impact: Option<Level>,
    /// Urgency.
    pub urgency: Option<Level>,
    /// Whether the priority was chosen by hand (`/priority`).
    pub priority_override: bool,
    /// The open tasks, as `T1 network`.
    pub open_tasks: &'a [String],
    /// On a conference request: its account manager, who alone creates its tasks.
    pub liaison: Option<&'a str>,
    /// The requester.
    pub requester: &'a str,
    /// Who else gets the replies (Cc), as `/uncc` may name them.
    pub copied: &'a [String],
}

/// Validates every command; any problem means no change at all.
///
/// # Errors
/// Every line that cannot be carried out, with the reason.
pub fn check(commands: &[Line], ctx: &Context<'_>) -> Result<Vec<Change>, Vec<Problem>> {
    let mut changes = Vec::with_capacity(commands.len());
    let mut problems = Vec::new();
    // Each command sees the case as the ones before it left it: `/impact high` then
    // `/urgency high` gives the priority of both.
    let mut ctx = *ctx;
    for line in commands {
        let outcome = match (&line.command, &ctx.answering) {
            (Command::Done(_) | Command::Reject(_) | Command::Invalid(_), _) | (_, None) => {
                change(&line.command, &ctx)
            }
            (_, Some(task)) => Err(format!(
                "this is a reply to task {} of {}: only /done [note] and /reject <reason> work here; send other commands in a reply to the case's notification",
                task.label, ctx.case.ticket
            )),
        };
        match outcome {
            Ok(c) => {
                ctx.case.follow(&c);
                changes.push(c);
            }
            Err(error) => problems.push(Problem {
                line: line.text.clone(),
                error,
            }),
        }
    }
    if problems.is_empty() {
        Ok(changes)
    } else {
        Err(problems)
    }
}

impl CaseNow<'_> {
    /// The case as it is after `change` (the parts later commands depend on).
    fn follow(&mut self, change: &Change) {
        match change {
            Change::Priority(level, _) => {
                self.priority = *level;
                self.priority_override = true;
            }
            Change::Impact(a) => {
                self.impact = Some(a.to);
                self.priority = a.priority.map_or(self.priority, |p| p.0);
            }
            Change::Urgency(a) => {
                self.urgency = Some(a.to);
                self.priority = a.priority.map_or(self.priority, |p| p.0);
            }
            Change::Category { priority, .. } => self.priority = *priority,
            Change::Type(t) => self.case_type = *t,
            Change::Status(s, _) => self.status = *s,
            Change::Resolve(_) | Change::Redirect { .. } => self.status = Status::Resolved,
            Change::Reopen => self.status = Status::InProgress,
            _ => {}
        }
    }
}

/// A new impact or urgency of `case` in `category`: `impact`/`urgency` are the levels after
/// the change. Pure.
fn assess(
    case: &CaseNow<'_>,
    category: Option<&crate::classify::Category>,
    (from, to): (Option<Level>, Level),
    (impact, urgency): (Option<Level>, Option<Level>),
) -> Result<Assessed, String> {
    let category = category.ok_or("the case's category is not in the rules")?;
    let level = category.matrix.priority(impact, urgency);
    let moved = (level != case.priority).then_some(level);
    let (priority, overridden) = match moved {
        Some(_) if case.priority_override => (None, Some(level)),
        Some(level) => {
            let p = category
                .priority(level)
                .ok_or("the category's matrix names a priority it lacks")?;
            (Some((level, target(p))), None)
        }
        None => (None, None),
    };
    Ok(Assessed {
        from,
        to,
        priority,
        overridden,
    })
}

fn change(command: &Command, ctx: &Context<'_>) -> Result<Change, String> {
    let case = &ctx.case;
    let category = ctx.rules.category(case.category);
    Ok(match command {
        Command::Invalid(e) => return Err(e.clone()),
        Command::Status(s, reason) => {
            if *s == Status::Resolved {
                open_tasks(ctx, false)?;
            }
            Change::Status(*s, reason.clone())
        }
        Command::Assign(who) => assign(who, ctx.settings)?,
        Command::Priority(n) => {
            let category = category.ok_or("the case's category is not in the rules")?;
            let p = category.priority(*n).ok_or_else(|| {
                let valid: Vec<String> = category
                    .priorities
                    .iter()
                    .map(|p| format!("{} {}", p.level, p.name))
                    .collect();
                format!(
                    "{} has no priority {n}; it has {}",
                    category.id,
                    valid.join(", ")
                )
            })?;
            Change::Priority(p.level, target(p))
        }
        Command::Impact(l) => Change::Impact(assess(
            case,
            category,
            (case.impact, *l),
            (Some(*l), case.urgency),
        )?),
        Command::Urgency(l) => Change::Urgency(assess(
            case,
            category,
            (case.urgency, *l),
            (case.impact, Some(*l)),
        )?),
        Command::Redirect(desk, text) => {
            open_tasks(ctx, false)?;
            let Some(found) = ctx.settings.desk(desk) else {
                let desks: Vec<&str> = ctx.settings.desks.keys().map(String::as_str).collect();
                return Err(if desks.is_empty() {
                    format!("no desk `{desk}`: no [desks.*] are configured")
                } else {
                    format!("no desk `{desk}`; desks: {}", desks.join(", "))
                });
            };
            Change::Redirect {
                desk: desk.clone(),
                resolution: match text {
                    Some(t) => format!("Redirected to {}: {t}", found.name),
                    None => format!("Redirected to {}", found.name),
                },
                text: text.clone(),
            }
        }
        Command::Category(name) => {
            let new = ctx
                .rules
                .categories()
                .iter()
                .find(|c| c.id == *name || c.number.is_some_and(|n| n.to_string() == *name))
                .ok_or_else(|| {
                    let ids: Vec<&str> = ctx
                        .rules
                        .categories()
                        .iter()
                        .map(|c| c.id.as_str())
                        .collect();
                    format!("no category `{name}`; categories: {}", ids.join(", "))
                })?;
            // Impact and urgency carry over: the new category's matrix gives the priority,
            // unless it was chosen by hand.
            let assessed =
                (case.impact.is_some() || case.urgency.is_some()) && !case.priority_override;
            let level = if assessed {
                new.matrix.priority(case.impact, case.urgency)
            } else {
                case.priority
            };
            let p = new
                .priority(level)
                .or_else(|| new.priority(new.default_priority))
                .ok_or("the new category has no default priority")?;
            let follows_default =
                case.team.is_some() && category.and_then(|c| c.team.as_deref()) == case.team;
            Change::Category {
                id: new.id.clone(),
                priority: p.level,
                target: target(p),
                team: new.team.clone().filter(|_| follows_default),
            }
        }
        Command::Type(t) => Change::Type(*t),
        Command::Resolve(text, force) => {
            open_tasks(ctx, *force)?;
            Change::Resolve(text.clone())
        }
        // Whether the status allows it is the status machine's to say (crate::lifecycle).
        Command::Reopen => Change::Reopen,
        Command::Link(t) => Change::Link(other_ticket(t, ctx, "linked to")?),
        Command::Merge(_) if case.status == Status::Closed => {
            return Err(format!("{} is closed: only an open or resolved case can be merged", case.ticket))
        }
        Command::Merge(t) => Change::Merge(other_ticket(t, ctx, "merged into")?),
        Command::Problem if case.case_type == CaseType::Problem => {
            return Err(format!("{} is already a problem case", case.ticket))
        }
        Command::Problem => Change::Problem,
        Command::RootCause(_) | Command::Workaround(_) if case.case_type != CaseType::Problem => {
            return Err(format!(
                "{} is a{} {}: a root cause and a workaround belong on its problem case (/problem opens one)",
                case.ticket,
                if case.case_type == CaseType::Incident { "n" } else { "" },
                case.case_type
            ))
        }
        Command::RootCause(t) => Change::RootCause(t.clone()),
        // Whether the case is (not) a major incident already is looked up when applied.
        Command::Major(t) => Change::Major(t.clone()),
        Command::Broadcast(t) => Change::Broadcast(t.clone()),
        Command::Workaround(t) => Change::Workaround(t.clone()),
        Command::Task(team, due, text) => {
            if ctx.settings.team(team).is_none() {
                return Err(unknown_team(team, ctx.settings));
            }
            if let Some(liaison) = case.liaison.filter(|l| !l.eq_ignore_ascii_case(ctx.actor)) {
                return Err(format!(
                    "{} is a conference request with {liaison} as its account manager: tasks are theirs to create, and they stay the liaison",
                    case.ticket
                ));
            }
            let due = match due {
                None => None,
                Some(written) => {
                    let date = crate::parse::event::date(written, ctx.today).ok_or_else(|| {
                        format!("`{written}` is not a date; e.g. by 12 March, by 2027-03-12, by Friday")
                    })?;
                    if date < ctx.today {
                        return Err(format!("{date} has passed: a task is due today or later"));
                    }
                    Some(date)
                }
            };
            Change::Task {
                team: team.clone(),
                text: text.clone(),
                due,
            }
        }
        Command::Done(note) => {
            answering(ctx)?;
            Change::Done(note.clone())
        }
        Command::Reject(why) => {
            let task = answering(ctx)?;
            let why = why.clone().ok_or_else(|| {
                format!(
                    "/reject needs the reason, for the case's liaison: e.g. /reject {} has no one free that week",
                    task.team
                )
            })?;
            Change::Reject(why)
        }
        Command::Approval(_, _) if matches!(case.status, Status::Resolved | Status::Closed) => {
            return Err(format!(
                "{} is {}: /reopen it before asking for approval",
                case.ticket, case.status
            ))
        }
        Command::Approval(written, needs) => {
            let mut approvers: Vec<String> = Vec::new();
            for w in written {
                let a = address(w)?;
                if !approvers.contains(&a) {
                    approvers.push(a);
                }
            }
            Change::Approval(approvers, *needs)
        }
        Command::Remote(code) => Change::Remote(remote_code(code)?),
        Command::Cc(written) => Change::Cc(copy(written, ctx)?),
        Command::Uncc(written) => {
            let a = address(written)?;
            if a.eq_ignore_ascii_case(ctx.case.requester) {
                return Err(format!(
                    "{a} is the requester, who always gets the replies"
                ));
            }
            if !ctx.case.copied.iter().any(|c| c.eq_ignore_ascii_case(&a)) {
                return Err(match ctx.case.copied.len() {
                    0 => format!("{a} gets no copies: nobody but the requester does"),
                    _ => format!(
                        "{a} gets no copies; those who do: {}",
                        ctx.case.copied.join(", ")
                    ),
                });
            }
            Change::Uncc(a)
        }
        Command::Template(name) => {
            if !ctx.canned.iter().any(|c| c == name) {
                return Err(format!(
                    "no canned reply `{name}`; available: {}",
                    ctx.canned.join(", ")
                ));
            }
            Change::Template(name.clone())
        }
    })
}

/// The open task a `/done` or `/reject` answers.
fn answering<'a>(ctx: &Context<'a>) -> Result<TaskNow<'a>, String> {
    let Some(task) = ctx.answering else {
        return Err(format!(
            "/done and /reject answer a task: reply to the task's own mail (its subject reads [{}/T1])",
            ctx.case.ticket
        ));
    };
    if let Some((by, at)) = task.answered {
        return Err(format!(
            "task {} was answered already ({} by {by}, {at}): the first answer stands",
            task.label, task.status
        ));
    }
    Ok(task)
}

/// Refuses to resolve a case whose tasks are open, unless forced.
fn open_tasks(ctx: &Context<'_>, force: bool) -> Result<(), String> {
    let open = ctx.case.open_tasks;
    if open.is_empty() || force {
        return Ok(());
    }
    Err(format!(
        "{} has {} open task{} ({}): finish {} first (/done on the task mail), or /resolve --force",
        ctx.case.ticket,
        open.len(),
        if open.len() == 1 { "" } else { "s" },
        open.join(", "),
        if open.len() == 1 { "it" } else { "them" },
    ))
}

/// An address as a command names it (`<…>` allowed), lower-cased.
fn address(written: &str) -> Result<String, String> {
    let w = written.trim();
    crate::model::parse_address(w.trim_matches(|c| c == '<' || c == '>'))
        .ok_or_else(|| format!("`{w}` is not an address"))
}

/// The address `/cc` copies: a person on the customer's side, while relays go to everyone.
fn copy(written: &str, ctx: &Context<'_>) -> Result<String, String> {
    let s = ctx.settings;
    if !s.reply_all {
        return Err(
            "replies go to the requester only here (helpdesk.reply_all = false), so /cc has no effect"
                .to_owned(),
        );
    }
    let a = address(written)?;
    if a.eq_ignore_ascii_case(ctx.case.requester) {
        return Err(format!(
            "{a} is the requester, who gets the replies already"
        ));
    }
    if s.is_staff_address(&a) {
        return Err(format!(
            "{a} is the help desk's own (a technician, a team or a support address): staff hear through notifications"
        ));
    }
    if crate::parse::signals::is_system_address(&a) {
        return Err(format!("{a} does not take replies"));
    }
    Ok(a)
}

/// A Quick Assist code as the customer types it: letters and digits, 4 to 16 of them (spaces
/// and dashes dropped), upper-cased.
fn remote_code(written: &str) -> Result<String, String> {
    let code: String = written
        .chars()
        .filter(|c| !matches!(c, ' ' | '-'))
        .collect::<String>()
        .to_ascii_uppercase();
    let ok =
        (4..=16).contains(&code.chars().count()) && code.chars().all(|c| c.is_ascii_alphanumeric());
    if ok {
        Ok(code)
    } else {
        Err(format!(
            "`{written}` is not a Quick Assist code: 4 to 16 letters and digits, e.g. /remote 493201"
        ))
    }
}

/// The ticket `t` names, which must not be the case's own.
fn other_ticket(t: &str, ctx: &Context<'_>, what: &str) -> Result<TicketNo, String> {
    let prefix = &ctx.settings.ticket_prefix;
    let ticket = crate::thread::ticket_in_subject(&format!("[{}]", t.trim()), prefix)
        .ok_or_else(|| format!("`{t}` is not a ticket like {prefix}-000124"))?;
    if ticket == *ctx.case.ticket {
        return Err(format!("a case cannot be {what} itself"));
    }
    Ok(ticket)
}

fn target(p: &crate::classify::Priority) -> Option<Target> {
    p.target.map(|duration| Target {
        duration,
        clock: p.clock,
    })
}

fn assign(who: &str, settings: &Settings) -> Result<Change, String> {
    if settings.team(who).is_some() {
        return Ok(Change::AssignTeam(who.to_owned()));
    }
    match crate::model::parse_address(who) {
        Some(a) if settings.is_technician(&a) => Ok(Change::AssignTechnician(a)),
        Some(a) => Err(format!("{a} is not a technician")),
        None => Err(unknown_team(who, settings)),
    }
}

fn unknown_team(name: &str, settings: &Settings) -> String {
    let teams: Vec<&str> = settings.teams.keys().map(String::as_str).collect();
    if teams.is_empty() {
        format!("no team `{name}`: no [teams.*] are configured")
    } else {
        format!("no team `{name}`; teams: {}", teams.join(", "))
    }
}

/// The list of valid commands, for the error reply.
pub fn help() -> String {
    VALID
        .iter()
        .map(|(syntax, what)| format!("  {syntax}\n      {what}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests;
