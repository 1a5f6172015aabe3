//! Channel adapters: each turns its transport's inbound items into normalised
//! messages for the engine, and delivers outbound replies with a receipt. A channel
//! never touches SQL; everything durable goes through the engine.

#![forbid(unsafe_code)]

pub mod email;
pub mod telegram;
pub mod telegram_stand_in;
pub mod vk;
pub mod vk_stand_in;
pub mod whatsapp;
pub mod whatsapp_stand_in;
