//! Scaffolding shared by the pipeline's tests: a pipeline from config text and rules on a test
//! store, and one scenario run on every test store (in-memory SQLite, and PostgreSQL when
//! `HELPDESK_TEST_POSTGRES_URL` is set).

use std::path::Path;
use std::sync::Arc;

use super::Pipeline;
use crate::classify::Rules;
use crate::store::testing::stores;
use crate::store::Store;
use crate::templates::catalog::{Catalog, LiveCatalog};
use crate::templates::render::Templates;

/// A pipeline on `store` with the configuration `config` (TOML text) and `rules`.
pub(crate) fn pipeline(store: &Store, config: &str, rules: Rules) -> Pipeline {
    let settings =
        crate::config::load_str(Path::new("/tmp/h.toml"), config, std::iter::empty()).unwrap();
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
