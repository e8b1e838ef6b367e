//! The log file format that atop reads (netatop 3.2.2's `netatopd.h`).
//!
//! The file starts with a 16-byte native-endian [`Header`]; each finished
//! process follows as one record: a length byte `L`, then `L` bytes of
//! zlib `compress()` output (RFC 1950, default level) of the 96-byte
//! `struct netpertask`. atop reads `curseq - lastseq` records after the
//! position it remembered and uncompresses each into `ntplen` bytes.

use std::io::{Read, Write};
use std::mem::size_of;

use netatop::{NetPerTask, TaskCount, COMLEN};

/// `MYMAGIC`: first word of the log file.
pub const MAGIC: u32 = 0xfeed_b0b0;

/// `hdrlen`: size of the header.
pub const HDRLEN: u16 = 16;

/// `ntplen`: size of `struct netpertask` (96 on 64-bit Linux).
// CAST: 96 fits in u16.
pub const NTPLEN: u16 = size_of::<NetPerTask>() as u16;

/// Offset of `curseq` in the header, the field bumped after each record.
pub const CURSEQ_OFFSET: usize = 4;

/// The header of the log file (`struct naheader`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// [`MAGIC`].
    pub magic: u32,
    /// Number of records written so far.
    pub curseq: u32,
    /// [`HDRLEN`].
    pub hdrlen: u16,
    /// [`NTPLEN`].
    pub ntplen: u16,
    /// Process id of netatopd; atop sends it SIGHUP when it signs off.
    pub pid: i32,
}

impl Header {
    /// The header of a new, empty log file written by process `pid`.
    pub fn new(pid: i32) -> Self {
        Self {
            magic: MAGIC,
            curseq: 0,
            hdrlen: HDRLEN,
            ntplen: NTPLEN,
            pid,
        }
    }

    /// The 16 bytes as written to the file (native endian).
    pub fn to_bytes(&self) -> [u8; HDRLEN as usize] {
        let mut b = [0u8; HDRLEN as usize];
        b[0..4].copy_from_slice(&self.magic.to_ne_bytes());
        b[4..8].copy_from_slice(&self.curseq.to_ne_bytes());
        b[8..10].copy_from_slice(&self.hdrlen.to_ne_bytes());
        b[10..12].copy_from_slice(&self.ntplen.to_ne_bytes());
        b[12..16].copy_from_slice(&self.pid.to_ne_bytes());
        b
    }

    /// Decodes the first 16 bytes of a log file; `None` if too short or the
    /// magic is wrong.
    pub fn from_bytes(b: &[u8]) -> Option<Self> {
        let b: &[u8; 16] = b.get(..16)?.try_into().ok()?;
        let u32_at = |o: usize| u32::from_ne_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
        let u16_at = |o: usize| u16::from_ne_bytes([b[o], b[o + 1]]);
        let h = Self {
            magic: u32_at(0),
            curseq: u32_at(4),
            hdrlen: u16_at(8),
            ntplen: u16_at(10),
            pid: i32::from_ne_bytes([b[12], b[13], b[14], b[15]]),
        };
        (h.magic == MAGIC).then_some(h)
    }
}

/// The in-memory bytes of a [`NetPerTask`] (`struct netpertask`), padding
/// included as received from the module.
pub fn netpertask_bytes(npt: &NetPerTask) -> [u8; NTPLEN as usize] {
    let mut b = [0u8; NTPLEN as usize];
    let mut at = 0;
    let mut put = |bytes: &[u8]| {
        b[at..at + bytes.len()].copy_from_slice(bytes);
        at += bytes.len();
    };
    put(&npt.id.to_ne_bytes());
    #[cfg(target_pointer_width = "64")]
    put(&npt.pad);
    put(&npt.btime.to_ne_bytes());
    put(&npt.command);
    for v in counters(&npt.tc) {
        put(&v.to_ne_bytes());
    }
    b
}

/// The inverse of [`netpertask_bytes`].
pub fn netpertask_from_bytes(b: &[u8; NTPLEN as usize]) -> NetPerTask {
    let mut at = 0;
    let mut take = |n: usize| {
        let s = &b[at..at + n];
        at += n;
        s
    };
    let mut npt = NetPerTask {
        id: i32::from_ne_bytes(take(4).try_into().expect("4 bytes")),
        ..NetPerTask::default()
    };
    #[cfg(target_pointer_width = "64")]
    npt.pad.copy_from_slice(take(4));
    npt.btime = std::ffi::c_ulong::from_ne_bytes(
        take(size_of::<std::ffi::c_ulong>())
            .try_into()
            .expect("sizeof(long) bytes"),
    );
    npt.command.copy_from_slice(take(COMLEN));
    let mut v = [0u64; 8];
    for x in &mut v {
        *x = u64::from_ne_bytes(take(8).try_into().expect("8 bytes"));
    }
    npt.tc = TaskCount {
        tcpsndpacks: v[0],
        tcpsndbytes: v[1],
        tcprcvpacks: v[2],
        tcprcvbytes: v[3],
        udpsndpacks: v[4],
        udpsndbytes: v[5],
        udprcvpacks: v[6],
        udprcvbytes: v[7],
    };
    npt
}

fn counters(tc: &TaskCount) -> [u64; 8] {
    [
        tc.tcpsndpacks,
        tc.tcpsndbytes,
        tc.tcprcvpacks,
        tc.tcprcvbytes,
        tc.udpsndpacks,
        tc.udpsndbytes,
        tc.udprcvpacks,
        tc.udprcvbytes,
    ]
}

/// zlib `compress()` of `data`: an RFC 1950 stream at the default level
/// (header `78 9c`), the same bytes zlib's `compress()` produces.
pub fn compress(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::ZlibEncoder::new(
        Vec::with_capacity(data.len() + 16),
        flate2::Compression::default(),
    );
    // Writing to a Vec cannot fail.
    enc.write_all(data).expect("compress into memory");
    enc.finish().expect("compress into memory")
}

/// One record of the log file: the length byte, then the compressed
/// `netpertask`.
pub fn encode_record(npt: &NetPerTask) -> Vec<u8> {
    let z = compress(&netpertask_bytes(npt));
    // compressBound(96) = 109, so the length always fits in its byte.
    let len = u8::try_from(z.len()).expect("a compressed netpertask fits in 255 bytes");
    let mut rec = Vec::with_capacity(1 + z.len());
    rec.push(len);
    rec.extend_from_slice(&z);
    rec
}

/// Why a log file could not be decoded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    /// Shorter than a header, or a wrong magic.
    #[error("no netatopd header")]
    BadHeader,
    /// Fewer bytes than `curseq` records need.
    #[error("record {0} is truncated")]
    Truncated(u32),
    /// A record is not a zlib stream of exactly `ntplen` bytes.
    #[error("record {0} does not uncompress to a netpertask")]
    BadRecord(u32),
}

/// Decodes a whole log file the way atop reads it: the header, then
/// `curseq` records, each uncompressed into `ntplen` bytes.
pub fn parse_log(bytes: &[u8]) -> Result<(Header, Vec<NetPerTask>), ParseError> {
    let header = Header::from_bytes(bytes).ok_or(ParseError::BadHeader)?;
    let mut rest = bytes
        .get(usize::from(header.hdrlen)..)
        .ok_or(ParseError::BadHeader)?;
    let mut out = Vec::with_capacity(header.curseq as usize);
    for seq in 0..header.curseq {
        let (&len, tail) = rest.split_first().ok_or(ParseError::Truncated(seq))?;
        let z = tail
            .get(..usize::from(len))
            .ok_or(ParseError::Truncated(seq))?;
        rest = &tail[usize::from(len)..];
        let mut plain = Vec::with_capacity(NTPLEN as usize);
        flate2::read::ZlibDecoder::new(z)
            .read_to_end(&mut plain)
            .map_err(|_| ParseError::BadRecord(seq))?;
        let plain: &[u8; NTPLEN as usize] = plain
            .as_slice()
            .try_into()
            .map_err(|_| ParseError::BadRecord(seq))?;
        out.push(netpertask_from_bytes(plain));
    }
    Ok((header, out))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A finished `curl` that sent 3 TCP packets (180 bytes), received 2
    /// (120 bytes) and sent one UDP datagram (64 bytes).
    pub(crate) fn sample() -> NetPerTask {
        let mut npt = NetPerTask {
            id: 4242,
            btime: 1_700_000_000,
            ..NetPerTask::default()
        };
        npt.command[..4].copy_from_slice(b"curl");
        npt.tc = TaskCount {
            tcpsndpacks: 3,
            tcpsndbytes: 180,
            tcprcvpacks: 2,
            tcprcvbytes: 120,
            udpsndpacks: 1,
            udpsndbytes: 64,
            udprcvpacks: 0,
            udprcvbytes: 0,
        };
        npt
    }

    /// `zlib.compress()` (zlib 1.2.13, i.e. `compress()`) of `sample()`'s
    /// 96 bytes: what netatop 3.2.2's netatopd writes for it.
    const SAMPLE_ZLIB: [u8; 41] = [
        0x78, 0x9c, 0x9b, 0x24, 0xc0, 0x00, 0x01, 0x1f, 0x83, 0x53, 0x41, 0x54, 0x72, 0x69, 0x51,
        0x0e, 0x03, 0x12, 0x60, 0x86, 0xd2, 0x5b, 0xa0, 0x34, 0x13, 0x94, 0xae, 0x80, 0xd2, 0x8c,
        0x50, 0xda, 0x81, 0x01, 0x3b, 0x00, 0x00, 0x94, 0x14, 0x05, 0x74,
    ];

    #[test]
    fn header_bytes_are_exact() {
        let h = Header::new(0x0102_0304);
        let b = h.to_bytes();
        assert_eq!(b.len(), 16);
        assert_eq!(&b[0..4], &0xfeed_b0b0u32.to_ne_bytes());
        assert_eq!(&b[4..8], &[0, 0, 0, 0]);
        assert_eq!(&b[8..10], &16u16.to_ne_bytes());
        assert_eq!(&b[10..12], &96u16.to_ne_bytes());
        assert_eq!(&b[12..16], &0x0102_0304i32.to_ne_bytes());
        #[cfg(target_endian = "little")]
        assert_eq!(
            b,
            [0xb0, 0xb0, 0xed, 0xfe, 0, 0, 0, 0, 16, 0, 96, 0, 4, 3, 2, 1]
        );
        assert_eq!(Header::from_bytes(&b), Some(h));
        let mut bad = b;
        bad[0] ^= 1;
        assert_eq!(Header::from_bytes(&bad), None);
        assert_eq!(Header::from_bytes(&b[..15]), None);
    }

    #[test]
    fn netpertask_bytes_follow_the_c_layout() {
        let mut npt = sample();
        npt.pad = [0xa1, 0xa2, 0xa3, 0xa4];
        let b = netpertask_bytes(&npt);
        assert_eq!(b.len(), 96);
        assert_eq!(&b[0..4], &4242i32.to_ne_bytes());
        assert_eq!(&b[4..8], &[0xa1, 0xa2, 0xa3, 0xa4]);
        assert_eq!(&b[8..16], &1_700_000_000u64.to_ne_bytes());
        assert_eq!(&b[16..32], b"curl\0\0\0\0\0\0\0\0\0\0\0\0");
        let want: [u64; 8] = [3, 180, 2, 120, 1, 64, 0, 0];
        for (i, v) in want.iter().enumerate() {
            assert_eq!(&b[32 + 8 * i..40 + 8 * i], &v.to_ne_bytes(), "counter {i}");
        }
        assert_eq!(netpertask_from_bytes(&b), npt);
    }

    #[test]
    fn record_is_length_byte_and_zlib_stream() {
        let rec = encode_record(&sample());
        assert_eq!(usize::from(rec[0]), rec.len() - 1);
        assert_eq!(&rec[1..3], &[0x78, 0x9c]);
        let mut plain = Vec::new();
        flate2::read::ZlibDecoder::new(&rec[1..])
            .read_to_end(&mut plain)
            .unwrap();
        assert_eq!(plain, netpertask_bytes(&sample()));
    }

    #[test]
    #[cfg(all(target_endian = "little", target_pointer_width = "64"))]
    fn record_matches_zlib_compress_byte_for_byte() {
        let rec = encode_record(&sample());
        assert_eq!(rec[0], 41);
        assert_eq!(&rec[1..], &SAMPLE_ZLIB);
    }

    #[test]
    fn compressed_records_always_fit_the_length_byte() {
        let mut worst = NetPerTask {
            id: -1,
            pad: [0xff; 4],
            btime: std::ffi::c_ulong::MAX,
            command: [0xfe; COMLEN],
            ..NetPerTask::default()
        };
        worst.tc.tcpsndbytes = 0x0123_4567_89ab_cdef;
        worst.tc.udprcvbytes = 0xfedc_ba98_7654_3210;
        let rec = encode_record(&worst);
        assert_eq!(usize::from(rec[0]), rec.len() - 1);
        assert!(rec.len() <= 110);
    }

    #[test]
    fn parse_log_reads_what_atop_reads() {
        let mut file = Header::new(77).to_bytes().to_vec();
        let mut second = sample();
        second.id = 4243;
        file.extend(encode_record(&sample()));
        file.extend(encode_record(&second));
        // curseq says how many records atop reads.
        file[4..8].copy_from_slice(&2u32.to_ne_bytes());
        let (h, recs) = parse_log(&file).unwrap();
        assert_eq!((h.curseq, h.pid), (2, 77));
        assert_eq!(recs, vec![sample(), second]);
        file[4..8].copy_from_slice(&3u32.to_ne_bytes());
        assert_eq!(parse_log(&file), Err(ParseError::Truncated(2)));
        assert_eq!(parse_log(&file[..10]), Err(ParseError::BadHeader));
    }
}
