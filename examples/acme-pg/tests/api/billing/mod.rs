//! Billing: the webhook's signature check, what each Stripe event does (once, in order,
//! and what each status grants), and checkout and portal against a fake Stripe.

mod checkout;
mod delivery;
mod events;
mod plans;
mod signatures;
