//! The HTML admin pages: sessions and forms, content, profiles, a journey in Chromium.

mod browser;
mod content;
mod profiles;
mod session;
