//! `/proc/netatop`: the module's global counters.

use std::fmt::Write as _;

use crate::error::{Error, Result};

/// Where the module publishes its global counters.
pub const PROC_PATH: &str = "/proc/netatop";

/// The global counters of `/proc/netatop`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ProcCounters {
    /// TCP packets sent.
    pub tcpsndpacks: u64,
    /// TCP packets sent that could not be attributed to a process.
    pub unident_tcpsndpacks: u64,
    /// TCP packets received.
    pub tcprcvpacks: u64,
    /// TCP packets received that could not be attributed to a process.
    pub unident_tcprcvpacks: u64,
    /// UDP packets sent.
    pub udpsndpacks: u64,
    /// UDP packets sent that could not be attributed to a process.
    pub unident_udpsndpacks: u64,
    /// UDP packets received.
    pub udprcvpacks: u64,
    /// UDP packets received that could not be attributed to a process.
    pub unident_udprcvpacks: u64,
    /// ICMP packets sent.
    pub icmpsndpacks: u64,
    /// ICMP packets received.
    pub icmprcvpacks: u64,
    /// Connections (sockinfo entries) tracked.
    pub sockinfo: u64,
    /// Connections not tracked because of the memory cap.
    pub sockinfo_overflow: u64,
    /// Processes and threads (taskinfo entries) tracked.
    pub taskinfo: u64,
    /// Processes and threads not tracked because of the memory cap.
    pub taskinfo_overflow: u64,
    /// Finished processes waiting on the exit list.
    pub taskexit: u64,
    /// The module's version string.
    pub modversion: String,
    /// Entries refused, by cause: netatop-rs's own lines after the 3.2.2
    /// ones (`None` for a module that does not print them, such as
    /// netatop 3.2.2). Each table's causes add up to its overflow.
    pub refused: Option<Refused>,
}

/// Entries the module refused, by cause (netatop-rs's lines of
/// `/proc/netatop`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Refused {
    /// Connections not tracked because the table was full and no entry
    /// could make room.
    pub sockinfo_full: u64,
    /// Connections not tracked because an allocation failed.
    pub sockinfo_nomem: u64,
    /// Processes and threads not tracked because the table was full.
    pub taskinfo_full: u64,
    /// Processes and threads not tracked because an allocation failed.
    pub taskinfo_nomem: u64,
}

impl ProcCounters {
    /// Reads and parses [`PROC_PATH`]; [`Error::ModuleNotLoaded`] if absent.
    pub fn read() -> Result<Self> {
        match std::fs::read_to_string(PROC_PATH) {
            Ok(text) => Self::parse(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Error::ModuleNotLoaded),
            Err(e) => Err(Error::Io(e)),
        }
    }

    /// Parses the text of `/proc/netatop` (whitespace-tolerant; every
    /// counter must be present, in the module's order).
    pub fn parse(text: &str) -> Result<Self> {
        let mut lines = text.lines().filter(|l| !l.trim().is_empty());
        let mut next = |label: &str| -> Result<Vec<String>> {
            let line = lines
                .next()
                .ok_or_else(|| Error::ProcFormat(format!("missing line '{label}'")))?;
            let rest = line
                .strip_prefix(label)
                .ok_or_else(|| Error::ProcFormat(format!("expected '{label}', found '{line}'")))?;
            Ok(rest
                .split(|c: char| c.is_whitespace() || c == '(' || c == ')' || c == ':')
                .filter(|w| !w.is_empty())
                .map(str::to_owned)
                .collect())
        };
        fn num(words: &[String], i: usize, what: &str) -> Result<u64> {
            words
                .get(i)
                .and_then(|w| w.parse().ok())
                .ok_or_else(|| Error::ProcFormat(format!("bad number in '{what}': {words:?}")))
        }
        let pair = |words: Vec<String>, what: &str, tag: &str| -> Result<(u64, u64)> {
            if words.len() != 3 || words[1] != tag {
                return Err(Error::ProcFormat(format!("bad '{what}' line: {words:?}")));
            }
            Ok((num(&words, 0, what)?, num(&words, 2, what)?))
        };
        let single = |words: Vec<String>, what: &str| -> Result<u64> {
            if words.len() != 1 {
                return Err(Error::ProcFormat(format!("bad '{what}' line: {words:?}")));
            }
            num(&words, 0, what)
        };
        let (tcpsndpacks, unident_tcpsndpacks) =
            pair(next("tcpsndpacks:")?, "tcpsndpacks", "unident")?;
        let (tcprcvpacks, unident_tcprcvpacks) =
            pair(next("tcprcvpacks:")?, "tcprcvpacks", "unident")?;
        let (udpsndpacks, unident_udpsndpacks) =
            pair(next("udpsndpacks:")?, "udpsndpacks", "unident")?;
        let (udprcvpacks, unident_udprcvpacks) =
            pair(next("udprcvpacks:")?, "udprcvpacks", "unident")?;
        let icmpsndpacks = single(next("icmpsndpacks:")?, "icmpsndpacks")?;
        let icmprcvpacks = single(next("icmprcvpacks:")?, "icmprcvpacks")?;
        let (sockinfo, sockinfo_overflow) = pair(next("#sockinfo:")?, "#sockinfo", "overflow")?;
        let (taskinfo, taskinfo_overflow) = pair(next("#taskinfo:")?, "#taskinfo", "overflow")?;
        let taskexit = single(next("#taskexit:")?, "#taskexit")?;
        let version = next("modversion:")?;
        if version.len() != 1 {
            return Err(Error::ProcFormat(format!(
                "bad 'modversion' line: {version:?}"
            )));
        }
        // netatop-rs's lines, if any: both tables' or none.
        let mut rest = lines.peekable();
        let refused = match rest.peek() {
            None => None,
            Some(_) => {
                let mut next = |label: &str| -> Result<Vec<String>> {
                    let line = rest
                        .next()
                        .ok_or_else(|| Error::ProcFormat(format!("missing line '{label}'")))?;
                    let words = line.strip_prefix(label).ok_or_else(|| {
                        Error::ProcFormat(format!("expected '{label}', found '{line}'"))
                    })?;
                    Ok(words
                        .split(|c: char| c.is_whitespace() || c == '(' || c == ')' || c == ':')
                        .filter(|w| !w.is_empty())
                        .map(str::to_owned)
                        .collect())
                };
                let (sockinfo_full, sockinfo_nomem) =
                    pair(next("#sockinfo full:")?, "#sockinfo full", "nomem")?;
                let (taskinfo_full, taskinfo_nomem) =
                    pair(next("#taskinfo full:")?, "#taskinfo full", "nomem")?;
                if let Some(extra) = rest.next() {
                    return Err(Error::ProcFormat(format!(
                        "unexpected trailing line '{extra}'"
                    )));
                }
                Some(Refused {
                    sockinfo_full,
                    sockinfo_nomem,
                    taskinfo_full,
                    taskinfo_nomem,
                })
            }
        };
        Ok(Self {
            tcpsndpacks,
            unident_tcpsndpacks,
            tcprcvpacks,
            unident_tcprcvpacks,
            udpsndpacks,
            unident_udpsndpacks,
            udprcvpacks,
            unident_udprcvpacks,
            icmpsndpacks,
            icmprcvpacks,
            sockinfo,
            sockinfo_overflow,
            taskinfo,
            taskinfo_overflow,
            taskexit,
            modversion: version[0].clone(),
            refused,
        })
    }

    /// Renders the counters exactly as the module prints them: netatop
    /// 3.2.2's lines (the original's `%12lu`, `%9lu`, `%8lu` and `%14s`
    /// widths), then, if known, netatop-rs's refusals by cause.
    pub fn render(&self) -> String {
        let mut s = String::with_capacity(512);
        let _ = write!(
            s,
            "tcpsndpacks:  {:>12} (unident: {:>9})\n\
             tcprcvpacks:  {:>12} (unident: {:>9})\n\
             udpsndpacks:  {:>12} (unident: {:>9})\n\
             udprcvpacks:  {:>12} (unident: {:>9})\n\
             \n\
             icmpsndpacks: {:>12}\n\
             icmprcvpacks: {:>12}\n\
             \n\
             #sockinfo:    {:>12} (overflow: {:>8})\n\
             #taskinfo:    {:>12} (overflow: {:>8})\n\
             #taskexit:    {:>12}\n\
             \n\
             modversion: {:>14}\n",
            self.tcpsndpacks,
            self.unident_tcpsndpacks,
            self.tcprcvpacks,
            self.unident_tcprcvpacks,
            self.udpsndpacks,
            self.unident_udpsndpacks,
            self.udprcvpacks,
            self.unident_udprcvpacks,
            self.icmpsndpacks,
            self.icmprcvpacks,
            self.sockinfo,
            self.sockinfo_overflow,
            self.taskinfo,
            self.taskinfo_overflow,
            self.taskexit,
            self.modversion,
        );
        if let Some(r) = &self.refused {
            let _ = write!(
                s,
                "\n\
                 #sockinfo full:  {:>12} (nomem: {:>8})\n\
                 #taskinfo full:  {:>12} (nomem: {:>8})\n",
                r.sockinfo_full, r.sockinfo_nomem, r.taskinfo_full, r.taskinfo_nomem,
            );
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference rendering, written out by hand from the original's
    /// printf format (netatop 3.2.2, `netatop_read_proc`).
    const SAMPLE: &str = "\
tcpsndpacks:       1234567 (unident:        12)
tcprcvpacks:             0 (unident:         0)
udpsndpacks:            42 (unident:         1)
udprcvpacks:            43 (unident:         2)

icmpsndpacks:            5
icmprcvpacks:            6

#sockinfo:              17 (overflow:        0)
#taskinfo:               9 (overflow:        3)
#taskexit:               1

modversion:          3.2.2
";

    #[test]
    fn parses_the_reference_rendering() {
        let c = ProcCounters::parse(SAMPLE).unwrap();
        assert_eq!(c.tcpsndpacks, 1_234_567);
        assert_eq!(c.unident_tcpsndpacks, 12);
        assert_eq!(c.udpsndpacks, 42);
        assert_eq!(c.unident_udprcvpacks, 2);
        assert_eq!(c.icmpsndpacks, 5);
        assert_eq!(c.icmprcvpacks, 6);
        assert_eq!(c.sockinfo, 17);
        assert_eq!(c.taskinfo_overflow, 3);
        assert_eq!(c.taskexit, 1);
        assert_eq!(c.modversion, "3.2.2");
    }

    #[test]
    fn renders_byte_for_byte() {
        assert_eq!(ProcCounters::parse(SAMPLE).unwrap().render(), SAMPLE);
    }

    /// netatop-rs's lines after the reference ones.
    const SAMPLE_RS: &str = "
#sockinfo full:             0 (nomem:        0)
#taskinfo full:             2 (nomem:        1)
";

    #[test]
    fn parses_and_renders_the_refusals_by_cause() {
        let text = format!("{SAMPLE}{SAMPLE_RS}");
        let c = ProcCounters::parse(&text).unwrap();
        // Each table's causes add up to its overflow.
        assert_eq!(c.taskinfo_overflow, 3);
        assert_eq!(
            c.refused,
            Some(Refused {
                sockinfo_full: 0,
                sockinfo_nomem: 0,
                taskinfo_full: 2,
                taskinfo_nomem: 1,
            })
        );
        assert_eq!(c.render(), text);
        assert_eq!(ProcCounters::parse(SAMPLE).unwrap().refused, None);
    }

    #[test]
    fn rejects_half_the_refusal_lines_and_trailing_ones() {
        let half = format!("{SAMPLE}\n#sockinfo full:  2 (nomem: 1)\n");
        assert!(ProcCounters::parse(&half).is_err());
        let extra = format!("{SAMPLE}{SAMPLE_RS}junk: 1\n");
        assert!(ProcCounters::parse(&extra).is_err());
    }

    #[test]
    fn wide_numbers_overflow_their_column_like_printf() {
        let c = ProcCounters {
            tcpsndpacks: u64::MAX,
            modversion: "0.1.0".into(),
            ..Default::default()
        };
        let text = c.render();
        assert!(text.starts_with("tcpsndpacks:  18446744073709551615 (unident:         0)\n"));
        assert_eq!(ProcCounters::parse(&text).unwrap(), c);
    }

    #[test]
    fn rejects_truncated_or_garbled_text() {
        let truncated: String = SAMPLE.lines().take(9).map(|l| format!("{l}\n")).collect();
        assert!(matches!(
            ProcCounters::parse(&truncated),
            Err(Error::ProcFormat(_))
        ));
        let garbled = SAMPLE.replace("(unident:        12)", "(unident: twelve)");
        assert!(matches!(
            ProcCounters::parse(&garbled),
            Err(Error::ProcFormat(_))
        ));
        let swapped = SAMPLE.replace("tcpsndpacks:", "tcpXndpacks:");
        assert!(matches!(
            ProcCounters::parse(&swapped),
            Err(Error::ProcFormat(_))
        ));
        let extra = format!("{SAMPLE}bogus: 1\n");
        assert!(matches!(
            ProcCounters::parse(&extra),
            Err(Error::ProcFormat(_))
        ));
    }
}
