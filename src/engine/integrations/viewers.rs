//! Yield to viewers: a worker that, while `yield_to_viewers` is on, asks Jellyfin and Emby
//! (`GET /Sessions`, sessions with a `NowPlayingItem`) and Plex (`GET /status/sessions`,
//! `MediaContainer.size`) how many streams play, suspends encodes through `Control` while any
//! does (`paused_reason` "viewers: 1 stream on Jellyfin"), and resumes them when playback
//! ends. Its wake-up is a timer, or the settings being saved. A media server that cannot be
//! asked counts as nobody watching (logged), so a server that is down never stops encodes for
//! good. Who wins is as for the schedule: an owner's pause, drain or the schedule's hold
//! stands, and any command of the owner ends the viewers' hold until the next change. With
//! `yield_only_transcoding` only streams the media server transcodes count (Jellyfin/Emby
//! `TranscodingInfo` or `PlayMethod: Transcode`, Plex `TranscodeSession`): direct play costs
//! the box little, a transcode competes with the encode for the CPU.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{Integrations, Service, client};
use crate::engine::control::Control;
use crate::engine::worker::Worker;

/// How often the media servers are asked while the option is on: a viewer starting playback
/// waits at most this long for the disk and CPU to be theirs.
const POLL: Duration = Duration::from_secs(3);

pub(crate) struct Viewers {
    integrations: Integrations,
    control: Control,
    /// The reason last applied (`None`: not holding).
    holding: Option<String>,
    line: String,
}

impl Viewers {
    pub fn new(integrations: Integrations, control: Control) -> Viewers {
        Viewers {
            integrations,
            control,
            holding: None,
            line: "starting".into(),
        }
    }
}

/// "viewers: 1 stream on Jellyfin, 2 on Plex"; with `yield_only_transcoding`, "viewers: 1
/// stream transcoding on Jellyfin, 2 on Plex".
fn reason(counts: &[(Service, u64)], transcoding: bool) -> String {
    let parts: Vec<String> = counts
        .iter()
        .enumerate()
        .map(|(i, (s, n))| {
            let what = if i > 0 {
                String::new()
            } else if *n == 1 {
                " stream".into()
            } else {
                " streams".into()
            };
            let what = if i == 0 && transcoding {
                format!("{what} transcoding")
            } else {
                what
            };
            format!("{n}{what} on {}", s.label())
        })
        .collect();
    format!("viewers: {}", parts.join(", "))
}

impl Worker for Viewers {
    fn name(&self) -> &'static str {
        "viewer watch"
    }

    async fn work(&mut self, _stop: &CancellationToken) {
        let settings = self.integrations.settings();
        let servers: Vec<Service> = [Service::Jellyfin, Service::Emby, Service::Plex]
            .into_iter()
            .filter(|s| settings.service(*s).is_some())
            .collect();
        let mut counts = Vec::new();
        if settings.yield_to_viewers {
            for s in &servers {
                let Some(svc) = settings.service(*s) else {
                    continue;
                };
                let only = settings.yield_only_transcoding;
                match client::playing(self.integrations.http(), *s, svc, only).await {
                    Ok(0) => {}
                    Ok(n) => counts.push((*s, n)),
                    Err(e) => tracing::warn!(service = s.label(), code = e.code(), error = %e,
                        "could not ask who is watching; counted as nobody"),
                }
            }
        }
        let result = if counts.is_empty() {
            let r = match self.holding.take() {
                Some(_) => self.control.viewers_release().await.map(|_| ()),
                None => Ok(()),
            };
            self.line = match (settings.yield_to_viewers, servers.is_empty()) {
                (false, _) => "off".into(),
                (true, true) => "on, but no Jellyfin, Emby or Plex configured".into(),
                (true, false) if settings.yield_only_transcoding => "no stream transcoding".into(),
                (true, false) => "nobody watching".into(),
            };
            r
        } else {
            let why = reason(&counts, settings.yield_only_transcoding);
            self.line = why.clone();
            if self.holding.as_deref() == Some(why.as_str()) {
                Ok(())
            } else {
                self.holding = Some(why.clone());
                self.control.viewers_hold(why).await.map(|_| ())
            }
        };
        if let Err(e) = result {
            tracing::error!(error = %e, "the viewer watch could not change the engine");
        }
    }

    async fn wait(&mut self) {
        tokio::select! {
            _ = tokio::time::sleep(POLL) => {}
            _ = self.integrations.saved() => {}
        }
    }

    fn status(&self) -> String {
        self.line.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_name_each_server_and_whether_only_transcodes_count() {
        let both = [(Service::Jellyfin, 1), (Service::Plex, 2)];
        assert_eq!(
            reason(&both, false),
            "viewers: 1 stream on Jellyfin, 2 on Plex"
        );
        assert_eq!(
            reason(&both, true),
            "viewers: 1 stream transcoding on Jellyfin, 2 on Plex"
        );
        assert_eq!(
            reason(&[(Service::Plex, 3)], true),
            "viewers: 3 streams transcoding on Plex"
        );
    }
}
