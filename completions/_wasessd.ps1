
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'wasessd' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'wasessd'
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
        'wasessd' {
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'Where the registry, credential stores and lock live')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'The registry: postgres://… to share it between nodes [default: SQLite in the data dir]')
            [CompletionResult]::new('--database-url-file', '--database-url-file', [CompletionResultType]::ParameterName, 'A file holding the registry''s URL (one line, mode 0600), so its password stays off the command line and out of the environment')
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The Unix socket to serve [default: <data dir>/run/wasessd.sock]')
            [CompletionResult]::new('--backend', '--backend', [CompletionResultType]::ParameterName, 'whatsapp (the product) or simulated (tests and demos)')
            [CompletionResult]::new('--node-id', '--node-id', [CompletionResultType]::ParameterName, 'This node''s name in a shared registry [default: the host name]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'A TOML file with timings and policies (re-read on SIGHUP)')
            [CompletionResult]::new('--pid-file', '--pid-file', [CompletionResultType]::ParameterName, 'The pid file for --daemonize [default: <data dir>/wasessd.pid]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log lines as text or JSON')
            [CompletionResult]::new('--listen-tcp', '--listen-tcp', [CompletionResultType]::ParameterName, 'Also serve on this loopback TCP address, for clients without the Unix socket (Windows); clients must present the token in --token-file. Off by default')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'The token TCP clients must present [default: <data dir>/token, created when missing]')
            [CompletionResult]::new('--metrics', '--metrics', [CompletionResultType]::ParameterName, 'Serve Prometheus metrics at http://ADDRESS/metrics (e.g. 127.0.0.1:9464). Off by default; `metrics` in the config file sets it too')
            [CompletionResult]::new('--daemonize', '--daemonize', [CompletionResultType]::ParameterName, 'Run in the background (writes the pid file)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
