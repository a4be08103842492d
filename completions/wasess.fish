# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_wasess_global_optspecs
    string join \n json socket= connect= token-file= offline data-dir= database-url= h/help V/version
end

function __fish_wasess_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_wasess_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_wasess_using_subcommand
    set -l cmd (__fish_wasess_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c wasess -n "__fish_wasess_needs_command" -l socket -d 'The daemon\'s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]' -r -F
complete -c wasess -n "__fish_wasess_needs_command" -l connect -d 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)' -r
complete -c wasess -n "__fish_wasess_needs_command" -l token-file -d 'The daemon\'s token file, for --connect [default: <data dir>/token]' -r -F
complete -c wasess -n "__fish_wasess_needs_command" -l data-dir -d 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]' -r -F
complete -c wasess -n "__fish_wasess_needs_command" -l database-url -d 'The registry database, for --offline [default: SQLite in the data dir]' -r
complete -c wasess -n "__fish_wasess_needs_command" -l json -d 'Machine output: one JSON document on stdout, nothing else there'
complete -c wasess -n "__fish_wasess_needs_command" -l offline -d 'Work on the registry directly, with the daemon stopped (recovery commands only)'
complete -c wasess -n "__fish_wasess_needs_command" -s h -l help -d 'Print help'
complete -c wasess -n "__fish_wasess_needs_command" -s V -l version -d 'Print version'
complete -c wasess -n "__fish_wasess_needs_command" -f -a "connect" -d 'Link a WhatsApp number to a user: shows the QR code and waits for the scan'
complete -c wasess -n "__fish_wasess_needs_command" -f -a "check" -d 'Says whether a user may connect now, and which rule refuses it'
complete -c wasess -n "__fish_wasess_needs_command" -f -a "detect-conflicts" -d 'Lists phone numbers held by more than one user (exit 3 when any)'
complete -c wasess -n "__fish_wasess_needs_command" -f -a "resolve-conflicts" -d 'Keeps the newest holder of each duplicated number and detaches the others'
complete -c wasess -n "__fish_wasess_needs_command" -f -a "cleanup" -d 'Expires old QR codes and locks, and clears stale sessions and orphan stores now'
complete -c wasess -n "__fish_wasess_needs_command" -f -a "reset-sessions" -d 'Clears sessions: logs out, deletes credentials, frees numbers and locks'
complete -c wasess -n "__fish_wasess_needs_command" -f -a "stats" -d 'Counts connections by status, duplicated numbers and locks'
complete -c wasess -n "__fish_wasess_needs_command" -f -a "list" -d 'Lists connections'
complete -c wasess -n "__fish_wasess_needs_command" -f -a "disconnect" -d 'Closes a user\'s connection and keeps its credentials'
complete -c wasess -n "__fish_wasess_needs_command" -f -a "logout" -d 'Logs a user out: unlinks the device and deletes its credentials'
complete -c wasess -n "__fish_wasess_needs_command" -f -a "reconnect" -d 'Logs a user in again with its stored credentials (after a disconnect or a conflict)'
complete -c wasess -n "__fish_wasess_needs_command" -f -a "log" -d 'The audit trail: what happened to whom, and why'
complete -c wasess -n "__fish_wasess_needs_command" -f -a "nodes" -d 'Lists the daemons (nodes) sharing the registry; `nodes drain NODE` empties one'
complete -c wasess -n "__fish_wasess_needs_command" -f -a "ping" -d 'Checks that the daemon answers, and how fast'
complete -c wasess -n "__fish_wasess_needs_command" -f -a "doctor" -d 'Checks the daemon, data dir, registry, locks, QR codes, conflicts and credential stores, and says how to fix each problem (exit 3 when one exists)'
complete -c wasess -n "__fish_wasess_needs_command" -f -a "watch" -d 'Prints events as they happen (state changes, QR codes, messages)'
complete -c wasess -n "__fish_wasess_needs_command" -f -a "top" -d 'A live view of the cluster: nodes, sessions, pairings, rates and webhook lag'
complete -c wasess -n "__fish_wasess_needs_command" -f -a "send" -d 'Sends a text message through a user\'s own connection'
complete -c wasess -n "__fish_wasess_needs_command" -f -a "users" -d 'Manages tenant users'
complete -c wasess -n "__fish_wasess_needs_command" -f -a "webhooks" -d 'Webhook delivery: status per endpoint, and retrying dead letters'
complete -c wasess -n "__fish_wasess_needs_command" -f -a "sim" -d 'Acts as the phone, against a daemon running the simulated backend'
complete -c wasess -n "__fish_wasess_needs_command" -f -a "import" -d 'Adopts an existing deployment: its users and connection rows'
complete -c wasess -n "__fish_wasess_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c wasess -n "__fish_wasess_using_subcommand connect" -s u -l user -d 'The user\'s key (e.g. alice@example.com)' -r
complete -c wasess -n "__fish_wasess_using_subcommand connect" -l phone -d 'The phone number, for --pair-code (e.g. +57 300 123 4567)' -r
complete -c wasess -n "__fish_wasess_using_subcommand connect" -l qr-file -d 'Also write each QR code to this file (.png or .svg)' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand connect" -l socket -d 'The daemon\'s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand connect" -l connect -d 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)' -r
complete -c wasess -n "__fish_wasess_using_subcommand connect" -l token-file -d 'The daemon\'s token file, for --connect [default: <data dir>/token]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand connect" -l data-dir -d 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand connect" -l database-url -d 'The registry database, for --offline [default: SQLite in the data dir]' -r
complete -c wasess -n "__fish_wasess_using_subcommand connect" -l pair-code -d 'Log in with an 8-character code typed on the phone instead of scanning a QR code'
complete -c wasess -n "__fish_wasess_using_subcommand connect" -l detach -d 'Return after the first QR code; the pairing goes on in the daemon'
complete -c wasess -n "__fish_wasess_using_subcommand connect" -l json -d 'Machine output: one JSON document on stdout, nothing else there'
complete -c wasess -n "__fish_wasess_using_subcommand connect" -l offline -d 'Work on the registry directly, with the daemon stopped (recovery commands only)'
complete -c wasess -n "__fish_wasess_using_subcommand connect" -s h -l help -d 'Print help'
complete -c wasess -n "__fish_wasess_using_subcommand check" -s u -l user -r
complete -c wasess -n "__fish_wasess_using_subcommand check" -l phone -d 'A number known up front (pair-code login): also checks no other user holds it' -r
complete -c wasess -n "__fish_wasess_using_subcommand check" -l socket -d 'The daemon\'s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand check" -l connect -d 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)' -r
complete -c wasess -n "__fish_wasess_using_subcommand check" -l token-file -d 'The daemon\'s token file, for --connect [default: <data dir>/token]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand check" -l data-dir -d 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand check" -l database-url -d 'The registry database, for --offline [default: SQLite in the data dir]' -r
complete -c wasess -n "__fish_wasess_using_subcommand check" -l json -d 'Machine output: one JSON document on stdout, nothing else there'
complete -c wasess -n "__fish_wasess_using_subcommand check" -l offline -d 'Work on the registry directly, with the daemon stopped (recovery commands only)'
complete -c wasess -n "__fish_wasess_using_subcommand check" -s h -l help -d 'Print help'
complete -c wasess -n "__fish_wasess_using_subcommand detect-conflicts" -l socket -d 'The daemon\'s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand detect-conflicts" -l connect -d 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)' -r
complete -c wasess -n "__fish_wasess_using_subcommand detect-conflicts" -l token-file -d 'The daemon\'s token file, for --connect [default: <data dir>/token]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand detect-conflicts" -l data-dir -d 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand detect-conflicts" -l database-url -d 'The registry database, for --offline [default: SQLite in the data dir]' -r
complete -c wasess -n "__fish_wasess_using_subcommand detect-conflicts" -l json -d 'Machine output: one JSON document on stdout, nothing else there'
complete -c wasess -n "__fish_wasess_using_subcommand detect-conflicts" -l offline -d 'Work on the registry directly, with the daemon stopped (recovery commands only)'
complete -c wasess -n "__fish_wasess_using_subcommand detect-conflicts" -s h -l help -d 'Print help'
complete -c wasess -n "__fish_wasess_using_subcommand resolve-conflicts" -l phone -d 'Only this number' -r
complete -c wasess -n "__fish_wasess_using_subcommand resolve-conflicts" -l socket -d 'The daemon\'s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand resolve-conflicts" -l connect -d 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)' -r
complete -c wasess -n "__fish_wasess_using_subcommand resolve-conflicts" -l token-file -d 'The daemon\'s token file, for --connect [default: <data dir>/token]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand resolve-conflicts" -l data-dir -d 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand resolve-conflicts" -l database-url -d 'The registry database, for --offline [default: SQLite in the data dir]' -r
complete -c wasess -n "__fish_wasess_using_subcommand resolve-conflicts" -l dry-run -d 'Show what would change, change nothing'
complete -c wasess -n "__fish_wasess_using_subcommand resolve-conflicts" -l json -d 'Machine output: one JSON document on stdout, nothing else there'
complete -c wasess -n "__fish_wasess_using_subcommand resolve-conflicts" -l offline -d 'Work on the registry directly, with the daemon stopped (recovery commands only)'
complete -c wasess -n "__fish_wasess_using_subcommand resolve-conflicts" -s h -l help -d 'Print help'
complete -c wasess -n "__fish_wasess_using_subcommand cleanup" -l socket -d 'The daemon\'s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand cleanup" -l connect -d 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)' -r
complete -c wasess -n "__fish_wasess_using_subcommand cleanup" -l token-file -d 'The daemon\'s token file, for --connect [default: <data dir>/token]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand cleanup" -l data-dir -d 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand cleanup" -l database-url -d 'The registry database, for --offline [default: SQLite in the data dir]' -r
complete -c wasess -n "__fish_wasess_using_subcommand cleanup" -l dry-run -d 'Show what would be cleaned, change nothing'
complete -c wasess -n "__fish_wasess_using_subcommand cleanup" -l json -d 'Machine output: one JSON document on stdout, nothing else there'
complete -c wasess -n "__fish_wasess_using_subcommand cleanup" -l offline -d 'Work on the registry directly, with the daemon stopped (recovery commands only)'
complete -c wasess -n "__fish_wasess_using_subcommand cleanup" -s h -l help -d 'Print help'
complete -c wasess -n "__fish_wasess_using_subcommand reset-sessions" -s u -l user -d 'Reset this user only' -r
complete -c wasess -n "__fish_wasess_using_subcommand reset-sessions" -l socket -d 'The daemon\'s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand reset-sessions" -l connect -d 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)' -r
complete -c wasess -n "__fish_wasess_using_subcommand reset-sessions" -l token-file -d 'The daemon\'s token file, for --connect [default: <data dir>/token]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand reset-sessions" -l data-dir -d 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand reset-sessions" -l database-url -d 'The registry database, for --offline [default: SQLite in the data dir]' -r
complete -c wasess -n "__fish_wasess_using_subcommand reset-sessions" -l all -d 'Reset every user'
complete -c wasess -n "__fish_wasess_using_subcommand reset-sessions" -s y -l yes -d 'Do not ask for confirmation (needed for --all without a terminal)'
complete -c wasess -n "__fish_wasess_using_subcommand reset-sessions" -l json -d 'Machine output: one JSON document on stdout, nothing else there'
complete -c wasess -n "__fish_wasess_using_subcommand reset-sessions" -l offline -d 'Work on the registry directly, with the daemon stopped (recovery commands only)'
complete -c wasess -n "__fish_wasess_using_subcommand reset-sessions" -s h -l help -d 'Print help'
complete -c wasess -n "__fish_wasess_using_subcommand stats" -l socket -d 'The daemon\'s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand stats" -l connect -d 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)' -r
complete -c wasess -n "__fish_wasess_using_subcommand stats" -l token-file -d 'The daemon\'s token file, for --connect [default: <data dir>/token]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand stats" -l data-dir -d 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand stats" -l database-url -d 'The registry database, for --offline [default: SQLite in the data dir]' -r
complete -c wasess -n "__fish_wasess_using_subcommand stats" -l json -d 'Machine output: one JSON document on stdout, nothing else there'
complete -c wasess -n "__fish_wasess_using_subcommand stats" -l offline -d 'Work on the registry directly, with the daemon stopped (recovery commands only)'
complete -c wasess -n "__fish_wasess_using_subcommand stats" -s h -l help -d 'Print help'
complete -c wasess -n "__fish_wasess_using_subcommand list" -l status -d 'Only connections in this status' -r
complete -c wasess -n "__fish_wasess_using_subcommand list" -l node -d 'Only connections owned by this node' -r
complete -c wasess -n "__fish_wasess_using_subcommand list" -l limit -d 'At most this many rows' -r
complete -c wasess -n "__fish_wasess_using_subcommand list" -l socket -d 'The daemon\'s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand list" -l connect -d 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)' -r
complete -c wasess -n "__fish_wasess_using_subcommand list" -l token-file -d 'The daemon\'s token file, for --connect [default: <data dir>/token]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand list" -l data-dir -d 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand list" -l database-url -d 'The registry database, for --offline [default: SQLite in the data dir]' -r
complete -c wasess -n "__fish_wasess_using_subcommand list" -l json -d 'Machine output: one JSON document on stdout, nothing else there'
complete -c wasess -n "__fish_wasess_using_subcommand list" -l offline -d 'Work on the registry directly, with the daemon stopped (recovery commands only)'
complete -c wasess -n "__fish_wasess_using_subcommand list" -s h -l help -d 'Print help'
complete -c wasess -n "__fish_wasess_using_subcommand disconnect" -s u -l user -d 'The user\'s key (e.g. alice@example.com)' -r
complete -c wasess -n "__fish_wasess_using_subcommand disconnect" -l socket -d 'The daemon\'s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand disconnect" -l connect -d 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)' -r
complete -c wasess -n "__fish_wasess_using_subcommand disconnect" -l token-file -d 'The daemon\'s token file, for --connect [default: <data dir>/token]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand disconnect" -l data-dir -d 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand disconnect" -l database-url -d 'The registry database, for --offline [default: SQLite in the data dir]' -r
complete -c wasess -n "__fish_wasess_using_subcommand disconnect" -l json -d 'Machine output: one JSON document on stdout, nothing else there'
complete -c wasess -n "__fish_wasess_using_subcommand disconnect" -l offline -d 'Work on the registry directly, with the daemon stopped (recovery commands only)'
complete -c wasess -n "__fish_wasess_using_subcommand disconnect" -s h -l help -d 'Print help'
complete -c wasess -n "__fish_wasess_using_subcommand logout" -s u -l user -d 'The user\'s key (e.g. alice@example.com)' -r
complete -c wasess -n "__fish_wasess_using_subcommand logout" -l socket -d 'The daemon\'s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand logout" -l connect -d 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)' -r
complete -c wasess -n "__fish_wasess_using_subcommand logout" -l token-file -d 'The daemon\'s token file, for --connect [default: <data dir>/token]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand logout" -l data-dir -d 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand logout" -l database-url -d 'The registry database, for --offline [default: SQLite in the data dir]' -r
complete -c wasess -n "__fish_wasess_using_subcommand logout" -l json -d 'Machine output: one JSON document on stdout, nothing else there'
complete -c wasess -n "__fish_wasess_using_subcommand logout" -l offline -d 'Work on the registry directly, with the daemon stopped (recovery commands only)'
complete -c wasess -n "__fish_wasess_using_subcommand logout" -s h -l help -d 'Print help'
complete -c wasess -n "__fish_wasess_using_subcommand reconnect" -s u -l user -d 'The user\'s key (e.g. alice@example.com)' -r
complete -c wasess -n "__fish_wasess_using_subcommand reconnect" -l socket -d 'The daemon\'s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand reconnect" -l connect -d 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)' -r
complete -c wasess -n "__fish_wasess_using_subcommand reconnect" -l token-file -d 'The daemon\'s token file, for --connect [default: <data dir>/token]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand reconnect" -l data-dir -d 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand reconnect" -l database-url -d 'The registry database, for --offline [default: SQLite in the data dir]' -r
complete -c wasess -n "__fish_wasess_using_subcommand reconnect" -l json -d 'Machine output: one JSON document on stdout, nothing else there'
complete -c wasess -n "__fish_wasess_using_subcommand reconnect" -l offline -d 'Work on the registry directly, with the daemon stopped (recovery commands only)'
complete -c wasess -n "__fish_wasess_using_subcommand reconnect" -s h -l help -d 'Print help'
complete -c wasess -n "__fish_wasess_using_subcommand log" -s u -l user -d 'Only this user\'s events' -r
complete -c wasess -n "__fish_wasess_using_subcommand log" -l since -d 'Only events this recent (e.g. 30m, 2h, 7d)' -r
complete -c wasess -n "__fish_wasess_using_subcommand log" -l limit -d 'At most this many events (the newest)' -r
complete -c wasess -n "__fish_wasess_using_subcommand log" -l socket -d 'The daemon\'s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand log" -l connect -d 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)' -r
complete -c wasess -n "__fish_wasess_using_subcommand log" -l token-file -d 'The daemon\'s token file, for --connect [default: <data dir>/token]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand log" -l data-dir -d 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand log" -l database-url -d 'The registry database, for --offline [default: SQLite in the data dir]' -r
complete -c wasess -n "__fish_wasess_using_subcommand log" -l json -d 'Machine output: one JSON document on stdout, nothing else there'
complete -c wasess -n "__fish_wasess_using_subcommand log" -l offline -d 'Work on the registry directly, with the daemon stopped (recovery commands only)'
complete -c wasess -n "__fish_wasess_using_subcommand log" -s h -l help -d 'Print help'
complete -c wasess -n "__fish_wasess_using_subcommand nodes; and not __fish_seen_subcommand_from drain help" -l socket -d 'The daemon\'s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand nodes; and not __fish_seen_subcommand_from drain help" -l connect -d 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)' -r
complete -c wasess -n "__fish_wasess_using_subcommand nodes; and not __fish_seen_subcommand_from drain help" -l token-file -d 'The daemon\'s token file, for --connect [default: <data dir>/token]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand nodes; and not __fish_seen_subcommand_from drain help" -l data-dir -d 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand nodes; and not __fish_seen_subcommand_from drain help" -l database-url -d 'The registry database, for --offline [default: SQLite in the data dir]' -r
complete -c wasess -n "__fish_wasess_using_subcommand nodes; and not __fish_seen_subcommand_from drain help" -l json -d 'Machine output: one JSON document on stdout, nothing else there'
complete -c wasess -n "__fish_wasess_using_subcommand nodes; and not __fish_seen_subcommand_from drain help" -l offline -d 'Work on the registry directly, with the daemon stopped (recovery commands only)'
complete -c wasess -n "__fish_wasess_using_subcommand nodes; and not __fish_seen_subcommand_from drain help" -s h -l help -d 'Print help'
complete -c wasess -n "__fish_wasess_using_subcommand nodes; and not __fish_seen_subcommand_from drain help" -f -a "drain" -d 'Hands every session of NODE to the other live nodes, without a new pairing: each one is closed there first, then resumed elsewhere. NODE keeps running but takes no new sessions until it restarts. Refused when no other node is live'
complete -c wasess -n "__fish_wasess_using_subcommand nodes; and not __fish_seen_subcommand_from drain help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c wasess -n "__fish_wasess_using_subcommand nodes; and __fish_seen_subcommand_from drain" -l timeout -d 'Give up waiting after this long (exit 6); the drain itself goes on' -r
complete -c wasess -n "__fish_wasess_using_subcommand nodes; and __fish_seen_subcommand_from drain" -l socket -d 'The daemon\'s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand nodes; and __fish_seen_subcommand_from drain" -l connect -d 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)' -r
complete -c wasess -n "__fish_wasess_using_subcommand nodes; and __fish_seen_subcommand_from drain" -l token-file -d 'The daemon\'s token file, for --connect [default: <data dir>/token]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand nodes; and __fish_seen_subcommand_from drain" -l data-dir -d 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand nodes; and __fish_seen_subcommand_from drain" -l database-url -d 'The registry database, for --offline [default: SQLite in the data dir]' -r
complete -c wasess -n "__fish_wasess_using_subcommand nodes; and __fish_seen_subcommand_from drain" -l no-wait -d 'Return once the drain is requested, without waiting for it to finish'
complete -c wasess -n "__fish_wasess_using_subcommand nodes; and __fish_seen_subcommand_from drain" -l json -d 'Machine output: one JSON document on stdout, nothing else there'
complete -c wasess -n "__fish_wasess_using_subcommand nodes; and __fish_seen_subcommand_from drain" -l offline -d 'Work on the registry directly, with the daemon stopped (recovery commands only)'
complete -c wasess -n "__fish_wasess_using_subcommand nodes; and __fish_seen_subcommand_from drain" -s h -l help -d 'Print help'
complete -c wasess -n "__fish_wasess_using_subcommand nodes; and __fish_seen_subcommand_from help" -f -a "drain" -d 'Hands every session of NODE to the other live nodes, without a new pairing: each one is closed there first, then resumed elsewhere. NODE keeps running but takes no new sessions until it restarts. Refused when no other node is live'
complete -c wasess -n "__fish_wasess_using_subcommand nodes; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c wasess -n "__fish_wasess_using_subcommand ping" -l socket -d 'The daemon\'s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand ping" -l connect -d 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)' -r
complete -c wasess -n "__fish_wasess_using_subcommand ping" -l token-file -d 'The daemon\'s token file, for --connect [default: <data dir>/token]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand ping" -l data-dir -d 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand ping" -l database-url -d 'The registry database, for --offline [default: SQLite in the data dir]' -r
complete -c wasess -n "__fish_wasess_using_subcommand ping" -l json -d 'Machine output: one JSON document on stdout, nothing else there'
complete -c wasess -n "__fish_wasess_using_subcommand ping" -l offline -d 'Work on the registry directly, with the daemon stopped (recovery commands only)'
complete -c wasess -n "__fish_wasess_using_subcommand ping" -s h -l help -d 'Print help'
complete -c wasess -n "__fish_wasess_using_subcommand doctor" -l socket -d 'The daemon\'s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand doctor" -l connect -d 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)' -r
complete -c wasess -n "__fish_wasess_using_subcommand doctor" -l token-file -d 'The daemon\'s token file, for --connect [default: <data dir>/token]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand doctor" -l data-dir -d 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand doctor" -l database-url -d 'The registry database, for --offline [default: SQLite in the data dir]' -r
complete -c wasess -n "__fish_wasess_using_subcommand doctor" -l json -d 'Machine output: one JSON document on stdout, nothing else there'
complete -c wasess -n "__fish_wasess_using_subcommand doctor" -l offline -d 'Work on the registry directly, with the daemon stopped (recovery commands only)'
complete -c wasess -n "__fish_wasess_using_subcommand doctor" -s h -l help -d 'Print help'
complete -c wasess -n "__fish_wasess_using_subcommand watch" -s u -l user -d 'Only this user\'s events' -r
complete -c wasess -n "__fish_wasess_using_subcommand watch" -l since -d 'Resume after this event id (prints what was missed first)' -r
complete -c wasess -n "__fish_wasess_using_subcommand watch" -l kind -d 'Only these kinds (repeatable)' -r
complete -c wasess -n "__fish_wasess_using_subcommand watch" -l socket -d 'The daemon\'s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand watch" -l connect -d 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)' -r
complete -c wasess -n "__fish_wasess_using_subcommand watch" -l token-file -d 'The daemon\'s token file, for --connect [default: <data dir>/token]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand watch" -l data-dir -d 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand watch" -l database-url -d 'The registry database, for --offline [default: SQLite in the data dir]' -r
complete -c wasess -n "__fish_wasess_using_subcommand watch" -l json -d 'Machine output: one JSON document on stdout, nothing else there'
complete -c wasess -n "__fish_wasess_using_subcommand watch" -l offline -d 'Work on the registry directly, with the daemon stopped (recovery commands only)'
complete -c wasess -n "__fish_wasess_using_subcommand watch" -s h -l help -d 'Print help'
complete -c wasess -n "__fish_wasess_using_subcommand top" -l interval -d 'How often to redraw' -r
complete -c wasess -n "__fish_wasess_using_subcommand top" -l count -d 'Stop after this many frames [default: until Ctrl-C]' -r
complete -c wasess -n "__fish_wasess_using_subcommand top" -l socket -d 'The daemon\'s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand top" -l connect -d 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)' -r
complete -c wasess -n "__fish_wasess_using_subcommand top" -l token-file -d 'The daemon\'s token file, for --connect [default: <data dir>/token]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand top" -l data-dir -d 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand top" -l database-url -d 'The registry database, for --offline [default: SQLite in the data dir]' -r
complete -c wasess -n "__fish_wasess_using_subcommand top" -l json -d 'Machine output: one JSON document on stdout, nothing else there'
complete -c wasess -n "__fish_wasess_using_subcommand top" -l offline -d 'Work on the registry directly, with the daemon stopped (recovery commands only)'
complete -c wasess -n "__fish_wasess_using_subcommand top" -s h -l help -d 'Print help'
complete -c wasess -n "__fish_wasess_using_subcommand send" -s u -l user -r
complete -c wasess -n "__fish_wasess_using_subcommand send" -l to -d 'The recipient\'s number' -r
complete -c wasess -n "__fish_wasess_using_subcommand send" -l text -d 'The text to send' -r
complete -c wasess -n "__fish_wasess_using_subcommand send" -l idempotency-key -d 'A key for this message (1-128 characters): repeating the command with the same key returns the first message id and sends nothing' -r
complete -c wasess -n "__fish_wasess_using_subcommand send" -l socket -d 'The daemon\'s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand send" -l connect -d 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)' -r
complete -c wasess -n "__fish_wasess_using_subcommand send" -l token-file -d 'The daemon\'s token file, for --connect [default: <data dir>/token]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand send" -l data-dir -d 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand send" -l database-url -d 'The registry database, for --offline [default: SQLite in the data dir]' -r
complete -c wasess -n "__fish_wasess_using_subcommand send" -l json -d 'Machine output: one JSON document on stdout, nothing else there'
complete -c wasess -n "__fish_wasess_using_subcommand send" -l offline -d 'Work on the registry directly, with the daemon stopped (recovery commands only)'
complete -c wasess -n "__fish_wasess_using_subcommand send" -s h -l help -d 'Print help'
complete -c wasess -n "__fish_wasess_using_subcommand users; and not __fish_seen_subcommand_from add list remove help" -l socket -d 'The daemon\'s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand users; and not __fish_seen_subcommand_from add list remove help" -l connect -d 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)' -r
complete -c wasess -n "__fish_wasess_using_subcommand users; and not __fish_seen_subcommand_from add list remove help" -l token-file -d 'The daemon\'s token file, for --connect [default: <data dir>/token]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand users; and not __fish_seen_subcommand_from add list remove help" -l data-dir -d 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand users; and not __fish_seen_subcommand_from add list remove help" -l database-url -d 'The registry database, for --offline [default: SQLite in the data dir]' -r
complete -c wasess -n "__fish_wasess_using_subcommand users; and not __fish_seen_subcommand_from add list remove help" -l json -d 'Machine output: one JSON document on stdout, nothing else there'
complete -c wasess -n "__fish_wasess_using_subcommand users; and not __fish_seen_subcommand_from add list remove help" -l offline -d 'Work on the registry directly, with the daemon stopped (recovery commands only)'
complete -c wasess -n "__fish_wasess_using_subcommand users; and not __fish_seen_subcommand_from add list remove help" -s h -l help -d 'Print help'
complete -c wasess -n "__fish_wasess_using_subcommand users; and not __fish_seen_subcommand_from add list remove help" -f -a "add" -d 'Registers a user'
complete -c wasess -n "__fish_wasess_using_subcommand users; and not __fish_seen_subcommand_from add list remove help" -f -a "list" -d 'Lists users'
complete -c wasess -n "__fish_wasess_using_subcommand users; and not __fish_seen_subcommand_from add list remove help" -f -a "remove" -d 'Removes a user: logs out its session and deletes its credentials and row'
complete -c wasess -n "__fish_wasess_using_subcommand users; and not __fish_seen_subcommand_from add list remove help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c wasess -n "__fish_wasess_using_subcommand users; and __fish_seen_subcommand_from add" -l socket -d 'The daemon\'s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand users; and __fish_seen_subcommand_from add" -l connect -d 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)' -r
complete -c wasess -n "__fish_wasess_using_subcommand users; and __fish_seen_subcommand_from add" -l token-file -d 'The daemon\'s token file, for --connect [default: <data dir>/token]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand users; and __fish_seen_subcommand_from add" -l data-dir -d 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand users; and __fish_seen_subcommand_from add" -l database-url -d 'The registry database, for --offline [default: SQLite in the data dir]' -r
complete -c wasess -n "__fish_wasess_using_subcommand users; and __fish_seen_subcommand_from add" -l json -d 'Machine output: one JSON document on stdout, nothing else there'
complete -c wasess -n "__fish_wasess_using_subcommand users; and __fish_seen_subcommand_from add" -l offline -d 'Work on the registry directly, with the daemon stopped (recovery commands only)'
complete -c wasess -n "__fish_wasess_using_subcommand users; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help'
complete -c wasess -n "__fish_wasess_using_subcommand users; and __fish_seen_subcommand_from list" -l limit -r
complete -c wasess -n "__fish_wasess_using_subcommand users; and __fish_seen_subcommand_from list" -l socket -d 'The daemon\'s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand users; and __fish_seen_subcommand_from list" -l connect -d 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)' -r
complete -c wasess -n "__fish_wasess_using_subcommand users; and __fish_seen_subcommand_from list" -l token-file -d 'The daemon\'s token file, for --connect [default: <data dir>/token]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand users; and __fish_seen_subcommand_from list" -l data-dir -d 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand users; and __fish_seen_subcommand_from list" -l database-url -d 'The registry database, for --offline [default: SQLite in the data dir]' -r
complete -c wasess -n "__fish_wasess_using_subcommand users; and __fish_seen_subcommand_from list" -l json -d 'Machine output: one JSON document on stdout, nothing else there'
complete -c wasess -n "__fish_wasess_using_subcommand users; and __fish_seen_subcommand_from list" -l offline -d 'Work on the registry directly, with the daemon stopped (recovery commands only)'
complete -c wasess -n "__fish_wasess_using_subcommand users; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c wasess -n "__fish_wasess_using_subcommand users; and __fish_seen_subcommand_from remove" -l socket -d 'The daemon\'s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand users; and __fish_seen_subcommand_from remove" -l connect -d 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)' -r
complete -c wasess -n "__fish_wasess_using_subcommand users; and __fish_seen_subcommand_from remove" -l token-file -d 'The daemon\'s token file, for --connect [default: <data dir>/token]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand users; and __fish_seen_subcommand_from remove" -l data-dir -d 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand users; and __fish_seen_subcommand_from remove" -l database-url -d 'The registry database, for --offline [default: SQLite in the data dir]' -r
complete -c wasess -n "__fish_wasess_using_subcommand users; and __fish_seen_subcommand_from remove" -l json -d 'Machine output: one JSON document on stdout, nothing else there'
complete -c wasess -n "__fish_wasess_using_subcommand users; and __fish_seen_subcommand_from remove" -l offline -d 'Work on the registry directly, with the daemon stopped (recovery commands only)'
complete -c wasess -n "__fish_wasess_using_subcommand users; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help'
complete -c wasess -n "__fish_wasess_using_subcommand users; and __fish_seen_subcommand_from help" -f -a "add" -d 'Registers a user'
complete -c wasess -n "__fish_wasess_using_subcommand users; and __fish_seen_subcommand_from help" -f -a "list" -d 'Lists users'
complete -c wasess -n "__fish_wasess_using_subcommand users; and __fish_seen_subcommand_from help" -f -a "remove" -d 'Removes a user: logs out its session and deletes its credentials and row'
complete -c wasess -n "__fish_wasess_using_subcommand users; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c wasess -n "__fish_wasess_using_subcommand webhooks; and not __fish_seen_subcommand_from status retry help" -l socket -d 'The daemon\'s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand webhooks; and not __fish_seen_subcommand_from status retry help" -l connect -d 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)' -r
complete -c wasess -n "__fish_wasess_using_subcommand webhooks; and not __fish_seen_subcommand_from status retry help" -l token-file -d 'The daemon\'s token file, for --connect [default: <data dir>/token]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand webhooks; and not __fish_seen_subcommand_from status retry help" -l data-dir -d 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand webhooks; and not __fish_seen_subcommand_from status retry help" -l database-url -d 'The registry database, for --offline [default: SQLite in the data dir]' -r
complete -c wasess -n "__fish_wasess_using_subcommand webhooks; and not __fish_seen_subcommand_from status retry help" -l json -d 'Machine output: one JSON document on stdout, nothing else there'
complete -c wasess -n "__fish_wasess_using_subcommand webhooks; and not __fish_seen_subcommand_from status retry help" -l offline -d 'Work on the registry directly, with the daemon stopped (recovery commands only)'
complete -c wasess -n "__fish_wasess_using_subcommand webhooks; and not __fish_seen_subcommand_from status retry help" -s h -l help -d 'Print help'
complete -c wasess -n "__fish_wasess_using_subcommand webhooks; and not __fish_seen_subcommand_from status retry help" -f -a "status" -d 'Pending, failing and dead events per endpoint'
complete -c wasess -n "__fish_wasess_using_subcommand webhooks; and not __fish_seen_subcommand_from status retry help" -f -a "retry" -d 'Sends dead-lettered events again'
complete -c wasess -n "__fish_wasess_using_subcommand webhooks; and not __fish_seen_subcommand_from status retry help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c wasess -n "__fish_wasess_using_subcommand webhooks; and __fish_seen_subcommand_from status" -l socket -d 'The daemon\'s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand webhooks; and __fish_seen_subcommand_from status" -l connect -d 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)' -r
complete -c wasess -n "__fish_wasess_using_subcommand webhooks; and __fish_seen_subcommand_from status" -l token-file -d 'The daemon\'s token file, for --connect [default: <data dir>/token]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand webhooks; and __fish_seen_subcommand_from status" -l data-dir -d 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand webhooks; and __fish_seen_subcommand_from status" -l database-url -d 'The registry database, for --offline [default: SQLite in the data dir]' -r
complete -c wasess -n "__fish_wasess_using_subcommand webhooks; and __fish_seen_subcommand_from status" -l json -d 'Machine output: one JSON document on stdout, nothing else there'
complete -c wasess -n "__fish_wasess_using_subcommand webhooks; and __fish_seen_subcommand_from status" -l offline -d 'Work on the registry directly, with the daemon stopped (recovery commands only)'
complete -c wasess -n "__fish_wasess_using_subcommand webhooks; and __fish_seen_subcommand_from status" -s h -l help -d 'Print help'
complete -c wasess -n "__fish_wasess_using_subcommand webhooks; and __fish_seen_subcommand_from retry" -l endpoint -d 'Only this endpoint\'s' -r
complete -c wasess -n "__fish_wasess_using_subcommand webhooks; and __fish_seen_subcommand_from retry" -l socket -d 'The daemon\'s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand webhooks; and __fish_seen_subcommand_from retry" -l connect -d 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)' -r
complete -c wasess -n "__fish_wasess_using_subcommand webhooks; and __fish_seen_subcommand_from retry" -l token-file -d 'The daemon\'s token file, for --connect [default: <data dir>/token]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand webhooks; and __fish_seen_subcommand_from retry" -l data-dir -d 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand webhooks; and __fish_seen_subcommand_from retry" -l database-url -d 'The registry database, for --offline [default: SQLite in the data dir]' -r
complete -c wasess -n "__fish_wasess_using_subcommand webhooks; and __fish_seen_subcommand_from retry" -l json -d 'Machine output: one JSON document on stdout, nothing else there'
complete -c wasess -n "__fish_wasess_using_subcommand webhooks; and __fish_seen_subcommand_from retry" -l offline -d 'Work on the registry directly, with the daemon stopped (recovery commands only)'
complete -c wasess -n "__fish_wasess_using_subcommand webhooks; and __fish_seen_subcommand_from retry" -s h -l help -d 'Print help'
complete -c wasess -n "__fish_wasess_using_subcommand webhooks; and __fish_seen_subcommand_from help" -f -a "status" -d 'Pending, failing and dead events per endpoint'
complete -c wasess -n "__fish_wasess_using_subcommand webhooks; and __fish_seen_subcommand_from help" -f -a "retry" -d 'Sends dead-lettered events again'
complete -c wasess -n "__fish_wasess_using_subcommand webhooks; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c wasess -n "__fish_wasess_using_subcommand sim; and not __fish_seen_subcommand_from scan event message sent help" -l socket -d 'The daemon\'s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand sim; and not __fish_seen_subcommand_from scan event message sent help" -l connect -d 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)' -r
complete -c wasess -n "__fish_wasess_using_subcommand sim; and not __fish_seen_subcommand_from scan event message sent help" -l token-file -d 'The daemon\'s token file, for --connect [default: <data dir>/token]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand sim; and not __fish_seen_subcommand_from scan event message sent help" -l data-dir -d 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand sim; and not __fish_seen_subcommand_from scan event message sent help" -l database-url -d 'The registry database, for --offline [default: SQLite in the data dir]' -r
complete -c wasess -n "__fish_wasess_using_subcommand sim; and not __fish_seen_subcommand_from scan event message sent help" -l json -d 'Machine output: one JSON document on stdout, nothing else there'
complete -c wasess -n "__fish_wasess_using_subcommand sim; and not __fish_seen_subcommand_from scan event message sent help" -l offline -d 'Work on the registry directly, with the daemon stopped (recovery commands only)'
complete -c wasess -n "__fish_wasess_using_subcommand sim; and not __fish_seen_subcommand_from scan event message sent help" -s h -l help -d 'Print help'
complete -c wasess -n "__fish_wasess_using_subcommand sim; and not __fish_seen_subcommand_from scan event message sent help" -f -a "scan" -d 'Scans the user\'s pending QR code as this phone number'
complete -c wasess -n "__fish_wasess_using_subcommand sim; and not __fish_seen_subcommand_from scan event message sent help" -f -a "event" -d 'Makes WhatsApp (or the phone) do something to the user\'s live session'
complete -c wasess -n "__fish_wasess_using_subcommand sim; and not __fish_seen_subcommand_from scan event message sent help" -f -a "message" -d 'Delivers an incoming text message to the user'
complete -c wasess -n "__fish_wasess_using_subcommand sim; and not __fish_seen_subcommand_from scan event message sent help" -f -a "sent" -d 'Lists what the user\'s session sent'
complete -c wasess -n "__fish_wasess_using_subcommand sim; and not __fish_seen_subcommand_from scan event message sent help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c wasess -n "__fish_wasess_using_subcommand sim; and __fish_seen_subcommand_from scan" -s u -l user -r
complete -c wasess -n "__fish_wasess_using_subcommand sim; and __fish_seen_subcommand_from scan" -l phone -r
complete -c wasess -n "__fish_wasess_using_subcommand sim; and __fish_seen_subcommand_from scan" -l socket -d 'The daemon\'s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand sim; and __fish_seen_subcommand_from scan" -l connect -d 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)' -r
complete -c wasess -n "__fish_wasess_using_subcommand sim; and __fish_seen_subcommand_from scan" -l token-file -d 'The daemon\'s token file, for --connect [default: <data dir>/token]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand sim; and __fish_seen_subcommand_from scan" -l data-dir -d 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand sim; and __fish_seen_subcommand_from scan" -l database-url -d 'The registry database, for --offline [default: SQLite in the data dir]' -r
complete -c wasess -n "__fish_wasess_using_subcommand sim; and __fish_seen_subcommand_from scan" -l json -d 'Machine output: one JSON document on stdout, nothing else there'
complete -c wasess -n "__fish_wasess_using_subcommand sim; and __fish_seen_subcommand_from scan" -l offline -d 'Work on the registry directly, with the daemon stopped (recovery commands only)'
complete -c wasess -n "__fish_wasess_using_subcommand sim; and __fish_seen_subcommand_from scan" -s h -l help -d 'Print help'
complete -c wasess -n "__fish_wasess_using_subcommand sim; and __fish_seen_subcommand_from event" -s u -l user -r
complete -c wasess -n "__fish_wasess_using_subcommand sim; and __fish_seen_subcommand_from event" -l socket -d 'The daemon\'s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand sim; and __fish_seen_subcommand_from event" -l connect -d 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)' -r
complete -c wasess -n "__fish_wasess_using_subcommand sim; and __fish_seen_subcommand_from event" -l token-file -d 'The daemon\'s token file, for --connect [default: <data dir>/token]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand sim; and __fish_seen_subcommand_from event" -l data-dir -d 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand sim; and __fish_seen_subcommand_from event" -l database-url -d 'The registry database, for --offline [default: SQLite in the data dir]' -r
complete -c wasess -n "__fish_wasess_using_subcommand sim; and __fish_seen_subcommand_from event" -l json -d 'Machine output: one JSON document on stdout, nothing else there'
complete -c wasess -n "__fish_wasess_using_subcommand sim; and __fish_seen_subcommand_from event" -l offline -d 'Work on the registry directly, with the daemon stopped (recovery commands only)'
complete -c wasess -n "__fish_wasess_using_subcommand sim; and __fish_seen_subcommand_from event" -s h -l help -d 'Print help'
complete -c wasess -n "__fish_wasess_using_subcommand sim; and __fish_seen_subcommand_from message" -s u -l user -r
complete -c wasess -n "__fish_wasess_using_subcommand sim; and __fish_seen_subcommand_from message" -l from -r
complete -c wasess -n "__fish_wasess_using_subcommand sim; and __fish_seen_subcommand_from message" -l text -r
complete -c wasess -n "__fish_wasess_using_subcommand sim; and __fish_seen_subcommand_from message" -l count -d 'How many messages arrive, one after the other (numbered)' -r
complete -c wasess -n "__fish_wasess_using_subcommand sim; and __fish_seen_subcommand_from message" -l socket -d 'The daemon\'s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand sim; and __fish_seen_subcommand_from message" -l connect -d 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)' -r
complete -c wasess -n "__fish_wasess_using_subcommand sim; and __fish_seen_subcommand_from message" -l token-file -d 'The daemon\'s token file, for --connect [default: <data dir>/token]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand sim; and __fish_seen_subcommand_from message" -l data-dir -d 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand sim; and __fish_seen_subcommand_from message" -l database-url -d 'The registry database, for --offline [default: SQLite in the data dir]' -r
complete -c wasess -n "__fish_wasess_using_subcommand sim; and __fish_seen_subcommand_from message" -l json -d 'Machine output: one JSON document on stdout, nothing else there'
complete -c wasess -n "__fish_wasess_using_subcommand sim; and __fish_seen_subcommand_from message" -l offline -d 'Work on the registry directly, with the daemon stopped (recovery commands only)'
complete -c wasess -n "__fish_wasess_using_subcommand sim; and __fish_seen_subcommand_from message" -s h -l help -d 'Print help'
complete -c wasess -n "__fish_wasess_using_subcommand sim; and __fish_seen_subcommand_from sent" -s u -l user -r
complete -c wasess -n "__fish_wasess_using_subcommand sim; and __fish_seen_subcommand_from sent" -l socket -d 'The daemon\'s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand sim; and __fish_seen_subcommand_from sent" -l connect -d 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)' -r
complete -c wasess -n "__fish_wasess_using_subcommand sim; and __fish_seen_subcommand_from sent" -l token-file -d 'The daemon\'s token file, for --connect [default: <data dir>/token]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand sim; and __fish_seen_subcommand_from sent" -l data-dir -d 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand sim; and __fish_seen_subcommand_from sent" -l database-url -d 'The registry database, for --offline [default: SQLite in the data dir]' -r
complete -c wasess -n "__fish_wasess_using_subcommand sim; and __fish_seen_subcommand_from sent" -l json -d 'Machine output: one JSON document on stdout, nothing else there'
complete -c wasess -n "__fish_wasess_using_subcommand sim; and __fish_seen_subcommand_from sent" -l offline -d 'Work on the registry directly, with the daemon stopped (recovery commands only)'
complete -c wasess -n "__fish_wasess_using_subcommand sim; and __fish_seen_subcommand_from sent" -s h -l help -d 'Print help'
complete -c wasess -n "__fish_wasess_using_subcommand sim; and __fish_seen_subcommand_from help" -f -a "scan" -d 'Scans the user\'s pending QR code as this phone number'
complete -c wasess -n "__fish_wasess_using_subcommand sim; and __fish_seen_subcommand_from help" -f -a "event" -d 'Makes WhatsApp (or the phone) do something to the user\'s live session'
complete -c wasess -n "__fish_wasess_using_subcommand sim; and __fish_seen_subcommand_from help" -f -a "message" -d 'Delivers an incoming text message to the user'
complete -c wasess -n "__fish_wasess_using_subcommand sim; and __fish_seen_subcommand_from help" -f -a "sent" -d 'Lists what the user\'s session sent'
complete -c wasess -n "__fish_wasess_using_subcommand sim; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c wasess -n "__fish_wasess_using_subcommand import; and not __fish_seen_subcommand_from registry baileys help" -l socket -d 'The daemon\'s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand import; and not __fish_seen_subcommand_from registry baileys help" -l connect -d 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)' -r
complete -c wasess -n "__fish_wasess_using_subcommand import; and not __fish_seen_subcommand_from registry baileys help" -l token-file -d 'The daemon\'s token file, for --connect [default: <data dir>/token]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand import; and not __fish_seen_subcommand_from registry baileys help" -l data-dir -d 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand import; and not __fish_seen_subcommand_from registry baileys help" -l database-url -d 'The registry database, for --offline [default: SQLite in the data dir]' -r
complete -c wasess -n "__fish_wasess_using_subcommand import; and not __fish_seen_subcommand_from registry baileys help" -l json -d 'Machine output: one JSON document on stdout, nothing else there'
complete -c wasess -n "__fish_wasess_using_subcommand import; and not __fish_seen_subcommand_from registry baileys help" -l offline -d 'Work on the registry directly, with the daemon stopped (recovery commands only)'
complete -c wasess -n "__fish_wasess_using_subcommand import; and not __fish_seen_subcommand_from registry baileys help" -s h -l help -d 'Print help'
complete -c wasess -n "__fish_wasess_using_subcommand import; and not __fish_seen_subcommand_from registry baileys help" -f -a "registry" -d 'Reads another application\'s users and WhatsApp connection rows (a Prisma-shaped whatsapp_connections table, in SQLite or PostgreSQL) into the registry, all or nothing'
complete -c wasess -n "__fish_wasess_using_subcommand import; and not __fish_seen_subcommand_from registry baileys help" -f -a "baileys" -d 'Adopts devices Baileys linked, from their multi-file auth folders, so each user logs in again without a QR code (`wasess reconnect`, or the daemon\'s next start). All or nothing'
complete -c wasess -n "__fish_wasess_using_subcommand import; and not __fish_seen_subcommand_from registry baileys help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c wasess -n "__fish_wasess_using_subcommand import; and __fish_seen_subcommand_from registry" -l from -d 'The application\'s database: sqlite:path/to/dev.db (or a path) or postgres://…' -r
complete -c wasess -n "__fish_wasess_using_subcommand import; and __fish_seen_subcommand_from registry" -l user-key -d 'Key tenants by this column of the users table (e.g. email) instead of the user id' -r
complete -c wasess -n "__fish_wasess_using_subcommand import; and __fish_seen_subcommand_from registry" -l map -d 'Name a column outright, as ROLE=COLUMN (repeatable). Roles: user, phone, status, last_connected_at, created_at, users.id, users.created_at' -r
complete -c wasess -n "__fish_wasess_using_subcommand import; and __fish_seen_subcommand_from registry" -l table -d 'The connections table [default: found by name, e.g. whatsapp_connections]' -r
complete -c wasess -n "__fish_wasess_using_subcommand import; and __fish_seen_subcommand_from registry" -l users-table -d 'The users table [default: found by name, e.g. users or User]' -r
complete -c wasess -n "__fish_wasess_using_subcommand import; and __fish_seen_subcommand_from registry" -l socket -d 'The daemon\'s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand import; and __fish_seen_subcommand_from registry" -l connect -d 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)' -r
complete -c wasess -n "__fish_wasess_using_subcommand import; and __fish_seen_subcommand_from registry" -l token-file -d 'The daemon\'s token file, for --connect [default: <data dir>/token]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand import; and __fish_seen_subcommand_from registry" -l data-dir -d 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand import; and __fish_seen_subcommand_from registry" -l database-url -d 'The registry database, for --offline [default: SQLite in the data dir]' -r
complete -c wasess -n "__fish_wasess_using_subcommand import; and __fish_seen_subcommand_from registry" -l dry-run -d 'Print what would be imported, and the duplicated numbers, and write nothing'
complete -c wasess -n "__fish_wasess_using_subcommand import; and __fish_seen_subcommand_from registry" -l merge -d 'Fill in users that exist here already with nothing of their own (no session, pairing or number); the others are kept as they are'
complete -c wasess -n "__fish_wasess_using_subcommand import; and __fish_seen_subcommand_from registry" -l json -d 'Machine output: one JSON document on stdout, nothing else there'
complete -c wasess -n "__fish_wasess_using_subcommand import; and __fish_seen_subcommand_from registry" -l offline -d 'Work on the registry directly, with the daemon stopped (recovery commands only)'
complete -c wasess -n "__fish_wasess_using_subcommand import; and __fish_seen_subcommand_from registry" -s h -l help -d 'Print help'
complete -c wasess -n "__fish_wasess_using_subcommand import; and __fish_seen_subcommand_from baileys" -l auth-dir -d 'One tenant\'s auth folder (creds.json, pre-key-*, session-*…); needs --user' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand import; and __fish_seen_subcommand_from baileys" -s u -l user -d 'The user whose device --auth-dir holds' -r
complete -c wasess -n "__fish_wasess_using_subcommand import; and __fish_seen_subcommand_from baileys" -l all -d 'A folder of auth folders, one per tenant: each folder\'s name is its user\'s key, unless --users maps it' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand import; and __fish_seen_subcommand_from baileys" -l users -d 'With --all: a file of `FOLDER USER` lines (`#` starts a comment); folders it does not name keep their own name as the user\'s key' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand import; and __fish_seen_subcommand_from baileys" -l socket -d 'The daemon\'s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand import; and __fish_seen_subcommand_from baileys" -l connect -d 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)' -r
complete -c wasess -n "__fish_wasess_using_subcommand import; and __fish_seen_subcommand_from baileys" -l token-file -d 'The daemon\'s token file, for --connect [default: <data dir>/token]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand import; and __fish_seen_subcommand_from baileys" -l data-dir -d 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]' -r -F
complete -c wasess -n "__fish_wasess_using_subcommand import; and __fish_seen_subcommand_from baileys" -l database-url -d 'The registry database, for --offline [default: SQLite in the data dir]' -r
complete -c wasess -n "__fish_wasess_using_subcommand import; and __fish_seen_subcommand_from baileys" -l skip-unpaired -d 'Leave out folders whose device never finished pairing (no `me` in creds.json) instead of refusing the whole import'
complete -c wasess -n "__fish_wasess_using_subcommand import; and __fish_seen_subcommand_from baileys" -l dry-run -d 'Convert and check everything, and write nothing'
complete -c wasess -n "__fish_wasess_using_subcommand import; and __fish_seen_subcommand_from baileys" -l no-reconnect -d 'Leave the imported devices DISCONNECTED (log each in later with `wasess reconnect`) instead of having the daemon log them in (at once, or when it next starts)'
complete -c wasess -n "__fish_wasess_using_subcommand import; and __fish_seen_subcommand_from baileys" -l json -d 'Machine output: one JSON document on stdout, nothing else there'
complete -c wasess -n "__fish_wasess_using_subcommand import; and __fish_seen_subcommand_from baileys" -l offline -d 'Work on the registry directly, with the daemon stopped (recovery commands only)'
complete -c wasess -n "__fish_wasess_using_subcommand import; and __fish_seen_subcommand_from baileys" -s h -l help -d 'Print help'
complete -c wasess -n "__fish_wasess_using_subcommand import; and __fish_seen_subcommand_from help" -f -a "registry" -d 'Reads another application\'s users and WhatsApp connection rows (a Prisma-shaped whatsapp_connections table, in SQLite or PostgreSQL) into the registry, all or nothing'
complete -c wasess -n "__fish_wasess_using_subcommand import; and __fish_seen_subcommand_from help" -f -a "baileys" -d 'Adopts devices Baileys linked, from their multi-file auth folders, so each user logs in again without a QR code (`wasess reconnect`, or the daemon\'s next start). All or nothing'
complete -c wasess -n "__fish_wasess_using_subcommand import; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c wasess -n "__fish_wasess_using_subcommand help; and not __fish_seen_subcommand_from connect check detect-conflicts resolve-conflicts cleanup reset-sessions stats list disconnect logout reconnect log nodes ping doctor watch top send users webhooks sim import help" -f -a "connect" -d 'Link a WhatsApp number to a user: shows the QR code and waits for the scan'
complete -c wasess -n "__fish_wasess_using_subcommand help; and not __fish_seen_subcommand_from connect check detect-conflicts resolve-conflicts cleanup reset-sessions stats list disconnect logout reconnect log nodes ping doctor watch top send users webhooks sim import help" -f -a "check" -d 'Says whether a user may connect now, and which rule refuses it'
complete -c wasess -n "__fish_wasess_using_subcommand help; and not __fish_seen_subcommand_from connect check detect-conflicts resolve-conflicts cleanup reset-sessions stats list disconnect logout reconnect log nodes ping doctor watch top send users webhooks sim import help" -f -a "detect-conflicts" -d 'Lists phone numbers held by more than one user (exit 3 when any)'
complete -c wasess -n "__fish_wasess_using_subcommand help; and not __fish_seen_subcommand_from connect check detect-conflicts resolve-conflicts cleanup reset-sessions stats list disconnect logout reconnect log nodes ping doctor watch top send users webhooks sim import help" -f -a "resolve-conflicts" -d 'Keeps the newest holder of each duplicated number and detaches the others'
complete -c wasess -n "__fish_wasess_using_subcommand help; and not __fish_seen_subcommand_from connect check detect-conflicts resolve-conflicts cleanup reset-sessions stats list disconnect logout reconnect log nodes ping doctor watch top send users webhooks sim import help" -f -a "cleanup" -d 'Expires old QR codes and locks, and clears stale sessions and orphan stores now'
complete -c wasess -n "__fish_wasess_using_subcommand help; and not __fish_seen_subcommand_from connect check detect-conflicts resolve-conflicts cleanup reset-sessions stats list disconnect logout reconnect log nodes ping doctor watch top send users webhooks sim import help" -f -a "reset-sessions" -d 'Clears sessions: logs out, deletes credentials, frees numbers and locks'
complete -c wasess -n "__fish_wasess_using_subcommand help; and not __fish_seen_subcommand_from connect check detect-conflicts resolve-conflicts cleanup reset-sessions stats list disconnect logout reconnect log nodes ping doctor watch top send users webhooks sim import help" -f -a "stats" -d 'Counts connections by status, duplicated numbers and locks'
complete -c wasess -n "__fish_wasess_using_subcommand help; and not __fish_seen_subcommand_from connect check detect-conflicts resolve-conflicts cleanup reset-sessions stats list disconnect logout reconnect log nodes ping doctor watch top send users webhooks sim import help" -f -a "list" -d 'Lists connections'
complete -c wasess -n "__fish_wasess_using_subcommand help; and not __fish_seen_subcommand_from connect check detect-conflicts resolve-conflicts cleanup reset-sessions stats list disconnect logout reconnect log nodes ping doctor watch top send users webhooks sim import help" -f -a "disconnect" -d 'Closes a user\'s connection and keeps its credentials'
complete -c wasess -n "__fish_wasess_using_subcommand help; and not __fish_seen_subcommand_from connect check detect-conflicts resolve-conflicts cleanup reset-sessions stats list disconnect logout reconnect log nodes ping doctor watch top send users webhooks sim import help" -f -a "logout" -d 'Logs a user out: unlinks the device and deletes its credentials'
complete -c wasess -n "__fish_wasess_using_subcommand help; and not __fish_seen_subcommand_from connect check detect-conflicts resolve-conflicts cleanup reset-sessions stats list disconnect logout reconnect log nodes ping doctor watch top send users webhooks sim import help" -f -a "reconnect" -d 'Logs a user in again with its stored credentials (after a disconnect or a conflict)'
complete -c wasess -n "__fish_wasess_using_subcommand help; and not __fish_seen_subcommand_from connect check detect-conflicts resolve-conflicts cleanup reset-sessions stats list disconnect logout reconnect log nodes ping doctor watch top send users webhooks sim import help" -f -a "log" -d 'The audit trail: what happened to whom, and why'
complete -c wasess -n "__fish_wasess_using_subcommand help; and not __fish_seen_subcommand_from connect check detect-conflicts resolve-conflicts cleanup reset-sessions stats list disconnect logout reconnect log nodes ping doctor watch top send users webhooks sim import help" -f -a "nodes" -d 'Lists the daemons (nodes) sharing the registry; `nodes drain NODE` empties one'
complete -c wasess -n "__fish_wasess_using_subcommand help; and not __fish_seen_subcommand_from connect check detect-conflicts resolve-conflicts cleanup reset-sessions stats list disconnect logout reconnect log nodes ping doctor watch top send users webhooks sim import help" -f -a "ping" -d 'Checks that the daemon answers, and how fast'
complete -c wasess -n "__fish_wasess_using_subcommand help; and not __fish_seen_subcommand_from connect check detect-conflicts resolve-conflicts cleanup reset-sessions stats list disconnect logout reconnect log nodes ping doctor watch top send users webhooks sim import help" -f -a "doctor" -d 'Checks the daemon, data dir, registry, locks, QR codes, conflicts and credential stores, and says how to fix each problem (exit 3 when one exists)'
complete -c wasess -n "__fish_wasess_using_subcommand help; and not __fish_seen_subcommand_from connect check detect-conflicts resolve-conflicts cleanup reset-sessions stats list disconnect logout reconnect log nodes ping doctor watch top send users webhooks sim import help" -f -a "watch" -d 'Prints events as they happen (state changes, QR codes, messages)'
complete -c wasess -n "__fish_wasess_using_subcommand help; and not __fish_seen_subcommand_from connect check detect-conflicts resolve-conflicts cleanup reset-sessions stats list disconnect logout reconnect log nodes ping doctor watch top send users webhooks sim import help" -f -a "top" -d 'A live view of the cluster: nodes, sessions, pairings, rates and webhook lag'
complete -c wasess -n "__fish_wasess_using_subcommand help; and not __fish_seen_subcommand_from connect check detect-conflicts resolve-conflicts cleanup reset-sessions stats list disconnect logout reconnect log nodes ping doctor watch top send users webhooks sim import help" -f -a "send" -d 'Sends a text message through a user\'s own connection'
complete -c wasess -n "__fish_wasess_using_subcommand help; and not __fish_seen_subcommand_from connect check detect-conflicts resolve-conflicts cleanup reset-sessions stats list disconnect logout reconnect log nodes ping doctor watch top send users webhooks sim import help" -f -a "users" -d 'Manages tenant users'
complete -c wasess -n "__fish_wasess_using_subcommand help; and not __fish_seen_subcommand_from connect check detect-conflicts resolve-conflicts cleanup reset-sessions stats list disconnect logout reconnect log nodes ping doctor watch top send users webhooks sim import help" -f -a "webhooks" -d 'Webhook delivery: status per endpoint, and retrying dead letters'
complete -c wasess -n "__fish_wasess_using_subcommand help; and not __fish_seen_subcommand_from connect check detect-conflicts resolve-conflicts cleanup reset-sessions stats list disconnect logout reconnect log nodes ping doctor watch top send users webhooks sim import help" -f -a "sim" -d 'Acts as the phone, against a daemon running the simulated backend'
complete -c wasess -n "__fish_wasess_using_subcommand help; and not __fish_seen_subcommand_from connect check detect-conflicts resolve-conflicts cleanup reset-sessions stats list disconnect logout reconnect log nodes ping doctor watch top send users webhooks sim import help" -f -a "import" -d 'Adopts an existing deployment: its users and connection rows'
complete -c wasess -n "__fish_wasess_using_subcommand help; and not __fish_seen_subcommand_from connect check detect-conflicts resolve-conflicts cleanup reset-sessions stats list disconnect logout reconnect log nodes ping doctor watch top send users webhooks sim import help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c wasess -n "__fish_wasess_using_subcommand help; and __fish_seen_subcommand_from nodes" -f -a "drain" -d 'Hands every session of NODE to the other live nodes, without a new pairing: each one is closed there first, then resumed elsewhere. NODE keeps running but takes no new sessions until it restarts. Refused when no other node is live'
complete -c wasess -n "__fish_wasess_using_subcommand help; and __fish_seen_subcommand_from users" -f -a "add" -d 'Registers a user'
complete -c wasess -n "__fish_wasess_using_subcommand help; and __fish_seen_subcommand_from users" -f -a "list" -d 'Lists users'
complete -c wasess -n "__fish_wasess_using_subcommand help; and __fish_seen_subcommand_from users" -f -a "remove" -d 'Removes a user: logs out its session and deletes its credentials and row'
complete -c wasess -n "__fish_wasess_using_subcommand help; and __fish_seen_subcommand_from webhooks" -f -a "status" -d 'Pending, failing and dead events per endpoint'
complete -c wasess -n "__fish_wasess_using_subcommand help; and __fish_seen_subcommand_from webhooks" -f -a "retry" -d 'Sends dead-lettered events again'
complete -c wasess -n "__fish_wasess_using_subcommand help; and __fish_seen_subcommand_from sim" -f -a "scan" -d 'Scans the user\'s pending QR code as this phone number'
complete -c wasess -n "__fish_wasess_using_subcommand help; and __fish_seen_subcommand_from sim" -f -a "event" -d 'Makes WhatsApp (or the phone) do something to the user\'s live session'
complete -c wasess -n "__fish_wasess_using_subcommand help; and __fish_seen_subcommand_from sim" -f -a "message" -d 'Delivers an incoming text message to the user'
complete -c wasess -n "__fish_wasess_using_subcommand help; and __fish_seen_subcommand_from sim" -f -a "sent" -d 'Lists what the user\'s session sent'
complete -c wasess -n "__fish_wasess_using_subcommand help; and __fish_seen_subcommand_from import" -f -a "registry" -d 'Reads another application\'s users and WhatsApp connection rows (a Prisma-shaped whatsapp_connections table, in SQLite or PostgreSQL) into the registry, all or nothing'
complete -c wasess -n "__fish_wasess_using_subcommand help; and __fish_seen_subcommand_from import" -f -a "baileys" -d 'Adopts devices Baileys linked, from their multi-file auth folders, so each user logs in again without a QR code (`wasess reconnect`, or the daemon\'s next start). All or nothing'
