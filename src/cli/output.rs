//! Human renderings of results. Each returns the text; the caller prints it, so output is
//! testable and `--json` never mixes with it.

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};

use crate::model::{
    CleanupReport, Connection, Event, NodeInfo, ResetReport, Resolution, Stats, UserInfo, Verdict,
};
use crate::protocol::ConflictsResult;
use crate::time::Timestamp;

pub(crate) fn table(header: &[&str]) -> Table {
    let mut table = Table::new();
    table
        .load_style(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header.iter().copied());
    table
}

fn time(at: Option<Timestamp>) -> String {
    at.map(Timestamp::to_display).unwrap_or_else(|| "-".into())
}

fn or_dash(text: Option<&str>) -> String {
    text.filter(|t| !t.is_empty()).unwrap_or("-").to_string()
}

pub fn verdict(verdict: &Verdict) -> String {
    if verdict.allowed {
        format!("{}: may connect", verdict.user)
    } else {
        format!(
            "{}: refused ({}): {}",
            verdict.user,
            verdict.reason_code.as_str(),
            verdict.message
        )
    }
}

/// Grouped by number, newest holder first, like the old report.
pub fn conflicts(report: &ConflictsResult) -> String {
    if report.conflicts.is_empty() {
        return "No conflicts: every phone number has at most one holder.".into();
    }
    let mut text = String::new();
    for group in &report.conflicts {
        text.push_str(&format!(
            "Number {} is held by {} users:\n",
            group.phone_number,
            group.holders.len()
        ));
        let mut rows = table(&["", "User", "Status", "Last connected", "Node", "Updated"]);
        for (index, holder) in group.holders.iter().enumerate() {
            rows.add_row(vec![
                if index == 0 { "newest" } else { "" }.to_string(),
                holder.user.clone(),
                holder.status.to_string(),
                time(holder.last_connected_at),
                or_dash(holder.node_id.as_deref()),
                holder.updated_at.to_display(),
            ]);
        }
        text.push_str(&rows.to_string());
        text.push_str("\n\n");
    }
    text.push_str(&format!(
        "{} number(s) held by more than one user. Preview the fix with \
         `wasess resolve-conflicts --dry-run`, apply it with `wasess resolve-conflicts`.",
        report.conflicts.len()
    ));
    text
}

pub fn resolution(resolution: &Resolution) -> String {
    if resolution.actions.is_empty() {
        return "No conflicts to resolve.".into();
    }
    let verb = if resolution.dry_run {
        "would keep"
    } else {
        "kept"
    };
    let mut text = String::new();
    for action in &resolution.actions {
        let detached: Vec<String> = action
            .detached
            .iter()
            .map(|holder| format!("{} ({})", holder.user, holder.status))
            .collect();
        text.push_str(&format!(
            "{}: {verb} {}; detached {}\n",
            action.phone_number,
            action.kept,
            detached.join(", ")
        ));
    }
    text.push_str(&format!(
        "{}{} number(s) resolved: {} holder(s) detached, {} kept.",
        if resolution.dry_run { "Dry run: " } else { "" },
        resolution.resolved,
        resolution.disconnected,
        resolution.kept
    ));
    if resolution.dry_run {
        text.push_str(" Nothing was changed.");
    }
    text
}

pub fn cleanup(report: &CleanupReport) -> String {
    let mut rows = table(&["Cleaned", "Count"]);
    for (what, count) in [
        ("expired QR codes", report.expired_qr),
        ("expired locks", report.expired_locks),
        ("stale sessions", report.stale_sessions),
        ("pairings of lost nodes", report.dead_node_sessions),
        ("ended pauses", report.ended_pauses),
        ("orphan credential stores", report.orphan_stores),
        ("old events", report.pruned_events),
        ("nodes gone for a week", report.pruned_nodes),
        ("cursors of removed webhooks", report.pruned_webhook_cursors),
    ] {
        rows.add_row(vec![what.to_string(), count.to_string()]);
    }
    let mut text = rows.to_string();
    if report.dry_run {
        text.push_str("\nDry run: nothing was changed.");
    }
    text
}

pub fn reset(report: &ResetReport) -> String {
    if report.users.is_empty() {
        return format!(
            "Nothing to reset; {} lock(s) released.",
            report.locks_released
        );
    }
    let mut rows = table(&["User", "Was", "Number"]);
    for user in &report.users {
        rows.add_row(vec![
            user.user.clone(),
            user.previous_status.to_string(),
            or_dash(user.previous_phone.as_deref()),
        ]);
    }
    format!(
        "{rows}\nReset {} user(s); {} lock(s) released.",
        report.users.len(),
        report.locks_released
    )
}

pub fn stats(stats: &Stats) -> String {
    let mut rows = table(&["", "Count"]);
    for (what, count) in [
        ("total", stats.total),
        ("connected", stats.connected),
        ("pending QR", stats.pending_qr),
        ("disconnected", stats.disconnected),
        ("conflict", stats.conflict),
        ("paused", stats.paused),
        ("logged out", stats.logged_out),
        ("duplicate numbers", stats.duplicate_numbers),
        ("locks held", stats.locks_held),
    ] {
        rows.add_row(vec![what.to_string(), count.to_string()]);
    }
    let mut text = rows.to_string();
    if stats.by_node.len() > 1 {
        let mut nodes = table(&["Node", "Connections", "Connected"]);
        for node in &stats.by_node {
            nodes.add_row(vec![
                node.node_id.clone(),
                node.connections.to_string(),
                node.connected.to_string(),
            ]);
        }
        text.push('\n');
        text.push_str(&nodes.to_string());
    }
    text
}

pub fn connections(connections: &[Connection], truncated: bool) -> String {
    if connections.is_empty() {
        return "No connections.".into();
    }
    let mut rows = table(&[
        "User",
        "Status",
        "Number",
        "Owner",
        "Epoch",
        "Last connected",
        "Reason",
    ]);
    for row in connections {
        rows.add_row(vec![
            row.user.clone(),
            row.status.to_string(),
            or_dash(row.phone_number.as_deref()),
            or_dash(row.node_id.as_deref()),
            row.epoch.to_string(),
            time(row.last_connected_at),
            row.reason.clone(),
        ]);
    }
    let mut text = rows.to_string();
    if truncated {
        text.push_str("\nMore rows match: raise --limit to see them.");
    }
    text
}

pub fn connection(row: &Connection) -> String {
    let mut text = format!("{}: {}", row.user, row.status);
    if let Some(phone) = &row.phone_number {
        text.push_str(&format!(" ({phone})"));
    }
    if !row.reason.is_empty() {
        text.push_str(&format!(": {}", row.reason));
    }
    text
}

pub fn events(events: &[Event]) -> String {
    if events.is_empty() {
        return "No events.".into();
    }
    let mut rows = table(&["Id", "Time", "User", "Event", "Change", "Reason", "Node"]);
    for event in events {
        rows.add_row(vec![
            event.id.to_string(),
            event.at.to_display(),
            or_dash(event.user.as_deref()),
            event.kind.as_str().to_string(),
            change(event),
            event.reason.clone(),
            or_dash(event.node_id.as_deref()),
        ]);
    }
    rows.to_string()
}

fn change(event: &Event) -> String {
    match (event.from_status, event.to_status) {
        (Some(from), Some(to)) => format!("{from} → {to}"),
        (None, Some(to)) => format!("→ {to}"),
        (Some(from), None) => format!("{from} →"),
        (None, None) => String::new(),
    }
}

/// One line per event, for `watch`.
pub fn event_line(event: &Event) -> String {
    let mut line = format!(
        "#{} {} {} {}",
        event.id,
        event.at.to_display(),
        or_dash(event.user.as_deref()),
        event.kind.as_str()
    );
    let change = change(event);
    if !change.is_empty() {
        line.push(' ');
        line.push_str(&change);
    }
    if !event.reason.is_empty() {
        line.push_str(": ");
        line.push_str(&event.reason);
    }
    line
}

pub fn nodes(nodes: &[NodeInfo]) -> String {
    if nodes.is_empty() {
        return "No nodes have registered.".into();
    }
    let mut rows = table(&[
        "Node",
        "State",
        "Sessions",
        "Pairing",
        "Fenced",
        "Host",
        "PID",
        "Last heartbeat",
        "Version",
    ]);
    for node in nodes {
        rows.add_row(vec![
            node.node_id.clone(),
            node.state.clone(),
            node.connected.to_string(),
            node.pending_qr.to_string(),
            node.fenced.to_string(),
            or_dash(Some(node.host.as_str()).filter(|host| !host.is_empty())),
            node.pid.to_string(),
            node.last_seen.to_display(),
            node.version.clone(),
        ]);
    }
    let mut text = rows.to_string();
    if nodes.iter().any(|node| node.state == "lost") {
        text.push_str(
            "\nlost: its lease ran out (dead, or cut off from the registry and fenced); \
             the live nodes take over its sessions.",
        );
    }
    text
}

pub fn webhooks(status: &crate::protocol::WebhooksResult) -> String {
    if status.endpoints.is_empty() {
        return "No webhooks are configured ([[webhook]] in the daemon's config file).".into();
    }
    let mut rows = table(&[
        "Endpoint",
        "URL",
        "Read up to",
        "Backlog",
        "Pending",
        "Failing",
        "Dead",
        "Last error",
    ]);
    for endpoint in &status.endpoints {
        rows.add_row(vec![
            endpoint.endpoint.clone(),
            endpoint.url.clone(),
            endpoint.last_id.to_string(),
            endpoint.backlog.to_string(),
            endpoint.pending.to_string(),
            endpoint.failing.to_string(),
            endpoint.dead.to_string(),
            or_dash(endpoint.last_error.as_deref()),
        ]);
    }
    rows.to_string()
}

pub fn users(users: &[UserInfo]) -> String {
    if users.is_empty() {
        return "No users: add one with `wasess users add USER`.".into();
    }
    let mut rows = table(&["User", "Status", "Number", "Added"]);
    for user in users {
        rows.add_row(vec![
            user.user.clone(),
            user.status.to_string(),
            or_dash(user.phone_number.as_deref()),
            user.created_at.to_display(),
        ]);
    }
    rows.to_string()
}

/// At most this many examples of each kind of skipped or odd row.
const EXAMPLES: usize = 5;

pub fn baileys_import_report(report: &crate::model::BaileysImportReport) -> String {
    let verb = if report.dry_run {
        "Would import"
    } else {
        "Imported"
    };
    let mut lines = Vec::new();
    for device in &report.imported {
        lines.push(format!(
            "{verb} {} for {} (+{}) from {}: {} pre-key(s), {} session(s), {} app-state key(s).",
            device.device,
            device.user,
            device.phone_number,
            device.folder,
            device.pre_keys,
            device.sessions,
            device.app_state_keys
        ));
        for left in &device.not_converted {
            lines.push(format!(
                "  not converted: {} {} ({})",
                left.count, left.what, left.cost
            ));
        }
    }
    for folder in &report.skipped_unpaired {
        lines.push(format!(
            "Skipped {folder}: its device never finished pairing."
        ));
    }
    if report.imported.is_empty() {
        lines.push("Nothing to import.".into());
    } else if report.log_in && !report.dry_run {
        lines.push(
            "Each device logs in without a QR code as soon as a daemon runs (at once if one \
             does): `wasess list` shows them CONNECTED as they come up."
                .into(),
        );
    } else if !report.dry_run {
        lines.push(
            "Each user is DISCONNECTED with its number: `wasess reconnect --user U` logs in \
             with the imported device, without a QR code."
                .into(),
        );
    }
    lines.join("\n")
}

pub fn import_report(report: &crate::model::ImportReport) -> String {
    let verb = if report.dry_run {
        "Would import"
    } else {
        "Imported"
    };
    let mut text = format!(
        "{verb} from {}: {} connection row(s) read; {} user(s) added, {} merged.",
        report.source, report.rows_read, report.users_added, report.users_merged
    );
    if report.phones_normalised > 0 {
        text.push_str(&format!(
            "\n{} number(s) normalised to digits.",
            report.phones_normalised
        ));
    }
    let mut skipped = |what: &str, values: &[crate::model::ImportedValue]| {
        if values.is_empty() {
            return;
        }
        let shown: Vec<String> = values
            .iter()
            .take(EXAMPLES)
            .map(|v| {
                if v.row == v.value {
                    v.row.clone()
                } else {
                    format!("{} ({})", v.row, v.value)
                }
            })
            .collect();
        let more = if values.len() > EXAMPLES { ", …" } else { "" };
        text.push_str(&format!(
            "\n{} {what}: {}{more}",
            values.len(),
            shown.join(", ")
        ));
    };
    skipped(
        "row(s) whose number could not be read, imported without it",
        &report.phones_invalid,
    );
    skipped(
        "row(s) whose user is missing from the users table, not imported",
        &report.users_missing,
    );
    skipped(
        "row(s) whose user key wasess cannot take, not imported",
        &report.keys_invalid,
    );
    if !report.repeated_users.is_empty() {
        text.push_str(&format!(
            "\n{} user(s) with more than one row: the most recently connected one was taken \
             ({}{})",
            report.repeated_users.len(),
            report
                .repeated_users
                .iter()
                .take(EXAMPLES)
                .cloned()
                .collect::<Vec<_>>()
                .join(", "),
            if report.repeated_users.len() > EXAMPLES {
                ", …"
            } else {
                ""
            }
        ));
    }
    if !report.kept_live.is_empty() {
        text.push_str(&format!(
            "\n{} user(s) left as they are: they have a session, a pairing or a number here ({})",
            report.kept_live.len(),
            report.kept_live.join(", ")
        ));
    }
    if report.duplicates.is_empty() {
        text.push_str("\nNo number is held by more than one user.");
    } else {
        let mut rows = table(&["Number", "Users"]);
        for duplicate in &report.duplicates {
            rows.add_row(vec![
                duplicate.phone_number.clone(),
                duplicate.users.join(", "),
            ]);
        }
        text.push_str(&format!(
            "\n{} number(s) held by more than one user, imported as they are; \
             `wasess resolve-conflicts` keeps the newest holder of each:\n{rows}",
            report.duplicates.len()
        ));
    }
    if !report.dry_run && report.rows_imported > 0 {
        text.push_str(
            "\nThe imported rows are DISCONNECTED, with their numbers: import the users' \
             credentials, or have them connect again.",
        );
    }
    text
}
