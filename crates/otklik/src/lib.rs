//! The `otklik` binary's library: configuration, start-up, the command line, the
//! demo seed and the benchmarks. `main` only parses arguments and calls in here.

#![forbid(unsafe_code)]

pub mod app;
pub mod bench;
pub mod bench_assist;
pub mod bench_burst;
pub mod bench_chat;
pub mod bench_email;
pub mod bench_journey;
pub mod bench_orders;
pub mod bench_reports;
pub mod bench_rules;
pub mod bench_search;
pub mod bench_telegram;
pub mod bench_ui;
pub mod cli;
pub mod config;
pub mod demo;
pub mod demo_corpus;
pub mod demo_kb;
pub mod import;
pub mod serve;
