//! Bounds-checked readers for untrusted bytes: [`Bytes`] walks a byte slice big-endian,
//! [`Bits`] reads bit fields and Exp-Golomb codes (H.264/HEVC parameter sets, AV1 OBUs). Every
//! read past the end is `None`, never a panic, so a truncated or hostile header simply makes
//! the native probe decline.

/// A cursor over a byte slice.
#[derive(Debug, Clone)]
pub struct Bytes<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Bytes<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Bytes { data, pos: 0 }
    }

    pub fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    pub fn rest(&self) -> &'a [u8] {
        &self.data[self.pos..]
    }

    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|e| *e <= self.data.len())?;
        let out = &self.data[self.pos..end];
        self.pos = end;
        Some(out)
    }

    pub fn skip(&mut self, n: usize) -> Option<()> {
        self.take(n).map(|_| ())
    }

    pub fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    pub fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }

    pub fn u24(&mut self) -> Option<u32> {
        self.take(3)
            .map(|b| u32::from_be_bytes([0, b[0], b[1], b[2]]))
    }

    pub fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub fn u64(&mut self) -> Option<u64> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Some(u64::from_be_bytes(a))
    }

    pub fn fourcc(&mut self) -> Option<[u8; 4]> {
        let b = self.take(4)?;
        Some([b[0], b[1], b[2], b[3]])
    }
}

/// A most-significant-bit-first bit reader.
#[derive(Debug, Clone)]
pub struct Bits<'a> {
    data: &'a [u8],
    bit: usize,
}

/// Exp-Golomb codes longer than this are corrupt (the largest legal value in the syntax we
/// read fits in 32 bits).
const MAX_GOLOMB_ZEROS: u32 = 31;

impl<'a> Bits<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Bits { data, bit: 0 }
    }

    pub fn flag(&mut self) -> Option<bool> {
        let byte = *self.data.get(self.bit / 8)?;
        let v = (byte >> (7 - (self.bit % 8))) & 1;
        self.bit += 1;
        Some(v == 1)
    }

    /// `n` ≤ 32 bits as an unsigned number.
    pub fn u(&mut self, n: u32) -> Option<u32> {
        if n > 32 {
            return None;
        }
        let mut v: u64 = 0;
        for _ in 0..n {
            v = (v << 1) | u64::from(self.flag()?);
        }
        u32::try_from(v).ok()
    }

    pub fn skip(&mut self, n: usize) -> Option<()> {
        let end = self.bit.checked_add(n)?;
        (end <= self.data.len() * 8).then(|| self.bit = end)
    }

    /// Unsigned Exp-Golomb, `ue(v)`.
    pub fn ue(&mut self) -> Option<u32> {
        let mut zeros = 0;
        while !self.flag()? {
            zeros += 1;
            if zeros > MAX_GOLOMB_ZEROS {
                return None;
            }
        }
        let rest = u64::from(self.u(zeros)?);
        u32::try_from((1u64 << zeros) - 1 + rest).ok()
    }

    /// Signed Exp-Golomb, `se(v)`.
    pub fn se(&mut self) -> Option<i64> {
        let k = i64::from(self.ue()?);
        Some(if k % 2 == 1 { (k + 1) / 2 } else { -(k / 2) })
    }
}

/// Remove H.264/HEVC emulation-prevention bytes (`00 00 03` → `00 00`) from a NAL unit.
pub fn unescape_nal(nal: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(nal.len());
    let mut zeros = 0;
    for &b in nal {
        if zeros >= 2 && b == 3 {
            zeros = 0;
            continue;
        }
        zeros = if b == 0 { zeros + 1 } else { 0 };
        out.push(b);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golomb_codes_and_bounds() {
        // 1 → 0, 010 → 1, 011 → 2, 00100 → 3 ; se: 010 → +1, 011 → -1
        let mut b = Bits::new(&[0b1010_0110, 0b0100_0000]);
        assert_eq!(b.ue(), Some(0));
        assert_eq!(b.ue(), Some(1));
        assert_eq!(b.ue(), Some(2));
        assert_eq!(b.ue(), Some(3));
        let mut s = Bits::new(&[0b0100_1100]);
        assert_eq!(s.se(), Some(1));
        assert_eq!(s.se(), Some(-1));
        assert_eq!(Bits::new(&[0, 0, 0, 0, 0]).ue(), None);
        assert_eq!(Bits::new(&[]).flag(), None);
        assert_eq!(Bits::new(&[0xff]).u(9), None);
    }

    #[test]
    fn byte_cursor_never_reads_past_the_end() {
        let mut c = Bytes::new(&[1, 2, 3]);
        assert_eq!(c.u16(), Some(0x0102));
        assert_eq!(c.u16(), None);
        assert_eq!(c.u8(), Some(3));
        assert_eq!(c.take(usize::MAX), None);
    }

    #[test]
    fn emulation_prevention_is_removed() {
        assert_eq!(unescape_nal(&[0, 0, 3, 1, 0, 0, 3]), vec![0, 0, 1, 0, 0]);
    }
}
