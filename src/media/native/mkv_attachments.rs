//! Matroska Attachments: the attached files libavformat lists as attachment streams, counted
//! from their headers without reading file data.

use std::io::{Read, Seek};

use super::Decline;
use super::ebml::{self, Header};
use super::mkv::peek;
use super::reader::Source;

/// Attachment MIME types libavformat turns into cover-picture video streams instead.
const IMAGE_MIME: [&str; 4] = ["image/gif", "image/jpeg", "image/png", "image/tiff"];
const MAX_ATTACHMENTS: usize = 1024;
/// Child elements looked at per attachment (a real one has 3-5).
const MAX_ATTACHMENT_FIELDS: usize = 64;

/// Attachments libavformat lists as attachment streams: complete (name, MIME type, data) and
/// not an image (those become cover pictures).
pub(super) fn count<R: Read + Seek>(
    src: &mut Source<R>,
    pos: u64,
    h: Header,
) -> Result<usize, Decline> {
    const FILE: u32 = 0x61A7;
    let end = body_end(pos, h)?;
    let mut at = pos + h.len;
    let mut count = 0;
    for _ in 0..MAX_ATTACHMENTS {
        if at >= end {
            return Ok(count);
        }
        let f = peek(src, at)?;
        let f_end = body_end(at, f)?.min(end);
        if f.id == FILE {
            let (mut name, mut mime, mut data) = (false, None, false);
            let mut c = at + f.len;
            for _ in 0..MAX_ATTACHMENT_FIELDS {
                if c >= f_end {
                    break;
                }
                let ch = peek(src, c)?;
                let size = ch
                    .size
                    .ok_or(Decline::Malformed("attachment element size"))?;
                match ch.id {
                    0x466E => name = true,
                    0x4660 if size <= 1024 => {
                        mime = Some(ebml::string(&src.read_at(c + ch.len, size)?));
                    }
                    0x465C => data = size > 0,
                    _ => {}
                }
                c = body_end(c, ch)?;
            }
            let image = mime
                .as_deref()
                .is_some_and(|m| IMAGE_MIME.iter().any(|p| m.starts_with(p)));
            count += usize::from(name && data && mime.is_some() && !image);
        }
        at = f_end;
    }
    Err(Decline::TooLarge)
}

fn body_end(pos: u64, h: Header) -> Result<u64, Decline> {
    let size = h
        .size
        .ok_or(Decline::Malformed("element of unknown size"))?;
    pos.checked_add(h.len)
        .and_then(|p| p.checked_add(size))
        .ok_or(Decline::Malformed("size overflows"))
}
