//! Bounded reads from the file being probed: a [`Budget`] counts every header byte read
//! against [`super::MAX_HEADER_BYTES`], and buffers are allocated only for byte counts that are
//! both within the budget and within the file, so a size field claiming terabytes costs
//! nothing.

use std::io::{self, Read, Seek, SeekFrom};

use super::{Decline, MAX_HEADER_BYTES};

/// Fill `buf` as far as the source allows; the count read.
pub fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// A file with a read budget.
pub struct Source<'a, R> {
    inner: &'a mut R,
    pub size: u64,
    spent: u64,
}

impl<'a, R: Read + Seek> Source<'a, R> {
    pub fn new(inner: &'a mut R, size: u64) -> Self {
        Source {
            inner,
            size,
            spent: 0,
        }
    }

    /// Exactly `len` bytes at `offset`; `Malformed` when the file is shorter, `TooLarge` when
    /// the budget would be exceeded.
    pub fn read_at(&mut self, offset: u64, len: u64) -> Result<Vec<u8>, Decline> {
        let end = offset
            .checked_add(len)
            .ok_or(Decline::Malformed("size overflows"))?;
        if end > self.size {
            return Err(Decline::Malformed("element runs past the end of the file"));
        }
        self.spend(len)?;
        let len = usize::try_from(len).map_err(|_| Decline::TooLarge)?;
        let mut buf = vec![0u8; len];
        self.inner
            .seek(SeekFrom::Start(offset))
            .map_err(io_decline)?;
        self.inner.read_exact(&mut buf).map_err(io_decline)?;
        Ok(buf)
    }

    /// Up to `len` bytes at `offset` (fewer at the end of the file).
    pub fn read_prefix(&mut self, offset: u64, len: u64) -> Result<Vec<u8>, Decline> {
        let len = len.min(self.size.saturating_sub(offset));
        self.read_at(offset, len)
    }

    fn spend(&mut self, n: u64) -> Result<(), Decline> {
        self.spent = self.spent.saturating_add(n);
        if self.spent > MAX_HEADER_BYTES {
            return Err(Decline::TooLarge);
        }
        Ok(())
    }
}

fn io_decline(e: io::Error) -> Decline {
    Decline::Io(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn reads_are_bounded_by_file_and_budget() {
        let mut c = Cursor::new(vec![7u8; 100]);
        let mut s = Source::new(&mut c, 100);
        assert_eq!(s.read_at(90, 10).unwrap(), vec![7; 10]);
        assert!(matches!(s.read_at(95, 10), Err(Decline::Malformed(_))));
        assert!(matches!(s.read_at(u64::MAX, 2), Err(Decline::Malformed(_))));
        assert_eq!(s.read_prefix(95, 1000).unwrap().len(), 5);
        // A claimed size far beyond the budget fails before allocating.
        let mut s = Source::new(&mut c, u64::MAX);
        assert_eq!(s.read_at(0, MAX_HEADER_BYTES + 1), Err(Decline::TooLarge));
    }
}
