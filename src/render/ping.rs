//! A ping run as iputils' `ping` prints it: the header, a line per reply or ICMP error, and
//! the statistics (ping/ping.c and ping_common.c of iputils 20221126).

use std::net::IpAddr;
use std::time::Duration;

use crate::probe::ping::{EchoReply, PingReport};

/// How a run was asked for: the target as typed, `-q`, and the spacing of the requests
/// (which the `time` of the statistics counts).
pub struct Asked<'a> {
    pub target: &'a str,
    pub quiet: bool,
    pub interval: Duration,
}

/// `PING 10.0.0.2 (10.0.0.2) 56(84) bytes of data.` (IPv6: `PING fd00::2(fd00::2) 56 data
/// bytes`).
pub fn header(asked: &Asked<'_>, ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(_) => format!("PING {} ({ip}) 56(84) bytes of data.\n", asked.target),
        IpAddr::V6(_) => format!("PING {}({ip}) 56 data bytes\n", asked.target),
    }
}

/// iputils' `time=` field: three significant decimals below 1 ms, fewer above (`0.045`,
/// `1.23`, `12.3`, `150`).
fn time_ms(d: Duration) -> String {
    let us = d.as_micros();
    if us >= 100_000 {
        format!("{}", us / 1000)
    } else if us >= 10_000 {
        format!("{}.{:01}", us / 1000, (us % 1000) / 100)
    } else if us >= 1000 {
        format!("{}.{:02}", us / 1000, (us % 1000) / 10)
    } else {
        format!("{}.{:03}", us / 1000, us % 1000)
    }
}

/// C's `%g`: six significant digits, trailing zeros dropped (`33.3333`, `0`, `100`).
fn g(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let digits = v.abs().log10().floor() as i32 + 1;
    let decimals = usize::try_from((6 - digits).max(0)).unwrap_or(0);
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// `destination host unreachable (reported by 10.0.0.1)` as iputils prints it:
/// `From 10.0.0.1 icmp_seq=1 Destination Host Unreachable`.
pub fn problem_line(seq: u16, message: &str) -> String {
    let (text, from) = match message.rsplit_once(" (reported by ") {
        Some((text, from)) => (text, from.trim_end_matches(')')),
        None => (message, "?"),
    };
    let text = if text == "time to live exceeded" {
        "Time to live exceeded".to_string()
    } else {
        text.split(' ')
            .map(|w| {
                let mut c = w.chars();
                match c.next() {
                    Some(f) => f.to_uppercase().chain(c).collect::<String>(),
                    None => String::new(),
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    format!("From {from} icmp_seq={seq} {text}\n")
}

/// The whole output of a run that sent its requests: header, reply and error lines (none
/// with `-q`), then the statistics. `time` is iputils' elapsed time: the requests' spacing,
/// plus the last reply's round trip when one came.
pub fn output(asked: &Asked<'_>, report: &PingReport) -> String {
    let ip = report.target;
    let mut out = header(asked, ip);
    if !asked.quiet {
        let mut problems = report.problems.iter().peekable();
        for r in &report.replies {
            while let Some((seq, msg)) = problems.next_if(|(s, _)| *s < r.seq) {
                out.push_str(&problem_line(*seq, msg));
            }
            out.push_str(&reply_line(asked, ip, r));
        }
        for (seq, msg) in problems {
            out.push_str(&problem_line(*seq, msg));
        }
    }
    out.push_str(&statistics(asked, report));
    out
}

/// `64 bytes from 10.0.0.2: icmp_seq=1 ttl=64 time=0.045 ms` (the name first when one was
/// typed: `64 bytes from bb1 (172.18.0.3): …`).
pub fn reply_line(asked: &Asked<'_>, ip: IpAddr, r: &EchoReply) -> String {
    let from = if asked.target == ip.to_string() {
        ip.to_string()
    } else {
        format!("{} ({ip})", asked.target)
    };
    let ttl = r.ttl.map(|t| format!(" ttl={t}")).unwrap_or_default();
    format!(
        "{} bytes from {from}: icmp_seq={}{ttl} time={} ms\n",
        r.bytes,
        r.seq,
        time_ms(r.rtt)
    )
}

/// The statistics that end a run (from the empty line before `--- … ping statistics ---`),
/// as iputils prints them at the end of its count or on Ctrl-C.
pub fn statistics(asked: &Asked<'_>, report: &PingReport) -> String {
    let mut out = String::new();
    let spacing = asked.interval.saturating_mul(report.sent.saturating_sub(1));
    let elapsed = spacing + report.replies.last().map(|r| r.rtt).unwrap_or_default();
    let errors = if report.problems.is_empty() {
        String::new()
    } else {
        format!("+{} errors, ", report.problems.len())
    };
    out.push_str(&format!(
        "\n--- {} ping statistics ---\n{} packets transmitted, {} received, {errors}{}% packet loss, time {}ms\n",
        asked.target,
        report.sent,
        report.received,
        g(report.loss_percent()),
        elapsed.as_millis()
    ));
    if report.rtts.is_empty() {
        out.push('\n');
        return out;
    }
    // iputils keeps round trips in whole microseconds and prints them as ms.###.
    let us: Vec<u128> = report.rtts.iter().map(Duration::as_micros).collect();
    let n = us.len() as u128;
    let sum: u128 = us.iter().sum();
    let sum2: u128 = us.iter().map(|v| v * v).sum();
    let avg = sum / n;
    let mdev = ((sum2 / n).saturating_sub(avg * avg) as f64).sqrt() as u128;
    let min = us.iter().copied().min().unwrap_or(0);
    let max = us.iter().copied().max().unwrap_or(0);
    let f = |v: u128| format!("{}.{:03}", v / 1000, v % 1000);
    out.push_str(&format!(
        "rtt min/avg/max/mdev = {}/{}/{}/{} ms\n",
        f(min),
        f(avg),
        f(max),
        f(mdev)
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_iputils() {
        assert_eq!(time_ms(Duration::from_micros(45)), "0.045");
        assert_eq!(time_ms(Duration::from_micros(1234)), "1.23");
        assert_eq!(time_ms(Duration::from_micros(12_345)), "12.3");
        assert_eq!(time_ms(Duration::from_micros(150_000)), "150");
        assert_eq!(g(100.0), "100");
        assert_eq!(g(0.0), "0");
        assert_eq!(g(100.0 / 3.0), "33.3333");
        assert_eq!(g(50.0), "50");
    }

    #[test]
    fn a_run_with_replies_and_one_without() {
        let ip: IpAddr = "192.168.1.2".parse().unwrap();
        let asked = Asked {
            target: "192.168.1.2",
            quiet: false,
            interval: Duration::from_secs(1),
        };
        let mut r = PingReport::new(ip);
        r.sent = 2;
        r.received = 2;
        for (seq, us) in [(1, 40), (2, 60)] {
            let rtt = Duration::from_micros(us);
            r.rtts.push(rtt);
            r.replies.push(EchoReply {
                seq,
                bytes: 64,
                ttl: Some(64),
                rtt,
            });
        }
        assert_eq!(
            output(&asked, &r),
            "PING 192.168.1.2 (192.168.1.2) 56(84) bytes of data.\n\
             64 bytes from 192.168.1.2: icmp_seq=1 ttl=64 time=0.040 ms\n\
             64 bytes from 192.168.1.2: icmp_seq=2 ttl=64 time=0.060 ms\n\
             \n--- 192.168.1.2 ping statistics ---\n\
             2 packets transmitted, 2 received, 0% packet loss, time 1000ms\n\
             rtt min/avg/max/mdev = 0.040/0.050/0.060/0.010 ms\n"
        );
        let mut lost = PingReport::new(ip);
        lost.sent = 1;
        lost.problems.push((
            1,
            "destination host unreachable (reported by 192.168.1.1)".into(),
        ));
        assert_eq!(
            output(&asked, &lost),
            "PING 192.168.1.2 (192.168.1.2) 56(84) bytes of data.\n\
             From 192.168.1.1 icmp_seq=1 Destination Host Unreachable\n\
             \n--- 192.168.1.2 ping statistics ---\n\
             1 packets transmitted, 0 received, +1 errors, 100% packet loss, time 0ms\n\n"
        );
    }
}
