//! Scaffolding shared by the pipeline's tests: a case's state for the pure plans, a pipeline from config text and rules on a test store, and one scenario run
//! on every test store (in-memory SQLite, and PostgreSQL when `HELPDESK_TEST_POSTGRES_URL` is
//! set).

use std::sync::Arc;

use super::Pipeline;
use crate::classify::Rules;
use crate::model::{CaseId, CaseType, Millis, Status, TicketNo};
use crate::store::casework::CaseState;
use crate::store::testing::stores;
use crate::store::Store;
use crate::templates::catalog::{Catalog, LiveCatalog};
use crate::templates::render::Templates;

/// An open incident HD-000005 in `break_fix` for the pure plans: no team, no technician, no
/// target, no clocks running.
pub(crate) fn case_state(status: Status) -> CaseState {
    CaseState {
        id: CaseId(1),
        ticket: TicketNo::new("HD", 5),
        subject: "Printer".into(),
        requester: "a@customer.example.test".into(),
        requester_name: None,
        status,
        pending_reason: None,
        case_type: CaseType::Incident,
        category: "break_fix".into(),
        priority: 3,
        target: None,
        team: None,
        assignee: None,
        resolution: None,
        resolved_at: None,
        close_at: None,
        closed_at: None,
        clock: crate::sla::Resolution::default(),
        first_response: crate::sla::FirstResponse::default(),
        follow_up_at: None,
        created_at: Millis(0),
        impact: None,
        urgency: None,
        priority_override: false,
    }
}

/// A pipeline on `store` with the configuration `config` (TOML text) and `rules`.
pub(crate) fn pipeline(store: &Store, config: &str, rules: Rules) -> Pipeline {
    let settings = crate::config::testing::load(config);
    Pipeline {
        settings: Arc::new(settings),
        catalog: LiveCatalog::new(
            Catalog::new(Arc::new(rules), Arc::new(Templates::load(None).unwrap())).unwrap(),
        ),
        store: store.clone(),
        import: None,
    }
}

/// Runs `scenario` with the pipeline `build` makes on each test store, dropping each after.
pub(crate) async fn on_each_store<B, F, Fut>(build: B, scenario: F)
where
    B: Fn(&Store) -> Pipeline,
    F: Fn(Pipeline) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for ts in stores().await {
        scenario(build(&ts.store)).await;
        ts.cleanup().await;
    }
}
