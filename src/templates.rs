//! The mail helpdesk writes, below both the pipeline that queues it and the outbox that sends
//! it: the handlebars templates and their typed contexts ([`render`], [`contexts`]), and the
//! [`catalog`] that holds them with the rules, swapped as one on reload.

pub mod catalog;
pub mod contexts;
pub mod render;
