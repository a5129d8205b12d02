//! Eyes for the browser tests: a page is looked at in Chromium at a phone and a desktop width,
//! in light and dark mode (Chrome DevTools emulation through chromedriver), and must pass
//! layout checks (no horizontal scroll, the site header first, every card inside the main
//! frame, nothing sticking out of its card, cut off or pushed off screen, 44 px tap targets, readable text) and axe-core's
//! accessibility rules (no serious or critical violation, colour contrast included). A full
//! page screenshot of each goes to `target/screenshots/<page>-<width>-<scheme>.png` for a
//! person to look at. axe-core comes from the npm registry (`bash .ci/dev axe`, run by
//! `bash .ci/dev test`).

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use axum::http::Method;
use fantoccini::Client;
use fantoccini::wd::{TimeoutConfiguration, WebDriverCompatibleCommand};
use reqwest::Url;
use serde_json::{Value, json};

use super::browser::{js, shots_dir, until};

/// The widths every page is checked at: a phone and a common laptop.
pub const WIDTHS: [u32; 2] = [390, 1366];
pub const SCHEMES: [&str; 2] = ["light", "dark"];

/// One Chrome DevTools command through chromedriver (`goog/cdp/execute`).
#[derive(Debug)]
struct Cdp {
    cmd: &'static str,
    params: Value,
}

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(&self, base: &Url, session: Option<&str>) -> Result<Url, <Url as FromStr>::Err> {
        base.join(&format!(
            "session/{}/goog/cdp/execute",
            session.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &Url) -> (Method, Option<String>) {
        let body = json!({"cmd": self.cmd, "params": self.params});
        (Method::POST, Some(body.to_string()))
    }
}

async fn cdp(c: &Client, cmd: &'static str, params: Value) -> Value {
    c.issue_cmd(Cdp { cmd, params })
        .await
        .unwrap_or_else(|e| panic!("{cmd}: {e}"))
}

/// The viewport as a device of `width` × `height` CSS pixels (a phone below 500 px).
pub async fn viewport(c: &Client, width: u32, height: u32) {
    let params = json!({
        "width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 500,
    });
    cdp(c, "Emulation.setDeviceMetricsOverride", params).await;
}

/// `prefers-color-scheme`: light or dark.
pub async fn scheme(c: &Client, scheme: &str) {
    let params = json!({"features": [{"name": "prefers-color-scheme", "value": scheme}]});
    cdp(c, "Emulation.setEmulatedMedia", params).await;
}

/// axe-core's source, fetched by `bash .ci/dev axe`.
fn axe_source() -> &'static str {
    static SOURCE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SOURCE.get_or_init(|| {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/axe-core/axe.min.js");
        std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e}. The accessibility checks need axe-core from the npm registry: run \
                 `bash .ci/dev axe` (bash .ci/dev test does it).",
                path.display()
            )
        })
    })
}

/// Scripts get a minute: axe on a long page under load takes seconds.
pub async fn allow_slow_scripts(c: &Client) {
    c.update_timeouts(TimeoutConfiguration::new(
        Some(Duration::from_secs(60)),
        Some(Duration::from_secs(60)),
        Some(Duration::ZERO),
    ))
    .await
    .unwrap();
}

/// Layout problems of the page in view, as sentences naming the element.
const LAYOUT_CHECKS: &str = r#"
const problems = [];
const say = (el, what) => {
  const id = el.id ? '#' + el.id : '';
  const cls = typeof el.className === 'string' && el.className ? '.' + el.className.trim().split(/\s+/).join('.') : '';
  const text = (el.textContent || '').trim().replace(/\s+/g, ' ').slice(0, 50);
  problems.push(`${what}: <${el.tagName.toLowerCase()}${id}${cls}> "${text}"`);
};
const root = document.documentElement;
const vw = root.clientWidth;
if (root.scrollWidth > vw + 1) problems.push(`the page scrolls sideways: ${root.scrollWidth} px wide in a ${vw} px window`);
// Visually hidden text for screen readers is meant to be off screen.
const srOnly = (el) => !!el.closest('.skip') ||
  [...document.querySelectorAll('thead')].some(t => t.contains(el) && getComputedStyle(t).position === 'absolute');
const visible = (el) => {
  const cs = getComputedStyle(el);
  const r = el.getBoundingClientRect();
  return cs.display !== 'none' && cs.visibility !== 'hidden' && r.width > 0 && r.height > 0 && !el.closest('dialog:not([open])');
};
const firstShown = [...document.body.children].find(e => visible(e) && !srOnly(e));
const header = document.querySelector('header.top');
const bare = !header;
if (!bare) {
  if (firstShown !== header) say(firstShown || document.body, 'the first thing on the page is not the site header');
  if (header.getBoundingClientRect().top > 1) say(header, 'the header does not start at the top');
}
const main = document.querySelector('main');
if (!main) problems.push('no <main>');
const m = main.getBoundingClientRect();
for (const card of document.querySelectorAll('.card')) {
  if (!visible(card)) continue;
  if (!main.contains(card)) { say(card, 'card outside <main>'); continue; }
  const r = card.getBoundingClientRect();
  if (r.left < m.left - 1 || r.right > m.right + 1) say(card, 'card sticks out of <main>');
  if (header && r.top < header.getBoundingClientRect().bottom - 1) say(card, 'card above the header\'s bottom');
}
for (const el of document.body.querySelectorAll('*')) {
  if (!visible(el) || srOnly(el)) continue;
  const cs = getComputedStyle(el);
  // Inside something that scrolls, content is reachable; the scroller itself is checked.
  let scroller = el.parentElement, inScroller = false;
  while (scroller && scroller !== document.body) {
    const o = getComputedStyle(scroller).overflowX;
    if (o === 'auto' || o === 'scroll') { inScroller = true; break; }
    scroller = scroller.parentElement;
  }
  const r = el.getBoundingClientRect();
  if (!inScroller && (r.left < -1 || r.right > vw + 1)) say(el, `off screen (${Math.round(r.left)}..${Math.round(r.right)} of ${vw} px)`);
  const card = el.parentElement && el.parentElement.closest('.card');
  if (card && !inScroller) {
    const c = card.getBoundingClientRect();
    if (r.left < c.left - 1 || r.right > c.right + 1) say(el, `sticks out of its card (${Math.round(r.right - c.right)} px)`);
  }
  const clips = ['hidden', 'clip'].includes(cs.overflowX);
  if (clips && el.scrollWidth > el.clientWidth + 1 && cs.textOverflow !== 'ellipsis') say(el, 'content cut off');
  // A shortened text must say in full what it shortened (a title on it or around it).
  if (cs.textOverflow === 'ellipsis' && el.scrollWidth > el.clientWidth + 1 && !el.closest('[title]')) say(el, 'shortened without the full text');
  const tag = el.tagName.toLowerCase();
  const target = el.matches('button, .button, nav a, summary, select, label.check, input[type=text], input[type=search], input[type=number], input[type=password]');
  if (target && r.height < 43.5) say(el, `tap target ${Math.round(r.height)} px high`);
  const ownText = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
  if (ownText && parseFloat(cs.fontSize) < 12) say(el, `text ${cs.fontSize} small`);
}
return problems.slice(0, 25);
"#;

/// Run axe-core on the page; the serious and critical violations, one line each.
async fn axe(c: &Client) -> Vec<String> {
    super::browser::js(c, &format!("{}\nreturn null", axe_source())).await;
    let script = r#"
const done = arguments[arguments.length - 1];
axe.run(document, { resultTypes: ['violations'] }).then(r => done(
  r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical').map(v =>
    `${v.impact} ${v.id}: ${v.help} — ` + v.nodes.slice(0, 3).map(n => n.target.join(' ') + (n.any[0] ? ' (' + n.any[0].message + ')' : '')).join('; '))
)).catch(e => done(['axe failed: ' + e]));
"#;
    let v = c.execute_async(script, vec![]).await.expect("axe.run");
    serde_json::from_value(v).expect("axe answer")
}

/// Open `path` (already loaded when `None`), check it at every width and scheme and keep a
/// screenshot of each; returns every problem found, prefixed with where.
pub async fn look_at(c: &Client, base: &str, path: Option<&str>, name: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for width in WIDTHS {
        for s in SCHEMES {
            viewport(c, width, 800).await;
            scheme(c, s).await;
            match path {
                Some(p) => c.goto(&format!("{base}{p}")).await.unwrap(),
                // A page reached by a form post: render it again at this size.
                None => {
                    js(c, "window.dispatchEvent(new Event('resize')); return null").await;
                }
            }
            until(
                c,
                &format!("{name} loaded"),
                30,
                "return document.readyState",
                |v| v == "complete",
            )
            .await;
            let here = format!("{name} at {width} px, {s}");
            let layout: Vec<String> = serde_json::from_value(js(c, LAYOUT_CHECKS).await).unwrap();
            problems.extend(layout.into_iter().map(|p| format!("{here}: {p}")));
            problems.extend(axe(c).await.into_iter().map(|p| format!("{here}: {p}")));
            screenshot(c, &format!("{name}-{width}-{s}"), width).await;
        }
    }
    problems
}

/// The whole page (the viewport grown to the document's height), as `<name>.png`.
pub async fn screenshot(c: &Client, name: &str, width: u32) {
    let height = js(c, "return document.documentElement.scrollHeight")
        .await
        .as_u64()
        .unwrap_or(800)
        .clamp(400, 8000) as u32;
    viewport(c, width, height).await;
    let png = c.screenshot().await.unwrap();
    std::fs::write(shots_dir().join(format!("{name}.png")), png).unwrap();
    viewport(c, width, 800).await;
}
