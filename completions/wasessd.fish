complete -c wasessd -l data-dir -d 'Where the registry, credential stores and lock live' -r -F
complete -c wasessd -l database-url -d 'The registry: postgres://… to share it between nodes [default: SQLite in the data dir]' -r
complete -c wasessd -l database-url-file -d 'A file holding the registry\'s URL (one line, mode 0600), so its password stays off the command line and out of the environment' -r -F
complete -c wasessd -l socket -d 'The Unix socket to serve [default: <data dir>/run/wasessd.sock]' -r -F
complete -c wasessd -l backend -d 'whatsapp (the product) or simulated (tests and demos)' -r -f -a "whatsapp\t''
simulated\t''"
complete -c wasessd -l node-id -d 'This node\'s name in a shared registry [default: the host name]' -r
complete -c wasessd -l config -d 'A TOML file with timings and policies (re-read on SIGHUP)' -r -F
complete -c wasessd -l pid-file -d 'The pid file for --daemonize [default: <data dir>/wasessd.pid]' -r -F
complete -c wasessd -l log-format -d 'Log lines as text or JSON' -r -f -a "text\t''
json\t''"
complete -c wasessd -l listen-tcp -d 'Also serve on this loopback TCP address, for clients without the Unix socket (Windows); clients must present the token in --token-file. Off by default' -r
complete -c wasessd -l token-file -d 'The token TCP clients must present [default: <data dir>/token, created when missing]' -r -F
complete -c wasessd -l metrics -d 'Serve Prometheus metrics at http://ADDRESS/metrics (e.g. 127.0.0.1:9464). Off by default; `metrics` in the config file sets it too' -r
complete -c wasessd -l daemonize -d 'Run in the background (writes the pid file)'
complete -c wasessd -s h -l help -d 'Print help'
complete -c wasessd -s V -l version -d 'Print version'
