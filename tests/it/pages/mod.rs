//! The HTML admin pages: sessions and forms, content, profiles, a journey in Chromium.

mod actions;
mod browser;
mod content;
mod eyes;
mod forecast;
mod layout;
mod logs;
mod maintenance;
mod profile_output;
mod profiles;
mod session;
