//! The rules and templates the pipeline and the outbox work with, as one value that a running
//! daemon may replace (SIGHUP). Rules name templates, so the two are loaded, checked and swapped
//! together: nobody ever sees new rules with old templates. Readers take the current value once
//! per unit of work (an intake batch, a scheduler round, one outgoing mail), so a reload never
//! changes the rules in the middle of a batch.

use std::path::Path;
use std::sync::Arc;

use arc_swap::ArcSwap;

use super::render::{self, Templates};
use crate::classify::{self, Rules};

/// Why rules and templates could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The rules file is unreadable or invalid.
    #[error("rules: {0}")]
    Rules(#[from] classify::Error),
    /// A template is unreadable or invalid.
    #[error("templates: {0}")]
    Templates(#[from] render::Error),
    /// A rule names a template that does not exist.
    #[error("a rule uses the template `{0}`, which does not exist: add {0}.txt.hbs to the templates directory")]
    MissingTemplate(String),
}

/// Rules and the templates they name, checked against each other.
#[derive(Debug)]
pub struct Catalog {
    /// Classification rules.
    pub rules: Arc<Rules>,
    /// Mail templates.
    pub templates: Arc<Templates>,
}

impl Catalog {
    /// Pairs `rules` with `templates`.
    ///
    /// # Errors
    /// A rule names a template that `templates` lacks.
    pub fn new(rules: Arc<Rules>, templates: Arc<Templates>) -> Result<Catalog, Error> {
        check(&rules, &templates)?;
        Ok(Catalog { rules, templates })
    }

    /// Loads the rules file (or the shipped chart) and the templates (embedded defaults and
    /// the override directory).
    ///
    /// # Errors
    /// Either cannot be read or is invalid, or a rule names a missing template.
    pub fn load(rules: Option<&Path>, templates: Option<&Path>) -> Result<Catalog, Error> {
        Catalog::new(
            Arc::new(Rules::load(rules)?),
            Arc::new(Templates::load(templates)?),
        )
    }
}

/// Checks that every template a rule names exists.
///
/// # Errors
/// [`Error::MissingTemplate`] with the first missing name.
pub fn check(rules: &Rules, templates: &Templates) -> Result<(), Error> {
    match rules.templates().find(|t| !templates.has(t)) {
        Some(missing) => Err(Error::MissingTemplate(missing.to_owned())),
        None => Ok(()),
    }
}

/// A shared handle on the current [`Catalog`]; clones see the same value, and
/// [`LiveCatalog::replace`] swaps it for all of them at once.
#[derive(Debug, Clone)]
pub struct LiveCatalog(Arc<ArcSwap<Catalog>>);

impl LiveCatalog {
    /// A handle on `catalog`.
    pub fn new(catalog: Catalog) -> LiveCatalog {
        LiveCatalog(Arc::new(ArcSwap::from_pointee(catalog)))
    }

    /// The catalog now; it stays valid (and unchanged) for as long as it is held.
    pub fn current(&self) -> Arc<Catalog> {
        self.0.load_full()
    }

    /// A new handle fixed on the current catalog: later replacements do not reach it.
    pub fn pinned(&self) -> LiveCatalog {
        LiveCatalog(Arc::new(ArcSwap::new(self.current())))
    }

    /// Puts `catalog` in place for every clone of this handle; work in hand keeps the one it
    /// took.
    pub fn replace(&self, catalog: Catalog) {
        self.0.store(Arc::new(catalog));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replacement_reaches_clones_but_not_pinned_handles() {
        let live = LiveCatalog::new(Catalog::load(None, None).unwrap());
        let clone = live.clone();
        let pinned = live.pinned();
        let before = pinned.current();
        live.replace(Catalog::load(None, None).unwrap());
        assert!(!Arc::ptr_eq(&before, &clone.current()));
        assert!(Arc::ptr_eq(&before, &pinned.current()));
    }

    #[test]
    fn a_rule_naming_a_missing_template_is_refused() {
        let rules = crate::classify::tests::minimal_rules(
            "",
            r#"
            [[rule]]
            name = "printer"
            category = "uncategorized"
            subject = 'printer'
            template = "nonesuch"
            "#,
        );
        let templates = Templates::load(None).unwrap();
        let e = Catalog::new(Arc::new(rules), Arc::new(templates)).unwrap_err();
        assert!(e.to_string().contains("`nonesuch`"), "{e}");
    }
}
