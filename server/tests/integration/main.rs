//! The server from the outside, as one test binary: a whole app on a fresh
//! database per test (SQLite, and again on PostgreSQL with `TEST_POSTGRES_URL`),
//! requests through the real router. (One binary
//! instead of one per file: each links the whole server.)

mod common;

mod access;
mod auth;
mod backup;
mod browser_protections;
mod camera;
mod compression;
mod crash;
mod exports;
mod face_templates;
mod fuzz;
mod https;
mod kiosk;
mod kiosk_faces;
mod postgres;
mod reports;
mod sales;
mod scoring;
mod search;
mod sign_in_limits;
mod staff_faces;
mod startup;
mod strangers;
mod telegram;
mod tokens;
mod upgrade;
