//! A case that belongs to another help desk (the incident SOP's step 5.3): a rule
//! (`redirect = "NAME"`) or a technician (`/redirect NAME [text]`) resolves it at once with the
//! resolution "Redirected to …", no SLA runs for it, the customer gets the `redirect` mail with
//! that desk's contact details (`[desks.NAME]`), and a desk with `forward = true` gets the
//! original message attached, with replies going to the customer.

use super::notify::Notice;
use super::Pipeline;
use crate::lifecycle;
use crate::model::Millis;
use crate::store::casework::CaseState;
use crate::store::events::Event;
use crate::store::{self, cases, messages, Work};
use crate::templates::render::REDIRECT_FORWARD;

impl Pipeline {
    /// Resolves `state` as belonging to the desk `desk` (its key), with `resolution`; `rule`
    /// names the rule that decided it, if one did. The caller saves the state.
    pub(crate) fn redirected(
        &self,
        tx: &mut Work,
        state: &mut CaseState,
        (desk, resolution): (&str, &str),
        rule: Option<&str>,
        actor: &str,
        now: Millis,
    ) {
        let name = self.settings.desk(desk).map_or(desk, |d| d.name.as_str());
        let resolve = lifecycle::Event::Resolve(Some(resolution.to_owned()));
        self.life_event(tx, state, &resolve, actor, now);
        let redirected = Event::Redirected { desk, name, rule };
        cases::add_event(tx, state.id, now, actor, &redirected);
    }

    /// Forwards the case's request, attached whole, to the desk `desk` when it asks for that
    /// (`forward = true`): a notification capped by its `author`'s hourly count like any other.
    pub(crate) async fn forward_to_desk(
        &self,
        tx: &mut Work,
        state: &CaseState,
        desk: &str,
        author: &str,
        now: Millis,
    ) -> Result<(), store::Error> {
        let Some(desk) = self.settings.desk(desk) else {
            return Ok(());
        };
        let (true, Some(address)) = (desk.forward, &desk.address) else {
            return Ok(());
        };
        let Some((row, text)) = messages::first(tx, state.id).await? else {
            return Ok(());
        };
        let notice = Notice {
            author: author.to_owned(),
            headline: format!("Forwarded to {}", desk.name),
            text,
            template: Some(REDIRECT_FORWARD),
            attach_message: Some(row),
            about: None,
            reply_to: Some(state.requester.clone()),
            ..Default::default()
        };
        self.notify(tx, state, std::slice::from_ref(address), &notice, now)
            .await
    }
}
