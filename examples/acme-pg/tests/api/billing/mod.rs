//! Billing: the webhook's signature check, what each Stripe event does and what each
//! status grants, how deliveries are applied (once, in order, nothing saved on failure),
//! checkout and the portal against a fake Stripe, and the plan the resource tests use.

mod checkout;
mod delivery;
mod events;
mod plans;
mod signatures;
