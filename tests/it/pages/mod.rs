//! The HTML admin pages: sessions and forms, content, profiles, a journey in Chromium.

mod actions;
mod browser;
mod content;
mod eyes;
mod layout;
mod profiles;
mod session;
