//! `connect`: pairs a user. Shows the QR code in the terminal (redrawn when WhatsApp rotates
//! it) with a spinner counting down, and ends on paired, refused, expired or Ctrl-C. Ctrl-C
//! hangs up, which makes the daemon cancel the pairing (lock released, pending QR cleared);
//! the command waits for that answer before exiting.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::args::{ConnectArgs, Global};
use crate::cli::client::{decode, Message};
use crate::cli::{connect_daemon, phone_number, qr, stdout_is_terminal, user_key, Error, Outcome};
use crate::protocol::{
    method, notification, ConnectOutcome, ConnectParams, ConnectResult, QrNotice,
};
use crate::time::{format_duration, Clock, SystemClock, Timestamp};

/// How long to wait for the daemon to confirm a cancel before giving up on it.
const CANCEL_GRACE: Duration = Duration::from_secs(10);

pub async fn connect(global: &Global, args: ConnectArgs) -> Result<Outcome, Error> {
    let user = user_key(&args.user)?;
    let phone = args.phone.as_deref().map(phone_number).transpose()?;
    if let Some(file) = &args.qr_file {
        check_qr_file(file)?;
    }
    let mut client = connect_daemon(global).await?;
    client
        .send(
            method::CONNECT,
            ConnectParams {
                user: user.to_string(),
                pair_code: args.pair_code,
                phone: phone.map(|p| p.to_string()),
                detach: args.detach,
            },
        )
        .await?;

    let mut screen = Screen::new(global.json, args.qr_file.clone());
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    let mut cancelled_at: Option<tokio::time::Instant> = None;
    loop {
        let cancel_deadline = cancelled_at.map(|at| at + CANCEL_GRACE);
        tokio::select! {
            message = client.next() => match message {
                Ok(Message::Notification(note)) if note.method == notification::QR => {
                    let notice: QrNotice = decode(note.params)?;
                    screen.show(&notice)?;
                }
                Ok(Message::Notification(_)) => {}
                Ok(Message::Done(result)) => {
                    screen.finish();
                    if cancelled_at.is_some() {
                        return Err(Error::Cancelled);
                    }
                    let result: ConnectResult = decode(result?)?;
                    let human = describe(&result);
                    return Ok(Outcome::new(&result, human));
                }
                Err(error) => {
                    screen.finish();
                    return Err(if cancelled_at.is_some() { Error::Cancelled } else { error });
                }
            },
            _ = &mut ctrl_c, if cancelled_at.is_none() => {
                cancelled_at = Some(tokio::time::Instant::now());
                screen.cancelling();
                client.hang_up().await;
            }
            _ = sleep_until(cancel_deadline) => {
                screen.finish();
                return Err(Error::Cancelled);
            }
            _ = ticker.tick() => screen.tick(),
        }
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

fn check_qr_file(file: &std::path::Path) -> Result<(), Error> {
    let extension = file
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match extension.as_deref() {
        Some("png") | Some("svg") => Ok(()),
        _ => Err(Error::Usage(format!(
            "{}: --qr-file must end in .png or .svg",
            file.display()
        ))),
    }
}

fn describe(result: &ConnectResult) -> String {
    match result.outcome {
        ConnectOutcome::Paired => {
            let mut text = format!(
                "{} is connected with {}.",
                result.user,
                result.phone_number.as_deref().unwrap_or("?")
            );
            if !result.displaced.is_empty() {
                text.push_str(&format!(
                    "\nThe number was taken from {} (logged out: newest wins).",
                    result.displaced.join(", ")
                ));
            }
            text
        }
        ConnectOutcome::Pending => format!(
            "The pairing of {} goes on in the daemon{}. Follow it with `wasess watch --user {}`.",
            result.user,
            result
                .qr
                .as_ref()
                .map(|qr| format!(" until {}", qr.pairing_expires_at.to_display()))
                .unwrap_or_default(),
            result.user
        ),
    }
}

/// What the user sees while waiting: the QR code (or pair code) and a countdown.
struct Screen {
    json: bool,
    interactive: bool,
    qr_file: Option<PathBuf>,
    spinner: ProgressBar,
    /// Lines of the QR drawn last, to redraw it in place.
    drawn_lines: usize,
    current: Option<QrNotice>,
}

impl Screen {
    fn new(json: bool, qr_file: Option<PathBuf>) -> Screen {
        let interactive = !json && stdout_is_terminal();
        let spinner = if json {
            ProgressBar::hidden()
        } else {
            let spinner = ProgressBar::new_spinner();
            spinner.set_style(
                ProgressStyle::with_template("{spinner} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            spinner.enable_steady_tick(Duration::from_millis(120));
            spinner.set_message("waiting for the daemon…");
            spinner
        };
        Screen {
            json,
            interactive,
            qr_file,
            spinner,
            drawn_lines: 0,
            current: None,
        }
    }

    fn show(&mut self, notice: &QrNotice) -> Result<(), Error> {
        if let Some(file) = &self.qr_file {
            if !notice.pair_code {
                qr::write_file(&notice.code, file).map_err(Error::Io)?;
            }
        }
        if self.json {
            let label = if notice.pair_code { "pair code" } else { "qr" };
            eprintln!("{label}: {}", notice.code);
        } else {
            let text = if notice.pair_code {
                format!(
                    "Enter this code on the phone (WhatsApp → Linked devices → Link a device → \
                     Link with phone number instead):\n\n    {}\n",
                    pretty_pair_code(&notice.code)
                )
            } else {
                let picture =
                    qr::render_terminal(&notice.code, self.interactive).map_err(Error::Io)?;
                format!(
                    "{picture}Scan with WhatsApp on the phone: Linked devices → Link a device.\n"
                )
            };
            let redraw = self.interactive && self.drawn_lines > 0;
            let up = self.drawn_lines;
            self.spinner.suspend(|| {
                let mut stdout = std::io::stdout().lock();
                if redraw {
                    // Move up over the previous code and clear it.
                    let _ = write!(stdout, "\x1b[{up}A\x1b[J");
                }
                let _ = write!(stdout, "{text}");
                let _ = stdout.flush();
            });
            self.drawn_lines = text.lines().count();
        }
        self.current = Some(notice.clone());
        self.tick();
        Ok(())
    }

    fn tick(&self) {
        let Some(notice) = &self.current else { return };
        let now: Timestamp = SystemClock.now();
        let code_left = format_duration(now.until(notice.code_expires_at));
        let pairing_left = format_duration(now.until(notice.pairing_expires_at));
        let what = if notice.pair_code {
            "pair code"
        } else {
            "QR code"
        };
        self.spinner.set_message(format!(
            "waiting for the scan · this {what} rotates in {code_left} · gives up in {pairing_left} · Ctrl-C cancels"
        ));
    }

    fn cancelling(&self) {
        self.spinner.set_message("cancelling the pairing…");
    }

    fn finish(&self) {
        self.spinner.finish_and_clear();
    }
}

/// WhatsApp shows pair codes as `ABCD-EFGH`.
fn pretty_pair_code(code: &str) -> String {
    if code.len() == 8 && code.is_ascii() {
        format!("{}-{}", &code[..4], &code[4..])
    } else {
        code.to_string()
    }
}
