
use builtin;
use str;

set edit:completion:arg-completer[wasessd] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'wasessd'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'wasessd'= {
            cand --data-dir 'Where the registry, credential stores and lock live'
            cand --database-url 'The registry: postgres://… to share it between nodes [default: SQLite in the data dir]'
            cand --database-url-file 'A file holding the registry''s URL (one line, mode 0600), so its password stays off the command line and out of the environment'
            cand --socket 'The Unix socket to serve [default: <data dir>/run/wasessd.sock]'
            cand --backend 'whatsapp (the product) or simulated (tests and demos)'
            cand --node-id 'This node''s name in a shared registry [default: the host name]'
            cand --config 'A TOML file with timings and policies (re-read on SIGHUP)'
            cand --pid-file 'The pid file for --daemonize [default: <data dir>/wasessd.pid]'
            cand --log-format 'Log lines as text or JSON'
            cand --listen-tcp 'Also serve on this loopback TCP address, for clients without the Unix socket (Windows); clients must present the token in --token-file. Off by default'
            cand --token-file 'The token TCP clients must present [default: <data dir>/token, created when missing]'
            cand --metrics 'Serve Prometheus metrics at http://ADDRESS/metrics (e.g. 127.0.0.1:9464). Off by default; `metrics` in the config file sets it too'
            cand --daemonize 'Run in the background (writes the pid file)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
    ]
    $completions[$command]
}
