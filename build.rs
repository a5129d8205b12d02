//! Embeds the page templates (`templates/**/*.html`) into the binary: every file found is
//! compiled in, so a new template needs no list to be kept by hand, and every build (tests
//! included) serves exactly what ships.

fn main() {
    minijinja_embed::embed_templates!("templates", &[".html"][..]);
}
