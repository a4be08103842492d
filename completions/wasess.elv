
use builtin;
use str;

set edit:completion:arg-completer[wasess] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'wasess'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'wasess'= {
            cand --socket 'The daemon''s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]'
            cand --connect 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)'
            cand --token-file 'The daemon''s token file, for --connect [default: <data dir>/token]'
            cand --data-dir 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]'
            cand --database-url 'The registry database, for --offline [default: SQLite in the data dir]'
            cand --json 'Machine output: one JSON document on stdout, nothing else there'
            cand --offline 'Work on the registry directly, with the daemon stopped (recovery commands only)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand connect 'Link a WhatsApp number to a user: shows the QR code and waits for the scan'
            cand check 'Says whether a user may connect now, and which rule refuses it'
            cand detect-conflicts 'Lists phone numbers held by more than one user (exit 3 when any)'
            cand resolve-conflicts 'Keeps the newest holder of each duplicated number and detaches the others'
            cand cleanup 'Expires old QR codes and locks, and clears stale sessions and orphan stores now'
            cand reset-sessions 'Clears sessions: logs out, deletes credentials, frees numbers and locks'
            cand stats 'Counts connections by status, duplicated numbers and locks'
            cand list 'Lists connections'
            cand disconnect 'Closes a user''s connection and keeps its credentials'
            cand logout 'Logs a user out: unlinks the device and deletes its credentials'
            cand reconnect 'Logs a user in again with its stored credentials (after a disconnect or a conflict)'
            cand log 'The audit trail: what happened to whom, and why'
            cand nodes 'Lists the daemons (nodes) sharing the registry; `nodes drain NODE` empties one'
            cand ping 'Checks that the daemon answers, and how fast'
            cand doctor 'Checks the daemon, data dir, registry, locks, QR codes, conflicts and credential stores, and says how to fix each problem (exit 3 when one exists)'
            cand watch 'Prints events as they happen (state changes, QR codes, messages)'
            cand top 'A live view of the cluster: nodes, sessions, pairings, rates and webhook lag'
            cand send 'Sends a text message through a user''s own connection'
            cand users 'Manages tenant users'
            cand webhooks 'Webhook delivery: status per endpoint, and retrying dead letters'
            cand sim 'Acts as the phone, against a daemon running the simulated backend'
            cand import 'Adopts an existing deployment: its users and connection rows'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'wasess;connect'= {
            cand -u 'The user''s key (e.g. alice@example.com)'
            cand --user 'The user''s key (e.g. alice@example.com)'
            cand --phone 'The phone number, for --pair-code (e.g. +57 300 123 4567)'
            cand --qr-file 'Also write each QR code to this file (.png or .svg)'
            cand --socket 'The daemon''s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]'
            cand --connect 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)'
            cand --token-file 'The daemon''s token file, for --connect [default: <data dir>/token]'
            cand --data-dir 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]'
            cand --database-url 'The registry database, for --offline [default: SQLite in the data dir]'
            cand --pair-code 'Log in with an 8-character code typed on the phone instead of scanning a QR code'
            cand --detach 'Return after the first QR code; the pairing goes on in the daemon'
            cand --json 'Machine output: one JSON document on stdout, nothing else there'
            cand --offline 'Work on the registry directly, with the daemon stopped (recovery commands only)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'wasess;check'= {
            cand -u 'u'
            cand --user 'user'
            cand --phone 'A number known up front (pair-code login): also checks no other user holds it'
            cand --socket 'The daemon''s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]'
            cand --connect 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)'
            cand --token-file 'The daemon''s token file, for --connect [default: <data dir>/token]'
            cand --data-dir 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]'
            cand --database-url 'The registry database, for --offline [default: SQLite in the data dir]'
            cand --json 'Machine output: one JSON document on stdout, nothing else there'
            cand --offline 'Work on the registry directly, with the daemon stopped (recovery commands only)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'wasess;detect-conflicts'= {
            cand --socket 'The daemon''s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]'
            cand --connect 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)'
            cand --token-file 'The daemon''s token file, for --connect [default: <data dir>/token]'
            cand --data-dir 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]'
            cand --database-url 'The registry database, for --offline [default: SQLite in the data dir]'
            cand --json 'Machine output: one JSON document on stdout, nothing else there'
            cand --offline 'Work on the registry directly, with the daemon stopped (recovery commands only)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'wasess;resolve-conflicts'= {
            cand --phone 'Only this number'
            cand --socket 'The daemon''s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]'
            cand --connect 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)'
            cand --token-file 'The daemon''s token file, for --connect [default: <data dir>/token]'
            cand --data-dir 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]'
            cand --database-url 'The registry database, for --offline [default: SQLite in the data dir]'
            cand --dry-run 'Show what would change, change nothing'
            cand --json 'Machine output: one JSON document on stdout, nothing else there'
            cand --offline 'Work on the registry directly, with the daemon stopped (recovery commands only)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'wasess;cleanup'= {
            cand --socket 'The daemon''s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]'
            cand --connect 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)'
            cand --token-file 'The daemon''s token file, for --connect [default: <data dir>/token]'
            cand --data-dir 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]'
            cand --database-url 'The registry database, for --offline [default: SQLite in the data dir]'
            cand --dry-run 'Show what would be cleaned, change nothing'
            cand --json 'Machine output: one JSON document on stdout, nothing else there'
            cand --offline 'Work on the registry directly, with the daemon stopped (recovery commands only)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'wasess;reset-sessions'= {
            cand -u 'Reset this user only'
            cand --user 'Reset this user only'
            cand --socket 'The daemon''s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]'
            cand --connect 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)'
            cand --token-file 'The daemon''s token file, for --connect [default: <data dir>/token]'
            cand --data-dir 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]'
            cand --database-url 'The registry database, for --offline [default: SQLite in the data dir]'
            cand --all 'Reset every user'
            cand -y 'Do not ask for confirmation (needed for --all without a terminal)'
            cand --yes 'Do not ask for confirmation (needed for --all without a terminal)'
            cand --json 'Machine output: one JSON document on stdout, nothing else there'
            cand --offline 'Work on the registry directly, with the daemon stopped (recovery commands only)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'wasess;stats'= {
            cand --socket 'The daemon''s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]'
            cand --connect 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)'
            cand --token-file 'The daemon''s token file, for --connect [default: <data dir>/token]'
            cand --data-dir 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]'
            cand --database-url 'The registry database, for --offline [default: SQLite in the data dir]'
            cand --json 'Machine output: one JSON document on stdout, nothing else there'
            cand --offline 'Work on the registry directly, with the daemon stopped (recovery commands only)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'wasess;list'= {
            cand --status 'Only connections in this status'
            cand --node 'Only connections owned by this node'
            cand --limit 'At most this many rows'
            cand --socket 'The daemon''s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]'
            cand --connect 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)'
            cand --token-file 'The daemon''s token file, for --connect [default: <data dir>/token]'
            cand --data-dir 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]'
            cand --database-url 'The registry database, for --offline [default: SQLite in the data dir]'
            cand --json 'Machine output: one JSON document on stdout, nothing else there'
            cand --offline 'Work on the registry directly, with the daemon stopped (recovery commands only)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'wasess;disconnect'= {
            cand -u 'The user''s key (e.g. alice@example.com)'
            cand --user 'The user''s key (e.g. alice@example.com)'
            cand --socket 'The daemon''s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]'
            cand --connect 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)'
            cand --token-file 'The daemon''s token file, for --connect [default: <data dir>/token]'
            cand --data-dir 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]'
            cand --database-url 'The registry database, for --offline [default: SQLite in the data dir]'
            cand --json 'Machine output: one JSON document on stdout, nothing else there'
            cand --offline 'Work on the registry directly, with the daemon stopped (recovery commands only)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'wasess;logout'= {
            cand -u 'The user''s key (e.g. alice@example.com)'
            cand --user 'The user''s key (e.g. alice@example.com)'
            cand --socket 'The daemon''s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]'
            cand --connect 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)'
            cand --token-file 'The daemon''s token file, for --connect [default: <data dir>/token]'
            cand --data-dir 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]'
            cand --database-url 'The registry database, for --offline [default: SQLite in the data dir]'
            cand --json 'Machine output: one JSON document on stdout, nothing else there'
            cand --offline 'Work on the registry directly, with the daemon stopped (recovery commands only)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'wasess;reconnect'= {
            cand -u 'The user''s key (e.g. alice@example.com)'
            cand --user 'The user''s key (e.g. alice@example.com)'
            cand --socket 'The daemon''s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]'
            cand --connect 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)'
            cand --token-file 'The daemon''s token file, for --connect [default: <data dir>/token]'
            cand --data-dir 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]'
            cand --database-url 'The registry database, for --offline [default: SQLite in the data dir]'
            cand --json 'Machine output: one JSON document on stdout, nothing else there'
            cand --offline 'Work on the registry directly, with the daemon stopped (recovery commands only)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'wasess;log'= {
            cand -u 'Only this user''s events'
            cand --user 'Only this user''s events'
            cand --since 'Only events this recent (e.g. 30m, 2h, 7d)'
            cand --limit 'At most this many events (the newest)'
            cand --socket 'The daemon''s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]'
            cand --connect 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)'
            cand --token-file 'The daemon''s token file, for --connect [default: <data dir>/token]'
            cand --data-dir 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]'
            cand --database-url 'The registry database, for --offline [default: SQLite in the data dir]'
            cand --json 'Machine output: one JSON document on stdout, nothing else there'
            cand --offline 'Work on the registry directly, with the daemon stopped (recovery commands only)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'wasess;nodes'= {
            cand --socket 'The daemon''s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]'
            cand --connect 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)'
            cand --token-file 'The daemon''s token file, for --connect [default: <data dir>/token]'
            cand --data-dir 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]'
            cand --database-url 'The registry database, for --offline [default: SQLite in the data dir]'
            cand --json 'Machine output: one JSON document on stdout, nothing else there'
            cand --offline 'Work on the registry directly, with the daemon stopped (recovery commands only)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand drain 'Hands every session of NODE to the other live nodes, without a new pairing: each one is closed there first, then resumed elsewhere. NODE keeps running but takes no new sessions until it restarts. Refused when no other node is live'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'wasess;nodes;drain'= {
            cand --timeout 'Give up waiting after this long (exit 6); the drain itself goes on'
            cand --socket 'The daemon''s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]'
            cand --connect 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)'
            cand --token-file 'The daemon''s token file, for --connect [default: <data dir>/token]'
            cand --data-dir 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]'
            cand --database-url 'The registry database, for --offline [default: SQLite in the data dir]'
            cand --no-wait 'Return once the drain is requested, without waiting for it to finish'
            cand --json 'Machine output: one JSON document on stdout, nothing else there'
            cand --offline 'Work on the registry directly, with the daemon stopped (recovery commands only)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'wasess;nodes;help'= {
            cand drain 'Hands every session of NODE to the other live nodes, without a new pairing: each one is closed there first, then resumed elsewhere. NODE keeps running but takes no new sessions until it restarts. Refused when no other node is live'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'wasess;nodes;help;drain'= {
        }
        &'wasess;nodes;help;help'= {
        }
        &'wasess;ping'= {
            cand --socket 'The daemon''s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]'
            cand --connect 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)'
            cand --token-file 'The daemon''s token file, for --connect [default: <data dir>/token]'
            cand --data-dir 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]'
            cand --database-url 'The registry database, for --offline [default: SQLite in the data dir]'
            cand --json 'Machine output: one JSON document on stdout, nothing else there'
            cand --offline 'Work on the registry directly, with the daemon stopped (recovery commands only)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'wasess;doctor'= {
            cand --socket 'The daemon''s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]'
            cand --connect 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)'
            cand --token-file 'The daemon''s token file, for --connect [default: <data dir>/token]'
            cand --data-dir 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]'
            cand --database-url 'The registry database, for --offline [default: SQLite in the data dir]'
            cand --json 'Machine output: one JSON document on stdout, nothing else there'
            cand --offline 'Work on the registry directly, with the daemon stopped (recovery commands only)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'wasess;watch'= {
            cand -u 'Only this user''s events'
            cand --user 'Only this user''s events'
            cand --since 'Resume after this event id (prints what was missed first)'
            cand --kind 'Only these kinds (repeatable)'
            cand --socket 'The daemon''s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]'
            cand --connect 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)'
            cand --token-file 'The daemon''s token file, for --connect [default: <data dir>/token]'
            cand --data-dir 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]'
            cand --database-url 'The registry database, for --offline [default: SQLite in the data dir]'
            cand --json 'Machine output: one JSON document on stdout, nothing else there'
            cand --offline 'Work on the registry directly, with the daemon stopped (recovery commands only)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'wasess;top'= {
            cand --interval 'How often to redraw'
            cand --count 'Stop after this many frames [default: until Ctrl-C]'
            cand --socket 'The daemon''s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]'
            cand --connect 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)'
            cand --token-file 'The daemon''s token file, for --connect [default: <data dir>/token]'
            cand --data-dir 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]'
            cand --database-url 'The registry database, for --offline [default: SQLite in the data dir]'
            cand --json 'Machine output: one JSON document on stdout, nothing else there'
            cand --offline 'Work on the registry directly, with the daemon stopped (recovery commands only)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'wasess;send'= {
            cand -u 'u'
            cand --user 'user'
            cand --to 'The recipient''s number'
            cand --text 'The text to send'
            cand --idempotency-key 'A key for this message (1-128 characters): repeating the command with the same key returns the first message id and sends nothing'
            cand --socket 'The daemon''s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]'
            cand --connect 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)'
            cand --token-file 'The daemon''s token file, for --connect [default: <data dir>/token]'
            cand --data-dir 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]'
            cand --database-url 'The registry database, for --offline [default: SQLite in the data dir]'
            cand --json 'Machine output: one JSON document on stdout, nothing else there'
            cand --offline 'Work on the registry directly, with the daemon stopped (recovery commands only)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'wasess;users'= {
            cand --socket 'The daemon''s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]'
            cand --connect 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)'
            cand --token-file 'The daemon''s token file, for --connect [default: <data dir>/token]'
            cand --data-dir 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]'
            cand --database-url 'The registry database, for --offline [default: SQLite in the data dir]'
            cand --json 'Machine output: one JSON document on stdout, nothing else there'
            cand --offline 'Work on the registry directly, with the daemon stopped (recovery commands only)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand add 'Registers a user'
            cand list 'Lists users'
            cand remove 'Removes a user: logs out its session and deletes its credentials and row'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'wasess;users;add'= {
            cand --socket 'The daemon''s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]'
            cand --connect 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)'
            cand --token-file 'The daemon''s token file, for --connect [default: <data dir>/token]'
            cand --data-dir 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]'
            cand --database-url 'The registry database, for --offline [default: SQLite in the data dir]'
            cand --json 'Machine output: one JSON document on stdout, nothing else there'
            cand --offline 'Work on the registry directly, with the daemon stopped (recovery commands only)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'wasess;users;list'= {
            cand --limit 'limit'
            cand --socket 'The daemon''s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]'
            cand --connect 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)'
            cand --token-file 'The daemon''s token file, for --connect [default: <data dir>/token]'
            cand --data-dir 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]'
            cand --database-url 'The registry database, for --offline [default: SQLite in the data dir]'
            cand --json 'Machine output: one JSON document on stdout, nothing else there'
            cand --offline 'Work on the registry directly, with the daemon stopped (recovery commands only)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'wasess;users;remove'= {
            cand --socket 'The daemon''s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]'
            cand --connect 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)'
            cand --token-file 'The daemon''s token file, for --connect [default: <data dir>/token]'
            cand --data-dir 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]'
            cand --database-url 'The registry database, for --offline [default: SQLite in the data dir]'
            cand --json 'Machine output: one JSON document on stdout, nothing else there'
            cand --offline 'Work on the registry directly, with the daemon stopped (recovery commands only)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'wasess;users;help'= {
            cand add 'Registers a user'
            cand list 'Lists users'
            cand remove 'Removes a user: logs out its session and deletes its credentials and row'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'wasess;users;help;add'= {
        }
        &'wasess;users;help;list'= {
        }
        &'wasess;users;help;remove'= {
        }
        &'wasess;users;help;help'= {
        }
        &'wasess;webhooks'= {
            cand --socket 'The daemon''s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]'
            cand --connect 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)'
            cand --token-file 'The daemon''s token file, for --connect [default: <data dir>/token]'
            cand --data-dir 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]'
            cand --database-url 'The registry database, for --offline [default: SQLite in the data dir]'
            cand --json 'Machine output: one JSON document on stdout, nothing else there'
            cand --offline 'Work on the registry directly, with the daemon stopped (recovery commands only)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand status 'Pending, failing and dead events per endpoint'
            cand retry 'Sends dead-lettered events again'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'wasess;webhooks;status'= {
            cand --socket 'The daemon''s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]'
            cand --connect 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)'
            cand --token-file 'The daemon''s token file, for --connect [default: <data dir>/token]'
            cand --data-dir 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]'
            cand --database-url 'The registry database, for --offline [default: SQLite in the data dir]'
            cand --json 'Machine output: one JSON document on stdout, nothing else there'
            cand --offline 'Work on the registry directly, with the daemon stopped (recovery commands only)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'wasess;webhooks;retry'= {
            cand --endpoint 'Only this endpoint''s'
            cand --socket 'The daemon''s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]'
            cand --connect 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)'
            cand --token-file 'The daemon''s token file, for --connect [default: <data dir>/token]'
            cand --data-dir 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]'
            cand --database-url 'The registry database, for --offline [default: SQLite in the data dir]'
            cand --json 'Machine output: one JSON document on stdout, nothing else there'
            cand --offline 'Work on the registry directly, with the daemon stopped (recovery commands only)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'wasess;webhooks;help'= {
            cand status 'Pending, failing and dead events per endpoint'
            cand retry 'Sends dead-lettered events again'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'wasess;webhooks;help;status'= {
        }
        &'wasess;webhooks;help;retry'= {
        }
        &'wasess;webhooks;help;help'= {
        }
        &'wasess;sim'= {
            cand --socket 'The daemon''s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]'
            cand --connect 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)'
            cand --token-file 'The daemon''s token file, for --connect [default: <data dir>/token]'
            cand --data-dir 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]'
            cand --database-url 'The registry database, for --offline [default: SQLite in the data dir]'
            cand --json 'Machine output: one JSON document on stdout, nothing else there'
            cand --offline 'Work on the registry directly, with the daemon stopped (recovery commands only)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand scan 'Scans the user''s pending QR code as this phone number'
            cand event 'Makes WhatsApp (or the phone) do something to the user''s live session'
            cand message 'Delivers an incoming text message to the user'
            cand sent 'Lists what the user''s session sent'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'wasess;sim;scan'= {
            cand -u 'u'
            cand --user 'user'
            cand --phone 'phone'
            cand --socket 'The daemon''s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]'
            cand --connect 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)'
            cand --token-file 'The daemon''s token file, for --connect [default: <data dir>/token]'
            cand --data-dir 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]'
            cand --database-url 'The registry database, for --offline [default: SQLite in the data dir]'
            cand --json 'Machine output: one JSON document on stdout, nothing else there'
            cand --offline 'Work on the registry directly, with the daemon stopped (recovery commands only)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'wasess;sim;event'= {
            cand -u 'u'
            cand --user 'user'
            cand --socket 'The daemon''s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]'
            cand --connect 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)'
            cand --token-file 'The daemon''s token file, for --connect [default: <data dir>/token]'
            cand --data-dir 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]'
            cand --database-url 'The registry database, for --offline [default: SQLite in the data dir]'
            cand --json 'Machine output: one JSON document on stdout, nothing else there'
            cand --offline 'Work on the registry directly, with the daemon stopped (recovery commands only)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'wasess;sim;message'= {
            cand -u 'u'
            cand --user 'user'
            cand --from 'from'
            cand --text 'text'
            cand --count 'How many messages arrive, one after the other (numbered)'
            cand --socket 'The daemon''s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]'
            cand --connect 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)'
            cand --token-file 'The daemon''s token file, for --connect [default: <data dir>/token]'
            cand --data-dir 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]'
            cand --database-url 'The registry database, for --offline [default: SQLite in the data dir]'
            cand --json 'Machine output: one JSON document on stdout, nothing else there'
            cand --offline 'Work on the registry directly, with the daemon stopped (recovery commands only)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'wasess;sim;sent'= {
            cand -u 'u'
            cand --user 'user'
            cand --socket 'The daemon''s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]'
            cand --connect 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)'
            cand --token-file 'The daemon''s token file, for --connect [default: <data dir>/token]'
            cand --data-dir 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]'
            cand --database-url 'The registry database, for --offline [default: SQLite in the data dir]'
            cand --json 'Machine output: one JSON document on stdout, nothing else there'
            cand --offline 'Work on the registry directly, with the daemon stopped (recovery commands only)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'wasess;sim;help'= {
            cand scan 'Scans the user''s pending QR code as this phone number'
            cand event 'Makes WhatsApp (or the phone) do something to the user''s live session'
            cand message 'Delivers an incoming text message to the user'
            cand sent 'Lists what the user''s session sent'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'wasess;sim;help;scan'= {
        }
        &'wasess;sim;help;event'= {
        }
        &'wasess;sim;help;message'= {
        }
        &'wasess;sim;help;sent'= {
        }
        &'wasess;sim;help;help'= {
        }
        &'wasess;import'= {
            cand --socket 'The daemon''s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]'
            cand --connect 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)'
            cand --token-file 'The daemon''s token file, for --connect [default: <data dir>/token]'
            cand --data-dir 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]'
            cand --database-url 'The registry database, for --offline [default: SQLite in the data dir]'
            cand --json 'Machine output: one JSON document on stdout, nothing else there'
            cand --offline 'Work on the registry directly, with the daemon stopped (recovery commands only)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand registry 'Reads another application''s users and WhatsApp connection rows (a Prisma-shaped whatsapp_connections table, in SQLite or PostgreSQL) into the registry, all or nothing'
            cand baileys 'Adopts devices Baileys linked, from their multi-file auth folders, so each user logs in again without a QR code (`wasess reconnect`, or the daemon''s next start). All or nothing'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'wasess;import;registry'= {
            cand --from 'The application''s database: sqlite:path/to/dev.db (or a path) or postgres://…'
            cand --user-key 'Key tenants by this column of the users table (e.g. email) instead of the user id'
            cand --map 'Name a column outright, as ROLE=COLUMN (repeatable). Roles: user, phone, status, last_connected_at, created_at, users.id, users.created_at'
            cand --table 'The connections table [default: found by name, e.g. whatsapp_connections]'
            cand --users-table 'The users table [default: found by name, e.g. users or User]'
            cand --socket 'The daemon''s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]'
            cand --connect 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)'
            cand --token-file 'The daemon''s token file, for --connect [default: <data dir>/token]'
            cand --data-dir 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]'
            cand --database-url 'The registry database, for --offline [default: SQLite in the data dir]'
            cand --dry-run 'Print what would be imported, and the duplicated numbers, and write nothing'
            cand --merge 'Fill in users that exist here already with nothing of their own (no session, pairing or number); the others are kept as they are'
            cand --json 'Machine output: one JSON document on stdout, nothing else there'
            cand --offline 'Work on the registry directly, with the daemon stopped (recovery commands only)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'wasess;import;baileys'= {
            cand --auth-dir 'One tenant''s auth folder (creds.json, pre-key-*, session-*…); needs --user'
            cand -u 'The user whose device --auth-dir holds'
            cand --user 'The user whose device --auth-dir holds'
            cand --all 'A folder of auth folders, one per tenant: each folder''s name is its user''s key, unless --users maps it'
            cand --users 'With --all: a file of `FOLDER USER` lines (`#` starts a comment); folders it does not name keep their own name as the user''s key'
            cand --socket 'The daemon''s socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]'
            cand --connect 'Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT)'
            cand --token-file 'The daemon''s token file, for --connect [default: <data dir>/token]'
            cand --data-dir 'The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]'
            cand --database-url 'The registry database, for --offline [default: SQLite in the data dir]'
            cand --skip-unpaired 'Leave out folders whose device never finished pairing (no `me` in creds.json) instead of refusing the whole import'
            cand --dry-run 'Convert and check everything, and write nothing'
            cand --no-reconnect 'Leave the imported devices DISCONNECTED (log each in later with `wasess reconnect`) instead of having the daemon log them in (at once, or when it next starts)'
            cand --json 'Machine output: one JSON document on stdout, nothing else there'
            cand --offline 'Work on the registry directly, with the daemon stopped (recovery commands only)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'wasess;import;help'= {
            cand registry 'Reads another application''s users and WhatsApp connection rows (a Prisma-shaped whatsapp_connections table, in SQLite or PostgreSQL) into the registry, all or nothing'
            cand baileys 'Adopts devices Baileys linked, from their multi-file auth folders, so each user logs in again without a QR code (`wasess reconnect`, or the daemon''s next start). All or nothing'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'wasess;import;help;registry'= {
        }
        &'wasess;import;help;baileys'= {
        }
        &'wasess;import;help;help'= {
        }
        &'wasess;help'= {
            cand connect 'Link a WhatsApp number to a user: shows the QR code and waits for the scan'
            cand check 'Says whether a user may connect now, and which rule refuses it'
            cand detect-conflicts 'Lists phone numbers held by more than one user (exit 3 when any)'
            cand resolve-conflicts 'Keeps the newest holder of each duplicated number and detaches the others'
            cand cleanup 'Expires old QR codes and locks, and clears stale sessions and orphan stores now'
            cand reset-sessions 'Clears sessions: logs out, deletes credentials, frees numbers and locks'
            cand stats 'Counts connections by status, duplicated numbers and locks'
            cand list 'Lists connections'
            cand disconnect 'Closes a user''s connection and keeps its credentials'
            cand logout 'Logs a user out: unlinks the device and deletes its credentials'
            cand reconnect 'Logs a user in again with its stored credentials (after a disconnect or a conflict)'
            cand log 'The audit trail: what happened to whom, and why'
            cand nodes 'Lists the daemons (nodes) sharing the registry; `nodes drain NODE` empties one'
            cand ping 'Checks that the daemon answers, and how fast'
            cand doctor 'Checks the daemon, data dir, registry, locks, QR codes, conflicts and credential stores, and says how to fix each problem (exit 3 when one exists)'
            cand watch 'Prints events as they happen (state changes, QR codes, messages)'
            cand top 'A live view of the cluster: nodes, sessions, pairings, rates and webhook lag'
            cand send 'Sends a text message through a user''s own connection'
            cand users 'Manages tenant users'
            cand webhooks 'Webhook delivery: status per endpoint, and retrying dead letters'
            cand sim 'Acts as the phone, against a daemon running the simulated backend'
            cand import 'Adopts an existing deployment: its users and connection rows'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'wasess;help;connect'= {
        }
        &'wasess;help;check'= {
        }
        &'wasess;help;detect-conflicts'= {
        }
        &'wasess;help;resolve-conflicts'= {
        }
        &'wasess;help;cleanup'= {
        }
        &'wasess;help;reset-sessions'= {
        }
        &'wasess;help;stats'= {
        }
        &'wasess;help;list'= {
        }
        &'wasess;help;disconnect'= {
        }
        &'wasess;help;logout'= {
        }
        &'wasess;help;reconnect'= {
        }
        &'wasess;help;log'= {
        }
        &'wasess;help;nodes'= {
            cand drain 'Hands every session of NODE to the other live nodes, without a new pairing: each one is closed there first, then resumed elsewhere. NODE keeps running but takes no new sessions until it restarts. Refused when no other node is live'
        }
        &'wasess;help;nodes;drain'= {
        }
        &'wasess;help;ping'= {
        }
        &'wasess;help;doctor'= {
        }
        &'wasess;help;watch'= {
        }
        &'wasess;help;top'= {
        }
        &'wasess;help;send'= {
        }
        &'wasess;help;users'= {
            cand add 'Registers a user'
            cand list 'Lists users'
            cand remove 'Removes a user: logs out its session and deletes its credentials and row'
        }
        &'wasess;help;users;add'= {
        }
        &'wasess;help;users;list'= {
        }
        &'wasess;help;users;remove'= {
        }
        &'wasess;help;webhooks'= {
            cand status 'Pending, failing and dead events per endpoint'
            cand retry 'Sends dead-lettered events again'
        }
        &'wasess;help;webhooks;status'= {
        }
        &'wasess;help;webhooks;retry'= {
        }
        &'wasess;help;sim'= {
            cand scan 'Scans the user''s pending QR code as this phone number'
            cand event 'Makes WhatsApp (or the phone) do something to the user''s live session'
            cand message 'Delivers an incoming text message to the user'
            cand sent 'Lists what the user''s session sent'
        }
        &'wasess;help;sim;scan'= {
        }
        &'wasess;help;sim;event'= {
        }
        &'wasess;help;sim;message'= {
        }
        &'wasess;help;sim;sent'= {
        }
        &'wasess;help;import'= {
            cand registry 'Reads another application''s users and WhatsApp connection rows (a Prisma-shaped whatsapp_connections table, in SQLite or PostgreSQL) into the registry, all or nothing'
            cand baileys 'Adopts devices Baileys linked, from their multi-file auth folders, so each user logs in again without a QR code (`wasess reconnect`, or the daemon''s next start). All or nothing'
        }
        &'wasess;help;import;registry'= {
        }
        &'wasess;help;import;baileys'= {
        }
        &'wasess;help;help'= {
        }
    ]
    $completions[$command]
}
