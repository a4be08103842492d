//! The exit codes every command documents. Scripts, cron jobs and `.cmd` wrappers branch on
//! them, so the numbers never change meaning.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "u8", try_from = "u8")]
pub enum Exit {
    /// 0: done.
    Ok,
    /// 1: a bug or an environment failure (database unreadable, disk full).
    Internal,
    /// 2: the command line or the request was wrong.
    Usage,
    /// 3: refused by a rule, or conflicts found (`detect-conflicts`, `doctor`).
    Refused,
    /// 4: the user, number or session named does not exist.
    NotFound,
    /// 5: no daemon answers on the socket.
    Unreachable,
    /// 6: the QR code was not scanned in time, or a wait ran out.
    TimedOut,
    /// 7: WhatsApp could not be reached or refused the operation.
    Backend,
    /// 130: cancelled with Ctrl-C (the shell's convention for SIGINT).
    Cancelled,
}

impl Exit {
    pub const ALL: [Exit; 9] = [
        Exit::Ok,
        Exit::Internal,
        Exit::Usage,
        Exit::Refused,
        Exit::NotFound,
        Exit::Unreachable,
        Exit::TimedOut,
        Exit::Backend,
        Exit::Cancelled,
    ];

    pub fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::Internal => 1,
            Exit::Usage => 2,
            Exit::Refused => 3,
            Exit::NotFound => 4,
            Exit::Unreachable => 5,
            Exit::TimedOut => 6,
            Exit::Backend => 7,
            Exit::Cancelled => 130,
        }
    }
}

impl From<Exit> for u8 {
    fn from(exit: Exit) -> u8 {
        exit.code()
    }
}

impl TryFrom<u8> for Exit {
    type Error = String;

    fn try_from(code: u8) -> Result<Self, Self::Error> {
        Exit::ALL
            .into_iter()
            .find(|exit| exit.code() == code)
            .ok_or_else(|| format!("unknown exit code {code}"))
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(exit: Exit) -> Self {
        std::process::ExitCode::from(exit.code())
    }
}
