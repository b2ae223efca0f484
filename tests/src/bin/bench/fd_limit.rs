//! File-descriptor limits for runs with thousands of open streams.
//!
//! Each open stream costs this process two descriptors (the client's connection to the
//! gateway and the mock's connection from it) and the gateway two (the same two, from its
//! side). Linux starts most shells at a soft limit of 1,024, so the bench raises its own
//! soft `RLIMIT_NOFILE` to the hard limit before it starts anything: the gateway, its child,
//! inherits the raised limit (and orpipe raises its own the same way, with the same crate).

use anyhow::Context;

/// A process's `Max open files` limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct FdLimit {
    pub(super) soft: u64,
    pub(super) hard: u64,
}

/// Reads `Max open files` from `/proc/PID/limits` ("unlimited" reads as `u64::MAX`).
pub(super) fn fd_limit(pid: u32) -> anyhow::Result<FdLimit> {
    let path = format!("/proc/{pid}/limits");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    parse_limits(&text).with_context(|| format!("{path} has no readable `Max open files`"))
}

fn parse_limits(text: &str) -> Option<FdLimit> {
    let line = text
        .lines()
        .find(|line| line.starts_with("Max open files"))?;
    let mut values = line
        .trim_start_matches("Max open files")
        .split_whitespace()
        .map(|value| match value {
            "unlimited" => Some(u64::MAX),
            number => number.parse().ok(),
        });
    Some(FdLimit {
        soft: values.next()??,
        hard: values.next()??,
    })
}

/// Raises this process's soft limit to its hard limit; returns the limit now in force.
pub(super) fn raise_own_soft_limit() -> anyhow::Result<FdLimit> {
    rlimit::increase_nofile_limit(u64::MAX).context("raising the open-file limit")?;
    fd_limit(std::process::id())
}

/// Descriptors a process has open now (`/proc/PID/fd`).
pub(super) fn open_fds(pid: u32) -> Option<usize> {
    Some(std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_open_files_line() {
        let text = "Limit                     Soft Limit           Hard Limit           Units     \n\
                    Max processes             95000                95000                processes \n\
                    Max open files            1024                 524288               files     \n";
        assert_eq!(
            parse_limits(text),
            Some(FdLimit {
                soft: 1024,
                hard: 524_288
            })
        );
        let unlimited =
            "Max open files            unlimited            unlimited            files\n";
        assert_eq!(
            parse_limits(unlimited),
            Some(FdLimit {
                soft: u64::MAX,
                hard: u64::MAX
            })
        );
        assert_eq!(parse_limits("Max processes 1 1\n"), None);
    }
}
