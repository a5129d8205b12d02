//! EBML, Matroska's binary layout: variable-length IDs and sizes, and iteration over the
//! children of a master element already read into memory. Every size is checked against the
//! bytes actually present; an unknown size inside a buffered element is malformed.

use super::Decline;
use super::bits::Bytes;

/// An element header: ID (with its length marker, as the spec writes IDs), body size
/// (`None` = unknown, the all-ones value) and the header's own length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub id: u32,
    pub size: Option<u64>,
    pub len: u64,
}

/// Read a header from the start of `data`.
pub fn header(data: &[u8]) -> Result<Header, Decline> {
    let mut c = Bytes::new(data);
    let (id, id_len) = vint(&mut c, 4).ok_or(Decline::Malformed("EBML element ID"))?;
    let (raw, size_len) = vint(&mut c, 8).ok_or(Decline::Malformed("EBML element size"))?;
    let value_bits = 7 * size_len;
    let all_ones = (1u64 << value_bits) - 1;
    let marker = 1u64 << value_bits;
    let size = raw & !marker;
    Ok(Header {
        id: u32::try_from(id).map_err(|_| Decline::Malformed("EBML element ID"))?,
        size: (size != all_ones).then_some(size),
        len: (id_len + size_len) as u64,
    })
}

/// A variable-length integer of at most `max_len` bytes, marker bit kept; with its length.
fn vint(c: &mut Bytes, max_len: u32) -> Option<(u64, u32)> {
    let first = c.u8()?;
    let len = first.leading_zeros() + 1;
    if first == 0 || len > max_len {
        return None;
    }
    let mut v = u64::from(first);
    for _ in 1..len {
        v = (v << 8) | u64::from(c.u8()?);
    }
    Some((v, len))
}

/// The children of a master element's body: `(id, body)` pairs, or an error on the first
/// malformed child.
pub fn children(body: &[u8]) -> Children<'_> {
    Children { rest: body }
}

pub struct Children<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Children<'a> {
    type Item = Result<(u32, &'a [u8]), Decline>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let item = (|| {
            let h = header(self.rest)?;
            let size = h
                .size
                .ok_or(Decline::Malformed("unknown size inside an element"))?;
            let start = h.len as usize;
            let end = usize::try_from(size)
                .ok()
                .and_then(|s| start.checked_add(s))
                .filter(|e| *e <= self.rest.len())
                .ok_or(Decline::Malformed("child element larger than its parent"))?;
            let body = &self.rest[start..end];
            self.rest = &self.rest[end..];
            Ok((h.id, body))
        })();
        if item.is_err() {
            self.rest = &[];
        }
        Some(item)
    }
}

/// An unsigned integer element (0-8 bytes, big-endian).
pub fn uint(body: &[u8]) -> Result<u64, Decline> {
    if body.len() > 8 {
        return Err(Decline::Malformed("integer element longer than 8 bytes"));
    }
    Ok(body.iter().fold(0u64, |v, b| (v << 8) | u64::from(*b)))
}

/// A float element (0, 4 or 8 bytes).
pub fn float(body: &[u8]) -> Result<f64, Decline> {
    match body.len() {
        0 => Ok(0.0),
        4 => Ok(f64::from(f32::from_be_bytes([
            body[0], body[1], body[2], body[3],
        ]))),
        8 => {
            let mut a = [0u8; 8];
            a.copy_from_slice(body);
            Ok(f64::from_be_bytes(a))
        }
        _ => Err(Decline::Malformed("float element of odd length")),
    }
}

/// A string element; trailing NULs are padding.
pub fn string(body: &[u8]) -> String {
    let end = body.iter().position(|b| *b == 0).unwrap_or(body.len());
    String::from_utf8_lossy(&body[..end]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_ids_and_sizes() {
        let h = header(&[0x1A, 0x45, 0xDF, 0xA3, 0x9F]).unwrap();
        assert_eq!((h.id, h.size, h.len), (0x1A45DFA3, Some(0x1F), 5));
        let h = header(&[
            0x18, 0x53, 0x80, 0x67, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        ])
        .unwrap();
        assert_eq!(h.size, None);
        assert!(header(&[0x00, 0x81]).is_err());
        assert!(header(&[0x1A, 0x45]).is_err());
    }

    #[test]
    fn children_stop_at_the_first_bad_one() {
        // 0x83 (TrackType) = 1, then a child claiming 0x7F bytes.
        let body = [0x83, 0x81, 0x01, 0x86, 0xFF];
        let mut it = children(&body);
        assert_eq!(it.next().unwrap().unwrap(), (0x83, &[1u8][..]));
        assert!(it.next().unwrap().is_err());
        assert!(it.next().is_none());
    }

    #[test]
    fn scalar_elements() {
        assert_eq!(uint(&[1, 0]).unwrap(), 256);
        assert!(uint(&[0; 9]).is_err());
        assert_eq!(float(&2.5f32.to_be_bytes()).unwrap(), 2.5);
        assert!(float(&[0; 3]).is_err());
        assert_eq!(string(b"eng\0\0"), "eng");
    }
}
