
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'wasess' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'wasess'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'wasess' {
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The daemon''s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]')
            [CompletionResult]::new('--connect', '--connect', [CompletionResultType]::ParameterName, 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'The daemon''s token file, for --connect [default: <data dir>/token]')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'The registry database, for --offline [default: SQLite in the data dir]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine output: one JSON document on stdout, nothing else there')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Work on the registry directly, with the daemon stopped (recovery commands only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('connect', 'connect', [CompletionResultType]::ParameterValue, 'Link a WhatsApp number to a user: shows the QR code and waits for the scan')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Says whether a user may connect now, and which rule refuses it')
            [CompletionResult]::new('detect-conflicts', 'detect-conflicts', [CompletionResultType]::ParameterValue, 'Lists phone numbers held by more than one user (exit 3 when any)')
            [CompletionResult]::new('resolve-conflicts', 'resolve-conflicts', [CompletionResultType]::ParameterValue, 'Keeps the newest holder of each duplicated number and detaches the others')
            [CompletionResult]::new('cleanup', 'cleanup', [CompletionResultType]::ParameterValue, 'Expires old QR codes and locks, and clears stale sessions and orphan stores now')
            [CompletionResult]::new('reset-sessions', 'reset-sessions', [CompletionResultType]::ParameterValue, 'Clears sessions: logs out, deletes credentials, frees numbers and locks')
            [CompletionResult]::new('stats', 'stats', [CompletionResultType]::ParameterValue, 'Counts connections by status, duplicated numbers and locks')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'Lists connections')
            [CompletionResult]::new('disconnect', 'disconnect', [CompletionResultType]::ParameterValue, 'Closes a user''s connection and keeps its credentials')
            [CompletionResult]::new('logout', 'logout', [CompletionResultType]::ParameterValue, 'Logs a user out: unlinks the device and deletes its credentials')
            [CompletionResult]::new('reconnect', 'reconnect', [CompletionResultType]::ParameterValue, 'Logs a user in again with its stored credentials (after a disconnect or a conflict)')
            [CompletionResult]::new('log', 'log', [CompletionResultType]::ParameterValue, 'The audit trail: what happened to whom, and why')
            [CompletionResult]::new('nodes', 'nodes', [CompletionResultType]::ParameterValue, 'Lists the daemons (nodes) sharing the registry; `nodes drain NODE` empties one')
            [CompletionResult]::new('ping', 'ping', [CompletionResultType]::ParameterValue, 'Checks that the daemon answers, and how fast')
            [CompletionResult]::new('doctor', 'doctor', [CompletionResultType]::ParameterValue, 'Checks the daemon, data dir, registry, locks, QR codes, conflicts and credential stores, and says how to fix each problem (exit 3 when one exists)')
            [CompletionResult]::new('watch', 'watch', [CompletionResultType]::ParameterValue, 'Prints events as they happen (state changes, QR codes, messages)')
            [CompletionResult]::new('top', 'top', [CompletionResultType]::ParameterValue, 'A live view of the cluster: nodes, sessions, pairings, rates and webhook lag')
            [CompletionResult]::new('send', 'send', [CompletionResultType]::ParameterValue, 'Sends a text message through a user''s own connection')
            [CompletionResult]::new('users', 'users', [CompletionResultType]::ParameterValue, 'Manages tenant users')
            [CompletionResult]::new('webhooks', 'webhooks', [CompletionResultType]::ParameterValue, 'Webhook delivery: status per endpoint, and retrying dead letters')
            [CompletionResult]::new('sim', 'sim', [CompletionResultType]::ParameterValue, 'Acts as the phone, against a daemon running the simulated backend')
            [CompletionResult]::new('import', 'import', [CompletionResultType]::ParameterValue, 'Adopts an existing deployment: its users and connection rows')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'wasess;connect' {
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'The user''s key (e.g. alice@example.com)')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'The user''s key (e.g. alice@example.com)')
            [CompletionResult]::new('--phone', '--phone', [CompletionResultType]::ParameterName, 'The phone number, for --pair-code (e.g. +57 300 123 4567)')
            [CompletionResult]::new('--qr-file', '--qr-file', [CompletionResultType]::ParameterName, 'Also write each QR code to this file (.png or .svg)')
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The daemon''s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]')
            [CompletionResult]::new('--connect', '--connect', [CompletionResultType]::ParameterName, 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'The daemon''s token file, for --connect [default: <data dir>/token]')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'The registry database, for --offline [default: SQLite in the data dir]')
            [CompletionResult]::new('--pair-code', '--pair-code', [CompletionResultType]::ParameterName, 'Log in with an 8-character code typed on the phone instead of scanning a QR code')
            [CompletionResult]::new('--detach', '--detach', [CompletionResultType]::ParameterName, 'Return after the first QR code; the pairing goes on in the daemon')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine output: one JSON document on stdout, nothing else there')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Work on the registry directly, with the daemon stopped (recovery commands only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'wasess;check' {
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'u')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'user')
            [CompletionResult]::new('--phone', '--phone', [CompletionResultType]::ParameterName, 'A number known up front (pair-code login): also checks no other user holds it')
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The daemon''s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]')
            [CompletionResult]::new('--connect', '--connect', [CompletionResultType]::ParameterName, 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'The daemon''s token file, for --connect [default: <data dir>/token]')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'The registry database, for --offline [default: SQLite in the data dir]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine output: one JSON document on stdout, nothing else there')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Work on the registry directly, with the daemon stopped (recovery commands only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'wasess;detect-conflicts' {
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The daemon''s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]')
            [CompletionResult]::new('--connect', '--connect', [CompletionResultType]::ParameterName, 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'The daemon''s token file, for --connect [default: <data dir>/token]')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'The registry database, for --offline [default: SQLite in the data dir]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine output: one JSON document on stdout, nothing else there')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Work on the registry directly, with the daemon stopped (recovery commands only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'wasess;resolve-conflicts' {
            [CompletionResult]::new('--phone', '--phone', [CompletionResultType]::ParameterName, 'Only this number')
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The daemon''s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]')
            [CompletionResult]::new('--connect', '--connect', [CompletionResultType]::ParameterName, 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'The daemon''s token file, for --connect [default: <data dir>/token]')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'The registry database, for --offline [default: SQLite in the data dir]')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Show what would change, change nothing')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine output: one JSON document on stdout, nothing else there')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Work on the registry directly, with the daemon stopped (recovery commands only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'wasess;cleanup' {
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The daemon''s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]')
            [CompletionResult]::new('--connect', '--connect', [CompletionResultType]::ParameterName, 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'The daemon''s token file, for --connect [default: <data dir>/token]')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'The registry database, for --offline [default: SQLite in the data dir]')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Show what would be cleaned, change nothing')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine output: one JSON document on stdout, nothing else there')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Work on the registry directly, with the daemon stopped (recovery commands only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'wasess;reset-sessions' {
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'Reset this user only')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Reset this user only')
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The daemon''s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]')
            [CompletionResult]::new('--connect', '--connect', [CompletionResultType]::ParameterName, 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'The daemon''s token file, for --connect [default: <data dir>/token]')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'The registry database, for --offline [default: SQLite in the data dir]')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Reset every user')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (needed for --all without a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (needed for --all without a terminal)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine output: one JSON document on stdout, nothing else there')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Work on the registry directly, with the daemon stopped (recovery commands only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'wasess;stats' {
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The daemon''s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]')
            [CompletionResult]::new('--connect', '--connect', [CompletionResultType]::ParameterName, 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'The daemon''s token file, for --connect [default: <data dir>/token]')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'The registry database, for --offline [default: SQLite in the data dir]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine output: one JSON document on stdout, nothing else there')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Work on the registry directly, with the daemon stopped (recovery commands only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'wasess;list' {
            [CompletionResult]::new('--status', '--status', [CompletionResultType]::ParameterName, 'Only connections in this status')
            [CompletionResult]::new('--node', '--node', [CompletionResultType]::ParameterName, 'Only connections owned by this node')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'At most this many rows')
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The daemon''s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]')
            [CompletionResult]::new('--connect', '--connect', [CompletionResultType]::ParameterName, 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'The daemon''s token file, for --connect [default: <data dir>/token]')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'The registry database, for --offline [default: SQLite in the data dir]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine output: one JSON document on stdout, nothing else there')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Work on the registry directly, with the daemon stopped (recovery commands only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'wasess;disconnect' {
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'The user''s key (e.g. alice@example.com)')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'The user''s key (e.g. alice@example.com)')
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The daemon''s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]')
            [CompletionResult]::new('--connect', '--connect', [CompletionResultType]::ParameterName, 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'The daemon''s token file, for --connect [default: <data dir>/token]')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'The registry database, for --offline [default: SQLite in the data dir]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine output: one JSON document on stdout, nothing else there')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Work on the registry directly, with the daemon stopped (recovery commands only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'wasess;logout' {
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'The user''s key (e.g. alice@example.com)')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'The user''s key (e.g. alice@example.com)')
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The daemon''s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]')
            [CompletionResult]::new('--connect', '--connect', [CompletionResultType]::ParameterName, 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'The daemon''s token file, for --connect [default: <data dir>/token]')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'The registry database, for --offline [default: SQLite in the data dir]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine output: one JSON document on stdout, nothing else there')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Work on the registry directly, with the daemon stopped (recovery commands only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'wasess;reconnect' {
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'The user''s key (e.g. alice@example.com)')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'The user''s key (e.g. alice@example.com)')
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The daemon''s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]')
            [CompletionResult]::new('--connect', '--connect', [CompletionResultType]::ParameterName, 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'The daemon''s token file, for --connect [default: <data dir>/token]')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'The registry database, for --offline [default: SQLite in the data dir]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine output: one JSON document on stdout, nothing else there')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Work on the registry directly, with the daemon stopped (recovery commands only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'wasess;log' {
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'Only this user''s events')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Only this user''s events')
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'Only events this recent (e.g. 30m, 2h, 7d)')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'At most this many events (the newest)')
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The daemon''s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]')
            [CompletionResult]::new('--connect', '--connect', [CompletionResultType]::ParameterName, 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'The daemon''s token file, for --connect [default: <data dir>/token]')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'The registry database, for --offline [default: SQLite in the data dir]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine output: one JSON document on stdout, nothing else there')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Work on the registry directly, with the daemon stopped (recovery commands only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'wasess;nodes' {
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The daemon''s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]')
            [CompletionResult]::new('--connect', '--connect', [CompletionResultType]::ParameterName, 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'The daemon''s token file, for --connect [default: <data dir>/token]')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'The registry database, for --offline [default: SQLite in the data dir]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine output: one JSON document on stdout, nothing else there')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Work on the registry directly, with the daemon stopped (recovery commands only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('drain', 'drain', [CompletionResultType]::ParameterValue, 'Hands every session of NODE to the other live nodes, without a new pairing: each one is closed there first, then resumed elsewhere. NODE keeps running but takes no new sessions until it restarts. Refused when no other node is live')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'wasess;nodes;drain' {
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Give up waiting after this long (exit 6); the drain itself goes on')
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The daemon''s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]')
            [CompletionResult]::new('--connect', '--connect', [CompletionResultType]::ParameterName, 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'The daemon''s token file, for --connect [default: <data dir>/token]')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'The registry database, for --offline [default: SQLite in the data dir]')
            [CompletionResult]::new('--no-wait', '--no-wait', [CompletionResultType]::ParameterName, 'Return once the drain is requested, without waiting for it to finish')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine output: one JSON document on stdout, nothing else there')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Work on the registry directly, with the daemon stopped (recovery commands only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'wasess;nodes;help' {
            [CompletionResult]::new('drain', 'drain', [CompletionResultType]::ParameterValue, 'Hands every session of NODE to the other live nodes, without a new pairing: each one is closed there first, then resumed elsewhere. NODE keeps running but takes no new sessions until it restarts. Refused when no other node is live')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'wasess;nodes;help;drain' {
            break
        }
        'wasess;nodes;help;help' {
            break
        }
        'wasess;ping' {
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The daemon''s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]')
            [CompletionResult]::new('--connect', '--connect', [CompletionResultType]::ParameterName, 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'The daemon''s token file, for --connect [default: <data dir>/token]')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'The registry database, for --offline [default: SQLite in the data dir]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine output: one JSON document on stdout, nothing else there')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Work on the registry directly, with the daemon stopped (recovery commands only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'wasess;doctor' {
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The daemon''s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]')
            [CompletionResult]::new('--connect', '--connect', [CompletionResultType]::ParameterName, 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'The daemon''s token file, for --connect [default: <data dir>/token]')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'The registry database, for --offline [default: SQLite in the data dir]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine output: one JSON document on stdout, nothing else there')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Work on the registry directly, with the daemon stopped (recovery commands only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'wasess;watch' {
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'Only this user''s events')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Only this user''s events')
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'Resume after this event id (prints what was missed first)')
            [CompletionResult]::new('--kind', '--kind', [CompletionResultType]::ParameterName, 'Only these kinds (repeatable)')
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The daemon''s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]')
            [CompletionResult]::new('--connect', '--connect', [CompletionResultType]::ParameterName, 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'The daemon''s token file, for --connect [default: <data dir>/token]')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'The registry database, for --offline [default: SQLite in the data dir]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine output: one JSON document on stdout, nothing else there')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Work on the registry directly, with the daemon stopped (recovery commands only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'wasess;top' {
            [CompletionResult]::new('--interval', '--interval', [CompletionResultType]::ParameterName, 'How often to redraw')
            [CompletionResult]::new('--count', '--count', [CompletionResultType]::ParameterName, 'Stop after this many frames [default: until Ctrl-C]')
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The daemon''s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]')
            [CompletionResult]::new('--connect', '--connect', [CompletionResultType]::ParameterName, 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'The daemon''s token file, for --connect [default: <data dir>/token]')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'The registry database, for --offline [default: SQLite in the data dir]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine output: one JSON document on stdout, nothing else there')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Work on the registry directly, with the daemon stopped (recovery commands only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'wasess;send' {
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'u')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'user')
            [CompletionResult]::new('--to', '--to', [CompletionResultType]::ParameterName, 'The recipient''s number')
            [CompletionResult]::new('--text', '--text', [CompletionResultType]::ParameterName, 'The text to send')
            [CompletionResult]::new('--idempotency-key', '--idempotency-key', [CompletionResultType]::ParameterName, 'A key for this message (1-128 characters): repeating the command with the same key returns the first message id and sends nothing')
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The daemon''s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]')
            [CompletionResult]::new('--connect', '--connect', [CompletionResultType]::ParameterName, 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'The daemon''s token file, for --connect [default: <data dir>/token]')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'The registry database, for --offline [default: SQLite in the data dir]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine output: one JSON document on stdout, nothing else there')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Work on the registry directly, with the daemon stopped (recovery commands only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'wasess;users' {
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The daemon''s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]')
            [CompletionResult]::new('--connect', '--connect', [CompletionResultType]::ParameterName, 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'The daemon''s token file, for --connect [default: <data dir>/token]')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'The registry database, for --offline [default: SQLite in the data dir]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine output: one JSON document on stdout, nothing else there')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Work on the registry directly, with the daemon stopped (recovery commands only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('add', 'add', [CompletionResultType]::ParameterValue, 'Registers a user')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'Lists users')
            [CompletionResult]::new('remove', 'remove', [CompletionResultType]::ParameterValue, 'Removes a user: logs out its session and deletes its credentials and row')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'wasess;users;add' {
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The daemon''s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]')
            [CompletionResult]::new('--connect', '--connect', [CompletionResultType]::ParameterName, 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'The daemon''s token file, for --connect [default: <data dir>/token]')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'The registry database, for --offline [default: SQLite in the data dir]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine output: one JSON document on stdout, nothing else there')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Work on the registry directly, with the daemon stopped (recovery commands only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'wasess;users;list' {
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'limit')
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The daemon''s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]')
            [CompletionResult]::new('--connect', '--connect', [CompletionResultType]::ParameterName, 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'The daemon''s token file, for --connect [default: <data dir>/token]')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'The registry database, for --offline [default: SQLite in the data dir]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine output: one JSON document on stdout, nothing else there')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Work on the registry directly, with the daemon stopped (recovery commands only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'wasess;users;remove' {
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The daemon''s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]')
            [CompletionResult]::new('--connect', '--connect', [CompletionResultType]::ParameterName, 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'The daemon''s token file, for --connect [default: <data dir>/token]')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'The registry database, for --offline [default: SQLite in the data dir]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine output: one JSON document on stdout, nothing else there')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Work on the registry directly, with the daemon stopped (recovery commands only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'wasess;users;help' {
            [CompletionResult]::new('add', 'add', [CompletionResultType]::ParameterValue, 'Registers a user')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'Lists users')
            [CompletionResult]::new('remove', 'remove', [CompletionResultType]::ParameterValue, 'Removes a user: logs out its session and deletes its credentials and row')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'wasess;users;help;add' {
            break
        }
        'wasess;users;help;list' {
            break
        }
        'wasess;users;help;remove' {
            break
        }
        'wasess;users;help;help' {
            break
        }
        'wasess;webhooks' {
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The daemon''s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]')
            [CompletionResult]::new('--connect', '--connect', [CompletionResultType]::ParameterName, 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'The daemon''s token file, for --connect [default: <data dir>/token]')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'The registry database, for --offline [default: SQLite in the data dir]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine output: one JSON document on stdout, nothing else there')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Work on the registry directly, with the daemon stopped (recovery commands only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Pending, failing and dead events per endpoint')
            [CompletionResult]::new('retry', 'retry', [CompletionResultType]::ParameterValue, 'Sends dead-lettered events again')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'wasess;webhooks;status' {
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The daemon''s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]')
            [CompletionResult]::new('--connect', '--connect', [CompletionResultType]::ParameterName, 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'The daemon''s token file, for --connect [default: <data dir>/token]')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'The registry database, for --offline [default: SQLite in the data dir]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine output: one JSON document on stdout, nothing else there')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Work on the registry directly, with the daemon stopped (recovery commands only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'wasess;webhooks;retry' {
            [CompletionResult]::new('--endpoint', '--endpoint', [CompletionResultType]::ParameterName, 'Only this endpoint''s')
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The daemon''s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]')
            [CompletionResult]::new('--connect', '--connect', [CompletionResultType]::ParameterName, 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'The daemon''s token file, for --connect [default: <data dir>/token]')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'The registry database, for --offline [default: SQLite in the data dir]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine output: one JSON document on stdout, nothing else there')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Work on the registry directly, with the daemon stopped (recovery commands only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'wasess;webhooks;help' {
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Pending, failing and dead events per endpoint')
            [CompletionResult]::new('retry', 'retry', [CompletionResultType]::ParameterValue, 'Sends dead-lettered events again')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'wasess;webhooks;help;status' {
            break
        }
        'wasess;webhooks;help;retry' {
            break
        }
        'wasess;webhooks;help;help' {
            break
        }
        'wasess;sim' {
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The daemon''s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]')
            [CompletionResult]::new('--connect', '--connect', [CompletionResultType]::ParameterName, 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'The daemon''s token file, for --connect [default: <data dir>/token]')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'The registry database, for --offline [default: SQLite in the data dir]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine output: one JSON document on stdout, nothing else there')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Work on the registry directly, with the daemon stopped (recovery commands only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('scan', 'scan', [CompletionResultType]::ParameterValue, 'Scans the user''s pending QR code as this phone number')
            [CompletionResult]::new('event', 'event', [CompletionResultType]::ParameterValue, 'Makes WhatsApp (or the phone) do something to the user''s live session')
            [CompletionResult]::new('message', 'message', [CompletionResultType]::ParameterValue, 'Delivers an incoming text message to the user')
            [CompletionResult]::new('sent', 'sent', [CompletionResultType]::ParameterValue, 'Lists what the user''s session sent')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'wasess;sim;scan' {
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'u')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'user')
            [CompletionResult]::new('--phone', '--phone', [CompletionResultType]::ParameterName, 'phone')
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The daemon''s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]')
            [CompletionResult]::new('--connect', '--connect', [CompletionResultType]::ParameterName, 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'The daemon''s token file, for --connect [default: <data dir>/token]')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'The registry database, for --offline [default: SQLite in the data dir]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine output: one JSON document on stdout, nothing else there')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Work on the registry directly, with the daemon stopped (recovery commands only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'wasess;sim;event' {
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'u')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'user')
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The daemon''s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]')
            [CompletionResult]::new('--connect', '--connect', [CompletionResultType]::ParameterName, 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'The daemon''s token file, for --connect [default: <data dir>/token]')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'The registry database, for --offline [default: SQLite in the data dir]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine output: one JSON document on stdout, nothing else there')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Work on the registry directly, with the daemon stopped (recovery commands only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'wasess;sim;message' {
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'u')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'user')
            [CompletionResult]::new('--from', '--from', [CompletionResultType]::ParameterName, 'from')
            [CompletionResult]::new('--text', '--text', [CompletionResultType]::ParameterName, 'text')
            [CompletionResult]::new('--count', '--count', [CompletionResultType]::ParameterName, 'How many messages arrive, one after the other (numbered)')
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The daemon''s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]')
            [CompletionResult]::new('--connect', '--connect', [CompletionResultType]::ParameterName, 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'The daemon''s token file, for --connect [default: <data dir>/token]')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'The registry database, for --offline [default: SQLite in the data dir]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine output: one JSON document on stdout, nothing else there')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Work on the registry directly, with the daemon stopped (recovery commands only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'wasess;sim;sent' {
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'u')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'user')
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The daemon''s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]')
            [CompletionResult]::new('--connect', '--connect', [CompletionResultType]::ParameterName, 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'The daemon''s token file, for --connect [default: <data dir>/token]')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'The registry database, for --offline [default: SQLite in the data dir]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine output: one JSON document on stdout, nothing else there')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Work on the registry directly, with the daemon stopped (recovery commands only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'wasess;sim;help' {
            [CompletionResult]::new('scan', 'scan', [CompletionResultType]::ParameterValue, 'Scans the user''s pending QR code as this phone number')
            [CompletionResult]::new('event', 'event', [CompletionResultType]::ParameterValue, 'Makes WhatsApp (or the phone) do something to the user''s live session')
            [CompletionResult]::new('message', 'message', [CompletionResultType]::ParameterValue, 'Delivers an incoming text message to the user')
            [CompletionResult]::new('sent', 'sent', [CompletionResultType]::ParameterValue, 'Lists what the user''s session sent')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'wasess;sim;help;scan' {
            break
        }
        'wasess;sim;help;event' {
            break
        }
        'wasess;sim;help;message' {
            break
        }
        'wasess;sim;help;sent' {
            break
        }
        'wasess;sim;help;help' {
            break
        }
        'wasess;import' {
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The daemon''s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]')
            [CompletionResult]::new('--connect', '--connect', [CompletionResultType]::ParameterName, 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'The daemon''s token file, for --connect [default: <data dir>/token]')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'The registry database, for --offline [default: SQLite in the data dir]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine output: one JSON document on stdout, nothing else there')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Work on the registry directly, with the daemon stopped (recovery commands only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('registry', 'registry', [CompletionResultType]::ParameterValue, 'Reads another application''s users and WhatsApp connection rows (a Prisma-shaped whatsapp_connections table, in SQLite or PostgreSQL) into the registry, all or nothing')
            [CompletionResult]::new('baileys', 'baileys', [CompletionResultType]::ParameterValue, 'Adopts devices Baileys linked, from their multi-file auth folders, so each user logs in again without a QR code (`wasess reconnect`, or the daemon''s next start). All or nothing')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'wasess;import;registry' {
            [CompletionResult]::new('--from', '--from', [CompletionResultType]::ParameterName, 'The application''s database: sqlite:path/to/dev.db (or a path) or postgres://…')
            [CompletionResult]::new('--user-key', '--user-key', [CompletionResultType]::ParameterName, 'Key tenants by this column of the users table (e.g. email) instead of the user id')
            [CompletionResult]::new('--map', '--map', [CompletionResultType]::ParameterName, 'Name a column outright, as ROLE=COLUMN (repeatable). Roles: user, phone, status, last_connected_at, created_at, users.id, users.created_at')
            [CompletionResult]::new('--table', '--table', [CompletionResultType]::ParameterName, 'The connections table [default: found by name, e.g. whatsapp_connections]')
            [CompletionResult]::new('--users-table', '--users-table', [CompletionResultType]::ParameterName, 'The users table [default: found by name, e.g. users or User]')
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The daemon''s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]')
            [CompletionResult]::new('--connect', '--connect', [CompletionResultType]::ParameterName, 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'The daemon''s token file, for --connect [default: <data dir>/token]')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'The registry database, for --offline [default: SQLite in the data dir]')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print what would be imported, and the duplicated numbers, and write nothing')
            [CompletionResult]::new('--merge', '--merge', [CompletionResultType]::ParameterName, 'Fill in users that exist here already with nothing of their own (no session, pairing or number); the others are kept as they are')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine output: one JSON document on stdout, nothing else there')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Work on the registry directly, with the daemon stopped (recovery commands only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'wasess;import;baileys' {
            [CompletionResult]::new('--auth-dir', '--auth-dir', [CompletionResultType]::ParameterName, 'One tenant''s auth folder (creds.json, pre-key-*, session-*…); needs --user')
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'The user whose device --auth-dir holds')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'The user whose device --auth-dir holds')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'A folder of auth folders, one per tenant: each folder''s name is its user''s key, unless --users maps it')
            [CompletionResult]::new('--users', '--users', [CompletionResultType]::ParameterName, 'With --all: a file of `FOLDER USER` lines (`#` starts a comment); folders it does not name keep their own name as the user''s key')
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The daemon''s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]')
            [CompletionResult]::new('--connect', '--connect', [CompletionResultType]::ParameterName, 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'The daemon''s token file, for --connect [default: <data dir>/token]')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'The registry database, for --offline [default: SQLite in the data dir]')
            [CompletionResult]::new('--skip-unpaired', '--skip-unpaired', [CompletionResultType]::ParameterName, 'Leave out folders whose device never finished pairing (no `me` in creds.json) instead of refusing the whole import')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Convert and check everything, and write nothing')
            [CompletionResult]::new('--no-reconnect', '--no-reconnect', [CompletionResultType]::ParameterName, 'Leave the imported devices DISCONNECTED (log each in later with `wasess reconnect`) instead of having the daemon log them in (at once, or when it next starts)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine output: one JSON document on stdout, nothing else there')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Work on the registry directly, with the daemon stopped (recovery commands only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'wasess;import;help' {
            [CompletionResult]::new('registry', 'registry', [CompletionResultType]::ParameterValue, 'Reads another application''s users and WhatsApp connection rows (a Prisma-shaped whatsapp_connections table, in SQLite or PostgreSQL) into the registry, all or nothing')
            [CompletionResult]::new('baileys', 'baileys', [CompletionResultType]::ParameterValue, 'Adopts devices Baileys linked, from their multi-file auth folders, so each user logs in again without a QR code (`wasess reconnect`, or the daemon''s next start). All or nothing')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'wasess;import;help;registry' {
            break
        }
        'wasess;import;help;baileys' {
            break
        }
        'wasess;import;help;help' {
            break
        }
        'wasess;help' {
            [CompletionResult]::new('connect', 'connect', [CompletionResultType]::ParameterValue, 'Link a WhatsApp number to a user: shows the QR code and waits for the scan')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Says whether a user may connect now, and which rule refuses it')
            [CompletionResult]::new('detect-conflicts', 'detect-conflicts', [CompletionResultType]::ParameterValue, 'Lists phone numbers held by more than one user (exit 3 when any)')
            [CompletionResult]::new('resolve-conflicts', 'resolve-conflicts', [CompletionResultType]::ParameterValue, 'Keeps the newest holder of each duplicated number and detaches the others')
            [CompletionResult]::new('cleanup', 'cleanup', [CompletionResultType]::ParameterValue, 'Expires old QR codes and locks, and clears stale sessions and orphan stores now')
            [CompletionResult]::new('reset-sessions', 'reset-sessions', [CompletionResultType]::ParameterValue, 'Clears sessions: logs out, deletes credentials, frees numbers and locks')
            [CompletionResult]::new('stats', 'stats', [CompletionResultType]::ParameterValue, 'Counts connections by status, duplicated numbers and locks')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'Lists connections')
            [CompletionResult]::new('disconnect', 'disconnect', [CompletionResultType]::ParameterValue, 'Closes a user''s connection and keeps its credentials')
            [CompletionResult]::new('logout', 'logout', [CompletionResultType]::ParameterValue, 'Logs a user out: unlinks the device and deletes its credentials')
            [CompletionResult]::new('reconnect', 'reconnect', [CompletionResultType]::ParameterValue, 'Logs a user in again with its stored credentials (after a disconnect or a conflict)')
            [CompletionResult]::new('log', 'log', [CompletionResultType]::ParameterValue, 'The audit trail: what happened to whom, and why')
            [CompletionResult]::new('nodes', 'nodes', [CompletionResultType]::ParameterValue, 'Lists the daemons (nodes) sharing the registry; `nodes drain NODE` empties one')
            [CompletionResult]::new('ping', 'ping', [CompletionResultType]::ParameterValue, 'Checks that the daemon answers, and how fast')
            [CompletionResult]::new('doctor', 'doctor', [CompletionResultType]::ParameterValue, 'Checks the daemon, data dir, registry, locks, QR codes, conflicts and credential stores, and says how to fix each problem (exit 3 when one exists)')
            [CompletionResult]::new('watch', 'watch', [CompletionResultType]::ParameterValue, 'Prints events as they happen (state changes, QR codes, messages)')
            [CompletionResult]::new('top', 'top', [CompletionResultType]::ParameterValue, 'A live view of the cluster: nodes, sessions, pairings, rates and webhook lag')
            [CompletionResult]::new('send', 'send', [CompletionResultType]::ParameterValue, 'Sends a text message through a user''s own connection')
            [CompletionResult]::new('users', 'users', [CompletionResultType]::ParameterValue, 'Manages tenant users')
            [CompletionResult]::new('webhooks', 'webhooks', [CompletionResultType]::ParameterValue, 'Webhook delivery: status per endpoint, and retrying dead letters')
            [CompletionResult]::new('sim', 'sim', [CompletionResultType]::ParameterValue, 'Acts as the phone, against a daemon running the simulated backend')
            [CompletionResult]::new('import', 'import', [CompletionResultType]::ParameterValue, 'Adopts an existing deployment: its users and connection rows')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'wasess;help;connect' {
            break
        }
        'wasess;help;check' {
            break
        }
        'wasess;help;detect-conflicts' {
            break
        }
        'wasess;help;resolve-conflicts' {
            break
        }
        'wasess;help;cleanup' {
            break
        }
        'wasess;help;reset-sessions' {
            break
        }
        'wasess;help;stats' {
            break
        }
        'wasess;help;list' {
            break
        }
        'wasess;help;disconnect' {
            break
        }
        'wasess;help;logout' {
            break
        }
        'wasess;help;reconnect' {
            break
        }
        'wasess;help;log' {
            break
        }
        'wasess;help;nodes' {
            [CompletionResult]::new('drain', 'drain', [CompletionResultType]::ParameterValue, 'Hands every session of NODE to the other live nodes, without a new pairing: each one is closed there first, then resumed elsewhere. NODE keeps running but takes no new sessions until it restarts. Refused when no other node is live')
            break
        }
        'wasess;help;nodes;drain' {
            break
        }
        'wasess;help;ping' {
            break
        }
        'wasess;help;doctor' {
            break
        }
        'wasess;help;watch' {
            break
        }
        'wasess;help;top' {
            break
        }
        'wasess;help;send' {
            break
        }
        'wasess;help;users' {
            [CompletionResult]::new('add', 'add', [CompletionResultType]::ParameterValue, 'Registers a user')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'Lists users')
            [CompletionResult]::new('remove', 'remove', [CompletionResultType]::ParameterValue, 'Removes a user: logs out its session and deletes its credentials and row')
            break
        }
        'wasess;help;users;add' {
            break
        }
        'wasess;help;users;list' {
            break
        }
        'wasess;help;users;remove' {
            break
        }
        'wasess;help;webhooks' {
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Pending, failing and dead events per endpoint')
            [CompletionResult]::new('retry', 'retry', [CompletionResultType]::ParameterValue, 'Sends dead-lettered events again')
            break
        }
        'wasess;help;webhooks;status' {
            break
        }
        'wasess;help;webhooks;retry' {
            break
        }
        'wasess;help;sim' {
            [CompletionResult]::new('scan', 'scan', [CompletionResultType]::ParameterValue, 'Scans the user''s pending QR code as this phone number')
            [CompletionResult]::new('event', 'event', [CompletionResultType]::ParameterValue, 'Makes WhatsApp (or the phone) do something to the user''s live session')
            [CompletionResult]::new('message', 'message', [CompletionResultType]::ParameterValue, 'Delivers an incoming text message to the user')
            [CompletionResult]::new('sent', 'sent', [CompletionResultType]::ParameterValue, 'Lists what the user''s session sent')
            break
        }
        'wasess;help;sim;scan' {
            break
        }
        'wasess;help;sim;event' {
            break
        }
        'wasess;help;sim;message' {
            break
        }
        'wasess;help;sim;sent' {
            break
        }
        'wasess;help;import' {
            [CompletionResult]::new('registry', 'registry', [CompletionResultType]::ParameterValue, 'Reads another application''s users and WhatsApp connection rows (a Prisma-shaped whatsapp_connections table, in SQLite or PostgreSQL) into the registry, all or nothing')
            [CompletionResult]::new('baileys', 'baileys', [CompletionResultType]::ParameterValue, 'Adopts devices Baileys linked, from their multi-file auth folders, so each user logs in again without a QR code (`wasess reconnect`, or the daemon''s next start). All or nothing')
            break
        }
        'wasess;help;import;registry' {
            break
        }
        'wasess;help;import;baileys' {
            break
        }
        'wasess;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
