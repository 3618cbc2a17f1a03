//! GPT-2 byte ↔ unicode tables (`bytes_to_unicode` in the original GPT-2 code).
//!
//! Every byte gets a printable char: printable Latin-1 bytes map to themselves, the other 68
//! bytes map to U+0100.. in byte order. Shared by the ByteLevel pre-tokenizer and decoder.
use std::sync::OnceLock;

struct Tables {
    b2u: [char; 256],
    /// Index: code point (all mapped chars are < 0x144). 0xFFFF = not a byte char.
    u2b: [u16; 0x144],
}

fn tables() -> &'static Tables {
    static T: OnceLock<Tables> = OnceLock::new();
    T.get_or_init(|| {
        let mut b2u = ['\0'; 256];
        let mut u2b = [0xFFFFu16; 0x144];
        let mut n = 0u32;
        for b in 0..256u32 {
            let keep = (0x21..=0x7E).contains(&b)
                || (0xA1..=0xAC).contains(&b)
                || (0xAE..=0xFF).contains(&b);
            let cp = if keep {
                b
            } else {
                n += 1;
                255 + n
            };
            let c = char::from_u32(cp).expect("valid code point");
            b2u[b as usize] = c;
            u2b[cp as usize] = b as u16;
        }
        Tables { b2u, u2b }
    })
}

/// Byte → printable char table.
pub fn bytes_to_unicode() -> &'static [char; 256] {
    &tables().b2u
}

/// The byte a byte-level char stands for, or `None` when `c` is not one of the 256 chars.
#[inline]
pub fn unicode_to_byte(c: char) -> Option<u8> {
    let cp = c as usize;
    if cp < 0x144 {
        let b = tables().u2b[cp];
        if b != 0xFFFF {
            return Some(b as u8);
        }
    }
    None
}

/// Map every byte of `s` to its char (what the ByteLevel pre-tokenizer does to a piece).
pub fn encode_bytes(s: &str) -> String {
    let t = bytes_to_unicode();
    s.bytes().map(|b| t[b as usize]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        let t = bytes_to_unicode();
        assert_eq!(t[b' ' as usize], 'Ġ');
        assert_eq!(t[b'\n' as usize], 'Ċ');
        assert_eq!(t[b'a' as usize], 'a');
        assert_eq!(t[0], 'Ā');
        assert_eq!(t[0xAD], 'Ń');
        assert_eq!(t[0x7F], 'ġ');
        assert_eq!(unicode_to_byte('Ġ'), Some(b' '));
        assert_eq!(unicode_to_byte('€'), None);
        assert_eq!(unicode_to_byte('\u{20}'), None);
    }

    #[test]
    fn round_trip() {
        let t = bytes_to_unicode();
        let mut seen = std::collections::HashSet::new();
        for b in 0..=255u8 {
            assert!(seen.insert(t[b as usize]));
            assert_eq!(unicode_to_byte(t[b as usize]), Some(b));
        }
        assert_eq!(encode_bytes("héllo"), "hÃ©llo");
    }
}
