//! What every command that touches the database loads first: the configuration, the rules and
//! the templates, checked against each other, and the database, connected and migrated.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;

use crate::casework::Pipeline;
use crate::classify::{Learn, Rules};
use crate::config::{self, Settings};
use crate::outbox::transport::Transport;
use crate::outbox::Outbox;
use crate::store::Store;
use crate::templates::catalog::{self, Catalog, LiveCatalog};
use crate::templates::render::Templates;

/// Everything loaded from the configuration, with the database connected and migrated.
pub struct App {
    /// Validated configuration.
    pub settings: Arc<Settings>,
    /// Classification rules.
    pub rules: Arc<Rules>,
    /// Mail templates.
    pub templates: Arc<Templates>,
    /// The database.
    pub store: Store,
}

impl App {
    /// Loads config, rules and templates, connects to the database and migrates it.
    ///
    /// # Errors
    /// Any of those steps, with what to fix.
    pub async fn load(config_path: &Path) -> anyhow::Result<App> {
        let (settings, rules, templates) = load_static(config_path, Learn::Train)?;
        App::connect(settings, rules, templates).await
    }

    /// [`App::load`] for a command that only reads the store: the rules' model is not
    /// trained (see [`Learn::Skip`]).
    ///
    /// # Errors
    /// As [`App::load`].
    pub async fn load_reader(config_path: &Path) -> anyhow::Result<App> {
        let (settings, rules, templates) = load_static(config_path, Learn::Skip)?;
        App::connect(settings, rules, templates).await
    }

    /// Connects to the configured database and migrates it.
    ///
    /// # Errors
    /// The database cannot be opened or migrated.
    pub(super) async fn connect(
        settings: Settings,
        rules: Rules,
        templates: Templates,
    ) -> anyhow::Result<App> {
        let store = Store::connect(settings.database_url.expose())
            .await
            .context("while opening the database (check [database] url)")?;
        store
            .migrate()
            .await
            .context("while migrating the database")?;
        Ok(App {
            settings: Arc::new(settings),
            rules: Arc::new(rules),
            templates: Arc::new(templates),
            store,
        })
    }

    /// On SQLite, keeps the process to one CPU for the daemon and bulk import, unless `[database]
    /// one_cpu = false` (see [`crate::daemon::cpu`]).
    pub(super) fn keep_to_one_cpu(&self) {
        if !self.settings.one_cpu || self.store.backend != crate::store::Backend::Sqlite {
            return;
        }
        match crate::daemon::cpu::keep_to_one() {
            Ok(cpu) => tracing::info!(cpu, "keeping to one CPU, as SQLite works fastest there ([database] one_cpu = false to use them all)"),
            Err(error) => tracing::warn!(%error, "cannot keep to one CPU; using them all"),
        }
    }

    pub(crate) fn pipeline(&self) -> Pipeline {
        Pipeline {
            settings: self.settings.clone(),
            catalog: self.catalog(),
            store: self.store.clone(),
            import: None,
        }
    }

    /// The rules and templates as one handle; the pipeline and outbox of a daemon share one,
    /// so a reload reaches both.
    fn catalog(&self) -> LiveCatalog {
        LiveCatalog::new(Catalog {
            rules: self.rules.clone(),
            templates: self.templates.clone(),
        })
    }

    /// The outbox, rendering with the templates of `catalog`.
    pub(super) fn outbox(&self, catalog: LiveCatalog) -> anyhow::Result<Outbox> {
        Ok(Outbox {
            store: self.store.clone(),
            catalog,
            transport: Transport::build(
                &self.settings.transport,
                self.settings.outbound_connections,
            )?,
            connections: self.settings.outbound_connections,
            from: self.settings.from.clone(),
        })
    }
}

/// Config, rules and templates, validated against each other (every rule's template exists).
pub(super) fn load_static(
    config_path: &Path,
    learn: Learn,
) -> anyhow::Result<(Settings, Rules, Templates)> {
    let settings = config::load(config_path).context(
        "while loading the configuration (give another file with --config or HELPDESK_CONFIG)",
    )?;
    let rules =
        Rules::load_as(settings.rules_path.as_deref(), learn).context("while loading the rules")?;
    let templates = Templates::load(settings.templates_dir.as_deref())
        .context("while loading the templates")?;
    catalog::check(&rules, &templates)?;
    Ok((settings, rules, templates))
}
