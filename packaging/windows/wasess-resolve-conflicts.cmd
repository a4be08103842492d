@echo off
rem wasess-resolve-conflicts.cmd: Keeps the newest holder of each duplicated number; add --dry-run to preview.
rem Arguments pass through; the exit code is wasess's (see "wasess --help").
rem Reach the daemon with WASESS_CONNECT=tcp://HOST:PORT and WASESS_TOKEN_FILE=PATH.
setlocal
if not defined WASESS_EXE set "WASESS_EXE=%~dp0wasess.exe"
"%WASESS_EXE%" resolve-conflicts %*
exit /b %ERRORLEVEL%
