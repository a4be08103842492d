//! External tools some tests run (systemd-analyze, shellcheck, promtool). `.ci/run` installs
//! them and sets `WASESS_REQUIRE_TOOLS=1`, so there a missing tool fails the test instead of
//! skipping it; elsewhere the test says what it skipped.

use std::process::Command;

const ENV_REQUIRE: &str = "WASESS_REQUIRE_TOOLS";

/// Whether `tool` runs (`tool version_flag` succeeds).
pub fn available(tool: &str, version_flag: &str) -> bool {
    let runs = Command::new(tool)
        .arg(version_flag)
        .output()
        .is_ok_and(|output| output.status.success());
    if !runs {
        if std::env::var(ENV_REQUIRE).is_ok_and(|value| value == "1") {
            panic!("{ENV_REQUIRE}=1 but {tool} cannot run: install it");
        }
        eprintln!("notice: {tool} is not installed: the check that needs it is skipped");
    }
    runs
}
